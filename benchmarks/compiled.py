"""Spin updates per second against problem size: the programmable array and the problem-compiled
one (hdl/compiled.py), on both boards at their clocks, with each board's block-RAM ceiling and
the p-bit FPGA anchors drawn for reference.

    .venv/bin/python benchmarks/compiled.py [--lanes 8 16 32] [--field-banks 4 8]
                                            [--out results/bench-compiled.json]
                                            [--build ulx3s:torus16:16 ...] [--router router2]

Every figure is a whole default run's attempts / (CYCLES / f), CYCLES exact from the golden model
(bit-exact with both arrays' RTL), on the real Gset instances and on toroidal +-1 lattices: the
ULX3S at its clocks (40 MHz programmable, 30 MHz compiled) with ``--lanes`` lanes (the
programmable array with each of ``--field-banks`` banks a lane, in the board's update rows: rows x
banks kept, as `lim build --field-banks` builds it), the iCEBreaker at 18 MHz with its one lane. The
block-RAM ceiling is the largest problem of G1's density (and of a lattice's) the board's
programmable build holds; a compiled problem needs no block RAM but logic per lane. The
field-update ceiling bounds the programmable array's speed on each Gset instance: each hop
updates its neighbours' fields, one per field bank of a lane and cycle at most. A colour's groups
load one a cycle at most, and its last commits DECIDE_CYCLES - 1 after its load and settles a
cycle later: groups + DECIDE_CYCLES x colours cycles a sweep, which bounds each programmable run
too (decision_ceiling).
``--build BOARD:PROBLEM:LANES[:MHZ]`` also places and routes that compiled problem (at MHZ from
the board's PLL, if given) and records its resources, Fmax and build time.
"""
import argparse
import itertools
import time
from dataclasses import replace
from pathlib import Path

from lim.boards.targets import BOARDS
from lim.hdl.params import DECIDE_CYCLES, ArrayGeometry
from lim.host.anneal import array_throughput, fit_geometry, write_result
from lim.host.toolchain import ROUTERS, largest_problem
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


def fitted(problem, lanes, field_banks=1):
    """The smallest power-of-two memories of ``lanes`` lanes (fields in ``field_banks`` banks) that
    hold ``problem``."""
    base = ArrayGeometry(lanes=lanes, groups=64, edge_depth=1024, field_banks=field_banks)
    return fit_geometry(problem, lanes, base=base)[0]


def bank_counts(field_banks, board):
    """The programmable array's bank counts for ``board``: ``field_banks[board]``, else the board's own."""
    return list((field_banks or {}).get(board, [BOARDS[board].geometry.field_banks]))


def sweep(board_lanes, field_banks=None):
    """Rows of (problem, board, lanes, mode): the board's clock; a programmable row only where the
    problem fits that board's memories (with that many lanes, and each of ``field_banks[board]``
    banks a lane; the board's own where not given)."""
    rows = []
    for name, problem in problems():
        for board, lanes_list in board_lanes.items():
            target = BOARDS[board]
            for lanes in lanes_list:
                for banks in [None] + bank_counts(field_banks, board):
                    compiled = banks is None
                    if not compiled:
                        own = replace(target.geometry, lanes=lanes).with_field_banks(banks)
                        if fitted_on(problem, own) is None:
                            continue
                    geometry = fitted(problem, lanes, 1 if compiled else banks)
                    clk_hz = target.compiled_clk_hz if compiled else target.clk_hz
                    t0 = time.perf_counter()
                    run = array_throughput(problem, geometry, clk_hz, compiled=compiled)
                    rows.append({"problem": name, "spins": problem.n, "couplings": problem.m, "board": board,
                                 "lanes": lanes, "field_banks": geometry.field_banks,
                                 "mode": "compiled" if compiled else "programmable", **run,
                                 "model_seconds": time.perf_counter() - t0})
                    if not compiled:   # a group loads a cycle; a colour's last commits and settles
                        floor = (run["groups"] + DECIDE_CYCLES * run["colours"]) * run["sweeps"]
                        rows[-1]["decision_ceiling"] = run["attempts"] * clk_hz / floor
                    print(f"{name:8} {board:10} {lanes:3} lanes {rows[-1]['mode']:12} "
                          + (f"{banks:2} banks " if banks else " " * 9) + f"{run['cycles_per_sweep']:8.1f} "
                          f"cycles/sweep {run['spin_updates_per_second']:.3g} updates/s at "
                          f"{clk_hz / 1e6:g} MHz", flush=True)
    return rows


def fitted_on(problem, geometry):
    from lim.sim.mapping import map_problem
    try:
        return map_problem(problem, geometry)
    except MappingError:
        return None


