"""Fuzzing: random and adversarial bytes into the command decoder (Amaranth simulator), random
problem files into the host parser and the command line, random bytes into the reply parser.

Hypothesis runs derandomized with a bounded number of examples, so CI is repeatable and bounded.
"""
import struct

from amaranth.sim import Simulator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lim.hdl.command import CommandBlock
from lim.hdl.params import ArrayGeometry, Reg, Region
from lim.hdl.protocol import SYNC, Command, Status
from lim.host.cli import main
from lim.host.protocol import ReplyParser, encode_frame
from lim.sim.problem import IsingProblem, ProblemError, parse_gset

FUZZ = settings(derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
GEOMETRY = ArrayGeometry(lanes=3, groups=12, edge_depth=40, weight_bits=6, counter_bits=12)
TIMEOUT = 16
MAX_PAYLOAD = 64


# ---- the command decoder ---------------------------------------------------------------------

def addresses():
    """Bus addresses near every window's edges, and anywhere in 32 bits."""
    g = GEOMETRY
    edges = [g.address(r, i, lane) for r in Region for lane in range(g.lanes)
             for i in (0, 1, g.groups - 1, g.groups, g.edge_depth - 1, g.edge_depth, (1 << g.index_bits) - 1)]
    return st.one_of(st.sampled_from(edges), st.integers(0, (1 << g.addr_bits) + 4), st.integers(0, 2 ** 32 - 1))


@st.composite
def frames(draw):
    """One chunk of an adversarial stream: good frames, damaged ones, and noise."""
    kind = draw(st.sampled_from(["write", "read", "identify", "reset", "unknown", "flip", "cut", "oversize", "noise"]))
    seq = draw(st.integers(0, 255))
    if kind == "noise":
        return draw(st.binary(max_size=40))
    if kind == "oversize":
        return bytes([SYNC, Command.WRITE, seq]) + struct.pack("<H", draw(st.integers(MAX_PAYLOAD + 1, 65535)))
    if kind in ("write", "flip", "cut"):
        words = draw(st.lists(st.integers(0, 2 ** 32 - 1), min_size=1, max_size=MAX_PAYLOAD // 4 - 1))
        frame = encode_frame(Command.WRITE, seq, struct.pack(f"<I{len(words)}I", draw(addresses()), *words))
    elif kind == "read":
        frame = encode_frame(Command.READ, seq, struct.pack("<II", draw(addresses()), draw(st.integers(0, 40))))
    else:
        code = {"identify": Command.IDENTIFY, "reset": Command.RESET}.get(kind) or draw(st.integers(5, 255))
        frame = encode_frame(code, seq)
    if kind == "flip":
        k = draw(st.integers(1, len(frame) - 1))
        frame = frame[:k] + bytes([frame[k] ^ draw(st.integers(1, 255))]) + frame[k + 1:]
    if kind == "cut":
        frame = frame[:draw(st.integers(1, len(frame) - 1))]
    return frame


def run_decoder(stream, gaps, busy):
    """Feed ``stream`` (one byte every 1 + gap cycles), then a quiet line; watch the bus and tx."""
    dut = CommandBlock(GEOMETRY, timeout_cycles=TIMEOUT, max_payload=MAX_PAYLOAD)
    out = {"writes": [], "tx": bytearray(), "idle": None}
    # after the last byte: the timeout, then at most the longest reply (6 cycles a word)
    settle = TIMEOUT + 16 + 6 * max(MAX_PAYLOAD, len(dut.identify)) // 4

    async def bench(ctx):
        ctx.set(dut.array_busy, busy)
        ctx.set(dut.tx_ready, 1)

        async def cycle(rx=None):
            ctx.set(dut.rx_valid, rx is not None)
            ctx.set(dut.rx_data, rx or 0)
            ctx.set(dut.bus_rdata, 0x5A5A0000 | ctx.get(dut.bus_addr) & 0xFFFF)
            if ctx.get(dut.bus_we):
                out["writes"].append(ctx.get(dut.bus_addr))
            if ctx.get(dut.tx_valid):
                out["tx"].append(ctx.get(dut.tx_data))
            await ctx.tick()

        for byte, gap in zip(stream, gaps):
            await cycle(byte)
            for _ in range(gap):
                await cycle()
        for _ in range(settle):
            await cycle()
        out["idle"] = ctx.get(dut.idle)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return out


@FUZZ
@given(chunks=st.lists(frames(), min_size=1, max_size=8), data=st.data(), busy=st.booleans())
def test_decoder_survives_any_byte_stream(chunks, data, busy):
    stream = b"".join(chunks)
    gaps = data.draw(st.lists(st.integers(0, 3), min_size=len(stream), max_size=len(stream)))
    out = run_decoder(stream, gaps, busy)
    # never a write outside the problem memory
    assert all(GEOMETRY.writable(a) for a in out["writes"]), [hex(a) for a in out["writes"]]
    assert not (busy and out["writes"])
    # back to waiting for a sync byte once the line is quiet
    assert out["idle"] == 1
    # whatever it sent is whole, well-formed replies with known statuses
    parser = ReplyParser()
    replies = parser.feed(bytes(out["tx"]))
    assert parser.rejected == 0 and not parser.buffer
    assert all(isinstance(r.status, Status) for r in replies)


def test_decoder_fuzz_reaches_the_interesting_cases():
    """The generator is not toothless: a good write executes; one outside the array is refused."""
    g = GEOMETRY
    good = encode_frame(Command.WRITE, 1, struct.pack("<II", g.address(Region.REGS, Reg.SEED), 7))
    bad = encode_frame(Command.WRITE, 2, struct.pack("<II", (1 << g.addr_bits) | Reg.SEED, 7))
    gaps = [0] * (len(good) - 1) + [60] + [0] * len(bad)   # the host waits for the first reply
    out = run_decoder(good + bad, gaps, busy=False)
    assert out["writes"] == [g.address(Region.REGS, Reg.SEED)]
    statuses = [r.status for r in ReplyParser().feed(bytes(out["tx"]))]
    assert statuses == [Status.OK, Status.BAD_ADDRESS]


# ---- the host side -----------------------------------------------------------------------------

@st.composite
def gset_texts(draw):
    """Gset files as users get them wrong: off-by-one indices, bad counts, junk, huge numbers."""
    n = draw(st.integers(-2, 12))
    edges = draw(st.lists(st.tuples(st.integers(-1, 14), st.integers(-1, 14),
                                    st.one_of(st.integers(-300, 300), st.integers(-2 ** 70, 2 ** 70))),
                          max_size=12))
    m = draw(st.one_of(st.just(len(edges)), st.integers(-1, 15)))
    lines = [f"{n} {m}"] + [f"{i} {j} {w}" for i, j, w in edges]
    text = "\n".join(lines)
    junk = draw(st.one_of(st.just(""), st.text(max_size=20)))
    cut = draw(st.integers(0, len(text)))
    return draw(st.sampled_from([text, text + junk, text[:cut], junk + text]))


@FUZZ
@given(text=st.one_of(gset_texts(), st.text(max_size=200)))
def test_parser_accepts_or_names_the_fault(text):
    try:
        problem = parse_gset(text, name="fuzz.txt")
    except ProblemError as exc:
        assert str(exc).startswith("fuzz.txt")
    else:
        assert isinstance(problem, IsingProblem) and problem.n >= 1


@settings(FUZZ, max_examples=25)
@given(text=gset_texts())
def test_command_line_gives_a_result_or_one_line(text, tmp_path_factory, capsys):
    tmp = tmp_path_factory.mktemp("fuzz")
    path = tmp / "p.txt"
    path.write_text(text)
    rc = main(["anneal", "--problem", str(path), "--simulator", "golden", "--sweeps", "2",
               "--quiet", "--out", str(tmp / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    if rc == 0:
        assert (tmp / "out" / "anneal-p.json").exists()
    else:
        assert rc == 2 and len(err) == 1 and err[0].startswith("lim: error:")
        assert not (tmp / "out").exists()


@FUZZ
@given(pieces=st.lists(st.tuples(st.binary(max_size=30), st.binary(max_size=64)), min_size=1, max_size=5),
       split=st.integers(1, 7))
def test_reply_parser_finds_every_good_frame_in_noise(pieces, split):
    """Noise (damaged headers that announce long frames included) never hides a good frame."""
    payloads = [p[:len(p) // 4 * 4] for _, p in pieces]
    stream = b"".join(noise + encode_frame(Status.OK, k, p) for k, ((noise, _), p) in enumerate(zip(pieces, payloads)))
    parser = ReplyParser()
    step = max(1, len(stream) // split)
    replies = [r for k in range(0, len(stream), step) for r in parser.feed(stream[k:k + step])]
    # noise may hold a frame by chance (a sync byte and a matching CRC); the good ones come in order
    got = iter((r.seq, r.payload) for r in replies)
    assert all(want in got for want in enumerate(payloads))
