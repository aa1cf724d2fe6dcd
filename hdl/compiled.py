"""The problem-compiled array: one spin problem's couplings built into the gateware, and a group
of P cells decided every cycle.

The emulated device is the programmable array's (hdl/array.py): the same groups of one colour in
the same order, the same ``Decision`` per lane with the same draws, the same counters, bus and
schedules. What changes is how a cell's field reaches its decision. Here the spins sit in
registers and each lane sums its cell's field from its neighbours' spins through the problem's
own wiring (a sum per cell, selected by the group), so nothing streams after a hop: a colour's
groups enter the pipeline back to back, and the next colour waits only for the last decision.

  cycle c    SELECT  per lane, the group's neighbour spins, couplings and constants (one
                     multiplexer per lane, selected by the group), registered
        c+1  SUM     the fields: one adder tree per lane (and SELECT takes group g+1 of the colour)
        c+2  LOAD    the decisions load group g
        c+3  DECIDE
        c+4  COMMIT  the spins of group g and the counters, registered (the next colour's first
                     group: SELECT, which reads the spins as they were)
        c+5          (that group's SUM: its neighbours in group g are late places, read from the
                     registered commit)

A group is issued COMPILED_READ_DISTANCE (4) cycles or more after any group it reads, so the
sequencer waits (at most three cycles) only where a colour's first groups read the last ones
before them (Program.compiled_issue; the mapping puts first in each colour the cells that read
none of those).
A sweep takes its groups, those waits, COMPILED_DRAIN_CYCLES after the last and the schedules'
step (sim/golden.py, compiled_sweep_cycles). Spin problems only: a QP cell's box and levels are not compiled.

When the cells' tilts take few values (``shared_tilts``), y, the exponent and the probability are
formed once per tilt (decision.TiltTable) and each lane reads its cell's by the tilt's index.
"""
import functools
import math
import operator

import numpy as np
from amaranth.hdl import Cat, Const, Module, Mux, Shape, Signal, signed
from amaranth.lib import data

from .array import LimArray, drive_run_inputs, sweep_end_states
from .decision import Decision, TiltRange, TiltTable, balanced_sum, hop_table
from .fanout import replica
from .params import COMPILED_DRAIN_CYCLES, COMPILED_READ_DISTANCE, Region

__all__ = ["CompiledArray", "SHARED_TILTS_MAX", "shared_tilts"]

#: A problem whose cells' tilts take at most this many values, and at most two per lane, has
#: their y and x formed once per tilt (decision.TiltTable) instead of once per lane: each value
#: costs a shift and an exponent (half a lane's own) and a multiplexer input in every lane;
#: beyond eight the lanes' multiplexers cost more than the lanes' own product and exponent, and
#: beyond two per lane the table costs more than the lanes save (one lane of a +-1 lattice, 5
#: tilts: 148 iCE40 cells more with the table; 4 lanes: about 300 ECP5 LUT4 fewer).
SHARED_TILTS_MAX = 8


def _unit_magnitude(program):
    """W when every coupling of ``program`` is +-W (Gset's +-1, a lattice's), else None: its
    fields are then counts of bits (hdl/compiled.py, SUM)."""
    _, _, weight = program.couplings()
    magnitudes = set(abs(weight).tolist())
    return magnitudes.pop() if len(magnitudes) == 1 else None


def shared_tilts(program):
    """The TiltRange of every t = +-f the cells of ``program`` can have, when its couplings have one
    magnitude W and the range holds at most SHARED_TILTS_MAX values and two per lane; else None. A cell of degree d
    and bias b sees f = b + W (2 k - d), k of its neighbours up (0 .. d); an empty slot f = 0."""
    unit = _unit_magnitude(program)
    if not unit:
        return None
    source, target, _ = program.couplings()
    degree = np.bincount(target, minlength=program.valid.size)
    bias = program.bias.reshape(-1)
    tilts = {0}
    for slot in np.flatnonzero(program.valid.reshape(-1)).tolist():
        d, b = int(degree[slot]), int(bias[slot])
        tilts.update(sign * (b + unit * (2 * k - d)) for k in range(d + 1) for sign in (1, -1))
    low = min(tilts)
    step = math.gcd(*(t - low for t in tilts)) or 1
    step_log2 = (step & -step).bit_length() - 1   # the largest power of two dividing the step
    count = (max(tilts) - low >> step_log2) + 1
    return TiltRange(low, step_log2, count) if count <= min(SHARED_TILTS_MAX, 2 * program.geometry.lanes) else None


