"""One update lane: the fields of its cells, their hop decisions, and the rows that keep the fields.

A lane holds, for its cells (one per group), the local field f in a field RAM. Deciding a group
reads f (no neighbour is read: the field is current). When cells hop, the array streams each
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

from .params import (BARRIER_BITS, GAIN_BITS, PROB_BITS, TABLE_DEPTH,
                     ArrayGeometry, hop_probability_table)
from .prng import Xoshiro128pp

__all__ = ["Lane", "hop_table", "edge_layout", "cell_layout", "links_layout", "degrees_layout", "change_shape",
           "hop_argument_shape", "tilt_shape"]


def edge_layout(geometry):
    """An update entry: the target cell's group (in this lane) and the coupling; 0 = no entry."""
    return data.StructLayout({
        "group": unsigned(geometry.row_bits),
        "weight": signed(geometry.weight_bits),
    })


def cell_layout(geometry):
    """A cell entry: whether the slot holds a real cell (not padding), its bias, and for a QP
    cell the box its level must stay in."""
    fields = {"valid": unsigned(1), "bias": signed(geometry.weight_bits)}
    if geometry.qp:
        fields.update(low=unsigned(geometry.cell_bits), high=unsigned(geometry.cell_bits))
    return data.StructLayout(fields)


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
    """The exp(-a) ROM (params.hop_probability_table). Two lanes can share one: a block RAM has
    two read ports."""
    return Memory(shape=unsigned(PROB_BITS), depth=TABLE_DEPTH, init=hop_probability_table())


def hop_argument_shape(geometry):
    """Signed width of the hop exponent a = max(Eb + y, 2 y) and of the drop -2 y, y = gain * t:
    wide enough never to overflow."""
    return signed(max(BARRIER_BITS + 1, GAIN_BITS + tilt_shape(geometry).width + 1) + 1)


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
        self.field = Signal(signed(g.field_bits))
        self.t = Signal(tilt_shape(g))           # t formed from the field now
        self.half_tilt = Signal(self.x_shape)    # y = gain * t, latched at decide
        self.x_next = Signal(self.x_shape)       # the hop exponent formed from the field and barrier now
        self.x = Signal(self.x_shape)            # the exponent latched at decide, used in the commit cycle
        self.t_latched = Signal(tilt_shape(g))
        self.table_entry = Signal(PROB_BITS)     # the table entry read for x (commit cycle)
        self.random16 = Signal(PROB_BITS)
        self.diagonal = Signal(signed(g.weight_bits))   # Q_ii, from the DEGREES word (QP)
        self.up = Signal()                               # the direction of a QP move
        self.allowed = Signal(init=1)                    # a QP move stays in the box
        super().__init__({
            # bus writes into this lane's memories
            "bus_index": In(g.index_bits),
            "bus_wdata": In(32),
            "cell_we": In(1),
            "links_we": In(1),
            "degrees_we": In(1),
            "edge_we": In(1),
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
            "gain_q4": In(GAIN_BITS),
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

        for memory, we in ((cells, self.cell_we), (links, self.links_we), (degrees, self.degrees_we),
                           (edges, self.edge_we)):
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

        # ---- load: the cell, its field and where its rows are --------------------------------
        field = self.field
        low = Signal(g.level_bits)
        high = Signal(g.level_bits)
        with m.If(self.load):
            m.d.sync += [field.eq(field_r.data), self.valid.eq(cell_r.data.valid),
                         self.reads.eq(degrees_r.data.reads), self.base.eq(links_r.data.base),
                         self.rows.eq(links_r.data.rows)]
            if g.qp:
                m.d.sync += [low.eq(cell_r.data.low), high.eq(cell_r.data.high),
                             self.diagonal.eq(degrees_r.data.diagonal)]
            with m.If(self.field_pass):   # the field pass streams every cell with its value as dv
                value = self.fresh_value if g.qp else Mux(self.fresh_value[0], 1, -1)
                m.d.sync += [self.source.eq(cell_r.data.valid), self.source_dv.eq(value)]

        # Decision: t = s * f for a spin flip, 2 * d * g + Q_ii for a QP move by d = +-1 (twice its
        # climb); y = gain * t (Q.4 kT, half the climb); the exponent is measured from the barrier
        # top: Eb + y downhill, max(Eb + y, 2 y) uphill; hop iff a <= 0 or r16 < round(2^16 exp(-a)).
        t = self.t
        if g.qp:
            m.d.comb += self.up.eq(prng.output[0])
            m.d.comb += t.eq(Mux(self.up, field << 1, -(field << 1)) + self.diagonal)
        else:
            m.d.comb += t.eq(Mux(self.own_value[0], field, -field))
        y = Signal(self.x_shape)
        over_barrier = Signal(self.x_shape)
        m.d.comb += [y.eq(self.gain_q4 * t), over_barrier.eq(self.barrier_q4 + y)]
        x_now = self.x_next
        m.d.comb += x_now.eq(Mux((y > 0) & ((y << 1) > over_barrier), y << 1, over_barrier))
        m.d.comb += table_r.addr.eq(x_now[:(TABLE_DEPTH - 1).bit_length()])
        m.d.comb += [prng.seed.eq(self.seed), prng.init.eq(self.prng_init), prng.warm.eq(self.prng_warm),
                     prng.step.eq(self.decide)]
        x = self.x
        random16 = self.random16
        allowed = self.allowed
        went_up = Signal()
        with m.If(self.decide):
            m.d.sync += [x.eq(x_now), self.half_tilt.eq(y), self.t_latched.eq(t),
                         random16.eq(prng.output[32 - PROB_BITS:])]
            if g.qp:
                m.d.sync += [went_up.eq(self.up),
                             allowed.eq(Mux(self.up, self.own_value < high, self.own_value > low))]

        m.d.comb += self.table_entry.eq(table_r.data)
        always = x <= 0
        never = x >= TABLE_DEPTH
        m.d.comb += [
            self.hop.eq(self.valid & allowed & (always | (~never & (random16 < self.table_entry)))),
            self.drop_q4.eq(-(self.half_tilt << 1)),
            self.objective_delta.eq(Mux(self.hop, self.t_latched << 1, 0)),
        ]
        moved = Mux(went_up, self.own_value + 1, self.own_value - 1) if g.qp else ~self.own_value
        m.d.comb += self.next_value.eq(Mux(self.hop, moved, self.own_value))
        with m.If(self.commit):   # a hopping cell becomes a source: its neighbours' fields change by J dv
            change = Mux(went_up, 1, -1) if g.qp else Mux(self.own_value[0], -2, 2)
            m.d.sync += [self.source.eq(self.hop), self.source_dv.eq(change)]
        return m
