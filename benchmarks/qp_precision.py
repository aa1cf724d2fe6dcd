"""Learning in memory with p-bit cells: energy-to-solution against precision, schedule and
convergence time, with the LIM bound on the same axes, for four box-constrained QPs (a convex
one with a known optimum, random definite and indefinite ones, and least-squares training of a
linear model). Runs on the golden model, which the co-simulation tests hold bit-exact with the
RTL (tests/test_cosim.py, qp cases); --rtl also runs the 4-bit points in Verilator.

    .venv/bin/python benchmarks/qp_precision.py [--quick] [--rtl] [--out results/bench-qp.json]
"""
import argparse
import time
from pathlib import Path

import numpy as np

from lim.hdl.params import Schedule
from lim.host.anneal import write_result
from lim.host.qp import default_sweeps, run_qp
from lim.sim.boxqp import WORKLOADS


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer points (CI)")
    parser.add_argument("--rtl", action="store_true", help="run the 4-bit points on Verilator too")
    parser.add_argument("--out", type=Path, default=Path("results/bench-qp.json"))
    args = parser.parse_args()
    t0 = time.perf_counter()
    precisions = [1, 2, 4, 8] if args.quick else list(range(1, 9))
    schedules = {"constant": (Schedule.CONSTANT, 160, 0), "linear": (Schedule.LINEAR, 0, None),
                 "exponential": (Schedule.EXPONENTIAL, 16, None), "logarithmic": (Schedule.LOGARITHMIC, 0, 8)}
    times = [16, 64, 256] if args.quick else [16, 32, 64, 128, 256, 512, 1024]
    results = {"precision": [], "schedule": [], "time": [], "slopes": {}}
    for name, make in WORKLOADS.items():
        qp = make()
        optimum = qp.solve()
        for bits in precisions:
            rtl = args.rtl and bits == 4
            r = run_qp(qp, bits, optimum=optimum, simulator="verilator" if rtl else None,
                       build_root=Path("build/bench/qp") if rtl else None)
            results["precision"].append(r)
            print(f"{name:<18} p={bits}  gap {r['gap']:<10.3g} energy {r['energy_kt']['measured']:.4g} kT "
                  f"(bound {r['energy_kt']['bound']:.4g}, conventional {r['energy_kt']['conventional']:.4g})"
                  + (f"  RTL agrees: {r['rtl_agrees']}" if r["rtl_agrees"] is not None else ""), flush=True)
        rows = [r for r in results["precision"] if r["workload"] == name]
        p = np.array([r["bits"] for r in rows], dtype=float)
        e = np.array([r["energy_kt"]["measured"] for r in rows])
        b = np.array([r["energy_kt"]["bound"] for r in rows])
        results["slopes"][name] = {
            "kt_per_bit": float(np.polyfit(p, e, 1)[0]),
            "loglog_exponent": float(np.polyfit(np.log(p), np.log(e), 1)[0]),
            "bound_kt_per_bit": float(np.polyfit(p, b, 1)[0]),
            "doubling_per_bit": float(np.exp(np.polyfit(p, np.log(e), 1)[0])),
        }
        for label, (kind, start, rate) in schedules.items():
            sweeps = default_sweeps(6)
            end = 160
            if rate is None:   # linear and exponential reach the end barrier at the last sweep
                rate = (round((end - start) / sweeps * 2 ** 12) if kind == Schedule.LINEAR
                        else round(((end / start) ** (1 / sweeps) - 1) * 2 ** 16))
            r = run_qp(qp, 6, sweeps=sweeps, schedule=kind, barrier_start_q4=start, barrier_end_q4=end,
                       rate=rate, optimum=optimum)
            r["schedule"] = label
            results["schedule"].append(r)
        for sweeps in times:
            results["time"].append(run_qp(qp, 6, sweeps=sweeps, optimum=optimum))
    results["seconds"] = time.perf_counter() - t0
    path = write_result(results, args.out)
    plot(results, args.out.with_suffix(".png"))
    for name, s in results["slopes"].items():
        print(f"{name:<18} energy vs precision: {s['kt_per_bit']:.4g} kT per bit (bound {s['bound_kt_per_bit']:.4g}), "
              f"x{s['doubling_per_bit']:.3g} per bit")
    print(f"wrote {path} and {args.out.with_suffix('.png')} in {results['seconds']:.0f} s")


def plot(results, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    names = list(WORKLOADS)
    colours = dict(zip(names, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    fig, axes = plt.subplots(2, 3, figsize=(16, 9))
    for name in names:
        rows = [r for r in results["precision"] if r["workload"] == name]
        p = [r["bits"] for r in rows]
        axes[0, 0].semilogy(p, [r["energy_kt"]["measured"] for r in rows], "o-", color=colours[name], label=name)
        axes[0, 0].semilogy(p, [r["energy_kt"]["bound"] for r in rows], "--", color=colours[name])
        axes[0, 0].semilogy(p, [r["energy_kt"]["conventional"] for r in rows], ":", color=colours[name])
        axes[1, 0].semilogy(p, [max(r["gap"], 1e-9) for r in rows], "o-", color=colours[name], label=name)
        rows = [r for r in results["schedule"] if r["workload"] == name]
        x = np.arange(len(rows)) + 0.2 * names.index(name)
        axes[0, 1].bar(x, [r["energy_kt"]["measured"] for r in rows], 0.2, color=colours[name], label=name)
        axes[0, 1].plot(x, [r["energy_kt"]["bound"] for r in rows], "k_", markersize=12)
        axes[1, 1].bar(x, [max(r["gap"], 1e-9) for r in rows], 0.2, color=colours[name])
        labels = [r["schedule"] for r in rows]
        rows = [r for r in results["time"] if r["workload"] == name]
        s = [r["sweeps"] for r in rows]
        axes[0, 2].loglog(s, [r["energy_kt"]["measured"] for r in rows], "o-", color=colours[name], label=name)
        axes[0, 2].loglog(s, [r["energy_kt"]["bound"] for r in rows], "--", color=colours[name])
        axes[1, 2].loglog(s, [max(r["gap"], 1e-9) for r in rows], "o-", color=colours[name])
    axes[0, 0].set(title="energy to solution vs precision\n(solid measured, dashed LIM bound, dotted conventional)",
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
