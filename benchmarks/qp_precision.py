"""Learning in memory with p-bit cells: energy-to-solution against precision, schedule and
convergence time, with the LIM lower bound on the same axes, for five box-constrained QPs (a
convex one with a known optimum, random definite and indefinite ones, least-squares regression,
and a linear classifier trained on scikit-learn's 8x8 digits, scored on held-out images).
Runs on the golden model, which the co-simulation tests hold bit-exact with the RTL
(tests/test_cosim.py, qp cases; tests/test_qp.py, digits on Verilator); --rtl also runs the
4-bit points in Verilator.

    .venv/bin/python benchmarks/qp_precision.py [--quick] [--rtl] [--out results/bench-qp.json]
"""
import argparse
import time
from pathlib import Path

import numpy as np

import lim
from lim.host.anneal import write_result
from lim.host.qp import default_sweeps
from lim.sim.boxqp import WORKLOADS

#: Barrier schedules compared at p = 6 (the gain schedule is the derived default in each):
#: (kind, start kT, rate). A constant barrier of 10 kT is a conventional memory's.
SCHEDULES = {"constant": ("constant", 10.0, None), "linear": ("linear", 0.0, None),
             "exponential": ("exponential", 1.0, None), "logarithmic": ("logarithmic", 0.0, 8)}


