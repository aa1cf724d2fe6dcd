"""Host to simulated board: the board's RTL (array, UART, command block) under Verilator, its
serial line bridged to the host driver. Bad frames, faults on the link, and exact results."""
import struct
import time

import numpy as np
import pytest

from cases import SMALL, gain
from lim.hdl.params import Counter, Reg, Region, Schedule
from lim.hdl.protocol import SYNC, Command, Status
from lim.host.driver import LimBoard
from lim.host.protocol import ReplyParser, encode_frame
from lim.host.simboard import SimulatedBoard
from lim.host.transport import FaultyTransport
from lim.sim.cosim.runner import Job
from lim.sim.golden import GoldenArray, RunConfig
from lim.sim.mapping import map_problem
from lim.sim.problem import random_maxcut

pytestmark = pytest.mark.cosim


@pytest.fixture(scope="module")
def board():
    with SimulatedBoard(SMALL, "verilator") as sim:
        yield sim


def exchange(transport, frame, timeout_s=5.0):
    """Send raw bytes, return the first reply that parses (or None)."""
    transport.write(frame)
    parser = ReplyParser()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        replies = parser.feed(transport.read(0.2))
        if replies:
            return replies[0]
    return None


def test_identify_returns_the_real_geometry(board):
    driver = LimBoard(board.transport, timeout_s=5.0)
    assert driver.geometry == SMALL
    assert driver.identity.board == "simulated" and driver.identity.clk_hz == board.clk_hz


def test_anneal_through_the_board_equals_golden_model(board):
    driver = LimBoard(board.transport, timeout_s=5.0)
    problem = random_maxcut(50, 180, seed=21, weights=(-2, 1, 3))
    program = map_problem(problem, SMALL)
    bits = np.random.default_rng(4).integers(0, 2, problem.n)
    config = RunConfig(seed=99, gain_log=gain(1.25), schedule=Schedule.LOGARITHMIC, barrier_end_q4=120, rate=3)
    snaps = driver.run([Job("board", program, bits, config, [4, 3])])[0]
    gold = GoldenArray(program, bits, config)
    for sweeps, got in zip([4, 3], snaps):
        want = gold.run(sweeps)
        assert got.rows.tolist() == want.rows.tolist()
        assert got.counters == want.counters and got.saturated == want.saturated
        assert got.barrier_q4 == want.barrier_q4


def test_reset_clears_the_counters_the_run_left(board):
    """RESET reaches the array (a cycle after the command, from a register): every counter of the
    run before reads 0 after it, and the board takes the next job as before."""
    driver = LimBoard(board.transport, timeout_s=5.0)
    problem = random_maxcut(20, 40, seed=5)
    program = map_problem(problem, SMALL)
    bits = np.random.default_rng(5).integers(0, 2, problem.n)
    job = Job("before-reset", program, bits, RunConfig(seed=5), [2])
    before = driver.run([job])[0][-1]
    assert before.counters[Counter.SWEEPS] == 2 and before.counters[Counter.ATTEMPTS] > 0
    driver.reset()
    after = driver.snapshot(program.n_groups)
    assert not driver.busy() and all(value == 0 for value in after.counters.values())
    again = driver.run([job])[0][-1]
    assert again.counters == before.counters and again.rows.tolist() == before.rows.tolist()


def raw(code, seq, payload=b""):
    return encode_frame(code, seq, payload)


@pytest.mark.parametrize("name, frame, status", [
    ("bad crc", (lambda f: f[:-1] + bytes([f[-1] ^ 0x01]))(raw(Command.IDENTIFY, 11)), Status.BAD_CRC),
    ("unknown command", raw(0x7E, 12), Status.UNKNOWN_COMMAND),
    ("read with a wrong length", raw(Command.READ, 13, b"\0" * 4), Status.BAD_LENGTH),
    ("read of too many words", raw(Command.READ, 14, struct.pack("<II", 0, 1000)), Status.BAD_LENGTH),
    ("oversize payload", bytes([SYNC, Command.WRITE, 15]) + struct.pack("<H", 4096) + b"\0" * 64, Status.BAD_LENGTH),
    ("length not whole words", bytes([SYNC, Command.WRITE, 16]) + struct.pack("<H", 6) + b"\0" * 8, Status.BAD_LENGTH),
    ("truncated frame", raw(Command.WRITE, 17, b"\0" * 16)[:12], Status.TIMEOUT),
])
def test_corrupted_frames_get_an_error_reply_and_the_board_keeps_working(board, name, frame, status):
    reply = exchange(board.transport, frame)
    assert reply is not None, f"{name}: no reply"
    assert reply.status == status, name
    ok = exchange(board.transport, raw(Command.IDENTIFY, 99))
    assert ok is not None and ok.status == Status.OK and ok.payload[:4] == b"LIM1"


