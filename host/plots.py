"""Plots of a run: what the array did (objective), how (barrier), and what it cost (energy by wall)."""
import math
import os
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["plot_anneal"]


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
        "read (kT ln2 per read)": [r * ln2 for r in trace["reads"]],
        "update (heat of hops)": trace["drop_kt"],
        "consolidation (barrier work)": trace["barrier_work_kt"],
    }
    for (label, values), color in zip(walls.items(), ("tab:green", "tab:red", "tab:purple")):
        positive = [(s, v) for s, v in zip(sweeps, values) if v > 0]
        if positive:
            ax_energy.plot(*zip(*positive), label=label, color=color)
            ax_energy.annotate(f"{values[-1]:.3g} kT", xy=(sweeps[-1], values[-1]), xytext=(4, 0),
                               textcoords="offset points", fontsize=8, color=color, va="center")
    ax_energy.set_yscale("log")
    ax_energy.set_ylabel("cumulative energy (kT)")
    ax_energy.set_xlabel("sweep")
    ax_energy.legend(loc="lower right", fontsize=8)
    ax_energy.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return _save(fig, path)
