"""Plots of a run: what the array did (objective), how (barrier), and what it cost (energy by wall)."""
import math
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .files import write_atomically  # noqa: E402

__all__ = ["plot_anneal", "plot_bounds", "plot_qp_precision"]


def _save(fig, path):
    try:
        return write_atomically(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))
    finally:
        plt.close(fig)


def plot_anneal(result, path):
    trace = result["trace"]
    sweeps = trace["sweep"]
    fig, (ax_obj, ax_barrier, ax_energy) = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    title = f"{result['problem']['name']}: {result['schedule']}"
    fig.suptitle(textwrap.fill(title, 100), fontsize=9)

    if "cut" in trace:
        ax_obj.plot(sweeps, trace["cut"], color="tab:blue")
        ax_obj.set_ylabel("cut value")
        ax_obj.annotate(f"final cut {result['cut']}", xy=(sweeps[-1], trace["cut"][-1]),
                        xytext=(-10, -18), textcoords="offset points", ha="right", color="tab:blue")
    else:
        ax_obj.plot(sweeps, trace["objective"], color="tab:blue")
        ax_obj.set_ylabel("objective U")
    rtl = result.get("rtl")
    if rtl:
        mark = "RTL = golden model" if rtl["agrees_with_golden_model"] else "RTL DIFFERS from golden model"
        ax_obj.set_title(f"{rtl['simulator']}: {mark} at {rtl['checkpoints_compared']} checkpoints",
                         fontsize=9, color="black" if rtl["agrees_with_golden_model"] else "red")
    ax_obj.grid(alpha=0.3)

    ax_barrier.plot(sweeps, trace["barrier_kt"], color="tab:orange")
    ax_barrier.set_ylabel("barrier Eb (kT)")
    ax_barrier.grid(alpha=0.3)

    ln2 = math.log(2)
    walls = {
        "read (kT ln2 per read, CIM)": [r * ln2 for r in trace["reads"]],
        "update (drop released by downhill hops)": trace["drop_kt"],
        "consolidation (barrier work)": trace["barrier_work_kt"],
    }
    for (label, values), color in zip(walls.items(), ("tab:green", "tab:red", "tab:purple")):
        positive = [(s, v) for s, v in zip(sweeps, values) if v > 0]
        if positive:
            ax_energy.plot(*zip(*positive), label=label, color=color)
            ax_energy.annotate(f"{values[-1]:.3g} kT", xy=(sweeps[-1], values[-1]), xytext=(4, 0),
                               textcoords="offset points", fontsize=8, color=color, va="center")
    bound = result["energy"]["lower_bounds"]["lim"]["kt"]
    if bound is not None:   # None: the step time is too short for any reliable update
        ax_energy.axhline(bound, color="black", linestyle="--", linewidth=1)
        ax_energy.annotate(f"LIM lower bound for this workload {bound:.3g} kT", xy=(sweeps[0], bound),
                           xytext=(2, 3), textcoords="offset points", fontsize=8)
    ax_energy.set_yscale("log")
    ax_energy.set_ylabel("cumulative energy (kT)")
    ax_energy.set_xlabel("sweep")
    ax_energy.legend(loc="lower right", fontsize=8)
    ax_energy.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return _save(fig, path)


