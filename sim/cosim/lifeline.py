"""A simulator dies with the host process that started it, whatever ends the host.

The host names itself in LIM_HOST_PID; the cocotb bench, running inside the simulator process,
asks the kernel (Linux prctl PR_SET_PDEATHSIG) to send it SIGKILL when its parent dies, then
checks the parent is still that host (it may have died before the request). SIGINT, SIGTERM and
SIGKILL of the host thus take the simulator with it: no simulator keeps running, re-parented to
init, through the rest of a job nobody will read.
"""
import ctypes
import os
import signal

__all__ = ["HOST_PID_ENV", "host_environment", "die_with_host"]

HOST_PID_ENV = "LIM_HOST_PID"
_PR_SET_PDEATHSIG = 1


def host_environment():
    """The environment a simulator needs to find its host."""
    return {HOST_PID_ENV: str(os.getpid())}


def die_with_host():
    """Called first thing in the simulator process: end with the host."""
    host = os.environ.get(HOST_PID_ENV)
    if not host:
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):   # not Linux: the parent check below still holds at start
        pass
    if os.getppid() != int(host):
        os._exit(1)
