"""One update lane: the fields of its cells, their hop decisions, and the rows that keep the fields.

A lane holds, for its cells (one per group), the local field f in a field RAM. Deciding a group
reads f (no neighbour is read: the field is current): the load cycle forms t and M |t| from it
(``TiltProduct``), the decide cycle y = gain * t, the exponent and the table address, and the
commit cycle the hop from the table entry and two random draws. When cells hop, the array streams each
hopping cell's update rows to all lanes at once; lane t applies its entry of a row to the field
of its own cell that neighbours the hopping one (docs/architecture.md, Field updates):

  c    EDGES read at ``link_row``                             (issue)
  c+1  the entry {group, J}: field RAM read at the entry's group
  c+2  field += J * dv, written back; a read made while the previous write landed takes the
       written value (forwarding), so back-to-back updates of one field add up.

The same rows, streamed with each cell's value as dv over fields holding the biases, compute every
field from the state after the host wrote it (the field pass).
"""
from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .gain import magnitude_product, rounded_shift, shift_shape
from .params import (BARRIER_BITS, GAIN_MANTISSA_BITS, PROB_BITS, RUN_BITS, TABLE_DEPTH,
                     ArrayGeometry, hop_probability_table, table_word)
from .prng import Xoshiro128pp

__all__ = ["Lane", "TiltProduct", "leading_zeros", "hop_table", "edge_layout", "cell_layout", "links_layout", "degrees_layout", "change_shape",
           "hop_argument_shape", "tilt_shape"]


def edge_layout(geometry):
    """An update entry: the target cell's group (in this lane) and the coupling; 0 = no entry."""
    return data.StructLayout({
        "group": unsigned(geometry.row_bits),
        "weight": signed(geometry.weight_bits),
    })


def cell_layout(geometry):
    """A cell entry: whether the slot holds a real cell (not padding), and its bias."""
    return data.StructLayout({"valid": unsigned(1), "bias": signed(geometry.bias_bits)})


def box_layout(geometry):
    """A QP cell's box: the levels its value must stay between."""
    return data.StructLayout({"low": unsigned(geometry.cell_bits), "high": unsigned(geometry.cell_bits)})


def links_layout(geometry):
    """Where a cell's update rows are: the first row and how many."""
    return data.StructLayout({"base": unsigned(geometry.edge_addr_bits), "rows": unsigned(geometry.rows_bits)})


def degrees_layout(geometry):
    """What a cell's attempt reads on the device (its degree), and its own coupling Q_ii (QP)."""
    return data.StructLayout({"reads": unsigned(geometry.reads_bits), "diagonal": signed(geometry.weight_bits)})


def change_shape(geometry):
    """Signed width of dv, a source cell's change streamed with its rows: +-2 for a spin flip,
    +-1 for a QP move; in the field pass the value itself (+-1, or a level 0 .. 2^p - 1)."""
    return signed(geometry.level_bits + 2)


def tilt_shape(geometry):
    """Signed width of t: s * f for a spin, 2 * d * g + Q_ii for a QP cell (two bits wider)."""
    return signed(geometry.field_bits + (3 if geometry.qp else 1))


def hop_table():
    """The exp(-a) ROM (params.hop_probability_table): m | e << 16 at a. Two lanes can share one:
    a block RAM has two read ports."""
    halvings_bits = RUN_BITS.bit_length()
    return Memory(shape=unsigned(PROB_BITS + halvings_bits), depth=TABLE_DEPTH,
                  init=[table_word(entry) for entry in hop_probability_table()])


def hop_argument_shape(geometry):
    """Signed width of the hop exponent a = max(Eb + y, 2 y) and of the drop -2 y, y = gain * t
    (|y| <= M |t|): wide enough never to overflow."""
    return signed(max(BARRIER_BITS + 1, GAIN_MANTISSA_BITS + tilt_shape(geometry).width + 1) + 1)


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


