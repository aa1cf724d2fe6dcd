"""Energy-to-solution of workloads, evaluated without running anything: every lower bound and
cost model of sim/energy.py per workload, and the brain-scale row set against the reference
paper's headline."""
import math

from ..sim.energy import Device, update_floor_kt, workload_energy
from ..sim.workloads import AI_WORKLOADS, BRAIN_SCALE, Workload

__all__ = ["PAPER_HEADLINE_J", "evaluate", "evaluate_table", "paper_comparison", "format_table",
           "custom_workload", "LINES"]

#: The reference paper's abstract (v1, v2): training a 1e15-parameter model with LIM costs
#: 1e8 to 1e9 J, Landauer's order, 6 to 7 orders of magnitude below accelerator projections.
PAPER_HEADLINE_J = (1e8, 1e9)
PAPER_ACCELERATOR_ORDERS = (6, 7)

#: What the table and the plot show, in order: (section, key, column, label).
LINES = [
    ("lower_bounds", "landauer_final_state", "Landauer end", "Landauer, final state"),
    ("lower_bounds", "landauer_per_operation", "Landauer/op", "Landauer per operation"),
    ("lower_bounds", "lim", "LIM bound", "LIM lower bound (the larger of the two)"),
    ("cost_models", "lim_array", "LIM array", "this LIM array"),
    ("cost_models", "fn_synapse", "FN synapse", "Fowler-Nordheim synapse (5 fJ/update)"),
    ("cost_models", "forced_write_memory", "forced write", "forced-write memory (kT physics)"),
    ("cost_models", "sram_dram", "SRAM/DRAM", "SRAM/DRAM, 45 nm"),
    ("cost_models", "accelerator", "H100", "accelerator (H100, 0.71 pJ/FLOP)"),
]


def evaluate(workload, counting="per-sample", device=Device(), time_s=None, samples=None, reads_per_update=None):
    """One workload's bounds and cost models (``samples`` overrides its training data)."""
    e = workload_energy(workload.parameters, workload.update_ops(counting, samples), workload.bits,
                        time_s=time_s, flops=workload.training_flops(samples), reads_per_update=reads_per_update,
                        device=device)
    e.update(name=workload.name, source=workload.source, counting=counting,
             samples=workload.samples if samples is None else samples, batch=workload.batch)
    return e


def evaluate_table(counting="per-sample", device=Device(), workloads=AI_WORKLOADS, time_s=None,
                   reads_per_update=None):
    return [evaluate(w, counting, device, time_s, reads_per_update=reads_per_update) for w in workloads]


def paper_comparison(counting="per-sample", device=Device(), workload=BRAIN_SCALE):
    """The brain-scale row against the paper's headline: the range the data assumption spans, the
    update operations the headline corresponds to under this floor, and the accelerator gap."""
    low, high = workload.samples_range
    rows = {k: evaluate(workload, counting, device, samples=s) for k, s in (("low", low), ("high", high))}
    per_update_j = update_floor_kt(workload.bits) * device.kt_j
    implied_ops = [j / per_update_j for j in PAPER_HEADLINE_J]
    per_sample = counting == "per-sample"
    implied_samples = [ops / workload.parameters * (1 if per_sample else workload.batch) for ops in implied_ops]
    central = evaluate(workload, counting, device)
    lim = central["lower_bounds"]["lim"]["j"]
    acc = central["cost_models"]["accelerator"]["j"]
    return {
        "paper_headline_j": list(PAPER_HEADLINE_J),
        "paper_accelerator_orders": list(PAPER_ACCELERATOR_ORDERS),
        "samples_assumed": workload.samples, "samples_range": [low, high],
        "lim_bound_j": {"central": lim, "low": rows["low"]["lower_bounds"]["lim"]["j"],
                        "high": rows["high"]["lower_bounds"]["lim"]["j"]},
        "landauer_per_operation_j": central["lower_bounds"]["landauer_per_operation"]["j"],
        "landauer_final_state_j": central["lower_bounds"]["landauer_final_state"]["j"],
        "floor_per_update_j": per_update_j,
        "implied_update_ops": implied_ops,
        "implied_samples": implied_samples,
        "headline_within_range": low <= implied_samples[0] and implied_samples[1] <= high,
        "accelerator_over_lim_orders": math.log10(acc / lim),
        "deciding_assumption": (
            f"the number of update operations: the floor is {update_floor_kt(workload.bits):.2f} kT per "
            f"{workload.bits}-bit update whatever the model, so the headline needs "
            f"{implied_ops[0]:.2g} to {implied_ops[1]:.2g} updates ({implied_samples[0]:.2g} to "
            f"{implied_samples[1]:.2g} training {'samples' if per_sample else 'samples at this batch'}); "
            f"a per-parameter account (Landauer, final state) gives "
            f"{central['lower_bounds']['landauer_final_state']['j']:.2g} J"),
    }


def _fmt(value):
    return f"{value:.3g}" if value is not None else "-"


def format_table(rows, comparison=None):
    head = f"{'energy (J)':<22}{'params':>9}{'update ops':>11}{'bits':>5}" + "".join(
        f"{column:>13}" for _, _, column, _ in LINES)
    lines = [head, "-" * len(head)]
    for r in rows:
        w = r["workload"]
        lines.append(f"{r['name']:<22}{w['parameters']:>9.3g}{w['update_ops']:>11.3g}{w['bits']:>5}"
                     + "".join(f"{_fmt(r[section][key]['j']):>13}" for section, key, _, _ in LINES))
    w = rows[0]["workload"]
    lines.append("")
    lines.append(f"reliability floor {w['update_floor_kt']:.3g} kT per update at {w['bits']} bits "
                 f"(error 2^-{w['bits']}), retention barrier {w['retention_barrier_kt']:.1f} kT; "
                 f"counting {rows[0]['counting']}")
    if comparison is not None:
        c = comparison
        lines.append("")
        lines.append(f"brain-scale against the paper: the paper's LIM estimate is {c['paper_headline_j'][0]:.0e} to "
                     f"{c['paper_headline_j'][1]:.0e} J; this floor gives {c['lim_bound_j']['central']:.3g} J at the "
                     f"assumed {c['samples_assumed']:.2g} samples")
        lines.append(f"  over the assumption's range ({c['samples_range'][0]:.2g} to {c['samples_range'][1]:.2g} samples): "
                     f"{c['lim_bound_j']['low']:.3g} to {c['lim_bound_j']['high']:.3g} J "
                     f"({'contains' if c['headline_within_range'] else 'misses'} the headline)")
        lines.append(f"  what decides it: {c['deciding_assumption']}")
        lines.append(f"  Landauer per operation {c['landauer_per_operation_j']:.3g} J (the paper: same magnitude as "
                     f"Landauer); accelerator {c['accelerator_over_lim_orders']:.1f} orders above the LIM bound "
                     f"(the paper: {c['paper_accelerator_orders'][0]} to {c['paper_accelerator_orders'][1]})")
    return "\n".join(lines)


def custom_workload(parameters, update_ops, bits, flops=None):
    """A workload from the command line: ``update_ops`` counted per sample (batch 1)."""
    if not parameters >= 1:
        raise ValueError(f"parameters must be at least 1, not {parameters:g}")
    if not update_ops >= 1:
        raise ValueError(f"update operations must be at least 1, not {update_ops:g}")
    if flops is not None and not flops > 0:
        raise ValueError(f"FLOPs must be positive, not {flops:g}")
    return Workload("custom", parameters, update_ops / parameters, 1, bits, "command line", flops=flops)
