"""Progress on the terminal: a bar on a TTY, a line now and then otherwise."""
import sys
import threading
import time

__all__ = ["Progress", "watch_file"]


class Progress:
    def __init__(self, stream=None, enabled=True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last = 0.0
        self._label = ""
        self._t0 = time.perf_counter()

    def stage(self, label):
        """Start a stage with no measurable fraction (a build, say)."""
        self._label = label
        self._t0 = time.perf_counter()
        if self.enabled:
            self._write(f"{label} ...", final=not self.tty)

    def update(self, done, total, label=None):
        if not self.enabled:
            return
        if label:
            self._label = label
        now = time.perf_counter()
        if done < total and now - self._last < (0.1 if self.tty else 5.0):
            return
        self._last = now
        width = 30
        filled = int(width * done / max(total, 1))
        elapsed = now - self._t0
        eta = elapsed / done * (total - done) if done else float("nan")
        text = f"{self._label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"
        text += f"  {elapsed:5.1f} s" + (f", {eta:4.0f} s left" if done and done < total else "")
        self._write(text, final=done >= total or not self.tty)

    def done(self, message):
        if self.enabled:
            self._write(f"{self._label}: {message} ({time.perf_counter() - self._t0:.1f} s)", final=True)

    def _write(self, text, final):
        if self.tty:
            self.stream.write("\r\033[K" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


class watch_file:
    """Context manager: while it is open, turn lines ``name done total`` in a file into updates."""

    def __init__(self, path, progress):
        self.path = path
        self.progress = progress
        self._stop = threading.Event()

    def __enter__(self):
        open(self.path, "w").close()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def _poll(self):
        seen = 0
        while not self._stop.wait(0.2):
            with open(self.path) as f:
                lines = f.read().splitlines()
            if len(lines) > seen:
                seen = len(lines)
                _, done, total = lines[-1].rsplit(" ", 2)
                self.progress.update(int(done), int(total))

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
