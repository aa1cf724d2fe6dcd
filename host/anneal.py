"""An annealing job on the simulated array, checked against the golden model, with its energy.

The RTL runs the job in checkpoints; the golden model runs the same job sweep by sweep (for the
trajectory) and must agree with the RTL at every checkpoint on the state and every counter.
"""
import json
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..hdl.params import ARG_FRAC_BITS, ArrayGeometry, Counter, gain_kt
from ..sim.energy import first_law as energy_first_law, run_energy
from ..sim.golden import GoldenArray
from ..sim.mapping import MappingError, map_problem
from ..sim.gset import best_known_cut, load_named
from ..sim.temperature import largest_move
from .files import write_atomically
from .progress import Progress, watch_file
from .settings import SettingsError, check_fits_build

__all__ = ["default_problem", "fit_geometry", "run_anneal", "array_throughput", "write_result"]

DEFAULT_GEOMETRY = ArrayGeometry(lanes=8, groups=256, edge_depth=4096, field_banks=4)   # the ULX3S build's
_Q = 2 ** ARG_FRAC_BITS


def default_problem():
    """The real Gset G1: 800 nodes, 19,176 unit-weight edges (shipped with the package)."""
    return load_named("G1")


def fit_geometry(problem, lanes, base=DEFAULT_GEOMETRY, field_banks=None):
    """``base`` with ``lanes`` lanes (and ``field_banks``, if given), its memories doubled until
    ``problem`` fits."""
    groups, depth = base.groups, base.edge_depth
    banks = base.field_banks if field_banks is None else field_banks
    while True:
        geometry = replace(base, lanes=lanes, groups=groups, edge_depth=depth, field_banks=banks)
        try:
            return geometry, map_problem(problem, geometry)
        except MappingError as exc:
            if exc.resource == "groups" and groups < 1 << 16:
                groups *= 2
            elif exc.resource == "edge_depth" and depth < 1 << 20:
                depth *= 2
            else:
                raise


def board_program(problem, settings, board):
    """The program ``board``'s build runs ``problem`` as: mapped onto its programmable array or,
    with ``settings.compiled``, compiled into its array as `lim build --problem` builds it (a
    compiled array keeps no memories: its groups and depths grow to the problem). Refuses, in one
    line, what the build cannot run."""
    from ..boards.targets import BOARDS
    from ..sim.problem import QpProblem
    target = BOARDS[board]
    check_fits_build(settings, target.geometry, f"the {board} build")
    if not settings.compiled:
        return map_problem(problem, target.geometry)
    if isinstance(problem, QpProblem):
        raise SettingsError("a compiled array holds spin problems; run a QP on the programmable array")
    from .toolchain import compiled_target
    return compiled_target(target, problem)[1]


def initial_state(problem, settings):
    """The start state of a run: uniform random spins (or levels' low bit) from the run's seed."""
    return np.random.default_rng(settings.seed).integers(0, 2, size=problem.n)


def array_throughput(problem, geometry, clk_hz, settings=None, compiled=False):
    """What the array does per second on ``problem`` at ``clk_hz``: the run's exact cycle count
    (the golden model's CYCLES, bit-exact with the RTL's) under ``settings`` (default: the
    command line's defaults for the problem), as attempts / (CYCLES / f).

    The array's cycles depend on the hops (the field banks walk their entries), so a throughput
    is a property of a run, not of the problem alone; a ``compiled`` array's is not (its sweep
    takes compiled_sweep_cycles and the schedules' step)."""
    from .settings import AnnealSettings
    settings = (settings or AnnealSettings()).resolve(problem)
    program = map_problem(problem, geometry)
    snap = GoldenArray(program, initial_state(problem, settings), settings.to_config(),
                       compiled=compiled).run(settings.sweeps, trace=False)
    c = snap.counters
    return {"sweeps": settings.sweeps, "attempts": c[Counter.ATTEMPTS], "hops": c[Counter.HOPS],
            "cycles": c[Counter.CYCLES], "cycles_per_sweep": c[Counter.CYCLES] / settings.sweeps,
            "update_rows_per_lane": program.update_rows, "groups": program.n_groups,
            "colours": len(program.colour_groups), "clk_hz": clk_hz,
            "spin_updates_per_second": c[Counter.ATTEMPTS] * clk_hz / c[Counter.CYCLES]}


