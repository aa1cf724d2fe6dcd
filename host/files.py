"""Output files written whole or not at all, with the mode the user's umask asks for."""
import os
import tempfile
from pathlib import Path

__all__ = ["current_umask", "write_atomically", "TEMPORARY_SUFFIX"]

TEMPORARY_SUFFIX = ".partial"


def current_umask():
    """The process's umask, read without changing it where the system tells (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomically(path, write):
    """Call ``write(temporary_path)`` and move the result to ``path``: a run interrupted
    mid-write leaves no half file. The file gets the mode a plain open() would give it (0666
    less the umask), not the temporary file's 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # hidden, and not matching *.json or *.png: a writer killed mid-write leaves nothing that
    # looks like a result
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        os.fchmod(fd, 0o666 & ~current_umask())
        os.close(fd)
        write(tmp)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path
