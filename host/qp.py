"""A QP job on p-bit cells: quantize, map, anneal (golden model or RTL), decode, and report the
objective gap to SciPy's optimum and the held-out score next to the energy and its bounds."""
import math

import numpy as np

from ..hdl.params import ArrayGeometry, Counter, gain_kt
from ..sim.golden import GoldenArray
from ..sim.temperature import HOT_ACCEPTANCE
from .anneal import energy_report, fit_geometry, rtl_runner
from .settings import AnnealSettings

__all__ = ["QP_WEIGHT_BITS", "default_sweeps", "quantize", "run_qp"]

#: The couplings' width (biases have ``cell_bits + 1`` more, ArrayGeometry.bias_bits): 16 bits,
#: the widest a DEGREES word holds for Q_ii.
QP_WEIGHT_BITS = 16


def default_sweeps(bits):
    """Moves are one level per attempt, so the time to cross the box grows as 2^p."""
    return 4 * (1 << bits) + 64


def quantize(boxqp, bits):
    """``boxqp`` on ``bits``-bit cells at the array's widths, scaled no further than its hot gain
    (temperature.gain_range) stays within the gain register's range."""
    g = ArrayGeometry(weight_bits=QP_WEIGHT_BITS, cell_bits=bits)
    return boxqp.quantize(bits, g.weight_max, g.bias_max,
                          largest_move=math.log(1 / HOT_ACCEPTANCE) / gain_kt(0, qp=True))


def run_qp(boxqp, bits, settings=None, optimum=None, simulator=None, build_root=None, sweeps=None):
    """Run ``boxqp`` at ``bits`` bits from the middle of the box under ``settings`` (an
    AnnealSettings; default: ``default_sweeps(bits)`` sweeps, schedules derived from the
    quantized problem as for spins; ``sweeps`` alone changes the sweeps of the default).

    ``simulator`` ("verilator", "icarus" or "amaranth") also runs the RTL, which must agree with the golden
    model. Returns a JSON-ready dict: gap, held-out score, counters, energy.
    """
    if settings is None:
        settings = AnnealSettings(sweeps=sweeps if sweeps is not None else default_sweeps(bits))
    elif sweeps is not None:
        raise ValueError("give the sweeps in the settings or alone, not both")
    q = quantize(boxqp, bits)
    resolved = settings.resolve(q.problem)
    config = resolved.to_config()
    base = ArrayGeometry(lanes=8, groups=16, edge_depth=256, weight_bits=QP_WEIGHT_BITS, cell_bits=bits)
    geometry, program = fit_geometry(q.problem, base.lanes, base)
    start = q.to_levels((boxqp.low + boxqp.high) / 2)
    gold = GoldenArray(program, start, config)
    snap = gold.run(resolved.sweeps)
    levels = gold.spins_pm()
    rtl_agrees = None
    if simulator is not None:
        from ..sim.cosim.runner import Job
        runner = rtl_runner(simulator, geometry, False, build_root)
        rtl = runner.run([Job(q.problem.name, program, start, config, [resolved.sweeps])])[0][-1]
        rtl_agrees = bool(np.array_equal(rtl.rows, snap.rows) and rtl.counters == snap.counters)
    w = q.to_real(levels)
    w_opt, f_opt, convex = optimum if optimum is not None else boxqp.solve()
    trace = {"gain_kt": [gain_kt(g, qp=True) for g in snap.trace["gain_log"]],
             "barrier_kt": [b / 16 for b in snap.trace["barrier_q4"]]}
    # the barrier the last sweep ran under: the raise after it is charged to no attempt
    energy = energy_report(q.problem, resolved, snap.counters, snap.trace["barrier_q4"][-1], trace)
    result = {
        "workload": boxqp.name, "bits": bits, "sweeps": resolved.sweeps, "schedule": resolved.describe(),
        "settings": resolved.to_dict(),   # what was asked, derived from the problem, and the registers
        "variables": boxqp.n, "f": float(boxqp.f(w)), "f_optimum": f_opt, "convex": bool(convex),
        "gap": float(boxqp.f(w) - f_opt),
        "entries_rounded_to_zero": q.lost,
        "quantization_gap": float(boxqp.f(q.to_real(q.to_levels(w_opt))) - f_opt),
        "counters": {c.name: int(snap.counters[c]) for c in Counter},
        "energy": energy,
        "energy_kt": {"measured": energy["measured"]["total_kt"],
                      "measured_update": energy["measured"]["update_kt"],
                      "measured_read": energy["measured"]["read_kt"],
                      "measured_consolidation": energy["measured"]["consolidation_kt"],
                      **{f"{k}_bound": v["kt"] for k, v in energy["lower_bounds"].items()},
                      "forced_write_memory": energy["cost_models"]["forced_write_memory"]["kt"]},
        "rtl_agrees": rtl_agrees,
    }
    held_out, optimum_held_out = boxqp.held_out(w), boxqp.held_out(w_opt)
    result.update(held_out)
    result.update({f"{k}_optimum": v for k, v in optimum_held_out.items()})
    return result