def ceilings(board_lanes, field_banks=None):
    """Per board, lane count (and bank count, ``field_banks[board]``): the largest problem its
    programmable build's block RAM holds, at G1's density and at a lattice's."""
    out = []
    for board, lanes_list in board_lanes.items():
        for lanes in lanes_list:
            for banks in bank_counts(field_banks, board):
                geometry = replace(BOARDS[board].geometry, lanes=lanes).with_field_banks(banks)
                target = replace(BOARDS[board], geometry=geometry)
                out.append({"board": board, "lanes": lanes, "field_banks": banks, "geometry": geometry.__dict__,
                            "g1_density": largest_problem(target), "lattice_density": largest_problem(target, 2)})
    return out


def field_update_ceilings(board_lanes, field_banks=None, target=1e8):
    """The programmable array's ceilings on each Gset instance, per board and lane count, counted
    over the default run (a cell decides once a sweep: the cells whose spin changed are its hops).

    A hop changes the field of each of the cell's neighbours, a read-modify-write in the field
    bank of the neighbour's lane, at most one per bank and cycle however the rows are packed: a
    sweep takes at least (its hops' degrees summed) / (lanes x banks) cycles: one entry per
    problem, board and bank count (``field_banks[board]``, the board's own where not given). (Each
    programmable row of ``sweep`` also carries its run's own decision ceiling.)"""
    import numpy as np
    from lim.host.anneal import initial_state
    from lim.host.settings import AnnealSettings
    from lim.sim.golden import GoldenArray
    out = []
    for name in INSTANCES:
        problem = load_named(name)
        settings = AnnealSettings().resolve(problem)
        degree = np.bincount(np.concatenate([problem.rows, problem.cols])[np.tile(problem.couplings != 0, 2)],
                             minlength=problem.n)
        golden = GoldenArray(fitted_on(problem, fitted(problem, 8)), initial_state(problem, settings),
                             settings.to_config())
        updates, hops, spins = 0, 0, golden.spins_pm().copy()
        for _ in range(settings.sweeps):
            golden.run(1, trace=False)
            now = golden.spins_pm()
            moved = (now != spins) & (degree > 0)
            updates += int(degree[moved].sum())
            hops += int(moved.sum())
            spins = now.copy()
        per_sweep, hops_per_sweep = updates / settings.sweeps, hops / settings.sweeps
        for board, lanes_list in board_lanes.items():
            clk_hz = BOARDS[board].clk_hz
            needed = target * per_sweep / (problem.n * clk_hz)
            for banks in bank_counts(field_banks, board):
                out.append({"problem": name, "spins": problem.n, "board": board, "field_updates_per_sweep": per_sweep,
                            "hops_per_sweep": hops_per_sweep, "field_banks": banks,
                            "field_updates_a_cycle_for_target": needed, "target": target,
                            "ceiling": {lanes: problem.n * clk_hz * lanes * banks / per_sweep for lanes in lanes_list}})
                print(f"{name:8} {board:10} {per_sweep:8.0f} field updates, {hops_per_sweep:4.0f} hops a sweep: "
                      "programmable ceiling " + ", ".join(f"{v:.3g} at {k} lanes" for k, v in out[-1]["ceiling"].items())
                      + f" x {banks} banks; {target:.0e} needs {needed:.0f} field updates a cycle", flush=True)
    return out


def build(spec, out, router=None):
    """Place and route BOARD:PROBLEM:LANES[:MHZ], compiled (at the board's clock, or MHZ from its
    PLL; with nextpnr's ``router``); its report with the updates per second at the clock the build
    runs (and at Fmax, when Fmax is higher)."""
    from lim.boards.targets import BOARDS
    from lim.host.cli import _load_problem
    from lim.host.toolchain import build_bitstream
    board, name, lanes, *clock = spec.split(":")
    geometry = replace(BOARDS[board].geometry, lanes=int(lanes))
    try:
        report = build_bitstream(board, Path(out) / spec.replace(":", "-"), geometry=geometry,
                                 problem=_load_problem(Path(name)),
                                 clock_hz=round(float(clock[0]) * 1e6) if clock else None, router=router)
    except Exception as exc:   # a design that does not fit is a result too
        return {"build": spec, "failed": str(exc)}
    run = report["throughput"][next(iter(report["throughput"]))]
    at_fmax = run["attempts"] * report["fmax_mhz"] * 1e6 / run["cycles"] if report["fmax_mhz"] else None
    return {"build": spec, "spins": run["spins"], "cycles_per_sweep": run["cycles_per_sweep"],
            "utilisation": report["utilisation"], "fmax_mhz": report["fmax_mhz"],
            "clk_hz": report["clk_hz"], "timing_met": report["timing_met"], "router": report["router"],
            "build_seconds": report["build_seconds"],
            "spin_updates_per_second": report["spin_updates_per_second"], "at_fmax": at_fmax}


