"""Energy-to-solution of workloads, evaluated without running anything: every lower bound,
estimate and cost model of sim/energy.py per workload, and the brain-scale row set against the
reference paper's headline."""
import math

from ..sim.energy import (FN_MAX_BITS, PRICES, RELIABILITY_PROTOCOL, SECONDS_PER_YEAR, Device, update_floor_kt,
                          workload_energy)
from ..sim.workloads import AI_WORKLOADS, BRAIN_SCALE, Workload

__all__ = ["PAPER", "PAPER_HEADLINE_J", "evaluate", "evaluate_table", "paper_comparison", "format_table",
           "custom_workload", "LINES"]

#: The reference paper's abstract (v1, v2): training a 1e15-parameter model with LIM costs
#: 1e8 to 1e9 J, Landauer's order, 6 to 7 orders of magnitude below accelerator projections.
PAPER = ("Chen, Ahsan, Leugering, Cauwenberghs, Chakrabartty, 'Estimation of energy-dissipation "
         "lower-bounds for neuromorphic learning-in-memory', arXiv 2402.14878 (v1: 'Energy-efficiency "
         "limits on training AI systems using learning-in-memory')")
PAPER_HEADLINE_J = (1e8, 1e9)
PAPER_ACCELERATOR_ORDERS = (6, 7)

#: What the table and the plot show, in order: (section, key, column, label).
LINES = [
    ("lower_bounds", "landauer_final_state", "final state", "Landauer, final state"),
    ("lower_bounds", "lim", "LIM bound", "LIM lower bound (the larger of the two)"),
    ("estimates", "landauer_per_operation", "Landauer/op", "Landauer per operation (b bits erased per update)"),
    ("cost_models", "lim_array", "LIM array", "this LIM array"),
    ("cost_models", "fn_synapse", "FN synapse", "Fowler-Nordheim synapse (5 fJ/update, up to 14 bits)"),
    ("cost_models", "forced_write_memory", "forced wr.", "forced-write memory (kT physics)"),
    ("cost_models", "sram_dram", "SRAM/DRAM", "SRAM/DRAM, 45 nm"),
    ("cost_models", "accelerator", "H100 full", "H100 at full utilisation (0.71 pJ/FLOP)"),
    ("cost_models", "accelerator_measured", "H100 40%", "H100 at 40% measured utilisation (1.77 pJ/FLOP)"),
]
KINDS = {"lower_bounds": "lower bound", "estimates": "estimate", "cost_models": "cost model"}


def evaluate(workload, counting="per-sample", device=Device(), time_s=None, samples=None, reads_per_update=None):
    """One workload's bounds, estimates and cost models (``samples`` overrides its training data)."""
    e = workload_energy(workload.parameters, workload.update_ops(counting, samples), workload.bits,
                        time_s=time_s, flops=workload.training_flops(samples), reads_per_update=reads_per_update,
                        device=device)
    e.update(name=workload.name, source=workload.source, counting=counting,
             samples=workload.samples if samples is None else samples, batch=workload.batch,
             samples_assumed=workload.assumed)
    lim, acc = e["lower_bounds"]["lim"]["j"], e["cost_models"]["accelerator"]["j"]
    e["accelerator_over_lim"] = acc / lim if lim else None
    return e


def evaluate_table(counting="per-sample", device=Device(), workloads=AI_WORKLOADS, time_s=None,
                   reads_per_update=None):
    return [evaluate(w, counting, device, time_s, reads_per_update=reads_per_update) for w in workloads]


def paper_comparison(counting="per-sample", device=Device(), workload=BRAIN_SCALE):
    """The brain-scale row against the paper's headline, stated as what it is: E = OPS x the floor
    per update, so the headline fixes the update operations it implies; the paper's own count is
    not known here, so whether the figures agree is unresolved, and this says so."""
    per_update_kt = update_floor_kt(device.write_error)
    per_update_j = per_update_kt * device.kt_j
    implied_ops = [j / per_update_j for j in PAPER_HEADLINE_J]
    per_sample = counting == "per-sample"
    implied_samples = [ops / workload.parameters * (1 if per_sample else workload.batch) for ops in implied_ops]
    at = evaluate(workload, counting, device)
    lim = at["lower_bounds"]["lim"]["j"]
    acc = at["cost_models"]["accelerator"]["j"]
    acc_measured = at["cost_models"]["accelerator_measured"]["j"]
    unit = "samples" if per_sample else "samples at this batch"
    return {
        "paper": PAPER,
        "paper_headline_j": list(PAPER_HEADLINE_J),
        "paper_accelerator_orders": list(PAPER_ACCELERATOR_ORDERS),
        "counting": counting,
        "floor_per_update_kt": per_update_kt,
        "floor_per_update_j": per_update_j,
        "write_error": device.write_error,
        "implied_update_ops": implied_ops,
        "implied_samples": implied_samples,
        "samples_assumed": workload.samples,
        "assumption": workload.source,
        "lim_bound_at_assumption_j": lim,
        "at_assumption_over_headline": [lim / PAPER_HEADLINE_J[1], lim / PAPER_HEADLINE_J[0]],
        "landauer_per_operation_j": at["estimates"]["landauer_per_operation"]["j"],
        "landauer_final_state_j": at["lower_bounds"]["landauer_final_state"]["j"],
        "accelerator_over_lim_orders": math.log10(acc / lim),
        "accelerator_measured_over_lim_orders": math.log10(acc_measured / lim),
        "verdict": "unresolved",
        "statement": (
            f"E = OPS x {per_update_kt:.3g} kT per update (the reliability floor at write error "
            f"{device.write_error:.3g}, slow limit), so the headline implies {implied_ops[0]:.2g} to "
            f"{implied_ops[1]:.2g} update operations ({implied_samples[0]:.2g} to {implied_samples[1]:.2g} "
            f"training {unit}). The paper's number of operations is not known here, so whether the "
            f"floor agrees with the headline is unresolved: it depends on that assumption alone"),
    }