def plot_bounds(rows, path, comparison=None):
    """Energy to solution against model size: lower bounds solid, the estimate dotted, cost models
    dashed; workload names along the bottom; the paper's brain-scale headline as a bar, with the
    update operations it implies. A cost model that does not hold at the rows' precision (the FN
    synapse beyond 14 bits) is drawn hollow at its per-update price and says so."""
    from ..sim.energy import FN_MAX_BITS, PRICES
    from .bounds import LINES
    rows = sorted(rows, key=lambda r: r["workload"]["parameters"])
    n = [r["workload"]["parameters"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 8.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    styles = {"lower_bounds": "-", "estimates": ":", "cost_models": "--"}
    kinds = {"lower_bounds": "lower bound", "estimates": "estimate", "cost_models": "cost model"}
    for (section, key, _, label), colour in zip(LINES, colours):
        points = [(x, r[section][key]["j"]) for x, r in zip(n, rows) if r[section][key]["j"]]
        hollow = False
        if not points and key == "fn_synapse":
            points = [(x, r["workload"]["update_ops"] * PRICES["fn_synapse_update"].joules) for x, r in zip(n, rows)]
            hollow = True
            label = (f"FN synapse, 5 fJ/update: price only, the rows' {rows[0]['workload']['bits']} bits "
                     f"exceed its {FN_MAX_BITS}")
        if not points:
            continue
        ax.loglog(*zip(*points), styles[section], marker="x" if section == "estimates" else "o",
                  markersize=6, color=colour, markerfacecolor="none" if hollow else colour,
                  alpha=0.6 if hollow else 1.0, label=f"{label} ({kinds[section]})")
    if comparison is not None:
        x = rows[-1]["workload"]["parameters"]
        lo, hi = comparison["paper_headline_j"]
        ax.plot([x, x], [lo, hi], color="black", linewidth=7, alpha=0.45, solid_capstyle="butt",
                label=f"the paper's LIM estimate ({lo:.0e} to {hi:.0e} J): implies "
                      f"{comparison['implied_samples'][0]:.1g} to {comparison['implied_samples'][1]:.1g} samples")
    ax.set_xlim(min(n) / 3, max(n) * 3)
    for x, r in zip(n, rows):
        ax.annotate(r["name"] + (" (assumed data)" if r.get("samples_assumed") else ""), xy=(x, 0), xytext=(0, 4),
                    xycoords=("data", "axes fraction"), textcoords="offset points", rotation=90,
                    fontsize=7, ha="center", va="bottom", color="dimgray")
    w = rows[0]["workload"]
    ax.set_xlabel("model size (parameters)")
    ax.set_ylabel("energy to solution (J)")
    ax.set_title(f"training energy: lower bounds, estimate and cost models\n({rows[0].get('counting', '')} updates, "
                 f"{w['bits']} bits, write error {w['write_error']:g}, T = {w['device']['temperature_k']:g} K; "
                 f"reference: arXiv 2402.14878)", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=2, borderaxespad=0)
    fig.tight_layout()
    return _save(fig, path)


def plot_qp_precision(results, path):
    """Energy against cell precision for one QP: measured by wall, the lower bounds, and the
    held-out score (or the objective gap) on a second axis."""
    bits = [r["bits"] for r in results]
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for key, label, colour in (("read_j", "measured: read", "tab:green"), ("update_j", "measured: update (net heat)", "tab:red"),
                               ("consolidation_j", "measured: consolidation", "tab:purple"),
                               ("total_j", "measured: total", "black")):
        ax.semilogy(bits, [r["energy"]["measured"][key] for r in results], "o-", color=colour, label=label)
    for key, label, colour in (("lim", "LIM lower bound", "tab:blue"), ("landauer_final_state", "Landauer, final state", "tab:gray")):
        ax.semilogy(bits, [r["energy"]["lower_bounds"][key]["j"] or math.nan for r in results], "s--", color=colour, label=label)
    ax.set_xlabel("cell precision (bits)")
    ax.set_ylabel("energy to solution (J)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="upper left")
    twin = ax.twinx()
    if "test_accuracy" in results[0]:
        twin.plot(bits, [100 * r["test_accuracy"] for r in results], "d:", color="tab:orange", label="held-out accuracy")
        twin.axhline(100 * results[0]["test_accuracy_optimum"], color="tab:orange", linewidth=0.8, linestyle="-.")
        twin.set_ylabel("held-out accuracy (%); dash-dot: float solution", color="tab:orange")
    else:
        twin.semilogy(bits, [max(r["gap"], 1e-12) for r in results], "d:", color="tab:orange")
        twin.set_ylabel("objective gap to the float optimum", color="tab:orange")
    ax.set_title(f"{results[0]['workload']}: energy against precision", fontsize=9)
    fig.tight_layout()
    return _save(fig, path)
