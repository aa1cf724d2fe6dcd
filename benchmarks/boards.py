"""On-board throughput from real place-and-route: the ULX3S (ECP5-85F) array swept over lanes,
with LUTs, Fmax from nextpnr and spin updates per second on the 800-node G1-class problem.

    .venv/bin/python benchmarks/boards.py [--lanes 4 8 12] [--out results/bench-boards.json]

At 16 lanes the WebAssembly build of Yosys stops with a trap during synthesis (its 32-bit memory);
such a build is recorded under "failed_builds".
"""
import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from lim.hdl.params import ArrayGeometry
from lim.host.anneal import default_problem, write_result
from lim.host.toolchain import build_bitstream
from lim.sim.mapping import map_problem


def build(lanes, out):
    try:
        return _build(lanes, out)
    except Exception as exc:  # a failed build is a result too (e.g. the WebAssembly Yosys out of memory)
        return {"failed": f"{type(exc).__name__}: {str(exc)[-300:]}"}


def _build(lanes, out):
    groups = max(128, 1 << (800 // lanes + 40).bit_length())
    geometry = ArrayGeometry(lanes=lanes, groups=groups, edge_depth=max(2048, 1 << (2 * 19176 // lanes * 5 // 4).bit_length()))
    report = build_bitstream("ulx3s", Path(out) / f"ulx3s-{lanes}-lanes", geometry=geometry)
    program = map_problem(default_problem(), geometry)
    cycles = int(program.lengths.sum()) + 6 * program.n_groups + 2
    report["g1_class_800"] = {
        "cycles_per_sweep": cycles,
        "spin_updates_per_second_at_clock": 800 * report["clk_hz"] / cycles,
        "spin_updates_per_second_at_fmax": 800 * report["fmax_mhz"] * 1e6 / cycles,
    }
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lanes", type=int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--out", type=Path, default=Path("results/bench-boards.json"))
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    work = Path("build/bench/boards")
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        reports = list(pool.map(build, args.lanes, [work] * len(args.lanes)))
    rows, failed = [], {}
    for lanes, r in zip(args.lanes, reports):
        if "failed" in r:
            failed[lanes] = r["failed"]
            print(f"lanes {lanes}: build failed: {r['failed']}", flush=True)
            continue
        lut = r["utilisation"].get("LUT4", {}).get("used")
        rows.append({"lanes": lanes, "groups": r["geometry"]["groups"], "edge_depth": r["geometry"]["edge_depth"],
                     "lut4": lut, "bram": r["utilisation"].get("BRAM (18 kbit)", {}).get("used"),
                     "fmax_mhz": r["fmax_mhz"], "timing_met": r["timing_met"], **r["g1_class_800"]})
        print(rows[-1], flush=True)
    write_result({"board": "ulx3s", "rows": rows, "failed_builds": failed}, args.out)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    lanes = [r["lanes"] for r in rows]
    a.plot(lanes, [r["lut4"] for r in rows], "o-", color="tab:green", label="LUT4")
    a.set_xlabel("lanes")
    a.set_ylabel("LUT4 used")
    a2 = a.twinx()
    a2.plot(lanes, [r["fmax_mhz"] for r in rows], "s--", color="tab:orange")
    a2.set_ylabel("Fmax (MHz)", color="tab:orange")
    b.plot(lanes, [r["spin_updates_per_second_at_clock"] for r in rows], "o-", label="at the 25 MHz board clock")
    b.plot(lanes, [r["spin_updates_per_second_at_fmax"] for r in rows], "s--", label="at Fmax")
    b.set_xlabel("lanes")
    b.set_ylabel("spin updates / s (800-node G1-class)")
    b.legend(fontsize=8)
    for ax in (a, b):
        ax.grid(alpha=0.3)
    fig.suptitle("ULX3S (ECP5-85F): resources and throughput against parallel lanes", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.out.with_suffix(".png"), dpi=110)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