class TiltProduct(wiring.Component):
    """A cell's t and the product M |t| (combinational; the lane latches them at load, so that the
    decision's cycle only shifts, adds and compares): t = s f for a spin flip, 2 d f + Q_ii for a
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
        else:
            m.d.comb += self.t.eq(Mux(self.own_value[0], f, -f))
        product, negative = magnitude_product(m, self.t, self.mantissa)
        m.d.comb += [self.product.eq(product), self.negative.eq(negative)]
        return m


class Lane(wiring.Component):
    """Lane ``index`` of an array of ``geometry``. ``table_port`` is a read port of a hop_table()
    the caller owns (shared with another lane); without it the lane has its own table."""

    def __init__(self, geometry, index, table_port=None):
        if not isinstance(geometry, ArrayGeometry):
            raise TypeError(f"geometry must be an ArrayGeometry, not {type(geometry).__name__}")
        self.geometry = geometry
        self.index = index
        self.table_port = table_port
        g = geometry
        self.x_shape = hop_argument_shape(g)
        # Internal registers created here, not in elaborate(), so that the formal proofs
        # (sim/formal) can state properties over them.
        self.tilt = TiltProduct(g)               # t and M |t| from the field as read (load cycle)
        self.product = Signal(self.tilt.product_shape)   # M |t|, latched at load
        self.negative = Signal()                 # t < 0, latched at load
        self.y = Signal(self.x_shape)            # y = round(M |t| / 2^s), signed: gain * t (decide)
        self.half_tilt = Signal(self.x_shape)    # y, latched at decide
        self.x_next = Signal(self.x_shape)       # the hop exponent formed from the field and barrier now
        self.x = Signal(self.x_shape)            # the exponent latched at decide, used in the commit cycle
        self.t_latched = Signal(tilt_shape(g))
        self.table_entry = Signal(PROB_BITS + RUN_BITS.bit_length())   # m | e << 16 read for x (commit)
        self.random16 = Signal(PROB_BITS)        # compared with m
        self.run_zeros = Signal(range(RUN_BITS + 1))   # the run's leading zeros: at least e to hop
        self.allowed = Signal(init=1)                    # a QP move stays in the box
        super().__init__({
            # bus writes into this lane's memories
            "bus_index": In(g.index_bits),
            "bus_wdata": In(32),
            "cell_we": In(1),
            "links_we": In(1),
            "degrees_we": In(1),
            "edge_we": In(1),
            "box_we": In(1),                 # QP cells only
            # sequencing from the array
            "group": In(g.row_bits),         # the group whose cell is read (fetch)
            "load": In(1),                   # latch the cell read at ``group`` in the cycle before
            "field_pass": In(1),             # with load: this cell is a source of the field pass
            "fresh_value": In(g.level_bits),  # the cell's value as read with it (load cycle)
            "own_value": In(g.level_bits),   # the cell's value, held by the array from load to commit
            "bias_we": In(1),                # field pass: field[group of the previous cycle] = bias
            "link_row": In(g.edge_addr_bits),
            "link_issue": In(1),
            "link_dv": In(change_shape(g)),
            "barrier_q4": In(BARRIER_BITS),
            "gain_mantissa": In(GAIN_MANTISSA_BITS),   # the gain as M / 2^s (hdl/gain.py)
            "gain_shift": In(shift_shape(g.qp)),
            "decide": In(1),
            "commit": In(1),
            "seed": In(32),
            "prng_init": In(1),
            "prng_warm": In(1),
            # the cell read in the load cycle
            "loading_valid": Out(1),
            # results, valid in the commit cycle
            "valid": Out(1),
            "hop": Out(1),
            "drop_q4": Out(self.x_shape),
            "reads": Out(g.reads_bits),
            "next_value": Out(g.level_bits),   # the cell's value after the commit
            "objective_delta": Out(signed(tilt_shape(g).width + 1)),   # 2 t if it hops, else 0
            # what the array streams for this cell if it is a source (latched at commit, or at load
            # in the field pass)
            "source": Out(1),
            "source_dv": Out(change_shape(g)),
            "base": Out(g.edge_addr_bits),
            "rows": Out(g.rows_bits),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geometry

        m.submodules.cells = cells = Memory(shape=cell_layout(g), depth=g.groups, init=[])
        m.submodules.links = links = Memory(shape=links_layout(g), depth=g.groups, init=[])
        m.submodules.degrees = degrees = Memory(shape=degrees_layout(g), depth=g.groups, init=[])
        m.submodules.edges = edges = Memory(shape=edge_layout(g), depth=g.edge_depth, init=[])
        m.submodules.fields = fields = Memory(shape=signed(g.field_bits), depth=g.groups, init=[])
        if self.table_port is None:
            m.submodules.hop_table = table = hop_table()
            table_r = table.read_port()
        else:
            table_r = self.table_port
        m.submodules.prng = prng = Xoshiro128pp(self.index)

        written = [(cells, self.cell_we), (links, self.links_we), (degrees, self.degrees_we), (edges, self.edge_we)]
        if g.qp:
            m.submodules.boxes = boxes = Memory(shape=box_layout(g), depth=g.groups, init=[])
            written.append((boxes, self.box_we))
            box_r = boxes.read_port()
            m.d.comb += box_r.addr.eq(self.group)
        for memory, we in written:
            port = memory.write_port()
            m.d.comb += [port.addr.eq(self.bus_index), port.data.eq(self.bus_wdata), port.en.eq(we)]
        cell_r, links_r, degrees_r = cells.read_port(), links.read_port(), degrees.read_port()
        edge_r = edges.read_port()
        field_r = fields.read_port()
        field_w = fields.write_port()
        m.d.comb += [cell_r.addr.eq(self.group), links_r.addr.eq(self.group), degrees_r.addr.eq(self.group),
                     edge_r.addr.eq(self.link_row), self.loading_valid.eq(cell_r.data.valid)]

        # ---- field updates: read-modify-write, two stages after the row's issue ------------------
        issued = Signal()
        dv1 = Signal(change_shape(g))
        m.d.sync += [issued.eq(self.link_issue), dv1.eq(self.link_dv)]
        target = Signal(g.row_bits)
        delta = Signal(signed(g.field_bits))
        applies = Signal()
        m.d.sync += [target.eq(edge_r.data.group), delta.eq(edge_r.data.weight * dv1),
                     applies.eq(issued & (edge_r.data.weight != 0))]
        m.d.comb += field_r.addr.eq(Mux(issued, edge_r.data.group, self.group))
        last_target = Signal(g.row_bits)
        last_value = Signal(signed(g.field_bits))
        wrote = Signal()
        old = Signal(signed(g.field_bits))
        updated = Signal(signed(g.field_bits))
        m.d.comb += [old.eq(Mux(wrote & (last_target == target), last_value, field_r.data)),
                     updated.eq(old + delta)]
        m.d.sync += [wrote.eq(applies), last_target.eq(target), last_value.eq(updated)]
        previous_group = Signal(g.row_bits)
        m.d.sync += previous_group.eq(self.group)
        m.d.comb += [field_w.addr.eq(Mux(self.bias_we, previous_group, target)),
                     field_w.data.eq(Mux(self.bias_we, cell_r.data.bias, updated)),
                     field_w.en.eq(self.bias_we | applies)]

        # ---- load: the cell, its t and M |t|, and where its rows are --------------------------
        # Two xoshiro outputs per decision: o1 at load (its bit 0: a QP move's direction d; its
        # bits 31..1 the top of the run drawn against e) and o2 at decide (its top 16 bits are
        # compared with m, its low 16 finish the run).
        m.submodules.tilt = tilt = self.tilt
        sweep_load = self.load & ~self.field_pass
        m.d.comb += [prng.seed.eq(self.seed), prng.init.eq(self.prng_init), prng.warm.eq(self.prng_warm),
                     prng.step.eq(self.decide | sweep_load)]
        up = prng.output[0]
        m.d.comb += [tilt.field.eq(field_r.data), tilt.own_value.eq(self.fresh_value), tilt.up.eq(up),
                     tilt.diagonal.eq(degrees_r.data.diagonal), tilt.mantissa.eq(self.gain_mantissa)]
        allowed = self.allowed
        went_up = Signal()
        first_zeros = Signal(range(32))   # leading zeros of o1's bits 31 .. 1 (31: all zero)
        first_zeros_now = leading_zeros(m, prng.output[1:])
        second_zeros_now = leading_zeros(m, prng.output[:32 - PROB_BITS])
        with m.If(self.load):
            m.d.sync += [self.valid.eq(cell_r.data.valid), self.reads.eq(degrees_r.data.reads),
                         self.base.eq(links_r.data.base), self.rows.eq(links_r.data.rows),
                         self.t_latched.eq(tilt.t), self.product.eq(tilt.product), self.negative.eq(tilt.negative),
                         first_zeros.eq(first_zeros_now)]
            if g.qp:
                m.d.sync += [went_up.eq(up),
                             allowed.eq(Mux(up, self.fresh_value < box_r.data.high,
                                            self.fresh_value > box_r.data.low))]
            with m.If(self.field_pass):   # the field pass streams every cell with its value as dv
                value = self.fresh_value if g.qp else Mux(self.fresh_value[0], 1, -1)
                m.d.sync += [self.source.eq(cell_r.data.valid), self.source_dv.eq(value)]

        # Decision: y = round(M |t| / 2^s) with t's sign = gain * t (Q.4 kT, half the climb); the
        # exponent is measured from the barrier top: Eb + y downhill, max(Eb + y, 2 y) uphill; hop
        # iff a <= 0, or a in the table, the run starts with e zeros and r16 < m.
        y = self.y
        over_barrier = Signal(self.x_shape)
        m.d.comb += [y.eq(rounded_shift(m, self.product, self.negative, self.gain_shift)),
                     over_barrier.eq(self.barrier_q4 + y)]
        x_now = self.x_next
        m.d.comb += x_now.eq(Mux((y > 0) & ((y << 1) > over_barrier), y << 1, over_barrier))
        m.d.comb += table_r.addr.eq(x_now[:(TABLE_DEPTH - 1).bit_length()])
        x = self.x
        random16 = self.random16
        with m.If(self.decide):
            run_zeros = Mux(first_zeros == 31, 31 + second_zeros_now, first_zeros)
            m.d.sync += [x.eq(x_now), self.half_tilt.eq(y), random16.eq(prng.output[32 - PROB_BITS:]),
                         self.run_zeros.eq(run_zeros)]

        m.d.comb += self.table_entry.eq(table_r.data)
        mantissa, halvings = self.table_entry[:PROB_BITS], self.table_entry[PROB_BITS:]
        run_of_zeros = self.run_zeros >= halvings   # the run's top e bits are zero
        always = x <= 0
        never = x >= TABLE_DEPTH
        m.d.comb += [
            self.hop.eq(self.valid & allowed & (always | (~never & run_of_zeros & (random16 < mantissa)))),
            self.drop_q4.eq(-(self.half_tilt << 1)),
            self.objective_delta.eq(Mux(self.hop, self.t_latched << 1, 0)),
        ]
        moved = Mux(went_up, self.own_value + 1, self.own_value - 1) if g.qp else ~self.own_value
        m.d.comb += self.next_value.eq(Mux(self.hop, moved, self.own_value))
        with m.If(self.commit):   # a hopping cell becomes a source: its neighbours' fields change by J dv
            change = Mux(went_up, 1, -1) if g.qp else Mux(self.own_value[0], -2, 2)
            m.d.sync += [self.source.eq(self.hop), self.source_dv.eq(change)]
        return m
