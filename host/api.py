"""The emulator as a library: load a problem, run it on a target, read the result.

    import lim
    problem = lim.load_problem("G1")                      # or a file, a matrix, a networkx graph
    result = lim.run(problem, target="verilator", settings=lim.Settings(sweeps=500))
    result.cut, result.energy["measured"]["total_j"], result.agrees

The command line is a thin layer over these functions: the same defaults, the same one-line
errors (``lim.ProblemError``, ``lim.SettingsError``).
"""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from ..sim.boxqp import WORKLOADS as QP_WORKLOADS
from ..sim.boxqp import BoxQp, load_qp
from ..sim.gset import load_named
from ..sim.problem import IsingProblem, ProblemError, load_gset
from .progress import Progress
from .settings import SIMULATOR_CHOICES, AnnealSettings, SettingsError

__all__ = ["Settings", "Result", "TARGETS", "load_problem", "run", "ProblemError", "SettingsError"]

#: The settings of a run, with the command line's defaults (host/settings.py).
Settings = AnnealSettings
#: Where a run can go: the golden model alone, the RTL in a simulator, the simulated board, a board.
TARGETS = ("golden", "verilator", "icarus", "amaranth", "sim-board", "board")

Problem = Union[IsingProblem, BoxQp]


def load_problem(source: Any, name: Optional[str] = None) -> Problem:
    """A problem from ``source``:

    - a shipped Gset name (``"G1"``), a Gset file, or a QP JSON file (``.json``);
    - a built-in QP workload name (``"digits"``, ``"least-squares"``, ...);
    - a square NumPy array of integer MaxCut edge weights (symmetric; the diagonal must be 0);
    - a networkx graph, its edges' integer ``weight`` attribute (default 1) the MaxCut weights;
    - an ``IsingProblem`` or ``BoxQp``, returned as it is.
    """
    if isinstance(source, (IsingProblem, BoxQp)):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.exists():
            return load_qp(path) if path.suffix == ".json" else load_gset(path)
        if str(source) in QP_WORKLOADS:
            return QP_WORKLOADS[str(source)]()
        return load_named(str(source))
    if hasattr(source, "edges") and hasattr(source, "nodes"):
        return _from_graph(source, name)
    if isinstance(source, (np.ndarray, list)):
        return _from_matrix(np.asarray(source), name)
    raise ProblemError(f"cannot make a problem of a {type(source).__name__}: give a Gset name or file, "
                       "a QP JSON file, a weight matrix or a networkx graph")


def _integers(values, what):
    values = np.asarray(values)
    if values.size and not np.all(np.isfinite(values.astype(np.float64))):
        raise ProblemError(f"{what}: weights must be finite")
    if values.size and not np.array_equal(values, np.rint(values.astype(np.float64))):
        raise ProblemError(f"{what}: MaxCut weights must be integers (the array's couplings are)")
    return values.astype(np.int64)


def _from_matrix(matrix, name):
    what = name or "matrix"
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ProblemError(f"{what}: a weight matrix must be square, not of shape {matrix.shape}")
    if not np.array_equal(matrix, matrix.T):
        raise ProblemError(f"{what}: a weight matrix must be symmetric")
    if np.any(np.diag(matrix) != 0):
        raise ProblemError(f"{what}: a weight matrix has no self loops (its diagonal must be 0)")
    rows, cols = np.nonzero(np.triu(matrix, 1))
    weights = _integers(matrix[rows, cols], what)
    return IsingProblem.maxcut(matrix.shape[0], rows, cols, weights, name=name or "matrix")


def _from_graph(graph, name):
    what = name or getattr(graph, "name", "") or "graph"
    nodes = list(graph.nodes)
    index = {node: k for k, node in enumerate(nodes)}
    edges = [(index[a], index[b], data.get("weight", 1)) for a, b, data in graph.edges(data=True)]
    if any(a == b for a, b, _ in edges):
        raise ProblemError(f"{what}: MaxCut has no self loops")
    rows, cols, weights = zip(*edges) if edges else ((), (), ())
    return IsingProblem.maxcut(len(nodes), rows, cols, _integers(list(weights), what), name=what)


