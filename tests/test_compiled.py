"""The problem-compiled array (hdl/compiled.py) under Icarus and Verilator: every state row, every
counter and the objective at every checkpoint equal the golden model's with ``compiled=True``,
and every counter but CYCLES equals the programmable array's (the same device, faster)."""
from dataclasses import replace

import numpy as np
import pytest

from cases import SMALL, edge_cases, gain, random_cases, with_biases
from lim.hdl.compiled import CompiledArray, _unit_magnitude, shared_tilts
from lim.hdl.decision import TiltRange
from lim.hdl.params import Counter, Schedule
from lim.sim.cosim.runner import Cosimulator, Job, compiled_design
from lim.sim.golden import GoldenArray, RunConfig, compiled_sweep_cycles
from lim.sim.mapping import map_problem
from lim.sim.problem import IsingProblem, random_maxcut, random_qp, toroidal_lattice

# mixed weights with biases (fields summed from couplings), extreme weights and gain, padding slots
# with +-1 couplings (fields counted from bits and signs), no couplings at all (no places), K9 (nine
# one-group colours: every group reads the one before late), +-3 couplings with biases (a count
# times 2 W that is not a shift)
PROBLEMS = {name: job for name, _, job in random_cases() + edge_cases()
            if name.startswith("random02-") or name in ("max-weights-max-gain", "n-not-multiple-of-lanes",
                                                        "no-couplings-biases-only", "complete-graph-k9")}
_THREES = with_biases(random_maxcut(30, 70, seed=21, weights=(-3, 3)), np.arange(30) % 7 - 3)
PROBLEMS["plus-minus-three"] = Job("plus-minus-three", map_problem(_THREES, SMALL),
                                   np.random.default_rng(21).integers(0, 2, size=30),
                                   RunConfig(seed=21, gain_log=4000, schedule=Schedule.LINEAR, barrier_end_q4=90,
                                             rate=1 << 15), [3, 2])

# tilts taking few values, so y and the hop probability come from the shared TiltTable: a +-1 torus (t in
# -4 .. 4, step 2), and a ring with biases -1 .. 1 (t in -3 .. 3, step 1). The torus has no
# barrier and a gain that rises 8-fold a sweep from where every move hops (y = 0), so a sweep's
# first group decided on its table a cycle late (the sweep before's gain) hops where it should not.
_TORUS = toroidal_lattice(6, seed=6)
PROBLEMS["torus6"] = Job("torus6", map_problem(_TORUS, SMALL), np.random.default_rng(6).integers(0, 2, size=36),
                         RunConfig(seed=6, gain_log=gain(0.005), schedule=Schedule.CONSTANT, barrier_start_q4=0,
                                   gain_schedule=Schedule.EXPONENTIAL, gain_end_log=gain(8.0), gain_rate=3 << 28),
                         [3, 2])
_RING = with_biases(IsingProblem.maxcut(25, np.arange(25), (np.arange(25) + 1) % 25, np.ones(25, dtype=np.int64)),
                    np.arange(25) % 3 - 1)
PROBLEMS["ring-biases"] = Job("ring-biases", map_problem(_RING, SMALL), np.random.default_rng(25).integers(0, 2, size=25),
                              RunConfig(seed=25, gain_log=gain(0.6), schedule=Schedule.LINEAR, barrier_end_q4=64,
                                        rate=2 << 16), [3, 2])

# twelve lanes: the counters' increments summed over 8 lanes, then over those (hdl/array.py,
# COUNTER_SUM_LANES); mixed weights and biases, so drops and climbs of many sizes land together
_TWELVE = with_biases(random_maxcut(60, 170, seed=27, weights=(-2, 1, 3)), np.arange(60) % 5 - 2)
PROBLEMS["twelve-lanes"] = Job("twelve-lanes", map_problem(_TWELVE, replace(SMALL, lanes=12)),
                               np.random.default_rng(27).integers(0, 2, size=60),
                               RunConfig(seed=27, gain_log=gain(0.4), schedule=Schedule.LINEAR, barrier_end_q4=80,
                                         rate=3 << 16), [3, 2])