def _chunks(sweeps, checkpoints):
    checkpoints = min(checkpoints, sweeps)
    base, extra = divmod(sweeps, checkpoints)
    return [base + (1 if k < extra else 0) for k in range(checkpoints)]


def _compare(golden_snaps, rtl_snaps):
    """Names of what differs at each checkpoint (empty when the RTL equals the model)."""
    differences = []
    for k, (want, got) in enumerate(zip(golden_snaps, rtl_snaps)):
        if not np.array_equal(want.rows, got.rows):
            differences.append(f"checkpoint {k}: state")
        for c in Counter:
            if want.counters[c] != got.counters[c]:
                differences.append(f"checkpoint {k}: {c.name} {got.counters[c]} != {want.counters[c]}")
        if want.saturated != got.saturated:
            differences.append(f"checkpoint {k}: saturation flags")
    return differences


def rtl_runner(simulator, geometry, waves=False, build_root=None, program=None):
    """The RTL of ``geometry`` in ``simulator`` (verilator, icarus or amaranth), ready to run jobs;
    with ``program``, that problem's compiled array (verilator or icarus)."""
    if simulator == "amaranth":
        from ..sim.cosim.amaranth_sim import AmaranthSimulator
        return AmaranthSimulator(geometry)
    from ..sim.cosim.runner import Cosimulator, compiled_design
    design = compiled_design(program) if program is not None else None
    return Cosimulator(geometry, simulator, waves=waves, build_root=build_root, design=design)


def last_sweep_barrier_q4(counters, cells):
    """The barrier the last sweep ran under, from the target's own counters: every sweep charges
    each cell's raise, the first one from 0 to the start, so BARRIER = cells x Eb_last (spins)."""
    return counters[Counter.BARRIER_Q4] // max(cells, 1)


def first_law(problem, config, snapshot, start_values, final_values):
    """sim/energy.py first_law on the run's counters and its start and final states; a run whose
    counters saturated does not close."""
    law = energy_first_law(snapshot.counters, config.gain_log, snapshot.gain_log,
                           problem.objective_gain_units(start_values), problem.objective_gain_units(final_values),
                           qp=hasattr(problem, "high"))
    law["closes"] = bool(law["closes"] and not snapshot.saturated)
    return law


def energy_report(problem, settings, counters, final_barrier_q4, trace):
    """The run's measured energy (the array's cost model on its counters) next to the lower bounds
    and cost models for its own workload: N cells, ATTEMPTS operations, the cell precision, and
    sweeps x the device's step time (sim/energy.py ``run_energy``)."""
    bits = problem.bits if hasattr(problem, "high") else 1
    e = run_energy(counters, problem.n, bits, settings.sweeps, final_barrier_q4, settings.device())
    e["barrier_free_sweeps"] = barrier_free_fraction(problem, trace["gain_kt"], trace["barrier_kt"])
    return e


def barrier_free_fraction(problem, gains_kt, barriers_kt):
    """The fraction of sweeps in which the steepest possible move tilts a cell by more than twice
    its barrier: its upper well then has no barrier, and the hop rule's barrier-free branch (the
    whole climb for the way up) applies. Detailed balance holds on both branches."""
    move = largest_move(problem)
    if not gains_kt:
        return 0.0
    free = sum(g * move > 2 * b for g, b in zip(gains_kt, barriers_kt))
    return free / len(gains_kt)


class _Target:
    """Where the RTL runs: the array in a simulator, a simulated board, or a real board."""

    def __init__(self, kind, settings, port, board, waves, progress, stack, program=None):
        from ..boards.targets import BOARDS
        self.kind = kind
        self.board = None
        self.label = settings.simulator
        if kind == "rtl":
            self.geometry = None
            return
        from .driver import LimBoard
        if kind == "sim-board":
            from .simboard import SimulatedBoard
            geometry = BOARDS[board].geometry if program is None else program.geometry
            sim = SimulatedBoard(geometry, settings.simulator, waves=waves, program=program)
            progress.stage(f"building the simulated {board} board ({settings.simulator})")
            sim.build()
            progress.done("ready")
            transport = stack.enter_context(sim).transport
            self.board = LimBoard(transport, timeout_s=30.0)   # polls busy at the driver's 0.05 s
            self.label = f"simulated {board} board ({settings.simulator})"
        else:
            from .transport import SerialTransport
            transport = SerialTransport(port, BOARDS[board].baud)
            stack.callback(transport.close)
            self.board = LimBoard(transport, timeout_s=1.0)
            self.label = f"{self.board.identity.board} on {port}"
        self.geometry = self.board.geometry


