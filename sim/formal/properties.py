"""Formal properties of the RTL: one harness per block, its inputs left free.

A harness instantiates a block, leaves every input to the solver (``ports``) and states
properties with ``Assert`` (and the block's operating contract with ``Assume``). A k-induction
proof of a harness holds for every input sequence, so it holds wherever the block is used in the
array or the board. See docs/formal.md for what each proof means and how long it takes.
"""
from dataclasses import dataclass

from amaranth.hdl import Array, Assert, Assume, Const, Elaboratable, Module, Mux, ResetSignal, Signal, signed
from amaranth.lib.wiring import In

from ...hdl.array import counter_increment_widths
from ...hdl.command import RECEIVING, CommandBlock
from ...hdl.counters import SaturatingCounter
from ...hdl.decision import Decision
from ...hdl.params import (BARRIER_BITS, GAIN_ACC_EXTRA_BITS, GAIN_BITS,
                           PROB_BITS, TABLE_DEPTH, ArrayGeometry, Region, hop_probability_table,
                           table_word)
from ...hdl.protocol import MAX_PAYLOAD, Command
from ...hdl.system import frame_timeout_cycles
from ...hdl.schedule import ScheduleGenerator

__all__ = ["Proof", "PROOFS", "CounterProperties", "ScheduleProperties", "LaneProperties",
           "CommandSafety", "CommandLiveness", "FORMAL_GEOMETRY"]

#: A small array for the block proofs: 3 lanes (not a power of two), 12 groups, 40 edges.
FORMAL_GEOMETRY = ArrayGeometry(lanes=3, groups=12, edge_depth=40, weight_bits=6, counter_bits=12)


class _Harness(Elaboratable):
    """Common pieces: no reset during the proof, a 'not the first cycle' flag, past values."""

    def _begin(self, m):
        m.d.comb += Assume(~ResetSignal())
        started = Signal()
        m.d.sync += started.eq(1)
        return started

    @staticmethod
    def _past(m, signal):
        past = Signal(signal.shape(), name=f"past_{getattr(signal, 'name', 'value')}")
        m.d.sync += past.eq(signal)
        return past

    def ports(self):
        """The block's inputs: the solver chooses them freely every cycle."""
        return [getattr(self.dut, name) for name, member in self.dut.signature.members.items()
                if member.flow == In]


class CounterProperties(_Harness):
    """A counter never wraps: it adds exactly until the sum passes its maximum, then holds it."""

    def __init__(self, width, increment_width, counter=SaturatingCounter):
        self.width = width
        self.dut = counter(width, increment_width)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        started = self._begin(m)
        top = (1 << self.width) - 1
        value, increment, clear, saturated = (self._past(m, s) for s in
                                              (dut.value, dut.increment, dut.clear, dut.saturated))
        with m.If(started):
            with m.If(clear):
                m.d.comb += Assert((dut.value == 0) & ~dut.saturated, "clear empties the counter")
            with m.Elif(value + increment > top):
                m.d.comb += Assert((dut.value == top) & dut.saturated, "a sum past the maximum saturates")
            with m.Else():
                m.d.comb += Assert(dut.value == value + increment, "below the maximum it adds exactly")
                m.d.comb += Assert(dut.saturated == saturated, "the saturation flag is sticky")
        m.d.comb += Assert(~dut.saturated | (dut.value == top), "a saturated counter reads its maximum")
        return m


class ScheduleProperties(_Harness):
    """A schedule's value (barrier or gain) stays within its programmed start and end, never
    falls when start <= end, and moves only at a sweep's end, whatever its hold.

    Contract (the array's): schedule registers are written before ``init`` and held during the
    run; ``advance`` comes while the schedule is not busy, and not in the cycle right after
    ``init`` or another ``advance``.
    """

    def __init__(self, value_bits=BARRIER_BITS, **generator):
        self.dut = ScheduleGenerator(value_bits, **generator)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        started = self._begin(m)
        params = (dut.kind, dut.start_q4, dut.end_q4, dut.rate, dut.hold)
        held = [Signal.like(p, name=f"held_{p.name}") for p in params]
        armed = Signal()
        with m.If(dut.init):
            m.d.sync += [armed.eq(1)] + [h.eq(p) for h, p in zip(held, params)]
        with m.Elif(armed):
            m.d.comb += [Assume(p == h) for p, h in zip(params, held)]
        m.d.comb += Assume(~(dut.advance & dut.busy))
        just_changed = self._past(m, dut.advance | dut.init)
        m.d.comb += Assume(~(dut.advance & just_changed))

        start, end = held[1], held[2]
        low = Signal(dut.value_bits)
        high = Signal(dut.value_bits)
        m.d.comb += [low.eq(start), high.eq(end)]
        with m.If(start > end):
            m.d.comb += [low.eq(end), high.eq(start)]
        with m.If(armed):
            m.d.comb += Assert((dut.value_q4 >= low) & (dut.value_q4 <= high),
                               "the value stays within its programmed bounds")

        value, init, advance, busy, was_armed = (self._past(m, s) for s in
                                                 (dut.value_q4, dut.init, dut.advance, dut.busy, armed))
        with m.If(started & was_armed & ~init):
            with m.If(start <= end):
                m.d.comb += Assert(dut.value_q4 >= value, "a rising schedule never falls")
            with m.If(~advance & ~busy):
                m.d.comb += Assert(dut.value_q4 == value, "the value moves only on a sweep's end")
        return m