def _jobs(job):
    """The case's own job, and a second on the same build: another seed and start state, the
    gain's geometric schedule."""
    rng = np.random.default_rng(len(job.initial_bits))
    other = replace(job.config, seed=job.config.seed ^ 0x5A5A, gain_schedule=Schedule.EXPONENTIAL,
                    gain_log=job.config.gain_log // 2, gain_end_log=job.config.gain_log, gain_rate=1 << 24)
    return [job, Job(job.name + "-again", job.program, rng.integers(0, 2, size=len(job.initial_bits)), other, [2, 3])]


pytestmark = pytest.mark.cosim

# every problem on Icarus; Verilator (a build of 20 to 40 s each) on the one with mixed weights and
# biases and on the torus (the shared tilt table)
RUNS = ([("icarus", name) for name in sorted(PROBLEMS)]
        + [("verilator", n) for n in PROBLEMS if n.startswith("random") or n == "torus6"])


@pytest.mark.parametrize("simulator, name", RUNS)
def test_the_compiled_array_equals_the_golden_model(simulator, name, tmp_path):
    jobs = _jobs(PROBLEMS[name])
    program = jobs[0].program
    runner = Cosimulator(program.geometry, simulator, design=compiled_design(program))
    for job, rtl in zip(jobs, runner.run(jobs)):
        compiled = GoldenArray(program, job.initial_bits, job.config, compiled=True)
        programmable = GoldenArray(program, job.initial_bits, job.config)
        for k, (sweeps, got) in enumerate(zip(job.chunks, rtl)):
            want, same_device = compiled.run(sweeps), programmable.run(sweeps)
            where = f"{simulator}, {job.name}, checkpoint {k}"
            assert got.rows.tolist() == want.rows.tolist(), f"state differs ({where})"
            assert got.objective == want.objective, f"objective differs ({where})"
            for counter in Counter:
                assert got.counters[counter] == want.counters[counter], f"{counter.name} differs ({where})"
                if counter != Counter.CYCLES:
                    assert got.counters[counter] == same_device.counters[counter], f"{counter.name} ({where})"
            assert got.rows.tolist() == same_device.rows.tolist()
        # a sweep's cycles do not depend on the hops: the groups, the colours' drains, the schedules
        assert got.counters[Counter.CYCLES] < same_device.counters[Counter.CYCLES]


def test_a_compiled_sweep_takes_the_same_cycles_however_many_cells_hop():
    """Hot (most cells hop) and cold (almost none): the compiled array's sweep is its groups, a
    drain per colour and the schedules' two cycles; a golden model that still counted update rows
    or a field pass fails this."""
    job = PROBLEMS["n-not-multiple-of-lanes"]
    program = job.program
    sweeps = {}
    for gain_log in (0, (1 << 13) - 1):
        config = replace(job.config, gain_log=gain_log, schedule=Schedule.CONSTANT, barrier_start_q4=0,
                         gain_schedule=Schedule.CONSTANT)
        snap = GoldenArray(program, job.initial_bits, config, compiled=True).run(5)
        sweeps[gain_log] = (snap.counters[Counter.CYCLES], snap.counters[Counter.HOPS])
    (hot_cycles, hot_hops), (cold_cycles, cold_hops) = sweeps.values()
    assert hot_hops > cold_hops
    assert hot_cycles == cold_cycles == 5 * (compiled_sweep_cycles(program) + 2)
    # a group, a cycle; where a colour follows another, at most 3 cycles' wait; after the sweep's
    # last group, 3 (its sum, load and decide)
    colours = len(program.colour_groups)
    assert program.n_groups + 3 <= compiled_sweep_cycles(program) <= program.n_groups + 3 * (colours - 1) + 3


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_a_group_is_issued_as_soon_as_the_groups_it_reads_allow(name):
    """Program.compiled_issue against its definition, restated from the couplings group by group
    (documentation as much as a check: it fails if the issue order takes the earliest group read
    instead of the latest, or a coupling within a group appears). That 4 cycles suffice, and that
    the RTL's waits and late places follow this order, is what the co-simulations above check
    (a wait one cycle short reads a stale spin; one cycle long miscounts CYCLES)."""
    program = PROBLEMS[name].program
    P = program.geometry.lanes
    issue = program.compiled_issue()
    source, target, _ = program.couplings()
    reads = [set() for _ in range(program.n_groups)]
    for a, b in zip((source // P).tolist(), (target // P).tolist()):
        assert a != b   # one group's cells are never coupled
        if a < b:
            reads[b].add(a)
    assert issue[0] == 0
    for grp in range(1, program.n_groups):
        assert all(issue[grp] - issue[a] >= 4 for a in reads[grp]), f"group {grp} reads a group in flight"
        assert issue[grp] == max([issue[grp - 1] + 1] + [issue[a] + 4 for a in reads[grp]]), f"group {grp} waits"


def test_the_mapping_leads_each_colour_with_cells_that_read_none_of_the_groups_in_flight():
    """The 8 x 8 lattice on 4 lanes and G1 on 8: the first groups of a colour read none of the
    last three groups of the colour before, where their lanes have such cells (a lattice's do), so
    a sweep waits far less than 3 cycles per colour (G1: 127 cycles a sweep, 151 unordered)."""
    from lim.sim.gset import load_named
    lattice = map_problem(toroidal_lattice(8, seed=1), SMALL)
    assert compiled_sweep_cycles(lattice) == lattice.n_groups + 3   # no wait at all
    g1 = map_problem(load_named("G1"), replace(SMALL, lanes=8, groups=128, edge_depth=8192))
    colours = len(g1.colour_groups)
    assert colours == 15 and compiled_sweep_cycles(g1) <= g1.n_groups + 3 + 3 * (colours - 1) // 2


def test_fields_are_counted_from_bits_only_when_every_coupling_has_one_magnitude():
    """The SUM stage counts bits (and signs) for +-W couplings and adds couplings otherwise; the
    co-simulations above run both forms."""
    assert _unit_magnitude(PROBLEMS["n-not-multiple-of-lanes"].program) == 1
    assert _unit_magnitude(PROBLEMS["plus-minus-three"].program) == 3
    assert _unit_magnitude(PROBLEMS["max-weights-max-gain"].program) is None
    assert next(_unit_magnitude(job.program) for name, job in PROBLEMS.items() if name.startswith("random")) is None


def test_the_tilt_table_serves_few_tilts_on_enough_lanes():
    """The co-simulated torus and ring decide from the shared TiltTable (their tilts, and no
    other values); one lane of the same torus, a problem of many tilts and one of mixed weights
    keep the per-lane path."""
    assert shared_tilts(PROBLEMS["torus6"].program) == TiltRange(-4, 1, 5)
    assert shared_tilts(PROBLEMS["ring-biases"].program) == TiltRange(-3, 0, 7)
    one_lane = map_problem(_TORUS, replace(SMALL, lanes=1))
    assert shared_tilts(map_problem(_TORUS, replace(SMALL, lanes=3))) == TiltRange(-4, 1, 5)
    assert shared_tilts(one_lane) is None and shared_tilts(map_problem(_TORUS, replace(SMALL, lanes=2))) is None
    assert shared_tilts(PROBLEMS["plus-minus-three"].program) is None       # biases -3 .. 3 and +-3 couplings
    assert shared_tilts(PROBLEMS["max-weights-max-gain"].program) is None   # not one magnitude


def test_a_state_word_reads_back_in_the_cycle_after_its_write():
    """A host's write of a group's spins lands a cycle late, from registers (hdl/compiled.py); a
    read of that group in the cycle between sees the write, a read of another group does not,
    and a write past the last group changes nothing (Amaranth's simulator: bus words back to back)."""
    from amaranth.sim import Simulator
    from lim.hdl.params import Region
    from lim.sim.cosim.amaranth_sim import BusBench
    program = map_problem(toroidal_lattice(4, seed=1), replace(SMALL, lanes=4))
    G, g = program.n_groups, program.geometry
    dut = CompiledArray(program)
    words = [(0b1010 + 5 * grp) & 0xF for grp in range(G)]   # none 0 (the reset value)
    seen = {}

    async def bench(ctx):
        bus = BusBench(ctx, dut)
        for grp, word in enumerate(words):
            await bus.write(g.address(Region.STATE, grp), word)
            seen[grp, "next"] = await bus.read(g.address(Region.STATE, grp))
        await bus.write(g.address(Region.STATE, 1), 0b0110)
        seen[0, "other"] = await bus.read(g.address(Region.STATE, 0))
        await bus.write(g.address(Region.STATE, G), 0xF)   # past the last group
        seen[G, "next"] = await bus.read(g.address(Region.STATE, G))
        for grp in range(G):
            seen[grp, "later"] = await bus.read(g.address(Region.STATE, grp))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert [seen[grp, "next"] for grp in range(G)] == words
    assert seen[0, "other"] == words[0] and seen[G, "next"] == 0
    assert [seen[grp, "later"] for grp in range(G)] == [words[0], 0b0110, *words[2:]]


def test_a_qp_is_refused_by_the_compiled_array():
    geometry = replace(SMALL, weight_bits=16, cell_bits=3)
    program = map_problem(random_qp(12, 3, seed=1), geometry)
    with pytest.raises(ValueError, match="spin problems"):
        CompiledArray(program)
    with pytest.raises(ValueError, match="spin problems"):
        GoldenArray(program, np.zeros(12, dtype=np.int64), compiled=True)


def test_a_toroidal_lattice_has_four_neighbours_per_spin_and_two_colours():
    from lim.sim.problem import toroidal_lattice
    problem = toroidal_lattice(6, seed=1)
    assert problem.n == 36 and problem.m == 72
    degree = np.bincount(np.concatenate([problem.rows, problem.cols]), minlength=36)
    assert (degree == 4).all()
    assert len(map_problem(problem, SMALL).colour_groups) == 2
    assert set(np.abs(problem.couplings).tolist()) == {1}


@pytest.mark.parametrize("argv, message", [
    (["anneal", "--compiled", "--simulator", "amaranth", "--sweeps", "2"], "verilator or icarus"),
    (["build", "--board", "ulx3s", "--problem", "G1", "--lanes", "0"], "lanes must be in 1 .. 32, not 0"),
    (["build", "--board", "ulx3s", "--problem", "G1", "--lanes", "33"], "lanes must be in 1 .. 32, not 33"),
    (["build", "--board", "icebreaker", "--clock-mhz", "10"], "iCE40 PLL cannot make 10 MHz"),
    (["build", "--board", "icebreaker", "--clock-mhz", "8.4375"], "8.4375 MHz cannot make 1000000 baud"),
    (["build", "--board", "ulx3s", "--clock-mhz", "1000"], "cannot make 1000 MHz"),
])
def test_settings_a_compiled_array_cannot_honour_are_refused(argv, message, capsys):
    from lim.host.cli import main
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_a_compiled_build_sizes_its_groups_to_the_problem():
    """A compiled array holds no memories: a problem with more groups than the board's
    programmable build holds still compiles (the iCEBreaker's 128 groups of 1 lane, a 16 x 16
    lattice's 256 spins) on the board's lanes, clock and formats."""
    from lim.boards.targets import BOARDS
    from lim.host.toolchain import compiled_target
    from lim.sim.problem import toroidal_lattice
    board = BOARDS["icebreaker"]
    target, program = compiled_target(board, toroidal_lattice(16, seed=1))
    assert program.n_groups == 256 > board.geometry.groups and target.geometry.groups >= 256
    assert replace(target.geometry, groups=board.geometry.groups) == board.geometry
    assert replace(target, geometry=board.geometry) == board
    with pytest.raises(ValueError, match="spin problems"):
        compiled_target(replace(board, geometry=replace(board.geometry, cell_bits=3, weight_bits=16)),
                        toroidal_lattice(4, seed=1))


def test_a_build_that_does_not_fit_says_why_in_one_line(tmp_path):
    """nextpnr's placement error and the resources over capacity, from its log (the iCEBreaker
    with 4 compiled lanes: 219% of its logic cells)."""
    from lim.host.toolchain import _build_failure
    (tmp_path / "lim_x.tim").write_text(
        "Info: Device utilisation:\nInfo: \t         ICESTORM_LC:   11615/   5280   219%\n"
        "Info: \t        ICESTORM_RAM:      16/     30    53%\n"
        "ERROR: Unable to place cell 'dsp', no BELs remaining to implement cell type 'ICESTORM_DSP'\n")
    message = _build_failure(tmp_path, "lim_x")
    assert "Unable to place cell" in message and "ICESTORM_LC: 11615/ 5280 219%" in message
    assert "ICESTORM_RAM" not in message and "\n" not in message


def test_a_compiled_array_keeps_no_field_banks():
    """The programmable build's field banks change the mapping (each lane's banks balanced), but a
    compiled array keeps no fields: its build, its simulated board and `lim anneal --compiled`
    map the problem with one bank, so its slot order and pipeline are the same whatever the
    board's banks."""
    from lim.boards.targets import BOARDS
    from lim.host.toolchain import compiled_target
    from lim.sim.gset import load_named
    board = BOARDS["ulx3s"]
    assert board.geometry.field_banks > 1
    g1 = load_named("G1")
    one = compiled_target(replace(board, geometry=replace(board.geometry, field_banks=1)), g1)[1]
    for banks in (2, 4):
        target, program = compiled_target(replace(board, geometry=replace(board.geometry, field_banks=banks)), g1)
        assert target.geometry.field_banks == 1
        assert np.array_equal(program.slot_of_node, one.slot_of_node)
    programmable = map_problem(g1, board.geometry)
    assert not np.array_equal(programmable.slot_of_node, one.slot_of_node)


def test_the_simulated_board_compiles_a_problem_as_the_board_build_does():
    """`lim anneal --compiled --sim-board` runs the program `lim build --problem` builds. G1's
    compiled array keeps no memories, so the ULX3S's programmable update rows at one bank (6,647
    needed, 4,096 there) must not refuse it; a QP, which a compiled array cannot hold, is refused
    in one line, and without --compiled the board's own programmable geometry is used."""
    from lim.boards.targets import BOARDS
    from lim.host.anneal import board_program
    from lim.host.settings import AnnealSettings, SettingsError
    from lim.host.toolchain import compiled_target
    from lim.sim.gset import load_named
    g1 = load_named("G1")
    program = board_program(g1, AnnealSettings(compiled=True).resolve(g1), "ulx3s")
    built = compiled_target(BOARDS["ulx3s"], g1)[1]
    assert program.geometry == built.geometry and program.digest() == built.digest()
    assert program.geometry.lanes == BOARDS["ulx3s"].geometry.lanes and program.update_rows > 4096
    assert board_program(g1, AnnealSettings().resolve(g1), "ulx3s").geometry == BOARDS["ulx3s"].geometry
    qp = random_qp(6, 3, seed=1)
    with pytest.raises(SettingsError, match="a compiled array holds spin problems"):
        board_program(qp, AnnealSettings(compiled=True).resolve(qp), "ulx3s")
