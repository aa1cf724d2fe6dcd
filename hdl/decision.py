"""A cell's hop decision: the device's physics in one component, shared by the programmable
array (hdl/lane.py) and the problem-compiled one (hdl/compiled.py).

Three stages, one cycle each; a new cell may enter every cycle (``load`` and ``decide`` in the
same cycle move two cells along):

  load    from the field f: t and M |t| (``TiltProduct``); the first draw o1 (its bit 0: a QP
          move's direction d; its bits 31..1 the top of the run drawn against e)
  decide  y = round(M |t| / 2^s) with t's sign = gain * t (Q.4 kT, half the climb); the exponent
          from the barrier top, a = Eb + y downhill, max(Eb + y, 2 y) uphill; the table read at a;
          the second draw o2 (its top 16 bits are compared with m, its low 16 finish the run)
  commit  hop iff a <= 0, or a in the table, the run starts with e zeros and r16 < m

The cell's generator steps once per draw, so a cell's draws are its lane's next two outputs
whatever the spacing of the stages: the golden model's assignment (sim/golden.py).
"""
from dataclasses import dataclass

from amaranth.hdl import Const, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .gain import magnitude_product, rounded_magnitude, shift_shape, with_sign
from .params import (BARRIER_BITS, GAIN_MANTISSA_BITS, PROB_BITS, RUN_BITS, TABLE_DEPTH,
                     ArrayGeometry, hop_probability_table, table_word)
from .prng import Xoshiro128pp

__all__ = ["COMMIT_EVENT_FIELDS", "Decision", "TiltRange", "TiltTable", "tilt_entry_layout", "drive_hop_exponent", "balanced_sum", "commit_events", "run_ports", "TiltProduct", "leading_zeros", "hop_table", "change_shape", "hop_argument_shape",
           "tilt_shape"]


def change_shape(geometry):
    """Signed width of dv, a source cell's change applied with its entries: +-2 for a spin flip,
    +-1 for a QP move; in the field pass the value itself (+-1, or a level 0 .. 2^p - 1)."""
    return signed(geometry.level_bits + 2)


def tilt_shape(geometry):
    """Signed width of t: s * f for a spin, 2 * d * g + Q_ii for a QP cell (two bits wider)."""
    return signed(geometry.field_bits + (3 if geometry.qp else 1))


def hop_table():
    """The exp(-a) ROM (params.hop_probability_table): m | e << 16 at a. Two decisions can share
    one: a block RAM has two read ports."""
    halvings_bits = RUN_BITS.bit_length()
    return Memory(shape=unsigned(PROB_BITS + halvings_bits), depth=TABLE_DEPTH,
                  init=[table_word(entry) for entry in hop_probability_table()])


def hop_argument_shape(geometry):
    """Signed width of the hop exponent a = max(Eb + y, 2 y) and of the drop -2 y, y = gain * t
    (|y| <= M |t|): wide enough never to overflow."""
    return signed(max(BARRIER_BITS + 1, GAIN_MANTISSA_BITS + tilt_shape(geometry).width + 1) + 1)


def drive_hop_exponent(m, x, magnitude, negative, barrier_q4):
    """Drive ``x`` with the hop exponent of half-climb y = -``magnitude`` if ``negative``, else
    ``magnitude``, under barrier ``barrier_q4`` (params.hop_exponent): Eb + y downhill, max(Eb + y,
    2 y) uphill, i.e. 2 y where y > Eb (Eb >= 0). The sum and the comparison are both formed from
    |y| and its sign, side by side, not after y's negation. Every exponent of the device is formed
    here: per lane, or once per tilt in a ``TiltTable``."""
    over_barrier = Signal(x.shape())
    m.d.comb += [over_barrier.eq(Mux(negative, barrier_q4 - magnitude, barrier_q4 + magnitude)),
                 x.eq(Mux(~negative & (magnitude > barrier_q4), magnitude << 1, over_barrier))]


def leading_zeros(m, value):
    """A signal holding the number of zero bits above ``value``'s highest one (its width when it is
    0): a tree of halves, each level a zero test and a multiplexer (no carry chain per bit)."""
    count = Signal(range(len(value) + 1))
    m.d.comb += count.eq(_leading_zeros(value))
    return count