class LaneProperties(_Harness):
    """The hop exponent never overflows and the exp(-x) table is read at x, never at an alias.

    x = Eb + y downhill, max(Eb + y, 2 y) uphill, with the decision's y = round(M t / 2^s), is compared
    with an exact wide computation; in the commit cycle, whenever the table decides the hop
    (0 < x < 512) the entry read is table[x] = (m, e), and the hop is exactly valid and (x <= 0 or
    (the run has e leading zeros and r16 < m)). (Ising lanes; see docs/formal.md for QP cells.)
    """

    def __init__(self, geometry=FORMAL_GEOMETRY, decision=Decision):
        if geometry.qp:
            raise ValueError("the lane proof covers Ising cells")
        self.dut = decision(geometry, 0)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        started = self._begin(m)
        wide = signed(BARRIER_BITS + len(dut.y) + 3)
        half_tilt = Signal(wide)
        over = Signal(wide)
        exact = Signal(wide)
        # y = round(M t / 2^s) is taken from the decision: a variable shift of a product is beyond
        # z3 here (the proof ran past 2 minutes). That t = +-f and y = round(M t / 2^s) are formed
        # right is checked at their extremes in simulation (tests/test_formal.py::
        # test_the_lanes_t_and_y_at_their_extremes) and bit for bit by the co-simulations.
        m.d.comb += half_tilt.eq(dut.y)
        m.d.comb += over.eq(dut.barrier_q4 + half_tilt)
        m.d.comb += exact.eq(Mux((half_tilt > 0) & (2 * half_tilt > over), 2 * half_tilt, over))
        m.d.comb += Assert(dut.x_next == exact, "the hop exponent never overflows")

        table = Array(Const(table_word(v), len(dut.table_entry)) for v in hop_probability_table())
        decided = self._past(m, dut.decide)
        x = dut.x
        in_table = (x > 0) & (x < TABLE_DEPTH)
        entry = table[x[:(TABLE_DEPTH - 1).bit_length()]]
        with m.If(started & decided):
            with m.If(in_table):
                m.d.comb += Assert(dut.table_entry == entry, "the table is read at x")
            mantissa, halvings = entry[:PROB_BITS], entry[PROB_BITS:]
            run_of_zeros = dut.run_zeros >= halvings   # the run's leading zeros (tests/test_formal.py)
            contract = dut.valid & ((x <= 0) | (in_table & run_of_zeros & (dut.random16 < mantissa)))
            m.d.comb += Assert(dut.hop == contract, "the hop follows the contract")
        return m


def _writable(m, geometry, address):
    """The specification: a write at ``address`` (32 bits) reaches a location of the array."""
    g = geometry
    ib, lb = g.index_bits, g.lane_addr_bits
    index, lane, region = address[:ib], address[ib:ib + lb], address[ib + lb:]
    ok = Signal()
    for r in Region:
        window = g.write_window(r)
        if window is not None:
            per_lane, depth = window
            with m.If(region == r):
                m.d.comb += ok.eq((index < depth) & ((lane < g.lanes) if per_lane else (lane == 0)))
    return ok


class CommandSafety(_Harness):
    """The command decoder never writes outside the problem memory, whatever bytes arrive."""

    def __init__(self, geometry=FORMAL_GEOMETRY, max_payload=16, command=CommandBlock):
        self.geometry = geometry
        self.dut = command(geometry, timeout_cycles=16, max_payload=max_payload)

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        self._begin(m)
        m.d.comb += Assert(~dut.bus_we | _writable(m, self.geometry, dut.bus_addr),
                           "every bus write reaches a location of the array")
        # Inductive strengthening: the rest of a burst lies in the window of its next word.
        last = Signal(33)
        m.d.comb += last.eq(dut.address + dut.n_words - dut.count)
        block = self.geometry.index_bits
        with m.If(dut.in_state["WRITE_WORDS"]):
            m.d.comb += Assert((dut.count >= 1) & (dut.count <= dut.n_words)
                               & _writable(m, self.geometry, dut.address) & _writable(m, self.geometry, last)
                               & (last >> block == dut.address >> block), "a burst stays in its window")
        return m