def spec(precisions, times, out, quick=False):
    """The benchmark as a sweep: precision x workload, barrier schedules at p = 6, and run lengths
    at p = 6, each run through lim.sweep (resumable; --workers or a Dask cluster). ``quick``
    leaves the digits (620 cells, each run solving its QP again) out of the last two."""
    runs = []
    for name in WORKLOADS:
        runs += [{"problem": name, "bits": bits, "sweeps": default_sweeps(bits), "part": "precision"}
                 for bits in precisions]
        if quick and name == "digits":
            continue
        for label, (kind, start, rate) in SCHEDULES.items():
            runs.append({"problem": name, "bits": 6, "sweeps": default_sweeps(6), "schedule": kind,
                         "barrier_start_kt": start, "barrier_end_kt": 10.0, "rate": rate, "barrier_hold": 0,
                         "part": f"schedule:{label}"})
        runs += [{"problem": name, "bits": 6, "sweeps": sweeps, "part": "time"} for sweeps in times]
    return {"name": "qp-precision", "out": str(out), "run": [{k: v for k, v in r.items() if v is not None}
                                                             for r in runs]}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="fewer points, up to 6 bits, the digits at the precisions only (CI; "
                             "tests/test_qp.py runs the digits at 8)")
    parser.add_argument("--rtl", action="store_true", help="run the 4-bit points on Verilator too")
    parser.add_argument("--workers", type=int, default=None, help="local processes (default: one per core)")
    parser.add_argument("--address", help="a Dask scheduler: run the sweep on that cluster")
    parser.add_argument("--out", type=Path, default=Path("results/bench-qp.json"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    precisions = [2, 4, 6] if args.quick else list(range(2, 9))
    times = [16, 64, 256] if args.quick else [16, 32, 64, 128, 256, 512, 1024]
    data = spec(precisions, times, args.out.with_suffix(""), quick=args.quick)
    if args.rtl:
        for run in data["run"]:
            if run["part"] == "precision" and run["bits"] == 4:
                run["target"] = "verilator"
    parts = [run.pop("part") for run in data["run"]]
    summary = lim.sweep(data, engine="dask" if args.address else "local", workers=args.workers,
                        address=args.address, progress=True)
    results = {"precision": [], "schedule": [], "time": [], "slopes": {}, "sweep": str(summary.csv_path)}
    for part, r in zip(parts, summary.results()):
        if part.startswith("schedule:"):
            r["barrier_schedule"] = part.split(":", 1)[1]
            part = "schedule"
        results[part].append(r)
    for r in results["precision"]:
        held = f"  accuracy {100 * r['test_accuracy']:.2f}% (float {100 * r['test_accuracy_optimum']:.2f}%)" \
            if "test_accuracy" in r else ""
        print(f"{r['workload']:<18} p={r['bits']}  gap {r['gap']:<10.3g} energy {r['energy_kt']['measured']:.4g} kT "
              f"(update {r['energy_kt']['measured_update']:.4g}, LIM lower bound {r['energy_kt']['lim_bound']:.4g})"
              + held + (f"  RTL agrees: {r['rtl_agrees']}" if r["rtl_agrees"] is not None else ""))
    for name in WORKLOADS:
        rows = [r for r in results["precision"] if r["workload"] == name]
        p = np.array([r["bits"] for r in rows], dtype=float)
        e = np.array([r["energy_kt"]["measured"] for r in rows])
        b = np.array([r["energy_kt"]["lim_bound"] for r in rows])
        results["slopes"][name] = {
            "doubling_per_bit": float(np.exp(np.polyfit(p, np.log(e), 1)[0])),
            "bound_doubling_per_bit": float(np.exp(np.polyfit(p, np.log(b), 1)[0])),
        }
    results["seconds"] = time.perf_counter() - t0
    path = write_result(results, args.out)
    plot(results, args.out.with_suffix(".png"))
    for name, s in results["slopes"].items():
        print(f"{name:<18} energy x{s['doubling_per_bit']:.3g} per bit of precision (LIM lower bound "
              f"x{s['bound_doubling_per_bit']:.3g})")
    print(f"wrote {path} and {args.out.with_suffix('.png')} in {results['seconds']:.0f} s")


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(WORKLOADS)
    colours = dict(zip(names, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    labels = []
    for name in names:
        rows = [r for r in results["precision"] if r["workload"] == name]
        p = [r["bits"] for r in rows]
        axes[0, 0].semilogy(p, [r["energy_kt"]["measured"] for r in rows], "o-", color=colours[name], label=name)
        axes[0, 0].semilogy(p, [r["energy_kt"]["lim_bound"] for r in rows], "--", color=colours[name])
        axes[0, 0].semilogy(p, [r["energy_kt"]["forced_write_memory"] for r in rows], ":", color=colours[name])
        axes[1, 0].semilogy(p, [max(r["gap"], 1e-9) for r in rows], "o-", color=colours[name], label=name)
        rows = [r for r in results["schedule"] if r["workload"] == name]
        x = np.arange(len(rows)) + 0.2 * names.index(name)
        axes[0, 1].bar(x, [r["energy_kt"]["measured"] for r in rows], 0.2, color=colours[name], label=name)
        axes[0, 1].plot(x, [r["energy_kt"]["lim_bound"] for r in rows], "k_", markersize=12)
        axes[1, 1].bar(x, [max(r["gap"], 1e-9) for r in rows], 0.2, color=colours[name])
        labels = [r["barrier_schedule"] for r in rows] or labels   # --quick: not every workload has them
        rows = [r for r in results["time"] if r["workload"] == name]
        s = [r["sweeps"] for r in rows]
        axes[0, 2].loglog(s, [r["energy_kt"]["measured"] for r in rows], "o-", color=colours[name], label=name)
        axes[0, 2].loglog(s, [r["energy_kt"]["lim_bound"] for r in rows], "--", color=colours[name])
        axes[1, 2].loglog(s, [max(r["gap"], 1e-9) for r in rows], "o-", color=colours[name])
    axes[0, 0].set(title="energy to solution vs precision\n(solid measured, dashed LIM lower bound, dotted forced-write memory)",
                   xlabel="precision p (bits)", ylabel="energy (kT)")
    axes[1, 0].set(title="objective gap to SciPy's optimum", xlabel="precision p (bits)", ylabel="f - f*")
    for ax in (axes[0, 1], axes[1, 1]):
        ax.set_xticks(np.arange(len(labels)) + 0.3, labels)
        ax.set_yscale("log")
    axes[0, 1].set(title="energy vs schedule at p = 6 (bars measured, marks bound)\nconstant = conventional memory",
                   ylabel="energy (kT)")
    axes[1, 1].set(title="objective gap vs schedule at p = 6", ylabel="f - f*")
    axes[0, 2].set(title="energy vs convergence time at p = 6\n(solid measured, dashed bound)", xlabel="sweeps",
                   ylabel="energy (kT)")
    axes[1, 2].set(title="objective gap vs convergence time", xlabel="sweeps", ylabel="f - f*")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
