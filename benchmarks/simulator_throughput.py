"""Simulated cycles per second of the 800-node default array under Verilator, Icarus and the
Amaranth simulator, each one's build (compile) time from scratch, and spin updates per second of
the golden model, measured in one run (ratios are what count).

    .venv/bin/python benchmarks/simulator_throughput.py [--out results/bench-simulators.json]
"""
import argparse
import time
from pathlib import Path

import numpy as np

from lim.hdl.params import Counter
from lim.host.anneal import default_problem, fit_geometry, write_result
from lim.host.settings import AnnealSettings
from lim.sim.cosim.runner import Cosimulator, Job
from lim.sim.golden import GoldenArray
from lim.sim.problem import random_maxcut


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results/bench-simulators.json"))
    parser.add_argument("--quick", action="store_true",
                        help="few sweeps of each on a 64-node problem, models from the shared cache (CI: checks the path, measures little)")
    parser.add_argument("--verilator-sweeps", type=int, default=200)
    parser.add_argument("--icarus-sweeps", type=int, default=4)
    parser.add_argument("--golden-sweeps", type=int, default=1000)
    parser.add_argument("--amaranth-sweeps", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.verilator_sweeps, args.icarus_sweeps, args.golden_sweeps = 10, 1, 50

    # loading the 800-node program alone takes Icarus and Amaranth's simulator a minute each
    problem = random_maxcut(64, 256, seed=7) if args.quick else default_problem()
    settings = AnnealSettings().resolve(problem)
    config = settings.to_config()
    geometry, program = fit_geometry(problem, settings.lanes)
    initial = np.random.default_rng(settings.seed).integers(0, 2, size=problem.n)
    report = {"problem": problem.name, "spins": problem.n, "couplings": problem.m,
              "lanes": geometry.lanes, "groups": program.n_groups, "simulators": {}}

    import tempfile
    from lim.sim.cosim.amaranth_sim import AmaranthSimulator
    fresh = Path(tempfile.mkdtemp(prefix="lim-bench-"))
    for simulator, sweeps in (("verilator", args.verilator_sweeps), ("icarus", args.icarus_sweeps),
                              ("amaranth", args.amaranth_sweeps)):
        t0 = time.perf_counter()
        if simulator == "amaranth":
            # no compile step: its cost is elaborating the design into a simulation
            from amaranth.sim import Simulator
            from lim.hdl.array import LimArray
            Simulator(LimArray(geometry))
            runner = AmaranthSimulator(geometry)
        else:
            # from scratch, as users pay it on every change (the C++ runtime from the compiler cache);
            # --quick checks the path only, from the shared model cache
            runner = Cosimulator(geometry, simulator, build_root=None if args.quick else fresh / simulator)
            runner.build()
        build_s = time.perf_counter() - t0
        snap = runner.run([Job(problem.name, program, initial, config, [sweeps])])[0][0]
        gold = GoldenArray(program, initial, config).run(sweeps)
        cycles = snap.counters[Counter.CYCLES]
        report["simulators"][simulator] = {
            "sweeps": sweeps, "cycles": cycles, "anneal_seconds": snap.wall_s, "build_seconds": build_s,
            "cycles_per_second": cycles / snap.wall_s,
            "spin_updates_per_second": problem.n * sweeps / snap.wall_s,
            "equals_golden_model": bool(np.array_equal(snap.rows, gold.rows) and snap.counters == gold.counters),
        }
        print(simulator, report["simulators"][simulator], flush=True)

    gold = GoldenArray(program, initial, config)
    t0 = time.perf_counter()
    gold.run(args.golden_sweeps)
    seconds = time.perf_counter() - t0
    report["golden_model"] = {"sweeps": args.golden_sweeps, "seconds": seconds,
                              "spin_updates_per_second": problem.n * args.golden_sweeps / seconds}
    v, i = report["simulators"]["verilator"], report["simulators"]["icarus"]
    a = report["simulators"]["amaranth"]
    report["verilator_over_icarus"] = v["cycles_per_second"] / i["cycles_per_second"]
    report["verilator_over_amaranth"] = v["cycles_per_second"] / a["cycles_per_second"]
    print("golden", report["golden_model"])
    print(f"verilator / icarus cycles per second: {report['verilator_over_icarus']:.1f}x; "
          f"verilator / amaranth: {report['verilator_over_amaranth']:.1f}x")
    write_result(report, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
