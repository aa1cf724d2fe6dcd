"""MaxCut quality and speed: the golden model (the array's exact arithmetic, bit-exact with the
RTL) against dwave-samplers' SimulatedAnnealingSampler, on the real Gset instances shipped with
the package, each side with its default settings (ours derived from the problem), in one run.

    .venv/bin/python benchmarks/maxcut_vs_sa.py [--quick] [--out results/bench-maxcut.json]

Equal sweeps: both do S sweeps per run.
Equal wall time: dwave-samplers gets the wall time the golden model took, in more sweeps.
Time to target: the first time at which half the runs reach 99% (99.5%) of the best cut either
found; for dwave-samplers, over a ladder of sweep counts.
Cut against length: both sides' mean cut at 100 to 100,000 sweeps, each with its defaults (both
cool geometrically; ours from the problem's derived hot gain to its cold one); a second plot.

The golden model's runs (instances x seeds) go through lim.sweep, one run per process, resumable
(--workers, or --address for a Dask cluster); its speed is timed separately, all seeds of an
instance as one batch on one core, as dwave-samplers runs its reads.
"""
import argparse
import math
import time
from pathlib import Path

import numpy as np

import lim
from lim.host.anneal import fit_geometry, write_result  # noqa: E402
from lim.host.settings import AnnealSettings  # noqa: E402
from lim.sim.golden import GoldenArray  # noqa: E402
from lim.sim.gset import BEST_KNOWN_CUTS, load_named  # noqa: E402


def golden_results(name, names, sweeps, seeds, out, workers=None, address=None):
    """Every instance x seed on the golden model through lim.sweep, with the defaults `lim anneal`
    derives; returns {instance: [result per seed]}."""
    spec = {"name": name, "out": str(out), "settings": {"sweeps": sweeps, "checkpoints": 1},
            "grid": {"problem": list(names), "seed": list(seeds)}}
    summary = lim.sweep(spec, engine="dask" if address else "local", workers=workers, address=address)
    results = {problem: [] for problem in names}
    for row, result in zip(summary.rows, summary.results()):
        results[row["problem"]].append(result)
    return results


def golden_runs(names, sweeps, seeds, out, workers=None, address=None):
    """{instance: cut trajectories (seeds x sweeps)} of the golden runs."""
    results = golden_results("maxcut", names, sweeps, seeds, out, workers, address)
    return {name: np.array([r["trace"]["cut"] for r in runs]) for name, runs in results.items()}


def golden_speed(problem, sweeps, seeds):
    """Seconds for all seeds as one batch of the golden model on one core (each run exactly what
    the RTL computes alone), untraced: the model's throughput, timed like dwave-samplers' reads."""
    _, program = fit_geometry(problem, 8)
    configs = [AnnealSettings(sweeps=sweeps, seed=seed).resolve(problem).to_config() for seed in seeds]
    initial = np.stack([np.random.default_rng(seed).integers(0, 2, size=problem.n) for seed in seeds])
    timed = GoldenArray(program, initial, configs)
    t0 = time.perf_counter()
    timed.run(sweeps, trace=False)
    return time.perf_counter() - t0


def dwave_runs(problem, sweeps, reads, seed):
    import dimod
    from dwave.samplers import SimulatedAnnealingSampler
    bqm = dimod.BinaryQuadraticModel.from_numpy_vectors(
        np.zeros(problem.n), (problem.rows, problem.cols, problem.maxcut_weights.astype(float)), 0.0, "SPIN")
    total_w = int(problem.maxcut_weights.sum())
    t0 = time.perf_counter()
    result = SimulatedAnnealingSampler().sample(bqm, num_reads=reads, num_sweeps=sweeps, seed=seed)
    seconds = time.perf_counter() - t0
    energies = result.record.energy
    return np.round((total_w - energies) / 2).astype(int), seconds


