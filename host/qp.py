"""A QP job on p-bit cells: quantize, map, anneal (golden model or RTL), decode, and report the
objective gap to SciPy's optimum next to the energy by wall and its bounds."""
import numpy as np

from ..hdl.params import ArrayGeometry, Counter, Schedule, gain_kt
from ..sim.energy import Retention, run_energy
from ..sim.golden import GoldenArray, RunConfig
from .anneal import fit_geometry

__all__ = ["QP_WEIGHT_BITS", "default_sweeps", "run_qp"]

#: The widest weights a cell entry holds next to two 8-bit box limits in one bus word.
QP_WEIGHT_BITS = 15


def default_sweeps(bits):
    """Moves are one level per attempt, so the time to cross the box grows as 2^p."""
    return 4 * (1 << bits) + 64


def run_qp(boxqp, bits, sweeps=None, schedule=Schedule.LOGARITHMIC, barrier_end_q4=160, rate=8,
           barrier_start_q4=0, gain_q4=1, seed=1, optimum=None, retention=Retention(), simulator=None,
           build_root=None):
    """Run ``boxqp`` at ``bits`` bits for ``sweeps`` sweeps from the middle of the box.

    ``simulator`` ("verilator" or "icarus") also runs the RTL, which must agree with the golden
    model. Returns a JSON-ready dict: gap, test error (learning workloads), counters, energy.
    """
    sweeps = default_sweeps(bits) if sweeps is None else sweeps
    weight_max = (1 << (QP_WEIGHT_BITS - 1)) - 1
    q = boxqp.quantize(bits, weight_max)
    base = ArrayGeometry(lanes=8, groups=16, edge_depth=256, weight_bits=QP_WEIGHT_BITS, cell_bits=bits)
    geometry, program = fit_geometry(q.problem, base.lanes, base)
    start = q.to_levels((boxqp.low + boxqp.high) / 2)
    config = RunConfig(seed=seed, gain_q4=gain_q4, schedule=schedule, barrier_start_q4=barrier_start_q4,
                       barrier_end_q4=barrier_end_q4, rate=rate)
    gold = GoldenArray(program, start, config)
    snap = gold.run(sweeps)
    levels = gold.spins_pm()
    rtl_agrees = None
    if simulator is not None:
        from ..sim.cosim.runner import Cosimulator, Job
        runner = Cosimulator(geometry, simulator, build_root=build_root)
        rtl = runner.run([Job(q.problem.name, program, start, config, [sweeps])])[0][-1]
        rtl_agrees = bool(np.array_equal(rtl.rows, snap.rows) and rtl.counters == snap.counters)
    w = q.to_real(levels)
    w_opt, f_opt, convex = optimum if optimum is not None else boxqp.solve()
    drop = float(q.problem.objective(start) - q.problem.objective(levels))
    # the barrier the last sweep ran under: the raise after it is charged to no attempt
    last_sweep_barrier_q4 = snap.trace["barrier_q4"][-1]
    e = run_energy(snap.counters, boxqp.n, gain_kt(gain_q4, qp=True), drop, last_sweep_barrier_q4, retention,
                   bits=bits)
    result = {
        "workload": boxqp.name, "bits": bits, "sweeps": sweeps, "schedule": Schedule(schedule).name.lower(),
        "variables": boxqp.n, "f": float(boxqp.f(w)), "f_optimum": f_opt, "convex": bool(convex),
        "gap": float(boxqp.f(w) - f_opt),
        "entries_rounded_to_zero": q.lost,
        "quantization_gap": float(boxqp.f(q.to_real(q.to_levels(w_opt))) - f_opt),
        "counters": {c.name: int(snap.counters[c]) for c in Counter},
        "energy_kt": {"measured": e["measured"].total_kt, "bound": e["bound"].total_kt,
                      "conventional": e["conventional"].total_kt, "landauer": e["landauer_kt"],
                      "measured_update": e["measured"].update_kt, "measured_read": e["measured"].read_kt,
                      "measured_consolidation": e["measured"].consolidation_kt},
        "rtl_agrees": rtl_agrees,
    }
    if boxqp.test is not None:
        X, y = boxqp.test
        result["test_mse"] = float(np.mean((X @ w - y) ** 2))
        result["test_mse_optimum"] = float(np.mean((X @ w_opt - y) ** 2))
    return result
