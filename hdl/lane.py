"""One update lane: a cell's local field, its hop decision, and the memories it streams from.

Pipeline for edge entry e of the current group (cycle c = issue):
  c    edge RAM read at ``edge_addr``
  c+1  neighbour row read at the entry's ``row`` (the array's state RAM, this lane's port)
  c+2  field += weight if the neighbour spin is 1 else -weight
Then ``decide`` forms the hop exponent a (from the barrier top: x = Eb + gain * t downhill,
max(x, 2 gain t) uphill) and looks up exp(-a); ``commit`` compares it with the lane's random
number. See docs/architecture.md.
"""
from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .params import (BARRIER_BITS, GAIN_BITS, PROB_BITS, TABLE_DEPTH,
                     ArrayGeometry, hop_probability_table)
from .prng import Xoshiro128pp

__all__ = ["Lane", "edge_layout", "cell_layout", "hop_argument_shape", "tilt_shape"]


def edge_layout(geometry):
    """An edge entry: the neighbour's (row, col) position in the state RAM and the coupling."""
    return data.StructLayout({
        "row": unsigned(geometry.row_bits),
        "col": unsigned(geometry.col_bits),
        "weight": signed(geometry.weight_bits),
    })


def cell_layout(geometry):
    """A cell entry: whether the slot holds a real cell (not padding), its bias, and for a QP
    cell the box its level must stay in."""
    fields = {"valid": unsigned(1), "bias": signed(geometry.weight_bits)}
    if geometry.qp:
        fields.update(low=unsigned(geometry.cell_bits), high=unsigned(geometry.cell_bits))
    return data.StructLayout(fields)


def tilt_shape(geometry):
    """Signed width of t: s * f for a spin, 2 * d * g + Q_ii for a QP cell (two bits wider)."""
    return signed(geometry.field_bits + (3 if geometry.qp else 1))


def hop_argument_shape(geometry):
    """Signed width of the hop exponent a = max(Eb + y, 2 y) and of the drop -2 y, y = gain * t:
    wide enough never to overflow."""
    return signed(max(BARRIER_BITS + 1, GAIN_BITS + tilt_shape(geometry).width + 1) + 1)


class Lane(wiring.Component):
    def __init__(self, geometry, index):
        if not isinstance(geometry, ArrayGeometry):
            raise TypeError(f"geometry must be an ArrayGeometry, not {type(geometry).__name__}")
        self.geometry = geometry
        self.index = index
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
        self.diagonal = Signal(signed(g.weight_bits))   # Q_ii, taken from the cell's own entry (QP)
        self.up = Signal()                               # the direction of a QP move
        self.allowed = Signal(init=1)                    # a QP move stays in the box
        super().__init__({
            # bus writes into this lane's memories
            "bus_index": In(g.index_bits),
            "bus_wdata": In(32),
            "cell_we": In(1),
            "edge_we": In(1),
            # sequencing from the array
            "group": In(g.row_bits),
            "load": In(1),
            "edge_addr": In(g.edge_addr_bits),
            "edge_issue": In(1),
            "state_addr": Out(g.row_bits),
            "state_data": In(g.lanes * g.level_bits),
            "own_value": In(g.level_bits),
            "barrier_q4": In(BARRIER_BITS),
            "gain_q4": In(GAIN_BITS),
            "decide": In(1),
            "seed": In(32),
            "prng_init": In(1),
            "prng_warm": In(1),
            # results, valid in the commit cycle
            "valid": Out(1),
            "hop": Out(1),
            "drop_q4": Out(self.x_shape),
            "read": Out(1),
            "next_value": Out(g.level_bits),   # the cell's value after the commit
            "objective_delta": Out(signed(tilt_shape(g).width + 1)),   # 2 t if it hops, else 0
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geometry

        m.submodules.cells = cells = Memory(shape=cell_layout(g), depth=g.groups, init=[])
        m.submodules.edges = edges = Memory(shape=edge_layout(g), depth=g.edge_depth, init=[])
        m.submodules.hop_table = table = Memory(
            shape=unsigned(PROB_BITS), depth=TABLE_DEPTH, init=hop_probability_table())
        m.submodules.prng = prng = Xoshiro128pp(self.index)

        cell_w = cells.write_port()
        edge_w = edges.write_port()
        m.d.comb += [
            cell_w.addr.eq(self.bus_index), cell_w.data.eq(self.bus_wdata), cell_w.en.eq(self.cell_we),
            edge_w.addr.eq(self.bus_index), edge_w.data.eq(self.bus_wdata), edge_w.en.eq(self.edge_we),
        ]
        cell_r = cells.read_port()
        edge_r = edges.read_port()
        table_r = table.read_port()
        m.d.comb += [cell_r.addr.eq(self.group), edge_r.addr.eq(self.edge_addr)]

        # Local field accumulation (three-stage pipeline, see module docstring).
        field = self.field
        issued = Signal()
        fetched = Signal()
        col = Signal(g.col_bits)
        weight = Signal(signed(g.weight_bits))
        own_entry = Signal()
        m.d.sync += [issued.eq(self.edge_issue), fetched.eq(issued)]
        m.d.comb += self.state_addr.eq(edge_r.data.row)
        with m.If(issued):
            m.d.sync += [col.eq(edge_r.data.col), weight.eq(edge_r.data.weight),
                         own_entry.eq((edge_r.data.row == self.group) & (edge_r.data.col == self.index))]
        neighbour = Signal(g.level_bits)
        m.d.comb += neighbour.eq(self.state_data.word_select(col, g.level_bits))
        m.d.comb += self.read.eq(fetched & (weight != 0))

        low = Signal(g.level_bits)
        high = Signal(g.level_bits)
        with m.If(self.load):
            m.d.sync += [field.eq(cell_r.data.bias), self.valid.eq(cell_r.data.valid), self.diagonal.eq(0)]
            if g.qp:
                m.d.sync += [low.eq(cell_r.data.low), high.eq(cell_r.data.high)]
        with m.Elif(fetched):
            if g.qp:    # the gradient Q x + b: weight times the neighbour's level
                m.d.sync += field.eq(field + weight * neighbour)
                with m.If(own_entry):
                    m.d.sync += self.diagonal.eq(weight)
            else:       # the field sum J s + h: plus or minus the weight
                m.d.sync += field.eq(field + Mux(neighbour[0], weight, -weight))

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
        return m