class CommandLiveness(_Harness):
    """From any byte sequence, once the line is quiet the decoder replies and returns to idle.

    The proof is by a ranking function: ``rank`` bounds the cycles (in which no byte arrives and
    the transmitter can take one) the decoder still needs to reach IDLE, and is 0 only there.
    Every such cycle lowers it, a cycle with the transmitter busy never raises it, and it never
    exceeds ``bound``; so after ``bound`` quiet cycles the decoder is idle. The few register
    ranges the argument needs are asserted (and so proved) alongside.
    """

    def __init__(self, geometry=FORMAL_GEOMETRY, max_payload=16, timeout_cycles=16, command=CommandBlock):
        self.max_payload = max_payload
        self.dut = command(geometry, timeout_cycles=timeout_cycles, max_payload=max_payload)
        self.longest_reply = max(len(self.dut.identify), max_payload)
        self.reply_start = 3 * self.longest_reply + 10            # REPLY_START, at most
        self.check = 13 + 3 * self.longest_reply + max_payload // 4
        self.bound = max(timeout_cycles + 1 + self.reply_start, self.check)

    def _rank(self, m):
        dut, st = self.dut, self.dut.in_state
        rank = Signal(range(self.bound + 1))
        left = dut.reply_len - dut.tx_index          # reply bytes still to send
        reply = 3 * dut.reply_len
        with m.If(st["IDLE"]):
            m.d.comb += rank.eq(0)
        for name in ("REPLY_CRC1", "REPLY_CRC0"):
            with m.If(st[name]):
                m.d.comb += rank.eq(1 if name == "REPLY_CRC1" else 2)
        for name, extra in (("REPLY_PAYLOAD", 2), ("REPLY_LATCH", 3), ("REPLY_FETCH", 4)):
            with m.If(st[name]):
                m.d.comb += rank.eq(3 * left + extra)
        with m.If(st["REPLY_HEADER"]):
            m.d.comb += rank.eq(5 - dut.tx_index + reply + 4)
        with m.If(st["REPLY_START"]):
            m.d.comb += rank.eq(reply + 10)
        with m.If(st["WRITE_WORDS"]):
            m.d.comb += rank.eq(dut.n_words - dut.count + 1 + reply + 10)
        with m.If(st["LOAD_COUNT"]):
            m.d.comb += rank.eq(1 + self.reply_start)
        with m.If(st["LOAD_ADDRESS"]):
            m.d.comb += rank.eq(self.check - 1)
        with m.If(st["CHECK_WINDOW"]):
            m.d.comb += rank.eq(self.check - 2)
        with m.If(st["CHECK"]):
            m.d.comb += rank.eq(self.check)
        for name in RECEIVING:
            with m.If(st[name]):
                m.d.comb += rank.eq(self.dut.timeout_cycles - dut.idle_timer + 1 + self.reply_start)
        return rank

    def elaborate(self, platform):
        m = Module()
        m.submodules.dut = dut = self.dut
        started = self._begin(m)
        st = dut.in_state
        m.d.comb += Assert(sum(s for s in st.values()) == 1, "the decoder is in exactly one known state")
        # the ranges the ranking argument relies on
        m.d.comb += Assert((dut.reply_len <= self.longest_reply) & (dut.idle_timer <= dut.timeout_cycles)
                           & (dut.n_words <= self.max_payload // 4), "register ranges")
        with m.If(st["REPLY_HEADER"]):
            m.d.comb += Assert(dut.tx_index <= 4, "header index")
        with m.If(st["REPLY_FETCH"] | st["REPLY_LATCH"] | st["REPLY_PAYLOAD"]):
            m.d.comb += Assert(dut.tx_index < dut.reply_len, "payload index")
        with m.If(st["WRITE_WORDS"]):
            m.d.comb += Assert((dut.count >= 1) & (dut.count <= dut.n_words), "burst index")
        with m.If(st["CHECK_WINDOW"] | (st["LOAD_ADDRESS"] & (dut.code == Command.WRITE))):
            m.d.comb += Assert((dut.code == Command.WRITE) & (dut.n_words >= 1), "a write's burst has a word")
        with m.If(st["CHECK"] | st["PAYLOAD"] | st["CRC0"] | st["CRC1"]):
            m.d.comb += Assert(dut.length <= self.max_payload, "frame length")
        for name in RECEIVING:
            with m.If(st[name]):
                m.d.comb += Assert(dut.reply_len == 0, "no reply pending while receiving")

        rank = self._rank(m)
        quiet = Signal(range(self.bound + 1))      # quiet cycles with the transmitter ready
        with m.If(dut.rx_valid):
            m.d.sync += quiet.eq(0)
        with m.Elif(dut.tx_ready & (quiet != self.bound)):
            m.d.sync += quiet.eq(quiet + 1)
        past_rank, was_quiet, was_ready, was_idle = (self._past(m, s) for s in
                                                     (rank, ~dut.rx_valid, dut.tx_ready, dut.idle))
        with m.If(started & was_quiet):
            with m.If(was_ready & ~was_idle):
                m.d.comb += Assert(rank < past_rank, "each quiet cycle brings the decoder closer to idle")
            with m.Else():
                m.d.comb += Assert(rank <= past_rank, "a busy transmitter never sets it back")
        m.d.comb += Assert(rank + quiet <= self.bound, "bounded response")
        with m.If(quiet == self.bound):
            m.d.comb += Assert(dut.idle, "a quiet line brings the decoder back to idle")
        return m


@dataclass(frozen=True)
class Proof:
    name: str
    build: object      # () -> harness
    mode: str          # "prove": k-induction, unbounded
    depth: int
    claim: str


def _counter_proofs():
    """One proof per (width, increment width) that the arrays' counters use, boards included."""
    from ...boards.targets import BOARDS
    geometries = [ArrayGeometry(), FORMAL_GEOMETRY] + [t.geometry for t in BOARDS.values()]
    shapes = sorted({(g.counter_bits, width) for g in geometries for width in counter_increment_widths(g).values()})
    return [Proof(f"counter_{w}_{i}", (lambda w=w, i=i: CounterProperties(w, i)), "prove", 2,
                  f"a {w}-bit counter with {i}-bit increments saturates, never wraps")
            for w, i in shapes]


def _lane_proofs():
    """The lane's datapath widths follow the geometry: a small array's and the iCEBreaker's.

    (The ULX3S lane is left out: the base case over its 8192-entry edge memory, zero at start,
    did not finish within 6 minutes with z3.) Induction of depth 2 proves them (a k-induction
    proof at any k is a proof); at depth 3 z3 took 261 s over the iCEBreaker lane, at 2, 9 s.
    """
    from ...boards.targets import BOARDS
    instances = [("small", FORMAL_GEOMETRY), ("icebreaker", BOARDS["icebreaker"].geometry)]
    return [Proof(f"lane_{name}", lambda g=geometry: LaneProperties(g), "prove", 2,
                  f"the hop exponent never overflows; the table is read in range, at x ({name})")
            for name, geometry in instances]


def _command_proofs():
    """The decoder's proofs for a small odd-shaped array, and for each board as it is built."""
    from ...boards.targets import BOARDS
    instances = [("small", FORMAL_GEOMETRY, 16, 16)] + [
        (name, t.geometry, MAX_PAYLOAD, frame_timeout_cycles(t.clk_hz, t.baud)) for name, t in BOARDS.items()]
    proofs = []
    for name, geometry, payload, timeout in instances:
        proofs.append(Proof(f"command_safety_{name}",
                            lambda g=geometry, p=payload: CommandSafety(g, max_payload=p), "prove", 3,
                            f"the command decoder never writes outside the problem memory ({name} array)"))
        proofs.append(Proof(f"command_liveness_{name}",
                            lambda g=geometry, p=payload, t=timeout: CommandLiveness(g, p, t), "prove", 2,
                            f"any byte sequence, then a quiet line, returns the decoder to idle ({name})"))
    return proofs


PROOFS = _counter_proofs() + [
    Proof("gain_schedule", lambda: ScheduleProperties(GAIN_BITS, extra_bits=GAIN_ACC_EXTRA_BITS, logarithmic=False,
                                                      exponential=False), "prove", 3,
          "the gain stays within its programmed start and end, rises monotonically, moves only at a sweep's end"),
    Proof("schedule", ScheduleProperties, "prove", 3,
          "the barrier schedule stays within its programmed bounds and never falls"),
] + _lane_proofs() + _command_proofs()
