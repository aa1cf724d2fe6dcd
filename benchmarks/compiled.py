"""Spin updates per second against problem size: the programmable array and the problem-compiled
one (hdl/compiled.py), at a board's clock, with the p-bit FPGA anchors drawn for reference.

    .venv/bin/python benchmarks/compiled.py [--lanes 8 32] [--clock-mhz 30] [--out results/bench-compiled.json]
                                            [--build ulx3s:G1:8 ...]

Every figure is a whole default run's attempts / (CYCLES / f), CYCLES exact from the golden model
(bit-exact with both arrays' RTL), on the real Gset instances and on toroidal +-1 lattices.
``--build BOARD:PROBLEM:LANES`` also places and routes that compiled problem and records its
resources, Fmax and build time (the figure at Fmax is then the board's own).
"""
import argparse
import time
from dataclasses import replace
from pathlib import Path

from lim.hdl.params import ArrayGeometry
from lim.host.anneal import array_throughput, write_result
from lim.sim.gset import load_named
from lim.sim.mapping import MappingError
from lim.sim.problem import toroidal_lattice

#: Published FPGA p-bit machines (spin updates per second and their size), for the plot.
ANCHORS = [
    {"label": "p-bit DBM, UltraScale+ (Niazi et al. 2024)", "spins": 4264, "spin_updates_per_second": 6.4e10},
    {"label": "dwave-samplers SA, one core of this machine", "spins": 800, "spin_updates_per_second": 7.2e6},
]
INSTANCES = ("G1", "G22", "G43")
LATTICES = (8, 16, 32, 64)


def problems():
    yield from ((name, load_named(name)) for name in INSTANCES)
    yield from ((f"torus{side}", toroidal_lattice(side, seed=1)) for side in LATTICES)


def fitted(problem, lanes):
    """The smallest power-of-two memories of ``lanes`` lanes that hold ``problem``."""
    from lim.sim.mapping import map_problem
    geometry = ArrayGeometry(lanes=lanes, groups=64, edge_depth=1024)
    while True:
        try:
            map_problem(problem, geometry)
            return geometry
        except MappingError as exc:
            key = "groups" if exc.resource == "groups" else "edge_depth"
            if getattr(geometry, key) >= 1 << 20:
                raise
            geometry = replace(geometry, **{key: 2 * getattr(geometry, key)})


def sweep(lanes_list, clk_hz):
    rows = []
    for name, problem in problems():
        for lanes in lanes_list:
            geometry = fitted(problem, lanes)
            for compiled in (False, True):
                t0 = time.perf_counter()
                run = array_throughput(problem, geometry, clk_hz, compiled=compiled)
                rows.append({"problem": name, "spins": problem.n, "couplings": problem.m, "lanes": lanes,
                             "mode": "compiled" if compiled else "programmable", **run,
                             "model_seconds": time.perf_counter() - t0})
                print(f"{name:8} {lanes:3} lanes {rows[-1]['mode']:12} {run['cycles_per_sweep']:8.1f} cycles/sweep "
                      f"{run['spin_updates_per_second']:.3g} updates/s at {clk_hz / 1e6:g} MHz", flush=True)
    return rows


def build(spec, out):
    """Place and route BOARD:PROBLEM:LANES, compiled; its report with the updates per second at
    the clock the build runs (and at Fmax, when Fmax is higher)."""
    from lim.boards.targets import BOARDS
    from lim.host.cli import _load_problem
    from lim.host.toolchain import build_bitstream
    board, name, lanes = spec.split(":")
    geometry = replace(BOARDS[board].geometry, lanes=int(lanes))
    try:
        report = build_bitstream(board, Path(out) / f"{board}-{name}-{lanes}", geometry=geometry,
                                 problem=_load_problem(Path(name)))
    except Exception as exc:   # a design that does not fit is a result too
        return {"build": spec, "failed": str(exc)}
    run = report["throughput"][next(iter(report["throughput"]))]
    at_fmax = run["attempts"] * report["fmax_mhz"] * 1e6 / run["cycles"] if report["fmax_mhz"] else None
    return {"build": spec, "utilisation": report["utilisation"], "fmax_mhz": report["fmax_mhz"],
            "clk_hz": report["clk_hz"], "timing_met": report["timing_met"], "build_seconds": report["build_seconds"],
            "spin_updates_per_second": report["spin_updates_per_second"], "at_fmax": at_fmax}


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    for (mode, lanes), marker in zip(sorted({(r["mode"], r["lanes"]) for r in report["rows"]}), "osD^v<>"):
        rows = sorted((r for r in report["rows"] if r["mode"] == mode and r["lanes"] == lanes), key=lambda r: r["spins"])
        ax.plot([r["spins"] for r in rows], [r["spin_updates_per_second"] for r in rows], marker=marker,
                linestyle="-" if mode == "compiled" else "--", label=f"{mode}, {lanes} lanes")
    for anchor in ANCHORS:
        ax.scatter([anchor["spins"]], [anchor["spin_updates_per_second"]], marker="*", s=150, zorder=3)
        ax.annotate(anchor["label"], (anchor["spins"], anchor["spin_updates_per_second"]), fontsize=7,
                    xytext=(5, -10), textcoords="offset points")
    ax.axhline(1e9, color="grey", linewidth=0.8, linestyle=":")
    ax.annotate("1e9 target (ULX3S, G1)", (100, 1.1e9), fontsize=7, color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("spins")
    ax.set_ylabel(f"spin updates per second at {report['clk_hz'] / 1e6:g} MHz (whole default run)")
    ax.set_title("Programmable and compiled arrays (cycles exact from the golden model)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lanes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--clock-mhz", type=float, default=30.0, help="the clock (default: the ULX3S build's)")
    parser.add_argument("--build", nargs="*", default=[], metavar="BOARD:PROBLEM:LANES")
    parser.add_argument("--out", type=Path, default=Path("results/bench-compiled.json"))
    args = parser.parse_args()
    clk_hz = args.clock_mhz * 1e6
    report = {"clk_hz": clk_hz, "anchors": ANCHORS, "rows": sweep(args.lanes, clk_hz),
              "builds": [build(spec, args.out.parent / "builds") for spec in args.build]}
    write_result(report, args.out)
    print(f"wrote {args.out} and {plot(report, args.out.with_suffix('.png'))}")


if __name__ == "__main__":
    main()
