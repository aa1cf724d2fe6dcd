"""A literal, slow reading of docs/architecture.md: group by group, lane by lane, edge by edge.

It exists to check the golden model (fields kept hop by hop in a compiled kernel, colour batching,
batched PRNG streams, the schedules' interplay) against the contract as written, on small
problems. Each attempt sums its field afresh from the neighbours' states, as a compute-in-memory
cell does, reading the couplings from the memory images the host writes (the update rows: the
entries in lane l naming group g are the couplings of cell (g, l)). It shares only the contract's
constants and primitives (table, PRNG step, schedule generator) with the golden model.
"""
from fractions import Fraction
from math import floor

from lim.hdl.params import (BARRIER_BITS, GAIN_SHIFT_MAX, QP_GAIN_SHIFT, TABLE_DEPTH, Counter,
                            gain_mantissa_table, hop_probability_table, lane_prng_state, xoshiro_next,
                            xoshiro_output)
from lim.sim.golden import ScheduleModel

TABLE = hop_probability_table()
MANTISSA = gain_mantissa_table()


def sixteen_gain(gain_log, qp):
    """16 x the gain of register value L, exactly: M(L mod 256) / 2^(31 - L div 256), for QP
    cells 2^(34 - L div 256)."""
    return Fraction(MANTISSA[gain_log % 256], 2 ** (GAIN_SHIFT_MAX + (QP_GAIN_SHIFT if qp else 0) - gain_log // 256))


def rounded(x):
    """x to the nearest integer, halves away from zero."""
    magnitude = floor(abs(x) + Fraction(1, 2))
    return -magnitude if x < 0 else magnitude


class _Bank:
    """A field bank's walk, register by register (hdl/lane.py, FieldBank): the sources pending in
    each buffer (their first rows), the buffers latched that it has not passed, the buffer walked,
    the row read in the cycle before."""

    def __init__(self, program, column):
        self.last = program.entry_last[:, column]
        self.weight = program.entry_weight[:, column]
        self.buffers = program.geometry.source_buffers
        self.pending = [[] for _ in range(self.buffers)]
        self.full = [False] * self.buffers
        self.current = 0
        self.issued = False
        self.row = 0
        self.staged = False

    def holds(self, k):
        return bool(self.pending[k]) or self.full[k]

    def busy(self):
        return self.issued or self.staged or any(self.holds(k) for k in range(self.buffers))

    def own(self, first_row):
        """Whether a source whose rows start at ``first_row`` has an entry in this bank (its first
        one here is not the single empty one)."""
        return not (self.last[first_row] and self.weight[first_row] == 0)

    def clock(self, latch, moved, sweep):
        """One cycle. ``latch``: (buffer, first rows) the array latches at its end, or None (in a
        sweep the bank keeps the sources with entries of its own); ``moved``: the buffer the
        latch of the cycle before filled with sources, or None."""
        ready = not self.issued or bool(self.last[self.row])
        buffer = self.current
        self.staged = self.issued
        passed = None
        if ready and self.pending[buffer]:
            self.row = self.pending[buffer].pop(0)
            if not self.pending[buffer]:   # the next buffer holds the next group (or will)
                self.current, passed = (buffer + 1) % self.buffers, buffer
            self.issued = True
        else:
            self.issued = not ready
            if not ready:
                self.row += 1
            if not self.pending[buffer] and self.full[buffer]:   # latched, none of its own: passed
                self.current, passed = (buffer + 1) % self.buffers, buffer
        if moved is not None:
            self.full[moved] = True
        if passed is not None:
            self.full[passed] = False
        if latch is not None:
            assert not self.holds(latch[0]), "a commit wrote into a buffer a bank still held"
            self.pending[latch[0]] = [row for row in latch[1] if not sweep or self.own(row)]


def stream(program, sources, field_pass=False):
    """The cycles of a sweep (up to its end) or of the field pass after its biases (up to the cycle
    that fetches the sweep's first group), stepped cycle by cycle: the sequencer's states and each
    field bank's walk of the ``sources`` (lanes per group) that have update rows."""
    P, G, K = program.geometry.lanes, program.n_groups, program.geometry.source_buffers
    streaming = program.geometry.streaming
    banks = [_Bank(program, column) for column in range(program.geometry.columns)]
    ends = {g1 - 1 for _, g1 in program.colour_groups}
    state = "FETCH_F" if field_pass else "FETCH"
    group, fill, cycle = 0, 0, 0
    may_load, ending, last = False, False, False
    moved = None   # the buffer the latch of the cycle before filled with sources
    deciding = committing = None   # the group in that stage
    while True:
        free = [not any(bank.holds(k) for bank in banks) for k in range(K)]
        settled = not any(bank.busy() for bank in banks)
        latch = None
        loading = None
        if state == "FETCH_F":
            state = "LOAD_F" if free[fill] else state
        elif state == "LOAD_F":
            # every load and commit writes its sources (none or some) into buffer ``fill``: it
            # must be free then (the bank asserts it); only a group with sources moves ``fill`` on
            latch = (fill, [program.base[group, lane] for lane in sources[group] if program.rows[group, lane]])
            group += 1
            state = "SETTLE" if group == G else "FETCH_F"
        elif state == "FETCH":
            state, ending = "STREAM", False
        elif state == "STREAM":
            # the group fetched in the cycle before loads (without streaming, once none is in flight)
            if may_load and not ending and (streaming or deciding is None and committing is None):
                loading = group
                ending = group in ends or group == G - 1
                group += 1
            if committing is not None:
                latch = (fill, [program.base[committing, lane] for lane in sources[committing]
                                if program.rows[committing, lane]])
                last = committing == G - 1
                if committing in ends or last:
                    state = "SETTLE"
        elif state == "SETTLE":
            ending = False
            if settled:
                if field_pass:
                    return cycle
                if last:
                    return cycle + 1
                state = "STREAM"
        # the next group may load if the buffer it would fill, every group in flight counted as one
        # with sources, is free now
        in_flight = (committing is not None) + (deciding is not None) + (loading is not None)
        may_load = free[(fill + in_flight) % K]
        committing, deciding = deciding, loading
        for bank in banks:
            bank.clock(latch, moved, not field_pass)
        moved = None
        if latch is not None and latch[1]:
            moved, fill = fill, (fill + 1) % K
        cycle += 1


def run_naive(program, initial_bits, config, sweeps):
    P = program.geometry.lanes
    qp = program.geometry.qp
    rows = program.spins_to_rows(initial_bits).tolist()
    prng = [lane_prng_state(config.seed, lane) for lane in range(P)]
    barrier_schedule = ScheduleModel(config.schedule, config.barrier_start_q4, config.barrier_end_q4,
                                     config.rate, BARRIER_BITS, config.barrier_hold,
                                     logarithmic=program.geometry.logarithmic_barrier)
    gain_schedule = ScheduleModel.gain(config)
    objective = program.objective_register(initial_bits)
    totals = {c: 0 for c in Counter}
    G = program.n_groups
    # the owner (group, lane) of every update row, from the LINKS words
    owner = {}
    for g in range(G):
        for lane in range(P):
            for r in range(int(program.base[g, lane]), int(program.base[g, lane]) + int(program.rows[g, lane])):
                owner[r] = (g, lane)
    # the field pass of the first start: biases, then every valid cell's entries
    valid_sources = [[lane for lane in range(P) if program.valid[g, lane]] for g in range(G)]
    totals[Counter.CYCLES] += (G + 1) + stream(program, valid_sources, field_pass=True) if sweeps else 0
    for _ in range(sweeps):
        barrier = barrier_schedule.value_q4
        gain = sixteen_gain(gain_schedule.value_q4, qp)
        hopped = []
        for g in range(G):
            moves = [0] * P
            for lane in range(P):
                first = xoshiro_output(prng[lane])      # taken at load, before the step
                prng[lane] = xoshiro_next(prng[lane])
                draw = xoshiro_output(prng[lane])       # taken at decide, before the step
                prng[lane] = xoshiro_next(prng[lane])
                if not program.valid[g, lane]:
                    continue
                field = int(program.bias[g, lane])
                column = lane * program.geometry.field_banks + g % program.geometry.field_banks   # its field's bank
                for e in range(program.update_rows):
                    w = int(program.entry_weight[e, column])
                    if w == 0 or int(program.entry_group[e, column]) != g:
                        continue
                    totals[Counter.READS] += 1
                    source_group, source_lane = owner[e]
                    value = rows[source_group][source_lane]
                    if qp:
                        field += w * value
                    else:
                        field += w if value else -w
                level = rows[g][lane]
                if qp:
                    d = 1 if first & 1 else -1
                    t = 2 * d * field + int(program.diagonal[g, lane])
                    allowed = level < program.high[g, lane] if d > 0 else level > program.low[g, lane]
                else:
                    d = 1 - 2 * level            # a flip
                    t = (1 if level else -1) * field
                    allowed = True
                y = rounded(gain * t)            # half the climb, Q.4 kT
                if y > 0:                        # uphill: from the barrier top, or the whole climb
                    a = max(barrier + y, 2 * y)
                else:                            # downhill
                    a = barrier + y
                r = draw >> 16
                bits = format(first, "032b")[:31] + format(draw, "032b")[16:]   # the run: 47 bits, top first
                if a <= 0:
                    passes = True
                elif a < TABLE_DEPTH:
                    mantissa, halvings = TABLE[a]
                    passes = "1" not in bits[:halvings] and r < mantissa
                else:
                    passes = False
                hop = allowed and passes
                drop = -2 * y
                totals[Counter.ATTEMPTS] += 1
                totals[Counter.BARRIER_Q4] += barrier_schedule.raise_q4 * program.geometry.level_bits
                if hop:
                    moves[lane] = d
                    objective += 2 * t
                    totals[Counter.HOPS] += 1
                    if drop > 0:
                        totals[Counter.DROP_Q4] += drop
                    elif drop < 0:
                        totals[Counter.UPHILL_HOPS] += 1
                        totals[Counter.CLIMB_Q4] += -drop
            rows[g] = [v + m for v, m in zip(rows[g], moves)]
            hopped.append([lane for lane in range(P) if moves[lane]])
        totals[Counter.CYCLES] += stream(program, hopped)
        totals[Counter.SWEEPS] += 1
        totals[Counter.CYCLES] += max(barrier_schedule.advance(), gain_schedule.advance())
        work = rounded((sixteen_gain(gain_schedule.value_q4, qp) - sixteen_gain(gain_schedule.value_before, qp)) * objective)
        totals[Counter.WORK_IN_Q4 if work > 0 else Counter.WORK_OUT_Q4] += abs(work)
    return rows, totals, objective
