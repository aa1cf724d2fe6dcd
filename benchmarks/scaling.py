"""Cost against problem size N (G1 density, 24 edges per node) for the golden model and Verilator,
with the fitted exponent of seconds per sweep ~ N^k.

    .venv/bin/python benchmarks/scaling.py [--quick] [--out results/bench-scaling.json]
"""
import argparse
import time
from pathlib import Path

import numpy as np

from lim.hdl.params import ArrayGeometry, Counter
from lim.host.anneal import DEFAULT_GEOMETRY, write_result
from lim.host.settings import AnnealSettings
from lim.sim.cosim.runner import Cosimulator, Job
from lim.sim.golden import GoldenArray
from lim.sim.mapping import map_problem
from lim.sim.problem import random_maxcut


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("results/bench-scaling.json"))
    args = parser.parse_args()
    sizes = [200, 400] if args.quick else [200, 400, 800, 1600, 3200]
    # --quick: the command line's default array (its model is the one `lim anneal` builds)
    geometry = DEFAULT_GEOMETRY if args.quick else ArrayGeometry(lanes=8, groups=512, edge_depth=32768)
    golden_sweeps, rtl_sweeps = (50, 5) if args.quick else (200, 20)
    cosim = Cosimulator(geometry, "verilator")
    cosim.build()
    rows = []
    for n in sizes:
        problem = random_maxcut(n, 24 * n, seed=n)
        program = map_problem(problem, geometry)
        config = AnnealSettings(sweeps=golden_sweeps).resolve(problem).to_config()
        bits = np.random.default_rng(n).integers(0, 2, n)
        gold = GoldenArray(program, bits, config)
        t0 = time.perf_counter()
        gold.run(golden_sweeps, trace=False)
        g_sweep = (time.perf_counter() - t0) / golden_sweeps
        snap = cosim.run([Job(problem.name, program, bits, config, [rtl_sweeps])])[0][0]
        v_sweep = snap.wall_s / rtl_sweeps
        rows.append({"spins": n, "couplings": problem.m, "golden_seconds_per_sweep": g_sweep,
                     "verilator_seconds_per_sweep": v_sweep,
                     "cycles_per_sweep": snap.counters[Counter.CYCLES] / rtl_sweeps})
        print(rows[-1], flush=True)
    ns = np.log([r["spins"] for r in rows])
    report = {"rows": rows,
              "golden_exponent": float(np.polyfit(ns, np.log([r["golden_seconds_per_sweep"] for r in rows]), 1)[0]),
              "verilator_exponent": float(np.polyfit(ns, np.log([r["verilator_seconds_per_sweep"] for r in rows]), 1)[0]),
              "cycles_exponent": float(np.polyfit(ns, np.log([r["cycles_per_sweep"] for r in rows]), 1)[0])}
    print(f"exponents (seconds per sweep ~ N^k): golden {report['golden_exponent']:.2f}, "
          f"Verilator {report['verilator_exponent']:.2f}, cycles {report['cycles_exponent']:.2f}")
    write_result(report, args.out)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4.2))
    n = [r["spins"] for r in rows]
    ax.loglog(n, [r["golden_seconds_per_sweep"] for r in rows], "o-", label=f"golden model (N^{report['golden_exponent']:.2f})")
    ax.loglog(n, [r["verilator_seconds_per_sweep"] for r in rows], "s-", label=f"Verilator RTL (N^{report['verilator_exponent']:.2f})")
    ax.set_xlabel("spins N (24 couplings per spin)")
    ax.set_ylabel("seconds per sweep")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out.with_suffix(".png"), dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
