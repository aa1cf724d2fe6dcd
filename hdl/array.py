"""The LIM array: P update lanes sweeping a colour-ordered problem under two schedules, the
barrier's (mobility, consolidation) and the gain's (inverse temperature).

The host maps the problem so that group g holds cells g*P .. g*P+P-1, all of one colour of the
coupling graph; the lanes therefore decide a group in parallel without reading each other's
spins. A colour's groups stream through load, decide and commit, a new one every cycle. Local
fields are kept, not summed per attempt: a group's commit latches its hopping cells into one of
its source buffers, and every field bank walks their entries into its fields on its
own (hdl/lane.py) while the colour's next groups decide; a colour's end waits for the fields to
settle. A start after the host wrote the program or the state first computes every field from it
(the field pass).
Bus: one address/data port for loading, control and read-back (one cycle read latency).
"""
from types import SimpleNamespace

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .counters import SaturatingCounter
from .decision import COMMIT_EVENT_FIELDS, balanced_sum, change_shape, commit_events, hop_argument_shape, hop_table
from .fanout import replica
from .gain import GainDecoder, rounded_product
from .lane import Lane, buffer_bits, source_buffers
from .params import (ArrayGeometry, BARRIER_BITS, Counter, GAIN_ACC_EXTRA_BITS, GAIN_BITS,
                     GAIN_RATE_BITS, GAIN_STEP_BITS, GAIN_STEP_SHIFT_BITS, PRNG_WARMUP_STEPS, Reg, Region, Schedule)
from .schedule import ScheduleGenerator

__all__ = ["LimArray", "counter_increment_widths"]


#: The counters' increments are summed over this many lanes in one stage, then over those sums in
#: the next: a sum over 32 lanes in one cycle bounded the compiled lattices' clock.
COUNTER_SUM_LANES = 8


def counter_increment_widths(geometry):
    """The most a counter can grow by in one cycle, as a width: P lanes' worth of events."""
    lane_bits = geometry.lanes.bit_length()
    drop_bits = hop_argument_shape(geometry).width + lane_bits
    return {
        Counter.CYCLES: 1, Counter.SWEEPS: 1, Counter.ATTEMPTS: lane_bits,
        Counter.HOPS: lane_bits, Counter.UPHILL_HOPS: lane_bits, Counter.READS: lane_bits + geometry.reads_bits,
        Counter.DROP_Q4: drop_bits, Counter.CLIMB_Q4: drop_bits,
        Counter.BARRIER_Q4: lane_bits + BARRIER_BITS + geometry.level_bits.bit_length(),
        Counter.WORK_IN_Q4: GAIN_STEP_BITS + geometry.objective_bits,
        Counter.WORK_OUT_Q4: GAIN_STEP_BITS + geometry.objective_bits,
    }


def drive_run_inputs(m, sh, target):
    """What every decision of an array shares (decision.run_ports but the decide strobe): the
    schedules' values and the generators' seeding, those of them ``target`` has. The seeding
    strobes reach the generators through a registered copy per target (hdl/fanout.py): the
    generators seed and warm up a cycle after ``init``, long before a start can step them."""
    sources = {"barrier_q4": sh.schedule.value_q4, "gain_mantissa": sh.gain_decoder.mantissa,
               "gain_shift": sh.gain_decoder.shift, "seed": sh.seed}
    if "prng_init" in target.signature.members:
        sources.update(prng_init=replica(m, sh.init, "prng_init"),
                       prng_warm=replica(m, sh.seeding != 0, "prng_warm"))
    m.d.comb += [getattr(target, name).eq(source) for name, source in sources.items()
                 if name in target.signature.members]


def sweep_end_states(m, sh, group, first_state):
    """The end of a sweep, the same in every array: both schedules advance (SWEEP_END), the
    sequencer waits for the slower (SCHEDULE), then the next sweep starts at ``first_state`` or
    the run ends (sim/golden.py, end_of_sweep_cycles)."""
    with m.State("SWEEP_END"):
        m.d.comb += [sh.schedule.advance.eq(1), sh.gain_schedule.advance.eq(1)]
        m.d.sync += sh.remaining.eq(sh.remaining - 1)
        m.next = "SCHEDULE"
    with m.State("SCHEDULE"):
        with m.If(~sh.schedules_busy):
            m.d.comb += sh.gain_stepped.eq(1)
            m.d.sync += group.eq(0)
            with m.If(sh.remaining == 0):
                m.next = "IDLE"
            with m.Else():
                m.next = first_state


