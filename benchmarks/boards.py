"""On-board throughput from real place-and-route: the ULX3S (ECP5-85F) array swept over lanes,
with LUTs, block RAMs, Fmax from nextpnr and spin updates per second on the real G1, G22 and G43
under the default schedule (whole-run attempts / (CYCLES / f), CYCLES exact from the golden model).

    .venv/bin/python benchmarks/boards.py [--lanes 8 16 32] [--out results/bench-boards.json]

The 8-lane row is the board's default build (`lim build --board ulx3s`: its geometry, placer and
router; default_build in its row). The test suite builds that design at 2 lanes; this is where the
whole default build's timing is measured. Each row also gives the block-RAM ceiling of the part at
that clock, EBRs x 2 ports x 18 bits x f, and the fraction of it the array's memory traffic uses
on G1 (memory_bits_per_cycle).
"""
import argparse
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from lim.boards.targets import BOARDS
from lim.hdl.params import ArrayGeometry
from lim.host.anneal import array_throughput, write_result
from lim.host.toolchain import build_bitstream
from lim.sim.gset import load_named

ECP5_85F_EBRS = 208       # DP16KD blocks of 18 kbit, two ports each, up to 18 bits per port (true dual port)
EBR_PORT_BITS = 18
INSTANCES = ("G1", "G22", "G43")


def geometry_for(lanes):
    """The board's default build at ``lanes`` lanes (its field banks, formats and memories), the
    memories doubled until G1, G22 and G43 fit: at 8 lanes, the default build itself."""
    from lim.sim.mapping import MappingError, map_problem
    geometry = replace(BOARDS["ulx3s"].geometry, lanes=lanes)
    while True:
        try:
            for name in INSTANCES:
                map_problem(load_named(name), geometry)
            return geometry
        except MappingError as exc:
            if exc.resource == "groups":
                geometry = replace(geometry, groups=2 * geometry.groups)
            else:
                geometry = replace(geometry, edge_depth=2 * geometry.edge_depth)


def memory_bits_per_cycle(geometry, run):
    """At most how many bits per cycle the array moves through its memories' ports in ``run``:
    per group decided, each lane reads its cell, links, degrees and field words and its table
    entry, and the state row is read and written; per cycle outside the decisions (counted as if
    every bank walked then), each field bank reads an update entry and reads and writes a field."""
    g = geometry
    sweeps = run["sweeps"]
    decided = run["groups"] * sweeps
    streamed = run["cycles"] - sweeps * (1 + 3 * run["groups"])
    cell = (1 + g.bias_bits) + (g.edge_addr_bits + g.rows_bits) + (g.reads_bits + g.weight_bits) + g.field_bits
    bits = (decided * g.lanes * (cell + 16 + 2)
            + streamed * g.lanes * g.field_banks * (g.edge_entry_bits + 2 * g.field_bits))
    return bits / run["cycles"]


def build(lanes, out):
    try:
        return _build(lanes, out)
    except Exception as exc:  # a failed build is a result too
        return {"failed": f"{type(exc).__name__}: {str(exc)[-300:]}"}


def _build(lanes, out):
    return build_bitstream("ulx3s", Path(out) / f"ulx3s-{lanes}-lanes", geometry=geometry_for(lanes))


def row_from_report(report):
    """A lane count's row from its build report: resources, Fmax, and whole default runs on
    each instance at the clock the build meets (the PLL's, or Fmax when that is lower)."""
    g = ArrayGeometry(**report["geometry"])
    fmax_hz = report["fmax_mhz"] * 1e6
    clk = min(report["clk_hz"], fmax_hz)
    row = {"lanes": g.lanes, "groups": g.groups, "edge_depth": g.edge_depth,
           "lut4": report["utilisation"].get("LUT4", {}).get("used"),
           "bram": report["utilisation"].get("BRAM (18 kbit)", {}).get("used"),
           "fmax_mhz": report["fmax_mhz"], "clk_hz": report["clk_hz"], "timing_met": report["timing_met"],
           "run_clock_hz": clk, "default_build": g == BOARDS["ulx3s"].geometry,
           "placer": report["placer"], "router": report["router"], "build_seconds": report["build_seconds"]}
    for name in INSTANCES:
        run = array_throughput(load_named(name), g, clk)
        row[name] = {"cycles_per_sweep": run["cycles_per_sweep"], "hops": run["hops"],
                     "spin_updates_per_second": run["spin_updates_per_second"],
                     "spin_updates_per_second_at_fmax": run["spin_updates_per_second"] * fmax_hz / clk}
        if name == "G1":
            g1 = run
    ceiling = ECP5_85F_EBRS * 2 * EBR_PORT_BITS
    row["ebr_ceiling_bits_per_second"] = ceiling * clk
    row["memory_bits_per_cycle_g1"] = memory_bits_per_cycle(g, g1)
    row["ebr_fraction_used_g1"] = row["memory_bits_per_cycle_g1"] / ceiling
    return row


def plot(rows, path):
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
    for name in INSTANCES:
        b.plot(lanes, [r[name]["spin_updates_per_second"] for r in rows], "o-", label=f"{name} at the run clock")
    b.set_xlabel("lanes")
    b.set_ylabel("spin updates / s (default schedule, whole run)")
    b.set_yscale("log")
    b.legend(fontsize=7)
    for ax in (a, b):
        ax.grid(alpha=0.3)
    fig.suptitle("ULX3S (ECP5-85F): resources and throughput against parallel lanes", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lanes", type=int, nargs="+", default=[8, 16, 32])
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
        rows.append(row_from_report(r))
        print({k: v for k, v in rows[-1].items() if k not in INSTANCES},
              {name: f"{rows[-1][name]['spin_updates_per_second']:.3g}/s" for name in INSTANCES}, flush=True)
    write_result({"board": "ulx3s", "rows": rows, "failed_builds": failed}, args.out)
    plot(rows, args.out.with_suffix(".png"))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
