"""Plots of a run: what the array did (objective), how (barrier), and what it cost (energy by wall)."""
import math
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot_anneal", "plot_bounds"]


def _save(fig, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".png")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120)
        os.replace(tmp, path)
    finally:
        plt.close(fig)
        Path(tmp).unlink(missing_ok=True)
    return path


def plot_anneal(result, path):
    trace = result["trace"]
    sweeps = trace["sweep"]
    fig, (ax_obj, ax_barrier, ax_energy) = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    title = f"{result['problem']['name']}: {result['schedule']}"
    fig.suptitle(title, fontsize=10)

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
        "update (heat of hops)": trace["drop_kt"],
        "consolidation (barrier work)": trace["barrier_work_kt"],
    }
    for (label, values), color in zip(walls.items(), ("tab:green", "tab:red", "tab:purple")):
        positive = [(s, v) for s, v in zip(sweeps, values) if v > 0]
        if positive:
            ax_energy.plot(*zip(*positive), label=label, color=color)
            ax_energy.annotate(f"{values[-1]:.3g} kT", xy=(sweeps[-1], values[-1]), xytext=(4, 0),
                               textcoords="offset points", fontsize=8, color=color, va="center")
    bound = result["energy"]["lim_bound"]["total_kt"]
    ax_energy.axhline(bound, color="black", linestyle="--", linewidth=1)
    ax_energy.annotate(f"LIM bound (total) {bound:.3g} kT", xy=(sweeps[0], bound), xytext=(2, 3),
                       textcoords="offset points", fontsize=8)
    ax_energy.set_yscale("log")
    ax_energy.set_ylabel("cumulative energy (kT)")
    ax_energy.set_xlabel("sweep")
    ax_energy.legend(loc="lower right", fontsize=8)
    ax_energy.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return _save(fig, path)


def plot_bounds(rows, path):
    """Energy-to-solution against model size: LIM bound, Landauer, conventional, SRAM/DRAM."""
    rows = sorted(rows, key=lambda r: r["parameters"])
    n = [r["parameters"] for r in rows]
    fig, ax = plt.subplots(figsize=(8, 5.5))
    series = [
        ("sram_dram_j", "von Neumann SRAM/DRAM (45 nm)", "tab:red", "s"),
        ("conventional_j", "conventional memory, kT physics (forced writes)", "tab:orange", "^"),
        ("lim_bound_j", "ideal LIM lower bound", "tab:blue", "o"),
        ("landauer_j", "Landauer floor (N bits kT ln 2)", "tab:gray", "v"),
    ]
    for key, label, color, marker in series:
        ys = [r[key] for r in rows]
        ax.loglog(n, ys, marker=marker, color=color, label=label)
        ax.annotate(f"{ys[-1]:.2g} J", xy=(n[-1], ys[-1]), xytext=(5, 0), textcoords="offset points",
                    fontsize=8, color=color, va="center")
    for r in rows:
        ax.annotate(r["name"], xy=(r["parameters"], r["lim_bound_j"]), xytext=(0, -14),
                    textcoords="offset points", fontsize=7, ha="center", color="tab:blue")
    ax.set_xlabel("model size (parameters)")
    ax.set_ylabel("energy to solution (J)")
    rows0 = rows[0]
    ax.set_title(f"training energy by memory model; retention {rows0['retention']['time_s'] / 3.15576e7:g} years at "
                 f"error {rows0['retention']['error']:g}, T = {rows0['temperature_k']:g} K", fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="upper left")
    ax.set_xlim(n[0] / 3, n[-1] * 30)
    fig.tight_layout()
    return _save(fig, path)
