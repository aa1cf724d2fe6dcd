"""The benchmark suite in one command: MaxCut against dwave-samplers, simulator throughput,
scaling with N, QP energy against precision, the simulated board's whole command, programmable
against compiled arrays over problem size, and on-board throughput against lanes (real place and
route). Writes JSON and PNG into --out. About 15 minutes on 2 cores; --quick (used in CI) takes
about 4 from an empty model cache (2 with the models cached), and skips the board builds and
compiled.py's 16 lanes: the test suite builds each board's programmable design (the ULX3S's at 2
of its 8 lanes), and the full run's boards.py the ULX3S's whole default build.

    .venv/bin/python benchmarks/run_all.py [--quick] [--out results]
"""
import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).parent


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("results"))
    args = parser.parse_args()
    quick = ["--quick"] if args.quick else []
    steps = [
        ("maxcut_vs_sa.py", quick + ["--out", str(args.out / "bench-maxcut.json")]),
        ("simulator_throughput.py", quick + ["--out", str(args.out / "bench-simulators.json")]),
        ("scaling.py", quick + ["--out", str(args.out / "bench-scaling.json")]),
        ("qp_precision.py", quick + ["--out", str(args.out / "bench-qp.json")]),
        ("sim_board.py", quick + ["--out", str(args.out / "bench-sim-board.json")]),
        ("compiled.py", ["--out", str(args.out / "bench-compiled.json")]
         + (["--lanes", "8", "32"] if args.quick else ["--build", "ulx3s:torus16:16:55", "icebreaker:torus4:1"])),
    ]
    if not args.quick:
        steps.append(("boards.py", ["--out", str(args.out / "bench-boards.json")]))
    for script, extra in steps:
        t0 = time.perf_counter()
        print(f"== {script} {' '.join(extra)}", flush=True)
        subprocess.run([sys.executable, str(HERE / script), *extra], check=True)
        print(f"== {script}: {time.perf_counter() - t0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