def test_a_retried_write_is_not_executed_twice(board):
    g = SMALL
    driver = LimBoard(board.transport, timeout_s=5.0)
    address = g.address(Region.REGS, Reg.SEED)
    frame = raw(Command.WRITE, 200, struct.pack("<II", address, 1234))
    assert exchange(board.transport, frame).status == Status.OK
    # the same sequence number again: the board must answer OK without writing again
    frame_again = raw(Command.WRITE, 200, struct.pack("<II", address, 5678))
    assert exchange(board.transport, frame_again).status == Status.OK
    assert driver.read_words(address, 1) == [1234]


@pytest.mark.slow
def test_faults_on_the_link_are_recovered_with_nothing_lost(board):
    faulty = FaultyTransport(board.transport, bit_error_rate=2e-4, drop_rate=2e-4, seed=5)
    driver = LimBoard(faulty, timeout_s=3.0, retries=20)
    problem = random_maxcut(40, 120, seed=8, weights=(-1, 1))
    program = map_problem(problem, SMALL)
    bits = np.random.default_rng(2).integers(0, 2, problem.n)
    config = RunConfig(seed=5, gain_log=gain(1), schedule=Schedule.LINEAR, barrier_end_q4=90, rate=1 << 15)
    snaps = driver.run([Job("faulty", program, bits, config, [3, 3])])[0]
    gold = GoldenArray(program, bits, config)
    for sweeps, got in zip([3, 3], snaps):
        want = gold.run(sweeps)
        assert got.rows.tolist() == want.rows.tolist() and got.counters == want.counters
    injected = faulty.injected["flipped_bits"] + faulty.injected["dropped_bytes"]
    assert injected > 0 and driver.stats["retries"] > 0


def test_a_write_outside_the_problem_memory_is_refused_whole(board):
    g = SMALL
    driver = LimBoard(board.transport, timeout_s=5.0)
    seed = g.address(Region.REGS, Reg.SEED)
    driver.write_words(seed, [777])
    aliases = [
        (1 << g.addr_bits) | seed,                       # truncated, it would land on SEED
        g.address(Region.COUNTERS, 0),                    # read-only
        g.address(Region.STATE, g.groups),                # past the last group
        seed - 1,                                         # N_GROUPS and SEED: a good burst
    ]
    for seq, address in enumerate(aliases, start=120):
        words = [1, 2] if address == seed - 1 else [5]
        reply = exchange(board.transport, raw(Command.WRITE, seq, struct.pack(f"<I{len(words)}I", address, *words)))
        assert reply.status == (Status.OK if address == seed - 1 else Status.BAD_ADDRESS), hex(address)
    assert driver.read_words(seed, 1) == [2]          # only the good burst wrote
    last = g.address(Region.EDGES, g.edge_depth - 1, lane=g.lanes - 1)
    reply = exchange(board.transport, raw(Command.WRITE, 130, struct.pack("<III", last, 1, 2)))
    assert reply.status == Status.BAD_ADDRESS          # crosses into the next lane's window
    # refused, so not remembered: the same sequence number with a good address executes
    reply = exchange(board.transport, raw(Command.WRITE, 130, struct.pack("<II", seed, 4242)))
    assert reply.status == Status.OK and driver.read_words(seed, 1) == [4242]


def test_a_compiled_board_runs_its_problem_bit_exactly_and_refuses_another():
    """The simulated board with a problem compiled in: IDENTIFY names the problem, the host sends
    only the registers and the state, the result equals the golden model's (compiled cycles), and
    a job for another problem is refused before anything is written."""
    from lim.host.driver import ProtocolError
    problem = random_maxcut(40, 120, seed=23, weights=(-2, 1, 3))
    program = map_problem(problem, SMALL)
    bits = np.random.default_rng(5).integers(0, 2, problem.n)
    config = RunConfig(seed=7, gain_log=gain(0.8), schedule=Schedule.LINEAR, barrier_end_q4=90, rate=1 << 14)
    with SimulatedBoard(SMALL, "verilator", program=program) as sim:
        driver = LimBoard(sim.transport, timeout_s=5.0)
        assert driver.identity.compiled and driver.identity.problem_digest == program.digest()
        snaps = driver.run([Job("compiled", program, bits, config, [3, 2])])[0]
        frames = driver.stats["frames"]
        other = map_problem(random_maxcut(40, 121, seed=23), SMALL)
        with pytest.raises(ProtocolError, match="another compiled problem"):
            driver.run([Job("other", other, bits, config, [1])])
        assert driver.stats["frames"] == frames
    gold = GoldenArray(program, bits, config, compiled=True)
    for sweeps, got in zip([3, 2], snaps):
        want = gold.run(sweeps)
        assert got.rows.tolist() == want.rows.tolist()
        assert got.counters == want.counters and got.saturated == want.saturated