def run_anneal(problem, settings, progress=None, waves=False, target="rtl", port=None, board="ulx3s",
               geometry=None):
    """Run ``settings`` on ``problem``; returns the result as a JSON-ready dict.

    ``target``: "rtl" (the array in ``settings.simulator``), "sim-board" (the board's RTL behind
    its UART, in a simulator) or "port" (a real board on serial ``port``). ``geometry`` fixes the
    simulated array's shape (default: the smallest default-shaped array the problem fits).
    """
    from contextlib import ExitStack
    progress = progress or Progress(enabled=False)
    settings = settings.resolve(problem)
    program = None
    if target == "sim-board":   # refuse what the board cannot run before building its model
        program = board_program(problem, settings, board)
    with ExitStack() as stack:
        where = _Target(target, settings, port, board, waves, progress, stack,
                        program=program if settings.compiled else None)
        if geometry is not None and where.geometry is None:
            where.geometry = geometry
        result = _run(problem, settings, progress, waves, where)
        result["run"] = {"target": target, "board": None if target == "rtl" else board}
        return result


def _run(problem, settings, progress, waves, where):
    config = settings.to_config()
    if where.geometry is None:
        banks = 1 if settings.compiled else settings.field_banks   # a compiled array keeps no fields
        geometry, program = fit_geometry(problem, settings.lanes, field_banks=banks)
    else:
        check_fits_build(settings, where.geometry, f"the array on {where.label}")
        geometry, program = where.geometry, map_problem(problem, where.geometry)
    initial = initial_state(problem, settings)
    chunks = _chunks(settings.sweeps, settings.checkpoints)

    if settings.compiled and program.geometry.qp:
        raise SettingsError("a compiled array holds spin problems; run a QP on the programmable array")
    golden = GoldenArray(program, initial, config, compiled=settings.compiled)
    start_objective = int(problem.objective(golden.spins_pm()))
    trace = {"sweep": [], "barrier_kt": [], "gain_kt": [], "objective": [], "reads": [], "drop_kt": [],
             "barrier_work_kt": []}
    golden_snaps = []
    t0 = time.perf_counter()
    progress.stage("golden model")
    done = 0
    for chunk in chunks:
        for _ in range(chunk):
            snap = golden.run(1)
            done += 1
            trace["sweep"].append(done)
            trace["barrier_kt"].append(snap.trace["barrier_q4"][0] / _Q)
            trace["gain_kt"].append(gain_kt(snap.trace["gain_log"][0]))
            trace["objective"].append(snap.trace["objective"][0])
            trace["reads"].append(golden.totals[Counter.READS])
            trace["drop_kt"].append(golden.totals[Counter.DROP_Q4] / _Q)
            trace["barrier_work_kt"].append(golden.totals[Counter.BARRIER_Q4] / _Q)
            progress.update(done, settings.sweeps)
        golden_snaps.append(snap)
    golden_seconds = time.perf_counter() - t0

    rtl = None
    if settings.simulator != "golden" or where.board is not None:
        runner = where.board or rtl_runner(settings.simulator, geometry, waves,
                                           program=program if settings.compiled else None)
        from ..sim.cosim.runner import Job
        job = Job(problem.name, program, initial, config, chunks)
        build_seconds = None
        if hasattr(runner, "build"):
            progress.stage(f"building the {settings.simulator} model")
            runner.build()
            build_seconds = runner.build_seconds
            progress.done("ready")
        progress.stage(where.label)
        with tempfile.TemporaryDirectory() as tmp:
            progress_file = Path(tmp) / "progress"
            t0 = time.perf_counter()
            with watch_file(progress_file, progress):
                rtl_snaps = runner.run([job], progress_file=progress_file)[0]
            rtl_seconds = time.perf_counter() - t0
        progress.update(len(chunks), len(chunks))
        differences = _compare(golden_snaps, rtl_snaps)
        cycles = rtl_snaps[-1].counters[Counter.CYCLES]
        run_wall = sum(getattr(s, "wall_s", 0.0) for s in rtl_snaps) or rtl_seconds
        rtl = {
            "simulator": where.label,
            "agrees_with_golden_model": not differences,
            "checkpoints_compared": len(chunks),
            "differences": differences[:20],
            "cycles": cycles,
            "build_seconds": build_seconds,
            "run_seconds": rtl_seconds,
            "anneal_seconds": run_wall,
            "cycles_per_second": cycles / run_wall if run_wall else None,
        }
        if where.board is not None:
            rtl["board"] = {"identity": where.board.identity.to_dict(), "seconds": rtl_seconds, **where.board.stats}
        if waves and hasattr(runner, "waves_path"):
            rtl["waves"] = str(runner.waves_path)

    # the report is read from the target that ran; the golden model checks it
    golden_final = golden_snaps[-1]
    if rtl is not None:
        final = rtl_snaps[-1]
        spins = program.rows_to_spins(final.rows).astype(np.int64) * 2 - 1
        source = where.label
    else:
        final, spins, source = golden_final, golden.spins_pm(), "golden model"
    counters = {c.name: int(v) for c, v in final.counters.items()}
    final_objective = int(problem.objective(spins))
    energy = energy_report(problem, settings, final.counters, last_sweep_barrier_q4(final.counters, problem.n),
                           trace)
    energy["first_law"] = first_law(problem, config, final, program.values(initial), spins)
    result = {
        "problem": {"name": problem.name, "spins": problem.n, "couplings": problem.m,
                    "sha256": problem.digest()},
        "array": {"lanes": geometry.lanes, "groups": geometry.groups, "edge_depth": geometry.edge_depth,
                  "field_banks": geometry.field_banks,
                  "weight_bits": geometry.weight_bits, "counter_bits": geometry.counter_bits,
                  "groups_used": program.n_groups, "colours": len(program.colour_groups),
                  "update_rows_per_lane": program.update_rows, "compiled": settings.compiled},
        "settings": settings.to_dict(),
        "schedule": settings.describe(),
        "read_from": source,
        "objective": {"start": start_objective, "final": final_objective, "register": final.objective},
        "final_gain_kt": gain_kt(final.gain_log),
        "counters": counters,
        "saturated": [c.name for c in Counter if final.saturated >> c & 1],
        "energy": energy,
        "golden_model": {"seconds": golden_seconds,
                         "spin_updates_per_second": problem.n * settings.sweeps / golden_seconds,
                         "counters": {c.name: int(v) for c, v in golden_final.counters.items()},
                         "objective_final": int(problem.objective(golden.spins_pm())),
                         "spins": golden.spins_pm().tolist()},
        "rtl": rtl,
        "trace": trace,
        "trace_from": "golden model (every sweep; the target is compared at each checkpoint)",
        "spins": spins.tolist(),
        "meta": run_metadata(),
    }
    if problem.maxcut_weights is not None:
        result["cut"] = problem.cut_value(spins)
        best = best_known_cut(problem)
        if best is not None:
            result["best_known_cut"] = best
            result["fraction_of_best_known"] = result["cut"] / best
        result["trace"]["cut"] = [(int(problem.maxcut_weights.sum()) - u) // 2 for u in trace["objective"]]
    return result


def run_metadata():
    def git(*args):
        try:
            root = Path(__file__).resolve().parent.parent
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True,
                                  timeout=5).stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None
    versions = {}
    for name in ("amaranth", "cocotb", "numpy", "verilator"):
        try:
            from importlib.metadata import version
            versions[name] = version(name)
        except Exception:
            versions[name] = None
    return {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "git_revision": git("rev-parse", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain")),
        "python": platform.python_version(),
        "versions": versions,
    }


def write_result(result, path):
    """Write a result as JSON, whole or not at all (host/files.py)."""
    def write(tmp):
        with open(tmp, "w") as f:
            json.dump(result, f, indent=1)
    return write_atomically(path, write)
