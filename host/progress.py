"""Progress display: tqdm bars (rates and time left, on a terminal or in a notebook), one line per
stage without a measurable fraction."""
import sys
import threading
import time

from tqdm.auto import tqdm

__all__ = ["Progress", "watch_file"]


class Progress:
    """Stages (a build, say) and bars (sweeps, checkpoints, runs); ``enabled=False`` shows nothing."""

    def __init__(self, stream=None, enabled=True):
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._label = ""
        self._bar = None
        self._t0 = time.perf_counter()

    def stage(self, label):
        """Start a stage with no measurable fraction."""
        self._close()
        self._label = label
        self._t0 = time.perf_counter()
        if self.enabled:
            print(f"{label} ...", file=self.stream, flush=True)

    def update(self, done, total, label=None):
        if not self.enabled:
            return
        if label and label != self._label:
            self._close()
            self._label = label
        if self._bar is None or self._bar.total != total:
            self._close()
            self._bar = tqdm(total=total, desc=self._label, file=self.stream, leave=True, dynamic_ncols=True,
                             mininterval=0.1 if self.tty else 5.0)
        self._bar.update(done - self._bar.n)
        if done >= total:
            self._close()

    def done(self, message):
        self._close()
        if self.enabled:
            print(f"{self._label}: {message} ({time.perf_counter() - self._t0:.1f} s)", file=self.stream, flush=True)

    def _close(self):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


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