def first_time_half_reach(times, reached):
    """times: candidate times ascending; reached: fraction of runs at target by each time."""
    for t, frac in zip(times, reached):
        if frac >= 0.5:
            return t
    return None


def bench_instance(name, problem, sweeps, seeds, ladder, g_cuts):
    """Both annealers on one instance: equal sweeps, equal time, and a ladder of sweep counts."""
    n = problem.n
    g_seconds = golden_speed(problem, sweeps, seeds)
    reads = len(seeds)
    d_cuts, d_seconds = dwave_runs(problem, sweeps, reads, seed=1)
    # equal wall time: dwave-samplers' sweeps scaled to the golden model's time
    eq_sweeps = max(1, int(sweeps * g_seconds / d_seconds))
    e_cuts, e_seconds = dwave_runs(problem, eq_sweeps, reads, seed=2)
    lad = []
    for s in ladder:
        cuts, sec = dwave_runs(problem, s, reads, seed=3)
        lad.append((s, cuts, sec / reads))
    best = BEST_KNOWN_CUTS[name]
    per_sweep = g_seconds / reads / sweeps
    out = {
        "spins": n, "couplings": problem.m, "sweeps": sweeps, "runs": reads, "best_known_cut": best,
        "schedule": AnnealSettings(sweeps=sweeps).resolve(problem).describe(),
        "golden": {"best": int(g_cuts[:, -1].max()), "mean": float(g_cuts[:, -1].mean()), "seconds": g_seconds,
                   "spin_updates_per_second": n * sweeps * reads / g_seconds},
        "dwave_equal_sweeps": {"best": int(d_cuts.max()), "mean": float(d_cuts.mean()), "seconds": d_seconds,
                               "spin_updates_per_second": n * sweeps * reads / d_seconds},
        "dwave_equal_time": {"sweeps": eq_sweeps, "best": int(e_cuts.max()), "mean": float(e_cuts.mean()),
                             "seconds": e_seconds},
        "dwave_ladder": [{"sweeps": s, "mean": float(c.mean()), "best": int(c.max()), "seconds_per_run": t}
                         for s, c, t in lad],
        "golden_trajectory_mean": g_cuts.mean(axis=0).tolist(),
        "golden_seconds_per_sweep": per_sweep,
    }
    for frac in (0.99, 0.995):
        target = frac * best
        g_reached = (g_cuts >= target).mean(axis=0)
        g_time = first_time_half_reach([(k + 1) * per_sweep for k in range(sweeps)], g_reached)
        d_time = first_time_half_reach([t for _, _, t in lad], [(c >= target).mean() for _, c, _ in lad])
        out[f"time_to_{frac:g}"] = {"golden_s": g_time, "dwave_s": d_time,
                                   "dwave_over_golden": (d_time / g_time) if g_time and d_time else None}
    out["golden_over_dwave_updates_per_second"] = (out["golden"]["spin_updates_per_second"]
                                                   / out["dwave_equal_sweeps"]["spin_updates_per_second"])
    out["golden_fraction_of_best"] = out["golden"]["best"] / best
    out["dwave_fraction_of_best"] = out["dwave_equal_sweeps"]["best"] / best
    out["golden_mean_minus_dwave_mean"] = out["golden"]["mean"] - out["dwave_equal_sweeps"]["mean"]
    return out


def difference_of_means(golden, dwave):
    """Each side's standard error of the mean, and golden mean minus dwave mean with its standard
    error (independent samples): whether a difference of a cut or two at 8 runs is more than the
    runs' spread."""
    def standard_error(x):
        return float(np.std(x, ddof=1) / math.sqrt(len(x)))
    if min(len(golden), len(dwave)) < 2:   # no spread from one run
        g = d = both = None
    else:
        g, d = standard_error(golden), standard_error(dwave)
        both = math.hypot(g, d)
    return {"golden_standard_error": g, "dwave_standard_error": d,
            "difference": float(np.mean(golden) - np.mean(dwave)), "difference_standard_error": both}