def plot(report, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(11, 5.5))
    series = sorted({(r["board"], r["mode"], r["lanes"], r["field_banks"]) for r in report["rows"]})
    palette = plt.get_cmap("tab20")   # its dark shades, then its light ones: a colour per series
    for i, (key, marker) in enumerate(zip(series, "osD^v<>ph*Hd")):
        board, mode, lanes, _ = key
        rows = sorted((r for r in report["rows"] if (r["board"], r["mode"], r["lanes"], r["field_banks"]) == key),
                      key=lambda r: r["spins"])
        lattices = [r for r in rows if r["problem"].startswith("torus")]
        instances = [r for r in rows if not r["problem"].startswith("torus")]
        line, = ax.plot([r["spins"] for r in lattices], [r["spin_updates_per_second"] for r in lattices],
                        marker=marker, linestyle="-" if mode == "compiled" else "--", linewidth=1, markersize=4,
                        color=palette((2 * i) % 20 + (2 * i) // 20),
                        label=f"{board} {rows[0]['clk_hz'] / 1e6:g} MHz, {mode}, {lanes} lane{'s' * (lanes > 1)}"
                              + (f" x {rows[0]['field_banks']} field banks" if mode == "programmable"
                                 and rows[0].get("field_banks", 1) > 1 else ""))
        ax.scatter([r["spins"] for r in instances], [r["spin_updates_per_second"] for r in instances],
                   marker=marker, s=40, facecolors="none", edgecolors=line.get_color())
    for ceiling, style in zip(report["ceilings"], itertools.cycle(("-.", ":", "--", "-"))):
        spins = (ceiling["g1_density"] or {}).get("spins")
        if spins:
            ax.axvline(spins, color="grey", linewidth=0.7, linestyle=style)
            ax.annotate(f"{ceiling['board']}, {ceiling['lanes']} lane{'s' * (ceiling['lanes'] > 1)}"
                        + (f" x {ceiling['field_banks']} banks" if ceiling['field_banks'] > 1 else "") + f": {spins}",
                        (spins, 1.5e10), rotation=90, fontsize=6, color="grey", xytext=(2, 0),
                        textcoords="offset points", va="top")
    ax.annotate("block RAM ceilings of the programmable builds (spins at G1's density)", (30, 3e10),
                fontsize=6, color="grey")
    for b in report["builds"]:
        if b.get("spin_updates_per_second"):
            ax.scatter([b["spins"]], [b["spin_updates_per_second"]], marker="X", s=90, color="black", zorder=4)
            ax.annotate(f"{b['build']} placed and routed, {b['clk_hz'] / 1e6:g} MHz (Fmax {b['fmax_mhz']:.1f})",
                        (b["spins"], b["spin_updates_per_second"]), fontsize=6, xytext=(5, 4), textcoords="offset points")
    for anchor in ANCHORS:
        ax.scatter([anchor["spins"]], [anchor["spin_updates_per_second"]], marker="*", s=150, zorder=3)
        ax.annotate(anchor["label"], (anchor["spins"], anchor["spin_updates_per_second"]), fontsize=7,
                    xytext=(-8, -4), textcoords="offset points", ha="right", va="top")
    ax.axhline(1e9, color="grey", linewidth=0.8, linestyle=":")
    ax.annotate("1e9 target (ULX3S, G1)", (60, 1.1e9), fontsize=7, color="grey")
    ax.axhline(1e8, color="grey", linewidth=0.8, linestyle=":")
    ax.annotate("1e8 target (ULX3S programmable, G1)", (60, 1.1e8), fontsize=7, color="grey")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("spins")
    ax.set_ylabel("spin updates per second (whole default run)")
    ax.set_title("Programmable and compiled arrays: lattices (lines), Gset G1, G43, G22 (open marks);\n"
                 "cycles exact from the golden model", fontsize=9)
    ax.legend(fontsize=6, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lanes", type=int, nargs="+", default=[8, 16, 32], help="the ULX3S array's lanes")
    parser.add_argument("--field-banks", type=int, nargs="+", default=[4, 8],
                        help="the ULX3S programmable array's field banks a lane (each a row per lane count)")
    parser.add_argument("--build", nargs="*", default=[], metavar="BOARD:PROBLEM:LANES[:MHZ]")
    parser.add_argument("--router", choices=ROUTERS, default=None,
                        help="nextpnr's router for the builds (router2 for the largest)")
    parser.add_argument("--out", type=Path, default=Path("results/bench-compiled.json"))
    args = parser.parse_args()
    board_lanes = {"ulx3s": args.lanes, "icebreaker": [BOARDS["icebreaker"].geometry.lanes]}
    banks = {"ulx3s": args.field_banks}
    report = {"boards": {b: {"clk_hz": BOARDS[b].clk_hz, "compiled_clk_hz": BOARDS[b].compiled_clk_hz, "lanes": lanes}
                         for b, lanes in board_lanes.items()},
              "anchors": ANCHORS, "rows": sweep(board_lanes, banks), "ceilings": ceilings(board_lanes, banks),
              "field_update_ceilings": field_update_ceilings(board_lanes, banks),
              "builds": [build(spec, args.out.parent / "builds", args.router) for spec in args.build]}
    write_result(report, args.out)
    print(f"wrote {args.out} and {plot(report, args.out.with_suffix('.png'))}")


if __name__ == "__main__":
    main()