class Result:
    """A run's result: the JSON-ready record (``data``) with named views of it."""

    def __init__(self, data: dict):
        self.data = data

    @property
    def cut(self) -> Optional[int]:
        return self.data.get("cut")

    @property
    def fraction_of_best_known(self) -> Optional[float]:
        return self.data.get("fraction_of_best_known")

    @property
    def objective(self) -> Any:
        """Start and final objective (MaxCut), or f and its optimum (QP)."""
        if "objective" in self.data:
            return self.data["objective"]
        return {"f": self.data["f"], "f_optimum": self.data["f_optimum"], "gap": self.data["gap"]}

    @property
    def energy(self) -> dict:
        """Measured energy by wall, and the lower bounds and cost models for the run's workload."""
        return self.data["energy"]

    @property
    def counters(self) -> dict:
        return self.data["counters"]

    @property
    def trajectory(self) -> dict:
        """Per sweep: barrier, gain, objective, reads, drop (MaxCut runs)."""
        return self.data.get("trace", {})

    @property
    def agrees(self) -> Optional[bool]:
        """Whether the RTL agreed with the golden model (None when only the model ran)."""
        rtl = self.data.get("rtl")
        if isinstance(rtl, dict):
            return rtl["agrees_with_golden_model"]
        return self.data.get("rtl_agrees")

    def to_json(self, path: Union[str, Path, None] = None) -> Union[str, Path]:
        """The record as JSON text, or written (whole or not at all) to ``path``."""
        if path is None:
            return json.dumps(self.data, indent=1)
        from .anneal import write_result
        return write_result(self.data, path)

    def plot(self, path: Union[str, Path]) -> Path:
        """The run's plot (objective, schedules, energy by wall) as a PNG."""
        from .plots import plot_anneal, plot_qp_precision
        if "trace" in self.data:
            return plot_anneal(self.data, path)
        return plot_qp_precision([self.data], path)

    def __repr__(self):
        what = f"cut {self.cut}" if self.cut is not None else f"gap {self.data.get('gap')}"
        return f"<lim.Result {self.data.get('problem', {}).get('name', self.data.get('workload'))}: {what}>"


def run(problem: Any, target: str = "golden", settings: Optional[AnnealSettings] = None, *,
        bits: int = 6, board: str = "ulx3s", port: Optional[str] = None, progress: bool = False,
        waves: bool = False, geometry=None) -> Result:
    """Run ``problem`` (anything ``load_problem`` takes) on ``target`` (one of ``TARGETS``).

    ``settings`` default to the command line's (``Settings()``); a QP runs on ``bits``-bit cells.
    ``board`` is the simulated board's geometry ("sim-board"), ``port`` the serial port of a real
    board ("board"). Raises ProblemError or SettingsError, one line each, for bad input.
    """
    if target not in TARGETS:
        raise SettingsError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
    problem = load_problem(problem)
    settings = replace(settings) if settings is not None else AnnealSettings()
    shown = progress if isinstance(progress, Progress) else Progress(enabled=bool(progress))
    if isinstance(problem, BoxQp):
        if settings.compiled:
            raise SettingsError("a compiled array holds spin problems; run a QP on the programmable array")
        from .qp import run_qp
        if target not in ("golden", "verilator", "icarus", "amaranth"):
            raise SettingsError("a QP runs on the golden model or the RTL in a simulator")
        if not isinstance(bits, int) or not 1 <= bits <= 8:
            raise SettingsError(f"bits must be from 1 to 8, not {bits!r}")
        return Result(run_qp(problem, bits, settings.validate(), simulator=None if target == "golden" else target))
    from ..boards.targets import BOARDS
    from .anneal import run_anneal
    if target in SIMULATOR_CHOICES:
        settings.simulator = target
        where = "rtl"
    elif target == "sim-board":
        if settings.simulator not in ("verilator", "icarus"):
            settings.simulator = "verilator"
        where = "sim-board"
    else:
        if not port:
            raise SettingsError("target 'board' needs the board's serial port (port=...)")
        where = "port"
    if board not in BOARDS:
        raise SettingsError(f"unknown board {board!r}; choose one of {', '.join(BOARDS)}")
    settings.validate()
    result = run_anneal(problem, settings, shown, waves=waves, target=where, port=port, board=board,
                        geometry=geometry)
    result["problem"].setdefault("source", problem.name)
    return Result(result)
