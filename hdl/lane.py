"""One update lane of the programmable array: its cells' memories, their kept fields and their
``Decision`` (hdl/decision.py).

A lane holds, for its cells (one per group), the local field f in B field banks (``field_banks``),
group g's field in bank g mod B. Deciding a group reads f (no neighbour is read: the field is
current) into the lane's decision: load, decide and commit, a new group every cycle. When cells hop, their
neighbours' fields change by J dv. Each bank is a ``FieldBank``: it holds, for every source cell,
its entries into this bank's fields, and walks the hopping sources' entries at its own pace, one
a cycle, while the lanes decide the colour's next groups (docs/architecture.md, Field updates).

The same entries, walked with each cell's value as dv over fields holding the biases, compute
every field from the state after the host wrote it (the field pass).
"""
from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .decision import Decision, change_shape, run_ports
from .fanout import replica
from .params import ArrayGeometry

__all__ = ["Lane", "FieldBank", "edge_layout", "cell_layout", "links_layout", "degrees_layout", "source_buffers",
           "buffer_bits"]


def buffer_bits(geometry):
    """Bits of a source buffer's index: the buffers are taken in turn, modulo their number (a
    power of two)."""
    bits = (geometry.source_buffers - 1).bit_length()
    assert geometry.source_buffers == 1 << bits
    return bits


def edge_layout(geometry):
    """An update entry: the target's field in this bank, whether it is its source's last entry
    here, and the coupling (0: no field changes, the entry only ends its source)."""
    return data.StructLayout({
        "group": unsigned(geometry.bank_addr_bits),
        "last": unsigned(1),
        "weight": signed(geometry.weight_bits),
    })


def cell_layout(geometry):
    """A cell entry: whether the slot holds a real cell (not padding), its bias, and whether its
    group is the last of its colour."""
    return data.StructLayout({"valid": unsigned(1), "bias": signed(geometry.bias_bits), "colour_end": unsigned(1)})


def box_layout(geometry):
    """A QP cell's box: the levels its value must stay between."""
    return data.StructLayout({"low": unsigned(geometry.cell_bits), "high": unsigned(geometry.cell_bits)})


def links_layout(geometry):
    """Where a cell's update rows are: the first row and how many."""
    return data.StructLayout({"base": unsigned(geometry.edge_addr_bits), "rows": unsigned(geometry.rows_bits)})


def degrees_layout(geometry):
    """What a cell's attempt reads on the device (its degree), and its own coupling Q_ii (QP)."""
    return data.StructLayout({"reads": unsigned(geometry.reads_bits), "diagonal": signed(geometry.weight_bits)})


def source_buffers(geometry):
    """The source buffers the array fills in turn, a group's sources each: every lane's first
    update row and change (docs/architecture.md, Field updates)."""
    k = geometry.source_buffers
    return data.StructLayout({
        "base": data.ArrayLayout(data.ArrayLayout(unsigned(geometry.edge_addr_bits), geometry.lanes), k),
        "dv": data.ArrayLayout(data.ArrayLayout(change_shape(geometry), geometry.lanes), k)})


