"""lim: a learning-in-memory array emulator (Amaranth RTL, bit-exact golden model, boards).

The library in a notebook::

    import lim
    result = lim.run("G1", target="golden", settings=lim.Settings(sweeps=500))
    result.cut, result.fraction_of_best_known, result.energy["lower_bounds"]["lim"]["j"]

    summary = lim.sweep("examples/sweep-demo.toml")          # grids of runs on local cores or Dask

Subpackages: ``lim.hdl`` (RTL), ``lim.sim`` (golden model, energy, co-simulation), ``lim.host``
(command line, drivers, sweeps), ``lim.boards``. The names below load on first use, so a
simulator that imports ``lim.sim.cosim`` does not pay for the whole library.
"""
import importlib

_EXPORTS = {
    "TARGETS": "host.api", "ProblemError": "host.api", "Result": "host.api", "Settings": "host.api",
    "SettingsError": "host.api", "load_problem": "host.api", "run": "host.api",
    "SweepSpec": "host.sweep", "load_spec": "host.sweep", "sweep": "host.sweep",
}
__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'lim' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
