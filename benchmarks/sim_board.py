"""The whole `lim anneal --sim-board` command on the default problem (G1, 1,000 sweeps) as a user
runs it, with the simulated board's model cached: the programmable board, whose program goes over
the simulated UART, and the compiled one (`--compiled`), which takes only the registers and the
state. Wall seconds of the command, seconds on the link, frames, and the anneal's cycles.

    .venv/bin/python benchmarks/sim_board.py [--quick] [--out results/bench-sim-board.json]

--quick runs a 4 x 4 lattice (the smallest compiled board model to build) for 20 sweeps, once per
build: it checks the path, it measures little.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lim.host.anneal import write_result

LIM = [sys.executable, "-m", "lim.host.cli"]


def timed_anneal(args, folder):
    """Run ``lim anneal`` with ``args`` into ``folder``: (wall seconds, its result JSON)."""
    t0 = time.perf_counter()
    proc = subprocess.run(LIM + ["anneal", *args, "--out", str(folder), "--name", "run", "--quiet"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"lim anneal {' '.join(args)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}")
    return seconds, json.loads((Path(folder) / "run.json").read_text())


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("results/bench-sim-board.json"))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    problem = ["--problem", "torus4", "--sweeps", "20"] if args.quick else []
    report = {"command": "lim anneal --sim-board " + " ".join(problem), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="lim-bench-") as folder:
        for mode, extra in (("programmable", []), ("compiled", ["--compiled"])):
            argv = ["--sim-board", *problem, *extra]
            first_s, result = timed_anneal(argv, folder)   # builds (or finds) the model
            seconds = first_s
            if not args.quick:   # the command with the model cached (--quick: one run, the path checked)
                seconds, result = timed_anneal(argv, folder)
            rtl = result["rtl"]
            report["runs"][mode] = {
                "argv": argv, "first_run_seconds": first_s, "seconds": seconds,
                "link_seconds": rtl["board"]["seconds"], "frames": rtl["board"]["frames"],
                "retries": rtl["board"]["retries"], "cycles": rtl["cycles"],
                "agrees_with_golden_model": rtl["agrees_with_golden_model"],
                "spins": result["problem"]["spins"], "sweeps": result["settings"]["sweeps"],
            }
            print(mode, report["runs"][mode], flush=True)
    write_result(report, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