class FieldBank(wiring.Component):
    """A field bank of a lane and the update entries into it, which it applies by itself.

    When the array latches a group's sources (the cells that hopped, or every cell in the field
    pass) into buffer ``fill``, each bank marks them pending there: in a sweep only those with
    entries in this bank (a group without sources marks none, and the next group latches into the
    same buffer). A bank walks its pending sources in order (group by group, lanes in order),
    reading each source's entries from its first update row on, one a cycle, up to the one marked
    last (a source with no entry here has a single, empty one, which only the field pass reads):

      c    EDGES read at the entry's row                                    (issue)
      c+1  the entry: its field read; the next row, or the next source's first, issued
      c+2  field += J * dv, written back; a read made while the previous write landed takes the
           written value (forwarding), so back-to-back updates of one field add up.

    Every bank therefore spends on a hop exactly its own entries, not the busiest bank's; a
    buffer that holds none of its sources it passes in a cycle, while it walks an earlier one.
    Which of a group's sources have entries here (``own``, a bit per lane) the lane reads from
    what the host wrote (Region.OWN) while the group decides. ``pending`` says which buffers it still holds
    (latched with sources, not passed); ``busy`` that its fields may still change or it holds a
    buffer. The decision reads its field through a port of its own."""

    def __init__(self, geometry):
        self.geometry = g = geometry
        super().__init__({
            "edge_addr": In(g.edge_addr_bits), "edge_data": In(edge_layout(g)), "edge_we": In(1),
            "latch": In(1), "fill": In(buffer_bits(g)), "sources": In(g.lanes), "buffers": In(source_buffers(g)),
            "moved": In(1), "moved_buffer": In(buffer_bits(g)), "field_pass": In(1), "own": In(g.lanes),
            "read_addr": In(g.bank_addr_bits), "read_data": Out(signed(g.field_bits)),
            "bias_we": In(1), "bias_addr": In(g.bank_addr_bits), "bias": In(signed(g.bias_bits)),
            "pending": Out(g.source_buffers), "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geometry
        m.submodules.edges = edges = Memory(shape=edge_layout(g), depth=g.edge_depth, init=[])
        m.submodules.fields = fields = Memory(shape=signed(g.field_bits), depth=g.bank_depth, init=[])
        edge_w, edge_r = edges.write_port(), edges.read_port()
        m.d.comb += [edge_w.addr.eq(self.edge_addr), edge_w.data.eq(self.edge_data), edge_w.en.eq(self.edge_we)]
        decision_r = fields.read_port()
        m.d.comb += [decision_r.addr.eq(self.read_addr), self.read_data.eq(decision_r.data)]

        # ---- walking the pending sources' entries --------------------------------------------
        K = g.source_buffers
        pending = Array([Signal(g.lanes, name=f"pending{k}") for k in range(K)])
        full = Signal(K)                  # buffers latched with sources that this bank has not passed
        current = Signal(buffer_bits(g))  # the oldest buffer it has not passed
        issued = Signal()        # an entry was read in the cycle before: edge_r.data is valid
        address = Signal(g.edge_addr_bits)   # the row that read
        dv = Signal(change_shape(g))         # its source's change
        entry = edge_r.data
        ready = Signal()         # no entry read, or the last of its source: a next source may start
        m.d.comb += ready.eq(~issued | entry.last)
        mask = pending[current]
        lowest = Signal(g.lanes)
        m.d.comb += lowest.eq(mask & -mask)
        start = Signal()
        m.d.comb += start.eq(ready & (mask != 0))
        passing = Signal()       # the buffer is latched but holds none of this bank's sources
        m.d.comb += passing.eq((mask == 0) & full.bit_select(current, 1))
        bases, dvs = self.buffers.base[current], self.buffers.dv[current]
        first_row = Signal(g.edge_addr_bits)
        first_dv = Signal(change_shape(g))
        m.d.comb += [first_row.eq(sum(Mux(lowest[i], bases[i], 0) for i in range(g.lanes))),
                     first_dv.eq(sum(Mux(lowest[i], dvs[i], 0) for i in range(g.lanes)))]
        m.d.comb += edge_r.addr.eq(Mux(start, first_row, address + 1))
        m.d.sync += [issued.eq(start | ~ready), address.eq(edge_r.addr)]
        with m.If(self.moved):   # the latch of the cycle before held sources
            m.d.sync += full.bit_select(self.moved_buffer, 1).eq(1)
        with m.If(start):
            m.d.sync += [dv.eq(first_dv), pending[current].eq(mask & ~lowest)]
        with m.If(start & ((mask & ~lowest) == 0) | passing):
            # the buffer's last source started, or it holds none: the next holds the next group
            # (or will)
            m.d.sync += [current.eq(current + 1), full.bit_select(current, 1).eq(0)]
        with m.If(self.latch):   # into a buffer no bank holds; in a sweep, the sources with entries here
            m.d.sync += pending[self.fill].eq(Mux(self.field_pass, self.sources, self.sources & self.own)
                                              if g.skips_sources else self.sources)
        staged = Signal()        # an entry's field update is in its second stage
        m.d.sync += staged.eq(issued)
        m.d.comb += [self.pending.eq(full | Cat(*(pending[k] != 0 for k in range(K)))),
                     self.busy.eq(issued | staged | (self.pending != 0))]

        # ---- the entry's read-modify-write ------------------------------------------------------
        field_r, field_w = fields.read_port(), fields.write_port()
        target = Signal(g.bank_addr_bits)
        delta = Signal(signed(g.field_bits))
        applies = Signal()
        m.d.sync += [target.eq(entry.group), delta.eq(entry.weight * dv), applies.eq(issued & (entry.weight != 0))]
        m.d.comb += field_r.addr.eq(entry.group)
        last_target = Signal(g.bank_addr_bits)
        last_value = Signal(signed(g.field_bits))
        wrote = Signal()
        old = Signal(signed(g.field_bits))
        updated = Signal(signed(g.field_bits))
        m.d.comb += [old.eq(Mux(wrote & (last_target == target), last_value, field_r.data)),
                     updated.eq(old + delta)]
        m.d.sync += [wrote.eq(applies), last_target.eq(target), last_value.eq(updated)]
        m.d.comb += [field_w.addr.eq(Mux(self.bias_we, self.bias_addr, target)),
                     field_w.data.eq(Mux(self.bias_we, self.bias, updated)),
                     field_w.en.eq(self.bias_we | applies)]
        return m


class Lane(wiring.Component):
    """Lane ``index`` of an array of ``geometry``: its memories, its field banks and its cells'
    ``Decision``. ``table_port`` is a read port of a hop_table() the caller owns (shared with
    another lane); without it the lane has its own table."""

    def __init__(self, geometry, index, table_port=None):
        if not isinstance(geometry, ArrayGeometry):
            raise TypeError(f"geometry must be an ArrayGeometry, not {type(geometry).__name__}")
        self.geometry = g = geometry
        self.index = index
        self.decision = Decision(g, index, table_port, pipelined=g.streaming)
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
            "field_pass": In(1),             # the field pass: every valid cell is a source, its value dv
            "fresh_value": In(g.level_bits),  # the cell's value as read with it (load cycle)
            "bias_we": In(1),                # field pass: field[group of the previous cycle] = bias
            **run_ports(g),
            "latch": In(1),                  # the array takes the sources, none or some (commit, or the field pass's load)
            "fill": In(buffer_bits(g)),      # into this buffer
            "moved": In(1),                  # the latch of the cycle before held sources ...
            "moved_buffer": In(buffer_bits(g)),  # ... in this buffer
            "own_we": In(1),                 # a bus write of which sources have entries in this lane's banks
            "own_addr": In(g.row_bits),      # the group deciding (which of its sources have entries where: at its commit)
            "sources": In(g.lanes),          # every lane's ``source``
            "buffers": In(source_buffers(g)),
            # the cell read in the load cycle
            "loading_valid": Out(1),
            "loading_colour_end": Out(1),
            # this lane's cell as a source, while ``latch``: whether it is one, its rows and its change
            "source": Out(1),
            "source_base": Out(g.edge_addr_bits),
            "source_dv": Out(change_shape(g)),
            # the field banks: buffers holding sources some bank has not started; fields may change
            "pending": Out(g.source_buffers),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geometry

        m.submodules.cells = cells = Memory(shape=cell_layout(g), depth=g.groups, init=[])
        m.submodules.links = links = Memory(shape=links_layout(g), depth=g.groups, init=[])
        m.submodules.degrees = degrees = Memory(shape=degrees_layout(g), depth=g.groups, init=[])
        B, bank_bits = g.field_banks, g.bank_bits
        banks = []
        for b in range(B):
            m.submodules[f"bank{b}"] = bank = FieldBank(g)
            banks.append(bank)
        m.submodules.decision = decision = self.decision

        written = [(cells, self.cell_we), (links, self.links_we), (degrees, self.degrees_we)]
        if g.qp:
            m.submodules.boxes = boxes = Memory(shape=box_layout(g), depth=g.groups, init=[])
            written.append((boxes, self.box_we))
            box_r = boxes.read_port()
            m.d.comb += [box_r.addr.eq(self.group), decision.low.eq(box_r.data.low), decision.high.eq(box_r.data.high)]
        for memory, we in written:
            port = memory.write_port()
            m.d.comb += [port.addr.eq(self.bus_index), port.data.eq(self.bus_wdata), port.en.eq(we)]
        cell_r, links_r, degrees_r = cells.read_port(), links.read_port(), degrees.read_port()
        m.d.comb += [cell_r.addr.eq(self.group), links_r.addr.eq(self.group), degrees_r.addr.eq(self.group),
                     self.loading_valid.eq(cell_r.data.valid), self.loading_colour_end.eq(cell_r.data.colour_end)]

        # ---- the banks: bus writes (EDGES index row * W + k, the word of banks k E .. k E + E - 1),
        # the decision's reads, the field pass's biases, the sources ---------------------------
        E, word_bits, bits = g.edge_word_entries, (g.edge_words - 1).bit_length(), g.edge_entry_bits
        # the group read in the cycle before (fetch, bias row): the lane's own register, which
        # selects its field among its banks (the lanes' copies, merged, spanned the chip)
        previous_group = replica(m, self.group, "previous_group")
        for b, bank in enumerate(banks):
            word_here = (self.bus_index[:word_bits] == b // E) if word_bits else 1
            m.d.comb += [
                bank.edge_addr.eq(self.bus_index[word_bits:]),
                bank.edge_data.eq(self.bus_wdata[(b % E) * bits:(b % E + 1) * bits]),
                bank.edge_we.eq(self.edge_we & word_here),
                bank.read_addr.eq(self.group >> bank_bits),
                bank.bias_we.eq(self.bias_we & (previous_group[:bank_bits] == b) if B > 1 else self.bias_we),
                bank.bias_addr.eq(previous_group >> bank_bits), bank.bias.eq(cell_r.data.bias),
                bank.latch.eq(self.latch), bank.fill.eq(self.fill), bank.sources.eq(self.sources),
                bank.buffers.eq(self.buffers), bank.moved.eq(self.moved), bank.moved_buffer.eq(self.moved_buffer),
                bank.field_pass.eq(self.field_pass),
            ]
        field = Array(bank.read_data for bank in banks)[previous_group[:bank_bits]] if B > 1 else banks[0].read_data
        if g.skips_sources:   # which sources have entries in each bank: OWN index g * B + b, bank b's lanes
            m.submodules.own = own = Memory(shape=B * g.lanes, depth=g.groups, init=[])
            own_w, own_r = own.write_port(granularity=g.lanes), own.read_port()
            m.d.comb += [own_w.addr.eq(self.bus_index >> bank_bits), own_w.data.eq(self.bus_wdata[:g.lanes].replicate(B)),
                         own_w.en.eq(Mux(self.own_we, 1 << self.bus_index[:bank_bits], 0) if B > 1 else self.own_we),
                         own_r.addr.eq(self.own_addr)]   # the group deciding: its words at its commit
            m.d.comb += [bank.own.eq(own_r.data.word_select(b, g.lanes)) for b, bank in enumerate(banks)]
        m.d.comb += [self.pending.eq(Cat(*(Cat(*(bank.pending[k] for bank in banks)).any() for k in range(g.source_buffers)))),
                     self.busy.eq(Cat(*(bank.busy for bank in banks)).any())]

        # ---- the cell's decision: loaded from the memories as read, in a sweep only ------------
        m.d.comb += [
            decision.field.eq(field), decision.value.eq(self.fresh_value),
            decision.cell_valid.eq(cell_r.data.valid), decision.cell_reads.eq(degrees_r.data.reads),
            decision.diagonal.eq(degrees_r.data.diagonal),
            decision.load.eq(self.load & ~self.field_pass),
        ]
        m.d.comb += [getattr(decision, name).eq(getattr(self, name)) for name in run_ports(g)]
        # this cell as a source: in a sweep, if it hops (its rows read at load, carried to its
        # commit with the decision's stages); in the field pass, if it is a cell (rows read with
        # it), its value as dv
        links = [Signal(links_layout(g), name=f"links_{stage}") for stage in ("loaded", "decided")]
        with m.If(self.load):
            m.d.sync += links[0].eq(links_r.data)
        with m.If(self.decide):
            m.d.sync += links[1].eq(links[0])
        base, rows = links[1].base, links[1].rows
        value = self.fresh_value if g.qp else Mux(self.fresh_value[0], 1, -1)
        with m.If(self.field_pass):
            m.d.comb += [self.source.eq(cell_r.data.valid & (links_r.data.rows != 0)),
                         self.source_base.eq(links_r.data.base), self.source_dv.eq(value)]
        with m.Else():
            m.d.comb += [self.source.eq(decision.hop & (rows != 0)), self.source_base.eq(base),
                         self.source_dv.eq(decision.change)]
        return m
