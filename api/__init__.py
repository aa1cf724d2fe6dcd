"""lim: a learning-in-memory array emulator (Amaranth RTL, bit-exact golden model, boards).

The library in a notebook::

    import lim
    result = lim.run("G1", target="golden", settings=lim.Settings(sweeps=500))
    result.cut, result.fraction_of_best_known, result.energy["lower_bounds"]["lim"]["j"]

    summary = lim.sweep("examples/sweep.toml")          # grids of runs on local cores or Dask

Subpackages: ``lim.hdl`` (RTL), ``lim.sim`` (golden model, energy, co-simulation), ``lim.host``
(command line, drivers, sweeps), ``lim.boards``.
"""
from .host.api import TARGETS, ProblemError, Result, Settings, SettingsError, load_problem, run
from .host.sweep import SweepSpec, load_spec, sweep

__all__ = ["TARGETS", "ProblemError", "Result", "Settings", "SettingsError", "load_problem", "run",
           "SweepSpec", "load_spec", "sweep"]