def _fmt(value):
    return f"{value:.3g}" if value is not None else "-"


def format_table(rows, comparison=None):
    """The table a reader sees: which columns are lower bounds, estimates and cost models; the
    units; the accelerator over the LIM bound per row; what a '-' means; the sources."""
    w0 = rows[0]["workload"]
    timed = w0["time_s"] is not None
    width = 12
    groups = []
    for section in ("lower_bounds", "estimates", "cost_models"):
        count = sum(1 for s, *_ in LINES if s == section)
        groups.append(f"{'| ' + KINDS[section] + 's (J)':<{count * width}}")
    lead = f"{'':<22}{'':>9}{'':>11}{'':>5}"
    head1 = lead + "".join(groups) + "| ratio" + ("   | time budget" if timed else "")
    head2 = (f"{'workload':<22}{'params':>9}{'update ops':>11}{'bits':>5}"
             + "".join(f"{column:>{width}}" for _, _, column, _ in LINES)
             + f"{'H100/LIM':>10}" + (f"{'min time':>11}{'allows':>8}" if timed else ""))
    lines = [f"kT = {w0['kt_j']:.4g} J at {w0['device']['temperature_k']:g} K; write error {w0['write_error']:.3g} "
             f"per update; final state held {w0['device']['retention_time_s'] / SECONDS_PER_YEAR:.3g} years to error "
             f"{w0['device']['retention_error']:.3g} (retention barrier {w0['retention_barrier_kt']:.1f} kT); "
             f"updates counted {rows[0]['counting']}",
             head1, head2, "-" * len(head2)]
    for r in rows:
        w = r["workload"]
        line = (f"{r['name']:<22}{w['parameters']:>9.3g}{w['update_ops']:>11.3g}{w['bits']:>5}"
                + "".join(f"{_fmt(r[section][key]['j']):>{width}}" for section, key, _, _ in LINES)
                + f"{_fmt(r['accelerator_over_lim']):>10}")
        if timed:
            line += f"{w['min_time_s']:>11.3g}{'yes' if w['time_allows'] else 'NO':>8}"
        lines.append(line)
    lines.append("")
    where = "slow limit" if not timed else f"{rows[0]['name']} in the time given; each row's in the JSON"
    lines.append(f"reliability floor {_fmt(w0['update_floor_kt'])} kT per update ({where}); it "
                 f"{RELIABILITY_PROTOCOL}.")
    lines.append("Landauer per operation is an estimate, not a bound: a small update erases far less than b bits.")
    if any(r["cost_models"]["fn_synapse"]["j"] is None for r in rows):
        lines.append(f"FN synapse '-': the rows' precision exceeds the {FN_MAX_BITS} bits the synapse holds.")
    if timed and not all(r["workload"]["time_allows"] for r in rows):
        lines.append("'-' in the LIM columns: the time budget is below the row's minimum time, the shortest in "
                     "which any update of the protocol class reaches the write error (ln(1/eps) attempt times "
                     "per update).")
    if comparison is not None:
        c = comparison
        lines.append("")
        lines.append(f"brain-scale against the paper's headline ({c['paper_headline_j'][0]:.0e} to "
                     f"{c['paper_headline_j'][1]:.0e} J): {c['verdict']}")
        lines.append(f"  {c['statement']}.")
        lines.append(f"  At the table's assumed {c['samples_assumed']:.2g} samples (20 tokens per parameter) the LIM "
                     f"bound is {c['lim_bound_at_assumption_j']:.3g} J, {c['at_assumption_over_headline'][0]:.3g} to "
                     f"{c['at_assumption_over_headline'][1]:.3g} x the headline; that is the assumption's figure, "
                     f"not a test of the paper.")
        lines.append(f"  Accelerator over the LIM bound at that assumption: {c['accelerator_over_lim_orders']:.1f} orders "
                     f"at full utilisation, {c['accelerator_measured_over_lim_orders']:.1f} at 40% (the paper: "
                     f"{c['paper_accelerator_orders'][0]} to {c['paper_accelerator_orders'][1]} orders).")
    lines.append("")
    lines.append("per-event prices:")
    for price in PRICES.values():
        lines.append(f"  {price.joules:.3g} J per {price.per}: {price.source}")
    lines.append(f"reference: {PAPER}")
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