def _leading_zeros(value):
    """The expression of ``leading_zeros`` (multiplexers only, so that every simulator settles it
    in one pass)."""
    width = len(value)
    if width == 1:
        return ~value[0]
    half = 1 << ((width - 1).bit_length() - 1)    # the low part: a power of two, the high the rest
    high, low = value[half:], value[:half]
    return Mux(high.any(), _leading_zeros(high), len(high) + _leading_zeros(low))


def balanced_sum(terms):
    """The sum of ``terms`` as a tree of pairwise adds: log2(n) adders deep, each as wide as its
    operands need (Python's ``sum`` chains n adders, the carry of each waiting for the one
    before)."""
    terms = list(terms)
    if not terms:
        return Const(0)
    while len(terms) > 1:
        pairs = [a + b for a, b in zip(terms[0::2], terms[1::2])]
        terms = pairs + terms[len(pairs) * 2:]
    return terms[0]


def run_ports(geometry):
    """The inputs every decision of an array shares: the schedules' values (read in the decide
    cycle), the decide strobe and the generators' seeding."""
    return {
        "barrier_q4": In(BARRIER_BITS),
        "gain_mantissa": In(GAIN_MANTISSA_BITS),   # the gain as M / 2^s (hdl/gain.py)
        "gain_shift": In(shift_shape(geometry.qp)),
        "decide": In(1),
        "seed": In(32),
        "prng_init": In(1),
        "prng_warm": In(1),
    }