def length_study(names, lengths, seeds_at, out, workers=None, address=None):
    """Cut against run length for both sides: at each length, every instance x seed on the golden
    model with the defaults (the gain schedule the length allows) through lim.sweep, and as many
    dwave-samplers reads at the same sweeps. Returns {instance: [row per length]}."""
    rows = {name: [] for name in names}
    for sweeps in lengths:
        seeds = list(range(1, seeds_at(sweeps) + 1))
        results = golden_results(f"maxcut-length-{sweeps}", names, sweeps, seeds, out / f"length-{sweeps}",
                                 workers, address)
        golden = {name: [r["cut"] for r in runs] for name, runs in results.items()}
        schedules = {name: runs[0]["settings"]["gain_schedule"] for name, runs in results.items()}
        for name in names:
            d_cuts, d_seconds = dwave_runs(load_named(name), sweeps, len(seeds), seed=4)
            g_cuts = np.asarray(golden[name], dtype=float)
            rows[name].append({"sweeps": sweeps, "runs": len(seeds), "golden_mean": float(g_cuts.mean()),
                               "golden_best": int(g_cuts.max()), "golden_gain_schedule": schedules[name],
                               "dwave_mean": float(d_cuts.mean()), "dwave_best": int(d_cuts.max()),
                               **difference_of_means(g_cuts, d_cuts)})
            r = rows[name][-1]
            print(f"  {name} at {sweeps} sweeps ({len(seeds)} runs): golden mean {r['golden_mean']:.1f} "
                  f"({r['golden_gain_schedule']} gain), dwave mean {r['dwave_mean']:.1f}; difference "
                  f"{r['difference']:+.1f} +- {r['difference_standard_error'] or 0:.1f}", flush=True)
    return rows