class LimArray(wiring.Component):
    """The array. ``counter_preset`` (simulation builds only, never a board's) makes the counters
    writable through the bus: a write to a counter's low word holds it, a write to its high word
    loads both, so a test can start a counter just below 2^32 or its saturation."""

    def __init__(self, geometry=ArrayGeometry(), counter_preset=False):
        if not isinstance(geometry, ArrayGeometry):
            raise TypeError(f"geometry must be an ArrayGeometry, not {type(geometry).__name__}")
        self.geometry = geometry
        self.counter_preset = counter_preset
        super().__init__({
            "bus_addr": In(geometry.addr_bits),
            "bus_wdata": In(32),
            "bus_we": In(1),
            "bus_rdata": Out(32),
            "busy": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        g = self.geometry
        P = g.lanes

        # ---- bus decode --------------------------------------------------------------------
        index = self.bus_addr[:g.index_bits]
        lane_sel = self.bus_addr[g.index_bits:g.index_bits + g.lane_addr_bits]
        region = self.bus_addr[g.index_bits + g.lane_addr_bits:]
        running = Signal()   # the sequencer is sweeping: bus writes are ignored
        write = Signal()
        m.d.comb += write.eq(self.bus_we & ~running)

        def reg_write(reg):
            return write & (region == Region.REGS) & (index == reg)

        n_groups = Signal(g.row_bits + 1)
        seed = Signal(32)
        sweeps_to_run = Signal(32)
        # the objective of the state in gain units, written with the state and kept by the hops
        objective = Signal(signed(g.objective_bits))
        m.submodules.schedule = schedule = ScheduleGenerator(BARRIER_BITS, logarithmic=g.logarithmic_barrier)
        # the gain's logarithm: its geometric schedule is a linear ramp of L, the other kinds hold it
        m.submodules.gain_schedule = gain_schedule = ScheduleGenerator(
            GAIN_BITS, GAIN_ACC_EXTRA_BITS, logarithmic=False, exponential=False)
        m.submodules.gain_decoder = gain_decoder = GainDecoder(g.qp)
        barrier_hold = Signal(32)
        settings = {   # registers the host writes, read back as written
            Reg.N_GROUPS: n_groups, Reg.SEED: seed, Reg.SWEEPS: sweeps_to_run,
            Reg.BARRIER_KIND: Signal(2), Reg.BARRIER_START: Signal(BARRIER_BITS),
            Reg.BARRIER_END: Signal(BARRIER_BITS), Reg.BARRIER_RATE: Signal(32), Reg.BARRIER_HOLD: barrier_hold,
            Reg.GAIN_KIND: Signal(2), Reg.GAIN_START: Signal(GAIN_BITS), Reg.GAIN_END: Signal(GAIN_BITS),
            Reg.GAIN_RATE: Signal(32),
        }
        for reg, sig in settings.items():
            with m.If(reg_write(reg)):
                m.d.sync += sig.eq(self.bus_wdata)
        objective_words = Signal(signed(64))   # the objective sign-extended: two bus words
        m.d.comb += objective_words.eq(objective)
        with m.If(reg_write(Reg.OBJECTIVE)):
            m.d.sync += objective.eq(Cat(self.bus_wdata, objective_words[32:]))
        with m.If(reg_write(Reg.OBJECTIVE_HIGH)):
            m.d.sync += objective.eq(Cat(objective_words[:32], self.bus_wdata))
        # A CONTROL write's init and start act a cycle after it, from a register: init fans out to
        # every generator's state and every counter, which the bus decode could not reach in a
        # cycle (busy covers the cycle in between).
        control = Signal(2)
        m.d.sync += control.eq(Mux(reg_write(Reg.CONTROL), self.bus_wdata[:2], 0))
        init, start = control[0], control[1]

        # ---- blocks ------------------------------------------------------------------------
        for generator, prefix in ((schedule, "BARRIER"), (gain_schedule, "GAIN")):
            m.d.comb += [generator.start_q4.eq(settings[Reg[f"{prefix}_START"]]),
                         generator.end_q4.eq(settings[Reg[f"{prefix}_END"]]), generator.init.eq(init)]
        m.d.comb += [schedule.kind.eq(settings[Reg.BARRIER_KIND]), schedule.rate.eq(settings[Reg.BARRIER_RATE]),
                     schedule.hold.eq(barrier_hold),
                     gain_schedule.kind.eq(Mux(settings[Reg.GAIN_KIND] == Schedule.EXPONENTIAL,
                                               Schedule.LINEAR, Schedule.CONSTANT)),
                     gain_schedule.rate.eq(settings[Reg.GAIN_RATE][:GAIN_RATE_BITS]),
                     gain_decoder.now.eq(gain_schedule.value_q4),
                     gain_decoder.before.eq(gain_schedule.value_q4 - gain_schedule.raise_q4)]
        schedules_busy = schedule.busy | gain_schedule.busy

        # After init the PRNGs warm up for PRNG_WARMUP_STEPS cycles; a start written meanwhile waits.
        seeding = Signal(range(PRNG_WARMUP_STEPS + 1))
        start_pending = Signal()
        with m.If(init):
            m.d.sync += seeding.eq(PRNG_WARMUP_STEPS)
        with m.Elif(seeding != 0):
            m.d.sync += seeding.eq(seeding - 1)


        # A start runs once the generators are seeded; a start written while they warm up waits.
        remaining = Signal(32)     # sweeps left in this run
        starting = Signal()        # IDLE leaves for the first sweep (the sweeper's IDLE state)
        gain_stepped = Signal()    # both schedules have taken this sweep's step
        read_lane = Signal(g.lane_addr_bits)   # the lane of the last bus read (QP state words)
        m.d.sync += read_lane.eq(lane_sel)
        with m.If(~running):
            with m.If((start | start_pending) & (seeding == 0) & ~init):
                m.d.sync += start_pending.eq(0)
                with m.If((sweeps_to_run != 0) & (n_groups != 0)):
                    m.d.comb += starting.eq(1)
                    m.d.sync += remaining.eq(sweeps_to_run)
            with m.Elif(start):
                m.d.sync += start_pending.eq(1)
        sh = SimpleNamespace(write=write, region=region, index=index, lane_sel=lane_sel, init=init, seeding=seeding,
                             n_groups=n_groups, seed=seed, schedule=schedule, gain_schedule=gain_schedule,
                             gain_decoder=gain_decoder, schedules_busy=schedules_busy, remaining=remaining,
                             starting=starting, running=running, gain_stepped=gain_stepped, read_lane=read_lane,
                             bus_wdata=self.bus_wdata)

        # ---- counters ----------------------------------------------------------------------
        counters = {}
        preset_low = Signal(32)
        for counter, width in counter_increment_widths(g).items():
            c = SaturatingCounter(g.counter_bits, width, loadable=self.counter_preset)
            m.submodules[f"count_{counter.name.lower()}"] = c
            m.d.comb += c.clear.eq(init)
            if self.counter_preset:
                counter_write = write & (region == Region.COUNTERS)
                with m.If(counter_write & (index == 2 * counter)):
                    m.d.sync += preset_low.eq(self.bus_wdata)
                m.d.comb += [c.load.eq(counter_write & (index == 2 * counter + 1)),
                             c.load_value.eq(Cat(preset_low, self.bus_wdata))]
            counters[counter] = c


        # ---- the datapath and its sequencer --------------------------------------------------
        decisions, commit, state_word = self._sweeper(m, sh)

        # The gain driver's work dW = round(dg * U) at each gain step (params.gain_step), in a
        # pipeline: the decoder's (M, s) of the new and the old gain a cycle after the step, then
        # D = M' 2^(s - s') - M and U (no commit changes it before the next sweep's first; the
        # sweep's last has landed by then, below), then D |U|, then the rounded shift, registered
        # (the shift and the 48-bit counter's adder in one cycle were the compiled 32 x 32
        # lattice's critical path at 55 MHz: 19.3 ns), then the counter. It ends five cycles after
        # the step, before the shortest sweep (6 cycles) brings the next one.
        work_u = Signal(g.objective_bits)                     # |U| at the step
        work_out = Signal()                                   # U < 0: the array returns work
        work_step = Signal(GAIN_STEP_BITS)                    # D
        work_shift = Signal.like(gain_decoder.shift_before)   # s of the old gain
        work_product = Signal(GAIN_STEP_BITS + g.objective_bits)
        work_stage = Signal(5)                                # one bit per stage in flight
        m.d.sync += work_stage.eq(Mux(init, 0, Cat(gain_stepped, work_stage[:4])))
        with m.If(work_stage[0]):
            rise = (gain_decoder.shift_before - gain_decoder.shift)[:GAIN_STEP_SHIFT_BITS]   # octaves crossed
            m.d.sync += [work_step.eq((gain_decoder.mantissa << rise) - gain_decoder.mantissa_before),
                         work_shift.eq(gain_decoder.shift_before)]
        with m.If(work_stage[1]):
            m.d.sync += [work_u.eq(Mux(objective < 0, -objective, objective)), work_out.eq(objective < 0)]
        with m.If(work_stage[2]):
            m.d.sync += work_product.eq(work_step * work_u)
        work_now = Signal(GAIN_STEP_BITS + g.objective_bits)
        # the helper's logic is combinational: formed outside the If (inside, its assignments
        # became conditional, and Icarus never advanced)
        rounded = rounded_product(m, work_product, Const(1, 1), work_shift)
        with m.If(work_stage[3]):
            m.d.sync += work_now.eq(rounded)
        landing_work = Mux(work_stage[4], work_now, 0)
        m.d.comb += [counters[Counter.WORK_IN_Q4].increment.eq(Mux(work_out, 0, landing_work)),
                     counters[Counter.WORK_OUT_Q4].increment.eq(Mux(work_out, landing_work, 0))]

        m.d.comb += [
            counters[Counter.CYCLES].increment.eq(running),
            counters[Counter.SWEEPS].increment.eq(schedule.advance),
        ]
        # A commit's events reach the objective two cycles later and the counters (with more than
        # COUNTER_SUM_LANES lanes) three, through registers: each decision's events as it commits,
        # then their sums over the lanes (for the counters, over each COUNTER_SUM_LANES lanes first,
        # then over those). The hop leaves the decision late in the commit cycle, and a sum over 32
        # lanes, or a 48-bit counter's adder, takes most of a cycle (the compiled ULX3S builds'
        # critical paths, one after the other). The objective is read next by the gain step's
        # work (above), with no cycle to spare after the sweep's last commit: it takes its sum over
        # the lanes in one stage (its terms are the narrowest). The counters are read after busy
        # falls. One lane sums nothing and runs on the iCEBreaker, whose UP5K has no
        # cells to spare: its events go to the counters and the objective as it commits.
        objective_landed = Signal()
        counters_landed = Signal()
        landing = Signal()   # a commit's events are on their way to the counters
        if P > 1:
            committed = Signal()
            events = [SimpleNamespace(**{name: Signal(getattr(d, name).shape(), name=f"committed{k}_{name}")
                                         for name in COMMIT_EVENT_FIELDS}) for k, d in enumerate(decisions)]
            raise_q4 = Signal.like(schedule.raise_q4, name="committed_raise_q4")   # the barrier they were decided under
            m.d.sync += [committed.eq(commit), raise_q4.eq(schedule.raise_q4), objective_landed.eq(committed)]
            m.d.sync += [getattr(e, name).eq(getattr(d, name)) for e, d in zip(events, decisions)
                         for name in COMMIT_EVENT_FIELDS]
            parts = [commit_events(events[k:k + COUNTER_SUM_LANES], raise_q4, g.level_bits)
                     for k in range(0, P, COUNTER_SUM_LANES)]
            objective_change = balanced_sum(change for _, change in parts)
            objective_sum = Signal(objective_change.shape())
            m.d.sync += objective_sum.eq(objective_change)
            if len(parts) > 1:   # a stage more: each part's sums, registered
                parted = Signal()
                partial = [{c: Signal(value.shape(), name=f"part{k}_{c.name.lower()}") for c, value in increments.items()}
                           for k, (increments, _) in enumerate(parts)]
                m.d.sync += [parted.eq(committed)] + [partial[k][c].eq(value) for k, (increments, _) in enumerate(parts)
                                                       for c, value in increments.items()]
                increments = {c: balanced_sum(p[c] for p in partial) for c in partial[0]}
                m.d.comb += landing.eq(committed | parted | counters_landed)
            else:
                parted, increments = committed, parts[0][0]
                m.d.comb += landing.eq(committed | counters_landed)
            sums = {c: Signal(counters[c].increment_width, name=f"summed_{c.name.lower()}") for c in increments}
            m.d.sync += [counters_landed.eq(parted)] + [sums[c].eq(value) for c, value in increments.items()]
        else:
            sums, objective_sum = commit_events(decisions, schedule.raise_q4, g.level_bits)
            m.d.comb += [objective_landed.eq(commit), counters_landed.eq(commit)]
        with m.If(counters_landed):
            m.d.comb += [counters[c].increment.eq(value) for c, value in sums.items()]
        with m.If(objective_landed):
            m.d.sync += objective.eq(objective + objective_sum)
        m.d.comb += self.busy.eq(running | (control != 0) | (seeding != 0) | start_pending | (work_stage != 0) | landing)

        # ---- bus read-back (registered, one cycle) -------------------------------------------
        regs_rdata = Signal(32)
        read_state = Signal()
        m.d.sync += read_state.eq(region == Region.STATE)
        saturated = Cat(counters[c].saturated for c in Counter)
        with m.Switch(region):
            with m.Case(Region.REGS):
                with m.Switch(index):
                    readable = {**settings, Reg.STATUS: self.busy, Reg.SATURATED: saturated,
                                Reg.BARRIER: schedule.value_q4, Reg.GAIN: gain_schedule.value_q4,
                                Reg.GEOMETRY: P | (g.groups << 8),
                                Reg.OBJECTIVE: objective_words[:32], Reg.OBJECTIVE_HIGH: objective_words[32:]}
                    for reg, sig in readable.items():
                        with m.Case(reg):
                            m.d.sync += regs_rdata.eq(sig)
                    with m.Default():
                        m.d.sync += regs_rdata.eq(0)
            with m.Case(Region.COUNTERS):
                with m.Switch(index):
                    for counter in Counter:
                        value = counters[counter].value
                        with m.Case(2 * counter):
                            m.d.sync += regs_rdata.eq(value[:32])
                        with m.Case(2 * counter + 1):
                            m.d.sync += regs_rdata.eq(value[32:])
                    with m.Default():
                        m.d.sync += regs_rdata.eq(0)
            with m.Default():
                m.d.sync += regs_rdata.eq(0)
        m.d.comb += self.bus_rdata.eq(Mux(read_state, state_word, regs_rdata))
        return m


    def _sweeper(self, m, sh):
        """The datapath and its sequencer: P lanes keeping fields in banks that apply the hops'
        entries themselves. Returns the decisions, the commit strobe, and the state word read at
        the bus address (a cycle after it is set)."""
        g = self.geometry
        P = g.lanes
        write, region, index, lane_sel = sh.write, sh.region, sh.index, sh.lane_sel
        n_groups, schedule, gain_schedule, seeding, init = sh.n_groups, sh.schedule, sh.gain_schedule, sh.seeding, sh.init
        L = g.level_bits
        m.submodules.state = state = Memory(shape=P * L, depth=g.groups, init=[])
        state_w = state.write_port(granularity=L)   # a QP level can be written alone
        own_r = state.read_port()
        # The fields follow the state and the program: a write to either makes them stale, and the
        # next start recomputes them first.
        fields_stale = Signal(init=1)
        with m.If(write & ((region == Region.STATE) | (region == Region.CELLS) | (region == Region.LINKS)
                           | (region == Region.DEGREES) | (region == Region.EDGES)
                           | ((region == Region.REGS) & (index == Reg.N_GROUPS)))):
            m.d.sync += fields_stale.eq(1)

        fetch_group = Signal(g.row_bits)   # the group whose cells the memories read this cycle
        lanes = []
        table_ports = []
        for k in range(0, P, 2):   # one exp(-a) table per two decisions, a read port each
            m.submodules[f"hop_table{k // 2}"] = table = hop_table()
            table_ports += [table.read_port(), table.read_port()]
        for i in range(P):
            lane = Lane(g, i, table_ports[i])
            m.submodules[f"lane{i}"] = lane
            lanes.append(lane)
            m.d.comb += [
                lane.group.eq(fetch_group),
                lane.fresh_value.eq(own_r.data.word_select(i, L)),
                lane.bus_index.eq(index), lane.bus_wdata.eq(self.bus_wdata),
                lane.cell_we.eq(write & (region == Region.CELLS) & (lane_sel == i)),
                lane.links_we.eq(write & (region == Region.LINKS) & (lane_sel == i)),
                lane.degrees_we.eq(write & (region == Region.DEGREES) & (lane_sel == i)),
                lane.edge_we.eq(write & (region == Region.EDGES) & (lane_sel == i)),
                lane.box_we.eq(write & (region == Region.BOXES) & (lane_sel == i)),
                lane.own_we.eq(write & (region == Region.OWN) & (lane_sel == i)),
            ]
            drive_run_inputs(m, sh, lane)

        decisions = [lane.decision for lane in lanes]

        # ---- the source buffers: every commit (the field pass: every load) latches its sources,
        # none or some, into buffer ``fill``, which is free then (no bank has sources of it
        # pending: hdl/lane.py, FieldBank); only a group with sources moves ``fill`` on, so the
        # groups with sources take the buffers in turn. The hop decisions thus reach the banks'
        # pending bits without the OR over the lanes in between (that OR, then ``fill``'s
        # multiplexers into all 32 banks, was the ULX3S build's critical path) ----------------
        latch = Signal()    # a commit or a field load: buffer ``fill`` takes the sources
        filled = Signal()   # ... and it holds some: ``fill`` moves on
        fill = Signal(buffer_bits(g))
        buffers = Signal(source_buffers(g))
        moved, moved_buffer = Signal(), Signal(buffer_bits(g))   # the latch of the cycle before held sources, there
        m.d.sync += [moved.eq(filled), moved_buffer.eq(fill)]
        with m.If(filled):
            m.d.sync += fill.eq(fill + 1)
        with m.If(latch):
            for i, lane in enumerate(lanes):
                m.d.sync += [buffers.base[fill][i].eq(lane.source_base), buffers.dv[fill][i].eq(lane.source_dv)]
        sources = Cat(lane.source for lane in lanes)
        pending = Array(Cat(lane.pending[k] for lane in lanes).any() for k in range(g.source_buffers))
        settled = Signal()   # no bank has a source to walk or a field to change
        m.d.comb += settled.eq(~Cat(lane.busy for lane in lanes).any())
        filling_free = Signal()   # the buffer the next latch fills is free
        m.d.comb += filling_free.eq(~pending[fill])

        # ---- sweep sequencer ---------------------------------------------------------------
        # A sweep's groups stream through three stages, a new one every cycle within a colour:
        # LOAD (its cells as fetched in the cycle before), DECIDE, COMMIT. ``group`` is the next
        # group to load; a cycle that loads one fetches the group after it.
        group = Signal(g.row_bits)
        bias_row = Signal(g.row_bits + 1)   # field pass: the group whose bias is read
        commit = Signal()
        field_pass = Signal()     # the field pass is running (else a sweep)
        last_group = Signal()     # the group committed last is the sweep's last
        stream = Signal()         # a group loads this cycle (a sweep's)
        loading_end = Signal()    # ... and it is its colour's last (or the sweep's)
        ending = Signal()         # the colour's last group has loaded: none loads until it settles
        deciding, committing = Signal(), Signal()   # a group is in that stage
        decided_group, committed_group = Signal(g.row_bits), Signal(g.row_bits)
        decided_end, committed_end = Signal(), Signal()
        m.d.sync += [deciding.eq(stream), committing.eq(deciding),
                     decided_group.eq(group), committed_group.eq(decided_group),
                     decided_end.eq(loading_end), committed_end.eq(decided_end)]
        m.d.comb += [loading_end.eq(lanes[0].loading_colour_end | (group == n_groups - 1)), commit.eq(committing)]
        # A group may load in the next cycle if the buffer it would fill is free now, counting
        # every group in flight (committing, deciding, loading) as one with sources: the
        # buffers between ``fill`` and that one are then free too (the banks free them in turn),
        # and none of them is latched into before its commit. Registered, so that the banks'
        # pending bits do not reach every lane's load in one cycle.
        may_load = Signal()
        m.d.sync += may_load.eq(~pending[(fill + committing + deciding + stream)[:buffer_bits(g)]])
        m.d.comb += [fetch_group.eq(group + stream), own_r.addr.eq(fetch_group)]
        for lane in lanes:
            m.d.comb += [lane.field_pass.eq(field_pass), lane.latch.eq(latch), lane.fill.eq(fill),
                         lane.sources.eq(sources), lane.buffers.eq(buffers),
                         lane.moved.eq(moved), lane.moved_buffer.eq(moved_buffer),
                         lane.own_addr.eq(decided_group), lane.decide.eq(deciding)]

        with m.FSM() as fsm:
            with m.State("IDLE"):
                m.d.comb += own_r.addr.eq(index)
                write_state = write & (region == Region.STATE)
                if g.qp:   # one lane's level: STATE, lane, group
                    m.d.comb += [state_w.addr.eq(index), state_w.data.eq(self.bus_wdata[:L].replicate(P)),
                                 state_w.en.eq(Mux(write_state & (lane_sel < P), 1 << lane_sel, 0))]
                else:      # a row of spins: STATE, group
                    m.d.comb += [state_w.addr.eq(index), state_w.data.eq(self.bus_wdata),
                                 state_w.en.eq(write_state.replicate(P))]
                with m.If(sh.starting):
                    m.d.sync += [group.eq(0), bias_row.eq(0)]
                    with m.If(fields_stale):
                        m.d.sync += field_pass.eq(1)
                        m.next = "FIELD_BIAS"
                    with m.Else():
                        m.next = "FETCH"

            # -- the field pass: field = bias, then every cell's entries with its value as dv ------
            with m.State("FIELD_BIAS"):
                m.d.comb += fetch_group.eq(bias_row)
                m.d.comb += [lane.bias_we.eq(bias_row != 0) for lane in lanes]
                m.d.sync += bias_row.eq(bias_row + 1)
                with m.If(bias_row == n_groups):
                    m.next = "FIELD_FETCH"
            with m.State("FIELD_FETCH"):   # reads the group's cells until a buffer is free for them
                with m.If(filling_free):
                    m.next = "FIELD_LOAD"
            with m.State("FIELD_LOAD"):
                m.d.comb += [lane.load.eq(1) for lane in lanes]
                with m.If(group == n_groups - 1):
                    m.d.sync += group.eq(0)
                    m.next = "SETTLE"
                with m.Else():
                    m.d.sync += group.eq(group + 1)
                    m.next = "FIELD_FETCH"

            # -- a sweep: the groups of a colour stream through load, decide and commit; their hops'
            # entries are walked by the banks while the colour's next groups decide; a colour's
            # end waits for its fields ----------------------------------------------------------
            with m.State("FETCH"):
                m.d.sync += ending.eq(0)
                m.next = "STREAM"
            with m.State("STREAM"):
                # without streaming, a group loads once the one before has committed
                m.d.comb += stream.eq(may_load & ~ending & (1 if g.streaming else ~(deciding | committing)))
                with m.If(stream):
                    m.d.comb += [lane.load.eq(1) for lane in lanes]
                    m.d.sync += [group.eq(group + 1), ending.eq(loading_end)]
                with m.If(committing):
                    m.d.comb += [state_w.addr.eq(committed_group),
                                 state_w.data.eq(Cat(d.next_value for d in decisions)),
                                 state_w.en.eq((1 << P) - 1)]
                    m.d.sync += last_group.eq(committed_group == n_groups - 1)
                    with m.If(committed_end):
                        m.next = "SETTLE"
            with m.State("SETTLE"):   # reads the next colour's first cells (or nothing) until the fields settle
                m.d.sync += ending.eq(0)
                with m.If(settled):
                    with m.If(field_pass):
                        m.d.sync += [field_pass.eq(0), fields_stale.eq(0)]
                        m.next = "STREAM"
                    with m.Elif(last_group):
                        m.next = "SWEEP_END"
                    with m.Else():
                        m.next = "STREAM"

            sweep_end_states(m, sh, group, "FETCH")
        m.d.comb += sh.running.eq(~fsm.ongoing("IDLE"))
        # the latch decoded from the state, not set inside the states: Icarus re-ran the states'
        # process without end once its output reached the buffers and the banks
        m.d.comb += [latch.eq(committing | fsm.ongoing("FIELD_LOAD")), filled.eq(latch & (sources != 0))]
        state_word = own_r.data.word_select(sh.read_lane, L) if g.qp else own_r.data
        return decisions, commit, state_word