def _bits(fields, chunk):
    """Bits ``chunk.start`` .. ``chunk.stop`` of the concatenation of ``fields`` (values, low first),
    cut from the fields they fall in."""
    parts, low = [], 0
    for value in fields:
        high = low + len(value)
        if high > chunk.start and low < chunk.stop:
            parts.append(value[max(chunk.start, low) - low:min(chunk.stop, high) - low])
        low = high
    return Cat(*parts)


class CompiledArray(LimArray):
    """The array for ``program`` (sim/mapping.Program of a spin problem), its couplings, biases
    and degrees compiled in; the host writes only the registers and the state."""

    def __init__(self, program, counter_preset=False):
        if program.geometry.qp:
            raise ValueError("a compiled array holds spin problems; a QP runs on the programmable array")
        self.program = program
        super().__init__(program.geometry, counter_preset)

    def _neighbours(self):
        """For every slot, its field's wiring: [(source slot, weight)] (what a spin there adds)."""
        source, target, weight = self.program.couplings()
        wiring = [[] for _ in range(self.program.n_groups * self.geometry.lanes)]
        for j, i, w in zip(source.tolist(), target.tolist(), weight.tolist()):
            wiring[i].append((j, w))
        return wiring

    def _sweeper(self, m, sh):
        g = self.geometry
        P = g.lanes
        program = self.program
        G = program.n_groups

        # ---- the spins, in registers: every field reads them at once ------------------------
        spins = [Signal(P, name=f"spins{grp}") for grp in range(G)]
        # A host's write lands a cycle late, from registers: the bus decode reached every spin
        # register in one cycle (the 32 x 32 lattice's critical path at 55 MHz, 21 ns, 19 of them
        # routing). A read of the group in that cycle sees the write.
        state_write, state_group, state_data = Signal(), Signal.like(sh.index), Signal(P)
        m.d.sync += [state_write.eq(sh.write & (sh.region == Region.STATE) & (sh.index < G)),
                     state_group.eq(sh.index), state_data.eq(sh.bus_wdata[:P])]
        with m.If(state_write):
            with m.Switch(state_group):
                for grp in range(G):
                    with m.Case(grp):
                        m.d.sync += spins[grp].eq(state_data)
        state_word = Signal(P)
        with m.If(state_write & (state_group == sh.index)):
            m.d.sync += state_word.eq(state_data)
        with m.Else():
            with m.Switch(sh.index):
                for grp in range(G):
                    with m.Case(grp):
                        m.d.sync += state_word.eq(spins[grp])
                with m.Default():
                    m.d.sync += state_word.eq(0)

        # ---- the decisions ------------------------------------------------------------------
        tilts = shared_tilts(program)
        if tilts is not None:   # y and the hop probability formed once per tilt, not per lane
            m.submodules.tilt_table = tilt_table = TiltTable(g, tilts)
            drive_run_inputs(m, sh, tilt_table)
        decisions = []
        for lane in range(P):
            if tilts is not None:
                decision = Decision(g, lane, pipelined=True, tilts=tilts)
                m.d.comb += decision.tilt_words.eq(tilt_table.words)
            else:   # one exp(-a) table per two decisions, a read port each
                if lane % 2 == 0:
                    m.submodules[f"hop_table{lane // 2}"] = table = hop_table()
                decision = Decision(g, lane, table.read_port(), pipelined=True)
            m.submodules[f"decision{lane}"] = decision
            drive_run_inputs(m, sh, decision)
            decisions.append(decision)

        # ---- SELECT and SUM: the issued group's fields from its neighbours' spins ------------
        # f = bias + sum_j w_j (2 s_j - 1) = (bias - sum_j w_j) + sum_k (s_k ? 2 w_k : 0): per lane, the
        # group selects its cell's neighbour spins and couplings (SELECT), then one adder tree sums
        # them (SUM); the wiring is the problem's. Every path starts at a register: no decision's
        # comparison reaches another lane's multiplexer or adder in the cycle it is made.
        wiring = self._neighbours()
        group = Signal(range(G + 1))      # the group SELECT takes this cycle
        issue = Signal()
        selecting = Signal()              # SUM: the group selected in the cycle before
        selected_group = Signal(range(G))
        m.d.sync += [selecting.eq(issue), selected_group.eq(group)]
        commit, committing = Signal(), Signal(range(G))
        committed = Cat(d.next_value for d in decisions)
        last_commit = Signal(P)   # the spins the cycle before committed: the late places' source
        m.d.sync += last_commit.eq(committed)
        unit = _unit_magnitude(program)
        constants = {}   # per slot: f minus the sum the places make
        for slot, neighbours in enumerate(wiring):
            constants[slot] = int(program.bias.reshape(-1)[slot]) - sum(w for _, w in neighbours)
            if unit:
                constants[slot] += sum(2 * w for _, w in neighbours if w < 0)
        # the multiplexers carry the constants and degrees only as wide as this problem's are
        constant_shape = Shape.cast(range(min(0, *constants.values()), max(0, *constants.values()) + 1))
        reads_shape = Shape.cast(range(int(program.reads.max(initial=0)) + 1))
        # A group is issued COMPILED_READ_DISTANCE (4) cycles or more after any group it reads
        # (Program.compiled_issue). A group issued 4 cycles before commits in this one's SELECT
        # cycle: a neighbour there is read late, in SUM, from that commit's register (a late
        # place: the source's lane and coupling). Any other neighbour's spin is in the registers
        # when SELECT reads it.
        issued = program.compiled_issue()
        early, late = [], []
        for slot, neighbours in enumerate(wiring):
            distance = [int(issued[slot // P] - issued[j // P]) for j, _ in neighbours]
            assert all(d >= COMPILED_READ_DISTANCE or d <= 0 for d in distance)
            read_late = [d == COMPILED_READ_DISTANCE for d in distance]
            early.append([n for n, is_late in zip(neighbours, read_late) if not is_late])
            late.append([(j % P, w) for (j, w), is_late in zip(neighbours, read_late) if is_late])
        late_places = max(len(places) for places in late) if late else 0
        lane_shape = Shape.cast(range(P))
        for lane, decision in enumerate(decisions):
            places = max(1, max(len(early[grp * P + lane]) for grp in range(G)))
            weight_shape = signed(g.weight_bits + 1)
            # one multiplexer per lane, its word the group's neighbour spins, couplings and constant
            # (a simulator then selects once per lane and chunk, not once per place). With one magnitude W for
            # every coupling, a place holds only its coupling's sign: s ? 2 w : 0 = 2 W (s ^ (w < 0))
            # - (w < 0) 2 W, so the field is a constant plus 2 W times a count of bits.
            couplings = ({"negative": places} if unit else
                         {"doubled": data.ArrayLayout(weight_shape, places)})
            late_couplings = ({"late_negative": late_places} if unit else
                              {"late_doubled": data.ArrayLayout(weight_shape, late_places)})
            word = data.StructLayout({"spins": places, **couplings, "constant": constant_shape,
                                      "value": 1, "valid": 1, "reads": reads_shape,
                                      "late": late_places, "late_lane": data.ArrayLayout(lane_shape, late_places),
                                      **late_couplings})
            selected = Signal(word, name=f"lane{lane}_selected")
            coupling = ((lambda w: Const(w < 0, 1)) if unit else (lambda w: Const(2 * w, weight_shape)))
            words = {}   # the word each valid slot of the lane selects
            for grp in range(G):
                slot = grp * P + lane
                if program.valid[grp, lane]:
                    neighbours = early[slot] + [(None, 0)] * (places - len(early[slot]))
                    later = late[slot] + [(0, 0)] * (late_places - len(late[slot]))
                    # the word's fields in order, each a spin bit or a constant: kept as a list, so
                    # that a chunk is cut from a few small values (cutting it from one Cat of the
                    # whole word made Amaranth walk the word once per chunk: minutes for G1)
                    words[grp] = [
                        *(spins[j // P][j % P] if j is not None else Const(0, 1) for j, _ in neighbours),
                        *(coupling(w) for _, w in neighbours),
                        Const(constants[slot], constant_shape),
                        spins[grp][lane], Const(1, 1), Const(int(program.reads[grp, lane]), reads_shape),
                        *(Const(k < len(late[slot]), 1) for k in range(late_places)),
                        *(Const(q, lane_shape) for q, _ in later), *(coupling(w) for _, w in later)]
            # one multiplexer per 64 bits of the word: the same logic, and a simulator that forms a
            # wide word for every case before choosing one (Verilator) forms only the chosen chunk
            bits = selected.as_value()
            assert all(sum(len(value) for value in fields) == len(bits) for fields in words.values())
            for low in range(0, len(bits), 64):
                chunk = slice(low, min(low + 64, len(bits)))
                with m.If(issue), m.Switch(group):
                    for grp, fields in words.items():
                        with m.Case(grp):
                            m.d.sync += bits[chunk].eq(_bits(fields, chunk))
                    with m.Default():   # a padding slot: not valid, nothing read
                        m.d.sync += bits[chunk].eq(0)
            field = Signal(signed(g.field_bits), name=f"field{lane}")
            value = Signal(name=f"value{lane}")
            valid = Signal(name=f"valid{lane}")
            reads = Signal(g.reads_bits, name=f"reads{lane}")
            # a late place's spin: its lane's bit of the commit in the cycle before
            late_spins = [selected.late[k] & last_commit.bit_select(selected.late_lane[k], 1) for k in range(late_places)]
            if unit:
                count = balanced_sum([selected.spins[k] ^ selected.negative[k] for k in range(places)]
                                     + [s ^ selected.late_negative[k] for k, s in enumerate(late_spins)])
                step = 2 * unit   # a power of two shifts; another a constant product
                total = count << (step.bit_length() - 1) if step & (step - 1) == 0 else count * step
            else:
                total = balanced_sum([Mux(selected.spins[k], selected.doubled[k], 0) for k in range(places)]
                                     + [Mux(s, selected.late_doubled[k], 0) for k, s in enumerate(late_spins)])
            with m.If(selecting):
                m.d.sync += [field.eq(selected.constant + total),
                             value.eq(selected.value), valid.eq(selected.valid), reads.eq(selected.reads)]
            m.d.comb += [decision.field.eq(field), decision.value.eq(value), decision.cell_valid.eq(valid),
                         decision.cell_reads.eq(reads)]

        # ---- the pipeline: SELECT, SUM, LOAD, DECIDE, COMMIT --------------------------------------
        load, decide = Signal(), Signal()
        loading, deciding = Signal(range(G)), Signal(range(G))
        m.d.sync += [load.eq(selecting), decide.eq(load), commit.eq(decide),
                     loading.eq(selected_group), deciding.eq(loading), committing.eq(deciding)]
        for lane, decision in enumerate(decisions):   # each lane's strobes from its own registers
            lane_load = replica(m, selecting, f"load{lane}")
            m.d.comb += [decision.load.eq(lane_load), decision.decide.eq(replica(m, lane_load, f"decide{lane}"))]
        with m.If(commit):
            with m.Switch(committing):
                for grp in range(G):
                    with m.Case(grp):
                        m.d.sync += spins[grp].eq(committed)

        # ---- the sequencer: groups back to back, waiting where one reads those just before ----
        sweep_end = Signal()    # the group issued now is the sweep's last
        pause = Signal(range(COMPILED_DRAIN_CYCLES + 1))   # cycles before the next group (or the schedules)
        m.d.comb += sweep_end.eq(group == G - 1)
        pauses = {grp: int(issued[grp + 1] - issued[grp]) - 1 for grp in range(G - 1) if issued[grp + 1] - issued[grp] > 1}
        pauses[G - 1] = COMPILED_DRAIN_CYCLES
        # an OR of a few compares (a Switch on the group here, one case in most designs, left
        # Icarus spinning at the first sweep: its process was never woken)
        m.d.comb += pause.eq(functools.reduce(operator.or_, (Mux(group == grp, p, 0) for grp, p in pauses.items())))
        drain = Signal(range(COMPILED_DRAIN_CYCLES + 1))
        last = Signal()
        with m.FSM() as fsm:
            with m.State("IDLE"):
                with m.If(sh.starting):
                    m.d.sync += group.eq(0)
                    m.next = "ISSUE"
            with m.State("ISSUE"):
                m.d.comb += issue.eq(1)
                m.d.sync += group.eq(group + 1)
                with m.If(pause != 0):
                    m.d.sync += [drain.eq(pause - 1), last.eq(sweep_end)]
                    m.next = "DRAIN"
            with m.State("DRAIN"):   # the groups in flight load, decide and commit
                m.d.sync += drain.eq(drain - 1)
                with m.If(drain == 0):
                    with m.If(last):
                        m.next = "SWEEP_END"
                    with m.Else():
                        m.next = "ISSUE"
            sweep_end_states(m, sh, group, "ISSUE")
        m.d.comb += sh.running.eq(~fsm.ongoing("IDLE"))
        return decisions, commit, state_word