def plot_lengths(report, path):
    """Mean cut against sweeps (log), both sides, one panel per instance."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(report["lengths"])
    columns = min(4, len(names))
    rows_of_panels = -(-len(names) // columns)
    fig, axes = plt.subplots(rows_of_panels, columns, figsize=(4.2 * columns, 3.8 * rows_of_panels), squeeze=False)
    for ax in axes.flat[len(names):]:
        ax.set_visible(False)
    for ax, name in zip(axes.flat, names):
        rows = report["lengths"][name]
        x = [r["sweeps"] for r in rows]
        ax.set_xscale("log")
        ax.errorbar(x, [r["golden_mean"] for r in rows], yerr=[r.get("golden_standard_error") or 0 for r in rows],
                    fmt="o-", color="tab:blue", capsize=3, label="golden model (LIM array), mean +- s.e.")
        for r in rows:
            if r["golden_gain_schedule"] != "exponential":
                ax.annotate(r["golden_gain_schedule"][:3], xy=(r["sweeps"], r["golden_mean"]), xytext=(3, -10),
                            textcoords="offset points", fontsize=7, color="tab:blue")
        ax.errorbar(x, [r["dwave_mean"] for r in rows], yerr=[r.get("dwave_standard_error") or 0 for r in rows],
                    fmt="s--", color="tab:red", capsize=3, label="dwave-samplers SA, mean +- s.e.")
        best = BEST_KNOWN_CUTS[name]
        ax.axhline(best, color="gray", linewidth=1)
        ax.set_title(f"{name} (best known {best})", fontsize=9)
        ax.set_xlabel("sweeps per run")
        ax.set_ylabel("cut")
        ax.grid(alpha=0.3, which="both")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(report["instances"])
    fig, axes = plt.subplots(1, len(names), figsize=(4.5 * len(names), 4.2))
    for ax, name in zip(np.atleast_1d(axes), names):
        r = report["instances"][name]
        t = [(k + 1) * r["golden_seconds_per_sweep"] for k in range(r["sweeps"])]
        ax.semilogx(t, r["golden_trajectory_mean"], color="tab:blue", label="golden model (LIM array), mean")
        ax.semilogx([p["seconds_per_run"] for p in r["dwave_ladder"]], [p["mean"] for p in r["dwave_ladder"]],
                    "o-", color="tab:red", label="dwave-samplers SA, mean")
        for frac, style in ((0.99, ":"), (0.995, "--")):
            ax.axhline(frac * r["best_known_cut"], color="gray", linestyle=style, linewidth=1)
            ax.annotate(f"{frac:.1%} of best known", xy=(t[0], frac * r["best_known_cut"]), fontsize=7, color="gray")
        ax.set_title(f"{name}: {r['spins']} spins, {r['couplings']} edges", fontsize=9)
        ax.set_xlabel("seconds per run (one core)")
        ax.set_ylabel("cut")
        ax.set_ylim(0.97 * r["best_known_cut"], 1.002 * r["best_known_cut"])
        ax.grid(alpha=0.3, which="both")
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one instance, fewer runs and sweeps (CI)")
    parser.add_argument("--out", type=Path, default=Path("results/bench-maxcut.json"))
    parser.add_argument("--instances", default="G1,G2,G6,G11,G14,G22,G43", help="shipped Gset instances")
    parser.add_argument("--workers", type=int, default=None, help="local processes for the golden runs")
    parser.add_argument("--address", help="a Dask scheduler: run the golden runs on that cluster")
    parser.add_argument("--lengths", default=None,
                        help="sweep counts for cut against length (default 100,1000,10000,100000; 8 runs each, "
                             "2 at 100,000)")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    names = ["G1"] if args.quick else args.instances.split(",")
    found = {name: load_named(name) for name in names}
    if args.quick:
        sweeps, seeds, ladder = 200, [1, 2], [10, 50, 200]
    else:
        sweeps, seeds, ladder = 1000, list(range(1, 9)), [10, 30, 100, 300, 1000, 3000]
    report = {"instances": {}}
    trajectories = golden_runs(names, sweeps, seeds, args.out.with_suffix(""), args.workers, args.address)
    for name, problem in found.items():
        print(f"{name}: {problem.n} spins, {problem.m} edges ...", flush=True)
        r = bench_instance(name, problem, sweeps, seeds, ladder, trajectories[name])
        report["instances"][name] = r
        print(f"  best known {r['best_known_cut']}; golden best {r['golden']['best']} mean {r['golden']['mean']:.1f} "
              f"({r['golden_fraction_of_best']:.4f} of best); dwave equal sweeps best {r['dwave_equal_sweeps']['best']} "
              f"mean {r['dwave_equal_sweeps']['mean']:.1f}; equal time ({r['dwave_equal_time']['sweeps']} sweeps) "
              f"best {r['dwave_equal_time']['best']} mean {r['dwave_equal_time']['mean']:.1f}")
        print(f"  spin updates/s: golden {r['golden']['spin_updates_per_second']:.3g}, dwave "
              f"{r['dwave_equal_sweeps']['spin_updates_per_second']:.3g} (ratio {r['golden_over_dwave_updates_per_second']:.3g})")
        for frac in (0.99, 0.995):
            tt = r[f"time_to_{frac:g}"]
            print(f"  time to {frac:.1%}: golden {tt['golden_s']}, dwave {tt['dwave_s']}")
    lengths = [int(x) for x in (args.lengths or ("100,1000" if args.quick else "100,1000,10000,100000")).split(",")]
    print("cut against length ...", flush=True)
    report["lengths"] = length_study(names, lengths, lambda s: 2 if args.quick or s >= 100_000 else 8,
                                     args.out.with_suffix(""), args.workers, args.address)
    write_result(report, args.out)
    plot(report, args.out.with_suffix(".png"))
    lengths_png = args.out.with_name(args.out.stem + "-lengths.png")
    plot_lengths(report, lengths_png)
    print(f"wrote {args.out}, {args.out.with_suffix('.png')} and {lengths_png}")


if __name__ == "__main__":
    main()