class TiltProduct(wiring.Component):
    """A cell's t and the product M |t| (combinational; the decision latches them at load, so that
    the decide stage only shifts, adds and compares): t = s f for a spin flip, 2 d f + Q_ii for a
    QP move by d = +-1 (twice its climb)."""

    def __init__(self, geometry):
        self.geometry = g = geometry
        self.product_shape = unsigned(tilt_shape(g).width + GAIN_MANTISSA_BITS)
        super().__init__({
            "field": In(signed(g.field_bits)), "own_value": In(g.level_bits), "up": In(1),
            "diagonal": In(signed(g.weight_bits)), "mantissa": In(GAIN_MANTISSA_BITS),
            "t": Out(tilt_shape(g)), "product": Out(self.product_shape), "negative": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        f = self.field
        if self.geometry.qp:
            m.d.comb += self.t.eq(Mux(self.up, f << 1, -(f << 1)) + self.diagonal)
            product, negative = magnitude_product(m, self.t, self.mantissa)
        else:   # |t| = |f|: the product and t's sign from f, not after t's negation
            m.d.comb += self.t.eq(Mux(self.own_value[0], f, -f))
            product, field_negative = magnitude_product(m, f, self.mantissa)
            negative = Mux(self.own_value[0], field_negative, f > 0)
        m.d.comb += [self.product.eq(product), self.negative.eq(negative)]
        return m


@dataclass(frozen=True)
class TiltRange:
    """The tilts t = low + k 2^step_log2, k = 0 .. count - 1: a superset of every t a compiled
    problem's cells can have (its fields are a constant plus counts of bits)."""
    low: int
    step_log2: int
    count: int

    @property
    def values(self):
        return [self.low + (k << self.step_log2) for k in range(self.count)]

    def index_of(self, t):
        """The index of t (a value in the range) as an expression."""
        return ((t - self.low) >> self.step_log2)[:max(1, (self.count - 1).bit_length())]


def tilt_entry_layout(geometry):
    """What a TiltTable holds per tilt, and a lane latches at decide: y (for the counters' drop),
    the hop exponent's two ends (x <= 0: always; x past the table: never) and the table's word
    m | e << 16 at x."""
    return data.StructLayout({"y": hop_argument_shape(geometry), "always": 1, "never": 1,
                              "entry": PROB_BITS + RUN_BITS.bit_length()})


class TiltTable(wiring.Component):
    """y = gain * t, the hop exponent x and the table's word at x, for every tilt of a
    ``TiltRange`` under the schedules' values: what a lane forms per cell (Decision) formed once
    per tilt for all of them, as a p-bit machine reads its probability from a table indexed by
    the field. The lanes then hold no product, exponent or table of their own.

    Three stages, free-running (y; x; the table's read), so the words follow the schedules'
    values three cycles late. The gain's mantissa and shift change three cycles before a sweep's
    first decide (the schedules step, then the sequencer waits a cycle, and the first group is
    selected, summed and loaded: hdl/array.py, hdl/compiled.py), so the first decide reads the
    words of its own sweep; the barrier, a cycle earlier still."""

    def __init__(self, geometry, tilts):
        self.geometry = geometry
        self.tilts = tilts
        ports = run_ports(geometry)
        super().__init__({
            "barrier_q4": ports["barrier_q4"], "gain_mantissa": ports["gain_mantissa"],
            "gain_shift": ports["gain_shift"],
            "words": Out(data.ArrayLayout(tilt_entry_layout(geometry), tilts.count)),
        })

    def elaborate(self, platform):
        m = Module()
        x_shape = hop_argument_shape(self.geometry)
        for k, t in enumerate(self.tilts.values):
            if k % 2 == 0:   # one exp(-a) table per two tilts, a read port each
                m.submodules[f"hop_table{k // 2}"] = table = hop_table()
            port = table.read_port()
            word = self.words[k]
            product = Signal(unsigned(abs(t).bit_length() + GAIN_MANTISSA_BITS), name=f"product{k}")
            m.d.comb += product.eq(abs(t) * self.gain_mantissa)
            magnitude = rounded_magnitude(m, product, self.gain_shift)
            y_abs = Signal.like(magnitude, name=f"y_abs{k}")   # |y|; y's sign is t's
            x = Signal(x_shape, name=f"x{k}")
            x_now = Signal(x_shape, name=f"x_now{k}")
            drive_hop_exponent(m, x_now, y_abs, Const(t < 0, 1), self.barrier_q4)
            m.d.sync += [y_abs.eq(magnitude), x.eq(x_now), word.y.eq(-y_abs if t < 0 else y_abs),
                         word.always.eq(x <= 0), word.never.eq(x >= TABLE_DEPTH)]
            m.d.comb += [port.addr.eq(x[:(TABLE_DEPTH - 1).bit_length()]), word.entry.eq(port.data)]
        return m


class Decision(wiring.Component):
    """The decision of the cells of lane ``index`` of an array of ``geometry``. ``table_port`` is
    a read port of a hop_table() the caller owns (shared with another lane); without it the
    decision has its own table. The cell's inputs are read in the load cycle; the results hold in
    the commit cycle (two cycles after its load). ``pipelined``: a cell may load while the one
    before decides (a new cell every cycle)."""

    def __init__(self, geometry, index, table_port=None, pipelined=False, tilts=None):
        if not isinstance(geometry, ArrayGeometry):
            raise TypeError(f"geometry must be an ArrayGeometry, not {type(geometry).__name__}")
        self.geometry = g = geometry
        self.index = index
        self.table_port = table_port
        # a new cell every cycle (the compiled array); without it at most one stage moves per
        # cycle (the programmable array's LOAD, DECIDE, COMMIT), and the cell's carried values and
        # the generator's second draw cost no logic
        self.pipelined = pipelined
        # the TiltRange every cell's t lies in: y and the hop probability then come from a
        # TiltTable (its words, port ``tilt_words``), not from the lane's own product, exponent
        # and table
        self.tilts = tilts
        self.x_shape = hop_argument_shape(g)
        # Internal registers created here, not in elaborate(), so that the formal proofs
        # (sim/formal) can state properties over them.
        self.tilt = TiltProduct(g)               # t and M |t| from the field as read (load)
        self.product = Signal(self.tilt.product_shape)   # M |t|, latched at load
        self.negative = Signal()                 # t < 0, latched at load
        self.y = Signal(self.x_shape)            # y = round(M |t| / 2^s), signed: gain * t (decide)
        self.half_tilt = Signal(self.x_shape)    # y, latched at decide
        self.x_next = Signal(self.x_shape)       # the hop exponent formed from the field and barrier now
        self.x = Signal(self.x_shape)            # the exponent latched at decide, used in the commit cycle
        self.table_entry = Signal(PROB_BITS + RUN_BITS.bit_length())   # m | e << 16 read for x (commit)
        self.random16 = Signal(PROB_BITS)        # compared with m
        self.run_zeros = Signal(range(RUN_BITS + 1))   # the run's leading zeros: at least e to hop
        exponents = {}
        if tilts is not None:
            self.tilt_index = Signal(range(tilts.count))   # the cell's t in the range, latched at load
            self.tilt_word = Signal(tilt_entry_layout(g))   # its word, latched at decide
            exponents = {"tilt_words": In(data.ArrayLayout(tilt_entry_layout(g), tilts.count))}
        super().__init__({
            # the cell, read in the load cycle
            "field": In(signed(g.field_bits)),
            "value": In(g.level_bits),
            "cell_valid": In(1),
            "cell_reads": In(g.reads_bits),
            "diagonal": In(signed(g.weight_bits)),   # QP: Q_ii
            "low": In(g.level_bits),                 # QP: the box
            "high": In(g.level_bits),
            **run_ports(g),
            **exponents,
            "load": In(1),
            # results, valid in the commit cycle
            "valid": Out(1),
            "hop": Out(1),
            "drop_q4": Out(self.x_shape),
            "reads": Out(g.reads_bits),
            "next_value": Out(g.level_bits),   # the cell's value after the commit
            "change": Out(change_shape(g)),    # its change if it hops: dv of its update rows
            "objective_delta": Out(signed(tilt_shape(g).width + 1)),   # 2 t if it hops, else 0
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geometry
        if self.tilts is not None:
            table_r = None
        elif self.table_port is None:
            m.submodules.hop_table = table = hop_table()
            table_r = table.read_port()
        else:
            table_r = self.table_port
        m.submodules.prng = prng = Xoshiro128pp(self.index)
        m.submodules.tilt = tilt = self.tilt

        # The generator steps once per draw; a cycle that loads one cell and decides the one before
        # draws twice: the decision the earlier output, the load the next.
        both = self.load & self.decide if self.pipelined else 0
        m.d.comb += [prng.seed.eq(self.seed), prng.init.eq(self.prng_init), prng.warm.eq(self.prng_warm),
                     prng.step.eq(self.load | self.decide), prng.double.eq(both)]
        first = Signal(32)
        m.d.comb += first.eq(Mux(both, prng.output_next, prng.output))
        second = prng.output
        up = first[0]

        # ---- load ---------------------------------------------------------------------------
        m.d.comb += [tilt.field.eq(self.field), tilt.own_value.eq(self.value), tilt.up.eq(up),
                     tilt.diagonal.eq(self.diagonal), tilt.mantissa.eq(self.gain_mantissa)]
        first_zeros = Signal(range(32))   # leading zeros of o1's bits 31 .. 1 (31: all zero)
        first_zeros_now = leading_zeros(m, first[1:])
        # what the commit needs of the cell, carried through the two stages
        carried = {"valid": (1, self.cell_valid), "reads": (g.reads_bits, self.cell_reads),
                   "value": (g.level_bits, self.value), "t": (tilt_shape(g), tilt.t)}
        if g.qp:   # the move's direction, and whether it stays in the box
            carried.update(up=(1, up), allowed=(1, Mux(up, self.value < self.high, self.value > self.low)))
        loaded = {name: Signal(shape, name=f"loaded_{name}") for name, (shape, _) in carried.items()}
        decided = ({name: Signal(shape, name=f"decided_{name}") for name, (shape, _) in carried.items()}
                   if self.pipelined else loaded)
        with m.If(self.load):
            if self.tilts is None:
                m.d.sync += [self.product.eq(tilt.product), self.negative.eq(tilt.negative)]
            else:
                m.d.sync += self.tilt_index.eq(self.tilts.index_of(tilt.t))
            m.d.sync += first_zeros.eq(first_zeros_now)
            m.d.sync += [loaded[name].eq(value) for name, (_, value) in carried.items()]

        # ---- decide -------------------------------------------------------------------------
        y, x_now = self.y, self.x_next
        if self.tilts is None:
            magnitude = rounded_magnitude(m, self.product, self.gain_shift)
            m.d.comb += y.eq(with_sign(magnitude, self.negative))
            drive_hop_exponent(m, x_now, magnitude, self.negative, self.barrier_q4)
            m.d.comb += table_r.addr.eq(x_now[:(TABLE_DEPTH - 1).bit_length()])
        else:   # the tilt's y and probability, formed once for every cell of the array
            word = self.tilt_words[self.tilt_index]
            m.d.comb += y.eq(word.y)
        x = self.x
        second_zeros_now = leading_zeros(m, second[:32 - PROB_BITS])
        with m.If(self.decide):
            run_zeros = Mux(first_zeros == 31, 31 + second_zeros_now, first_zeros)
            m.d.sync += [self.half_tilt.eq(y), self.random16.eq(second[32 - PROB_BITS:]), self.run_zeros.eq(run_zeros)]
            m.d.sync += x.eq(x_now) if self.tilts is None else self.tilt_word.eq(word)
            if self.pipelined:
                m.d.sync += [decided[name].eq(loaded[name]) for name in carried]

        # ---- commit -------------------------------------------------------------------------
        if self.tilts is None:
            m.d.comb += self.table_entry.eq(table_r.data)
            always, never = x <= 0, x >= TABLE_DEPTH
        else:
            m.d.comb += self.table_entry.eq(self.tilt_word.entry)
            always, never = self.tilt_word.always, self.tilt_word.never
        mantissa, halvings = self.table_entry[:PROB_BITS], self.table_entry[PROB_BITS:]
        run_of_zeros = self.run_zeros >= halvings   # the run's top e bits are zero
        value = decided["value"]
        went_up, allowed = (decided["up"], decided["allowed"]) if g.qp else (0, 1)
        m.d.comb += [
            self.valid.eq(decided["valid"]), self.reads.eq(decided["reads"]),
            self.hop.eq(self.valid & allowed & (always | (~never & run_of_zeros & (self.random16 < mantissa)))),
            self.drop_q4.eq(-(self.half_tilt << 1)),
            self.objective_delta.eq(Mux(self.hop, decided["t"] << 1, 0)),
            self.change.eq(Mux(went_up, 1, -1) if g.qp else Mux(value[0], -2, 2)),
        ]
        moved = Mux(went_up, value + 1, value - 1) if g.qp else ~value
        m.d.comb += self.next_value.eq(Mux(self.hop, moved, value))
        return m


COMMIT_EVENT_FIELDS = ("valid", "reads", "hop", "drop_q4", "objective_delta")   # what commit_events reads


def commit_events(decisions, raise_q4, level_bits):
    """What a commit of ``decisions`` (one group: each with the COMMIT_EVENT_FIELDS of its commit)
    adds to the device's counters, {Counter: increment}, and to the objective register: the
    events of the cells decided, whichever array decided them."""
    from .params import Counter
    hops = [d.hop for d in decisions]
    uphill = [d.hop & (d.drop_q4 < 0) for d in decisions]
    downhill = [d.hop & (d.drop_q4 > 0) for d in decisions]
    increments = {
        # what the device reads per attempt: every neighbour's state (the cell's degree)
        Counter.READS: balanced_sum(Mux(d.valid, d.reads, 0) for d in decisions),
        Counter.ATTEMPTS: balanced_sum(d.valid for d in decisions),
        Counter.HOPS: balanced_sum(hops),
        Counter.UPHILL_HOPS: balanced_sum(uphill),
        Counter.DROP_Q4: balanced_sum(Mux(h, d.drop_q4, 0) for h, d in zip(downhill, decisions)).as_unsigned(),
        Counter.CLIMB_Q4: balanced_sum(Mux(u, -d.drop_q4, 0) for u, d in zip(uphill, decisions)).as_unsigned(),
        # a p-bit cell holds p bits behind the raised barrier (1 for a spin); adds, not a DSP
        Counter.BARRIER_Q4: balanced_sum(Mux(d.valid, raise_q4, 0) for d in decisions) * level_bits,
    }
    return increments, balanced_sum(d.objective_delta for d in decisions)
