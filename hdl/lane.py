"""One update lane of the programmable array: its cells' memories, their kept fields and their
``Decision`` (hdl/decision.py).

A lane holds, for its cells (one per group), the local field f in field RAMs: B banks
(``field_banks``), group g's field in bank g mod B. Deciding a group reads f (no neighbour is
read: the field is current) into the lane's decision: load, decide and commit in three cycles.
When cells hop, the array streams each hopping cell's update rows to all lanes at once; a row
holds an entry for each bank of each lane, and every bank applies its entry to the field of its
cell that neighbours the hopping one, all in the same cycle (docs/architecture.md, Field updates):

  c    EDGES read at ``link_row``: the row's B entries for this lane   (issue)
  c+1  each entry {group, J}: its bank read at the entry's group
  c+2  field += J * dv, written back; a read made while the bank's previous write landed takes
       the written value (forwarding), so back-to-back updates of one field add up.

A hop thus streams as many rows as its busiest bank has entries: B banks take B field updates a
cycle in every lane, at the price of the rows' padding in the EDGES memory.

The same rows, streamed with each cell's value as dv over fields holding the biases, compute every
field from the state after the host wrote it (the field pass).
"""
from amaranth.hdl import Array, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .decision import Decision, change_shape, run_ports
from .params import ArrayGeometry

__all__ = ["Lane", "edge_layout", "cell_layout", "links_layout", "degrees_layout"]


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


class Lane(wiring.Component):
    """Lane ``index`` of an array of ``geometry``: its memories, its field updates and its cells'
    ``Decision``. ``table_port`` is a read port of a hop_table() the caller owns (shared with
    another lane); without it the lane has its own table."""

    def __init__(self, geometry, index, table_port=None):
        if not isinstance(geometry, ArrayGeometry):
            raise TypeError(f"geometry must be an ArrayGeometry, not {type(geometry).__name__}")
        self.geometry = g = geometry
        self.index = index
        self.decision = Decision(g, index, table_port)
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
            "bias_we": In(1),                # field pass: field[group of the previous cycle] = bias
            "link_row": In(g.edge_addr_bits),
            "link_issue": In(1),
            "link_dv": In(change_shape(g)),
            **run_ports(g),
            "commit": In(1),
            # the cell read in the load cycle
            "loading_valid": Out(1),
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
        B, bank_bits = g.field_banks, g.bank_bits
        # an update row's entries for this lane, one per field bank
        m.submodules.edges = edges = Memory(shape=data.ArrayLayout(edge_layout(g), B), depth=g.edge_depth, init=[])
        banks = []
        for b in range(B):
            m.submodules[f"fields{b}"] = bank = Memory(shape=signed(g.field_bits), depth=g.bank_depth, init=[])
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
        # EDGES index: row * W + k, the word carrying banks k E .. k E + E - 1 (params.edge_word_entries)
        E, word_bits = g.edge_word_entries, (g.edge_words - 1).bit_length()
        edge_w = edges.write_port(granularity=E)
        m.d.comb += [edge_w.addr.eq(self.bus_index[word_bits:]),
                     edge_w.data.eq(self.bus_wdata[:E * g.edge_entry_bits].replicate(g.edge_words)),
                     edge_w.en.eq(Mux(self.edge_we, 1 << self.bus_index[:word_bits], 0))]
        cell_r, links_r, degrees_r = cells.read_port(), links.read_port(), degrees.read_port()
        edge_r = edges.read_port()
        m.d.comb += [cell_r.addr.eq(self.group), links_r.addr.eq(self.group), degrees_r.addr.eq(self.group),
                     edge_r.addr.eq(self.link_row), self.loading_valid.eq(cell_r.data.valid)]

        # ---- field updates: read-modify-write in every bank, two stages after the row's issue ------
        issued = Signal()
        dv1 = Signal(change_shape(g))
        previous_group = Signal(g.row_bits)   # the group read in the cycle before (fetch, bias row)
        m.d.sync += [issued.eq(self.link_issue), dv1.eq(self.link_dv), previous_group.eq(self.group)]
        fields_read = []
        for b, bank in enumerate(banks):
            entry = edge_r.data[b]
            field_r, field_w = bank.read_port(), bank.write_port()
            fields_read.append(field_r.data)
            target = Signal(g.row_bits, name=f"target{b}")   # the group, its bank's address
            delta = Signal(signed(g.field_bits), name=f"delta{b}")
            applies = Signal(name=f"applies{b}")
            m.d.sync += [target.eq(entry.group >> bank_bits), delta.eq(entry.weight * dv1),
                         applies.eq(issued & (entry.weight != 0))]
            m.d.comb += field_r.addr.eq(Mux(issued, entry.group, self.group) >> bank_bits)
            last_target = Signal(g.row_bits, name=f"last_target{b}")
            last_value = Signal(signed(g.field_bits), name=f"last_value{b}")
            wrote = Signal(name=f"wrote{b}")
            old = Signal(signed(g.field_bits), name=f"old{b}")
            updated = Signal(signed(g.field_bits), name=f"updated{b}")
            m.d.comb += [old.eq(Mux(wrote & (last_target == target), last_value, field_r.data)),
                         updated.eq(old + delta)]
            m.d.sync += [wrote.eq(applies), last_target.eq(target), last_value.eq(updated)]
            bias_here = self.bias_we & (previous_group[:bank_bits] == b) if B > 1 else self.bias_we
            m.d.comb += [field_w.addr.eq(Mux(self.bias_we, previous_group >> bank_bits, target)),
                         field_w.data.eq(Mux(self.bias_we, cell_r.data.bias, updated)),
                         field_w.en.eq(bias_here | applies)]
        field = Array(fields_read)[previous_group[:bank_bits]] if B > 1 else fields_read[0]

        # ---- the cell's decision: loaded from the memories as read, in a sweep only ------------
        m.d.comb += [
            decision.field.eq(field), decision.value.eq(self.fresh_value),
            decision.cell_valid.eq(cell_r.data.valid), decision.cell_reads.eq(degrees_r.data.reads),
            decision.diagonal.eq(degrees_r.data.diagonal),
            decision.load.eq(self.load & ~self.field_pass),
        ]
        m.d.comb += [getattr(decision, name).eq(getattr(self, name)) for name in run_ports(g)]
        with m.If(self.load):
            m.d.sync += [self.base.eq(links_r.data.base), self.rows.eq(links_r.data.rows)]
            with m.If(self.field_pass):   # the field pass streams every cell with its value as dv
                value = self.fresh_value if g.qp else Mux(self.fresh_value[0], 1, -1)
                m.d.sync += [self.source.eq(cell_r.data.valid), self.source_dv.eq(value)]
        with m.If(self.commit):   # a hopping cell becomes a source: its neighbours' fields change by J dv
            m.d.sync += [self.source.eq(decision.hop), self.source_dv.eq(decision.change)]
        return m
