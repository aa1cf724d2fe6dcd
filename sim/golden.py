"""Bit-exact model of the LIM array (docs/architecture.md is the contract).

Spin arrays sweep in a compiled kernel (sim/kernel.py) on local fields kept up to date hop by
hop. QP arrays are vectorised over a colour class at a time: cells of one colour are not coupled,
so the hardware's group-by-group order within a colour cannot change any local field, and all of
them are decided at once. The per-lane xoshiro128++ generators of all runs step together, one
group at a time.
"""
from dataclasses import dataclass, field

import numpy as np

from ..hdl.params import (ACC_FRAC_BITS, ARG_FRAC_BITS, BARRIER_BITS, COMPILED_DRAIN_CYCLES,
                          GAIN_ACC_EXTRA_BITS, GAIN_BITS, GAIN_RATE_BITS, LOG_STEP_MULT, LOG_THRESHOLD_BITS,
                          Counter, Reg, Schedule, gain_operands, gain_product, gain_step, decision_draws, hop_decision, hop_exponent, hop_probability_table,
                          lane_prng_state, xoshiro_next, xoshiro_output)

__all__ = ["RunConfig", "Snapshot", "ScheduleModel", "GoldenArray", "compiled_sweep_cycles", "end_of_sweep_cycles",
           "field_pass_cycles", "work_increment"]

_TABLE = np.array(hop_probability_table(), dtype=np.int64)   # (m, e) per exponent


@dataclass(frozen=True)
class RunConfig:
    """What the host programs before a run (register values, fixed point as in the RTL).

    Two schedules: the barrier (``schedule``, ``barrier_*``, ``rate``, ``barrier_hold``) sets the
    mobility and the consolidation; the gain (``gain_*``) is the inverse temperature.
    """
    seed: int = 1
    gain_log: int = 26 << 8           # the gain at init (GAIN_START, its logarithm L: 1 kT per unit)
    schedule: Schedule = Schedule.LOGARITHMIC
    barrier_start_q4: int = 0
    barrier_end_q4: int = 160         # 10 kT
    rate: int = 4                     # meaning depends on the schedule, see ScheduleModel
    gain_schedule: Schedule = Schedule.CONSTANT
    gain_end_log: int = (1 << GAIN_BITS) - 1
    gain_rate: int = 0                # exponential: octaves per sweep, Q.28
    barrier_hold: int = 0             # sweeps at barrier_start before the barrier schedule runs

    def registers(self):
        """{Reg: value} the host writes for this configuration (before CONTROL.init)."""
        return {
            Reg.SEED: self.seed & 0xFFFFFFFF,
            Reg.BARRIER_KIND: int(Schedule(self.schedule)), Reg.BARRIER_START: self.barrier_start_q4,
            Reg.BARRIER_END: self.barrier_end_q4, Reg.BARRIER_RATE: self.rate & 0xFFFFFFFF,
            Reg.BARRIER_HOLD: self.barrier_hold & 0xFFFFFFFF,
            Reg.GAIN_KIND: int(Schedule(self.gain_schedule)), Reg.GAIN_START: self.gain_log,
            Reg.GAIN_END: self.gain_end_log, Reg.GAIN_RATE: self.gain_rate & 0xFFFFFFFF,
        }


@dataclass
class Snapshot:
    """The observable result at a checkpoint: state rows, counters (saturated as the RTL shows
    them), the two schedules' values and the objective register."""
    rows: np.ndarray
    counters: dict
    saturated: int
    barrier_q4: int
    gain_log: int = None
    objective: int = None
    trace: dict = field(default_factory=dict)

    #: The registers read back at every checkpoint, besides the state and the counters.
    REGS = (Reg.SATURATED, Reg.BARRIER, Reg.GAIN, Reg.OBJECTIVE, Reg.OBJECTIVE_HIGH)

    @classmethod
    def from_bus(cls, geometry, state_words, counter_words, reg_words):
        """Decode what the array's bus reads back: the state words at
        ``geometry.state_addresses``, the counters as 2 words each, low word first, and the
        words of ``REGS`` in that order (docs/architecture.md, Bus)."""
        regs = dict(zip(cls.REGS, reg_words))
        if geometry.qp:   # lane by lane, one level per word (ArrayGeometry.state_addresses)
            rows = np.array(state_words, dtype=np.uint8).reshape(geometry.lanes, -1).T.copy()
        else:
            rows = np.array([[(w >> lane) & 1 for lane in range(geometry.lanes)] for w in state_words],
                            dtype=np.uint8).reshape(-1, geometry.lanes)
        counters = {c: counter_words[2 * c] | (counter_words[2 * c + 1] << 32) for c in Counter}
        low, high = regs[Reg.OBJECTIVE], regs[Reg.OBJECTIVE_HIGH]
        objective = (low | (high << 32)) - ((high >> 31) << 64)   # sign-extended high word
        return cls(rows, counters, regs[Reg.SATURATED], regs[Reg.BARRIER], regs[Reg.GAIN], objective)


class ScheduleModel:
    """Mirror of hdl/schedule.py: a schedule's value per sweep and the cycles each update takes.

    The same generator drives the barrier (12-bit Q8.4 kT, with a hold) and the gain (its 13-bit
    logarithm L, whose geometric schedule is the linear kind of L).
    """

    def __init__(self, kind, start, end, rate, value_bits, hold=0, logarithmic=True, exponential=True,
                 extra_bits=ACC_FRAC_BITS - ARG_FRAC_BITS):
        self.kind = Schedule(kind)
        self.logarithmic = logarithmic   # without it, the logarithmic kind holds the value
        self.exponential = exponential   # without it, the exponential kind holds the value
        self.value_bits = value_bits
        self.shift = extra_bits
        self.end_acc = end << self.shift
        self.rate = rate & 0xFFFFFFFF
        self.acc = start << self.shift
        self.raise_q4 = start
        self.hold = hold & 0xFFFFFFFF
        self.held = 0
        self.sweeps = 0
        self.threshold = self.rate * LOG_STEP_MULT

    @classmethod
    def barrier(cls, config, logarithmic=True):
        """The barrier's generator (``logarithmic``: the geometry has that kind)."""
        return cls(config.schedule, config.barrier_start_q4, config.barrier_end_q4, config.rate,
                   BARRIER_BITS, config.barrier_hold, logarithmic=logarithmic)

    @classmethod
    def gain(cls, config):
        """The gain's generator: geometric (EXPONENTIAL) is L's linear ramp; other kinds hold L."""
        kind = Schedule.LINEAR if config.gain_schedule == Schedule.EXPONENTIAL else Schedule.CONSTANT
        return cls(kind, config.gain_log, config.gain_end_log, config.gain_rate & ((1 << GAIN_RATE_BITS) - 1),
                   GAIN_BITS, logarithmic=False, exponential=False, extra_bits=GAIN_ACC_EXTRA_BITS)

    @property
    def value_q4(self):
        """The value the array sees (the barrier in Q.4 kT; the gain's logarithm L)."""
        return self.acc >> self.shift

    @property
    def value_before(self):
        """The value before the last step."""
        return self.value_q4 - self.raise_q4

    def advance(self):
        """Advance past one completed sweep; return the cycles the RTL's end of sweep takes with
        this schedule alone (SWEEP_END on)."""
        before = self.value_q4
        if self.held < self.hold:
            self.held += 1
            self.raise_q4 = 0
            return 2
        self.sweeps += 1
        if self.kind == Schedule.LOGARITHMIC and self.logarithmic:
            steps = 0
            limit = (1 << LOG_THRESHOLD_BITS) - 1
            while ((self.sweeps + self.rate) << 16) >= self.threshold and self.acc < self.end_acc:
                self.acc += 1 << self.shift
                self.threshold = min((self.threshold * LOG_STEP_MULT) >> 16, limit)
                steps += 1
            cycles = steps + 3
        else:
            if self.kind == Schedule.LINEAR:
                nxt = self.acc + self.rate
            elif self.kind == Schedule.EXPONENTIAL and self.exponential:
                nxt = self.acc + ((self.acc * (self.rate & 0xFFFF)) >> 16)
            else:
                nxt = self.acc
            self.acc = min(nxt, self.end_acc)
            cycles = 2
        self.raise_q4 = (self.value_q4 - before) & ((1 << self.value_bits) - 1)
        return cycles


def end_of_sweep_cycles(barrier, gain):
    """Advance both schedules; the RTL's SCHEDULE state waits for the slower one."""
    return max(barrier.advance(), gain.advance())


def compiled_sweep_cycles(program):
    """Cycles a compiled array's sweep spends in its groups (hdl/compiled.py): from the first's
    issue to the last's (Program.compiled_issue: a group waits for the groups it reads), and the
    drain after the last."""
    return int(program.compiled_issue()[-1]) + 1 + COMPILED_DRAIN_CYCLES if program.n_groups else 0


def field_pass_cycles(program):
    """Cycles of the field pass a start makes after the program or the state was written
    (kernel.field_pass_cycles: every valid cell a source; docs/architecture.md, Cycle count)."""
    from .kernel import field_pass_cycles as cycles
    g = program.geometry
    return int(cycles(program.valid.reshape(-1), program.stream_costs(), program.n_groups, g.lanes, g.source_buffers))


def work_increment(gain_before, gain_after, objective, qp=False):
    """(WORK_IN, WORK_OUT) increments of one gain step from L = ``gain_before`` to ``gain_after``:
    dg * U rounded to Q.4 kT, by the sign of U (params.gain_step)."""
    step, shift = gain_step(gain_before, gain_after, qp)
    work = int(gain_product(objective, step, shift))
    return (work, 0) if work > 0 else (0, -work)


class _ColourClass:
    """Precomputed gather/scatter indices for one colour's groups."""

    def __init__(self, program, g0, g1, dense):
        P = program.geometry.lanes
        self.g0, self.g1 = g0, g1
        self.slots = np.arange(g0 * P, g1 * P)
        self.valid = program.valid[g0:g1].reshape(-1)
        self.bias = program.bias[g0:g1].reshape(-1)
        if program.geometry.qp:
            self.diagonal, self.low, self.high = (a[g0:g1].reshape(-1) for a in
                                                  (program.diagonal, program.low, program.high))
        source, target, weight = program.couplings()
        mine = (target >= g0 * P) & (target < g1 * P)
        self.edge_local = target[mine] - g0 * P      # the field changed, in this colour's slots
        self.edge_nbr = source[mine]                 # by the value of this slot
        self.edge_w = weight[mine].astype(np.float64)
        self.reads = int(program.reads[g0:g1][program.valid[g0:g1]].sum())
        self.size = len(self.slots)
        if dense:
            # couplings from every slot into this colour's slots: fields = spins (R x S) @ this (S x size)
            self.matrix = np.zeros((program.n_groups * P, self.size))
            np.add.at(self.matrix, (self.edge_nbr, self.edge_local), self.edge_w)

    def fields(self, spin_pm):
        """Local fields (R, size) for cell values (R, slots): spins in {-1, +1} or QP levels;
        exact integers."""
        if hasattr(self, "matrix"):
            f = spin_pm @ self.matrix
        else:
            R = spin_pm.shape[0]
            index = (np.arange(R)[:, None] * self.size + self.edge_local[None, :]).reshape(-1)
            values = (self.edge_w[None, :] * spin_pm[:, self.edge_nbr]).reshape(-1)
            f = np.bincount(index, weights=values, minlength=R * self.size).reshape(R, self.size)
        return self.bias[None, :] + np.rint(f).astype(np.int64)


class GoldenArray:
    """The array's behaviour, run in sweeps; ``init`` and ``run`` mirror the RTL's control bits.

    Several independent runs of one program (seeds, start states, configs) advance together when
    ``initial_spins_bits`` is 2-D (runs x spins) and ``config`` a list; each run is exactly what
    the RTL computes for it alone. Local fields then are one matrix product per colour.
    """
    DENSE_LIMIT = 4096  # slots up to which couplings are held as a dense matrix

    def __init__(self, program, initial_spins_bits, config=RunConfig(), compiled=False):
        if compiled and program.geometry.qp:
            raise ValueError("a compiled array holds spin problems")
        self.compiled = compiled   # the problem-compiled array (hdl/compiled.py): only its cycles differ
        self.program = program
        self.geometry = program.geometry
        bits = np.asarray(initial_spins_bits)
        self.batched = bits.ndim == 2
        bits = bits if self.batched else bits[None, :]
        self.runs = bits.shape[0]
        self.rows = np.stack([program.spins_to_rows(b) for b in bits])          # (R, G, P)
        # a matrix product pays off across runs; a single run gathers its couplings instead
        dense = self.runs > 1 and program.n_groups * self.geometry.lanes <= self.DENSE_LIMIT
        self.classes = [_ColourClass(program, g0, g1, dense and self.geometry.qp) for g0, g1 in program.colour_groups]
        from . import kernel   # Numba: the spin sweep and every sweep's cycles
        self._kernel = kernel
        self._costs = program.stream_costs(skipping=True)   # a sweep's (the field pass walks every source)
        self._bounds = np.array(program.colour_groups, dtype=np.int64).reshape(-1, 2)
        if not self.geometry.qp:   # spins: the compiled sweep (sim/kernel.py) on local fields
            self._neighbours = kernel.neighbour_lists(self.rows.shape[1] * self.rows.shape[2],
                                                      *program.couplings())
            self._groups = np.concatenate([np.arange(g0, g1) for g0, g1 in program.colour_groups]).astype(np.int64)
            self._valid = np.concatenate([cls.valid for cls in self.classes]).astype(np.bool_)
            flat = self.rows.reshape(self.runs, -1)
            self._fields = np.zeros(flat.shape, dtype=np.int64)
            for cls in self.classes:
                self._fields[:, cls.slots] = cls.fields(flat.astype(np.float64) * 2 - 1)
        # the objective register as the host writes it with the state: U, or 4U for QP cells
        self.objective = np.array([program.objective_register(b) for b in bits], dtype=object)
        # a compiled array's pipeline (compiled_sweep_cycles); the programmable array's sweep
        # depends on its hops (kernel.sweep_cycles)
        self.group_cycles = compiled_sweep_cycles(program) if compiled else 0
        self.fields_stale = not compiled   # the host has just written the program and the state
        self.init(config)

    def init(self, config):
        """CONTROL.init: counters to zero, schedule to its start, PRNGs reseeded."""
        configs = list(config) if isinstance(config, (list, tuple)) else [config] * self.runs
        if len(configs) != self.runs:
            raise ValueError(f"{len(configs)} configs for {self.runs} runs")
        self.configs = configs
        self.config = configs[0]
        self.schedules = [ScheduleModel.barrier(c, self.geometry.logarithmic_barrier) for c in configs]
        self.schedule = self.schedules[0]
        self.gain_schedules = [ScheduleModel.gain(c) for c in configs]
        # (4, R, P): the xoshiro128++ words s0..s3 of every lane of every run
        self.prng = np.array([[lane_prng_state(c.seed, lane) for lane in range(self.geometry.lanes)]
                              for c in configs], dtype=np.uint32).transpose(2, 0, 1).copy()
        self._totals = {c: np.zeros(self.runs, dtype=object) for c in Counter}

    def preset_counters(self, values):
        """Start counters at ``values`` ({Counter: value}), as a counter_preset build's bus
        writes after init do: a test reaches 2^32 and saturation without running for years."""
        for counter, value in values.items():
            self._totals[counter][:] = value

    @property
    def totals(self):
        """Exact event totals ({Counter: int}, or {Counter: [int per run]} when batched)."""
        if self.batched:
            return {c: [int(x) for x in v] for c, v in self._totals.items()}
        return {c: int(v[0]) for c, v in self._totals.items()}

    def _draws(self):
        """What every lane of every run draws in each group of the next sweep, each (R, G, P): two
        xoshiro128++ outputs per lane and group, at load and at decide, as (r16, run, direction)
        (params.decision_draws)."""
        state = tuple(self.prng)
        outputs = np.empty((2, self.program.n_groups) + self.prng.shape[1:], dtype=np.uint32)
        for grp in range(self.program.n_groups):
            for k in range(2):
                outputs[k, grp] = xoshiro_output(state)
                state = xoshiro_next(state)
        self.prng = np.array(state)
        return decision_draws(*outputs.transpose(0, 2, 1, 3))

    def _sweep(self):
        barrier = np.array([s.value_q4 for s in self.schedules], dtype=np.int64)[:, None]
        raises = np.array([s.raise_q4 for s in self.schedules], dtype=np.int64)
        gain = np.array([s.value_q4 for s in self.gain_schedules], dtype=np.int64)[:, None]
        operands = gain_operands(gain, self.geometry.qp)   # (M, s) per run: y = round(M t / 2^s)
        t = {c: np.zeros(self.runs, dtype=np.int64) for c in Counter}  # this sweep's events (fit int64)
        if self.geometry.qp:
            self._sweep_qp(barrier, raises, operands, t)
        else:
            self._sweep_spins(barrier, raises, operands, t)
        t[Counter.SWEEPS] += 1
        if self.fields_stale:   # a start after the host wrote the state: the field pass first
            t[Counter.CYCLES] += field_pass_cycles(self.program)
            self.fields_stale = False
        t[Counter.CYCLES] += np.array([self.group_cycles + end_of_sweep_cycles(b, g)
                                       for b, g in zip(self.schedules, self.gain_schedules)], dtype=np.int64)
        for c in Counter:  # exact, unbounded totals; the RTL's saturation is applied on read-out
            self._totals[c] += t[c].astype(object)
        for k, g in enumerate(self.gain_schedules):   # the gain driver's work at the new gain
            work_in, work_out = work_increment(g.value_before, g.value_q4, int(self.objective[k]), self.geometry.qp)
            self._totals[Counter.WORK_IN_Q4][k] += work_in
            self._totals[Counter.WORK_OUT_Q4][k] += work_out
        return barrier[:, 0], gain[:, 0]

    def _sweep_spins(self, barrier, raises, operands, t):
        """A spin flip: t = s f, decided by the compiled kernel (sim/kernel.py)."""
        flat = self.rows.reshape(self.runs, -1)
        bits = flat.astype(np.int8)
        prng = self.prng.astype(np.uint64)
        events = np.zeros((self.runs, 6), dtype=np.int64)
        self._kernel.spin_sweep(bits, self._fields, prng, barrier[:, 0], operands[0][:, 0], operands[1][:, 0], self._groups, self.geometry.lanes,
                                *self._neighbours, self._valid, self._costs, self._bounds,
                                self.geometry.source_buffers, self.geometry.streaming, _TABLE, events,
                                np.zeros(flat.shape[1], dtype=np.bool_))
        flat[:] = bits
        self.prng = prng.astype(np.uint32)
        valid = int(self._valid.sum())
        t[Counter.ATTEMPTS] += valid
        t[Counter.READS] += sum(cls.reads for cls in self.classes)
        t[Counter.HOPS] += events[:, 0]
        t[Counter.UPHILL_HOPS] += events[:, 1]
        t[Counter.DROP_Q4] += events[:, 2]
        t[Counter.CLIMB_Q4] += events[:, 3]
        t[Counter.BARRIER_Q4] += valid * raises * self.geometry.level_bits
        if not self.compiled:   # the sweep's cycles follow its hops (kernel.sweep_cycles); a compiled array's do not
            t[Counter.CYCLES] += events[:, 5]
        self.objective += events[:, 4].astype(object)

    def _sweep_qp(self, barrier, raises, operands, t):
        """A move of one level: t = 2 d g + Q_ii is twice the climb; blocked at the box."""
        random16, runs, up_bits = (a.reshape(self.runs, -1) for a in self._draws())
        flat = self.rows.reshape(self.runs, -1)
        hopped = np.zeros(flat.shape, dtype=np.bool_)
        for cls in self.classes:
            own = flat[:, cls.slots].astype(np.int64)
            gradient = cls.fields(flat.astype(np.float64))
            d = up_bits[:, cls.slots] * 2 - 1
            tilt = 2 * d * gradient + cls.diagonal[None, :]
            allowed = np.where(d > 0, own < cls.high[None, :], own > cls.low[None, :])
            half_tilt = gain_product(tilt, *operands)
            a = hop_exponent(barrier, half_tilt)
            hop = cls.valid[None, :] & allowed & hop_decision(a, random16[:, cls.slots], runs[:, cls.slots])
            drop = -2 * half_tilt
            valid = int(cls.valid.sum())
            down, up = hop & (drop > 0), hop & (drop < 0)
            t[Counter.ATTEMPTS] += valid
            t[Counter.READS] += cls.reads
            t[Counter.HOPS] += hop.sum(axis=1)
            t[Counter.UPHILL_HOPS] += up.sum(axis=1)
            t[Counter.DROP_Q4] += np.where(down, drop, 0).sum(axis=1)
            t[Counter.CLIMB_Q4] += np.where(up, -drop, 0).sum(axis=1)
            t[Counter.BARRIER_Q4] += valid * raises * self.geometry.level_bits
            hopped[:, cls.slots] = hop
            # the objective register: a hop changes it by 4U's change for QP cells
            self.objective += np.where(hop, 2 * tilt, 0).sum(axis=1).astype(object)
            flat[:, cls.slots] = own + d * hop
        g = self.geometry
        t[Counter.CYCLES] += [self._kernel.sweep_cycles(h, self._costs, self._bounds, g.lanes, g.source_buffers, g.streaming)
                              for h in hopped]

    def run(self, sweeps, trace=True):
        """CONTROL.start for ``sweeps`` sweeps; returns the snapshot the RTL would show after it
        (a list of snapshots, one per run, when batched).

        With ``trace``, the snapshot also holds the barrier and the objective after every sweep.
        """
        problem = self.program.problem
        records = [{"barrier_q4": [], "gain_log": [], "objective": []} for _ in range(self.runs)]
        for _ in range(sweeps):
            barriers, gains = self._sweep()
            if trace:
                objectives = problem.objective(self._values_all())
                for k in range(self.runs):
                    records[k]["barrier_q4"].append(int(barriers[k]))
                    records[k]["gain_log"].append(int(gains[k]))
                    value = objectives[k]   # QP objectives can end in .5
                    records[k]["objective"].append(float(value) if self.geometry.qp else int(value))
        snaps = [self._snapshot(k, records[k] if trace else {}) for k in range(self.runs)]
        return snaps if self.batched else snaps[0]

    def _values_all(self):
        """Each node's value, per run: a spin in {-1, +1}, or a QP cell's level."""
        v = np.stack([self.program.rows_to_spins(r) for r in self.rows]).astype(np.int64)
        return v if self.geometry.qp else v * 2 - 1

    def spins_pm(self):
        """Node values: spins in {-1, +1} (Ising), levels (QP); one row per run when batched."""
        s = self._values_all()
        return s if self.batched else s[0]

    def _snapshot(self, k, trace):
        cap = self.geometry.counter_max
        totals = {c: int(v[k]) for c, v in self._totals.items()}
        counters = {c: min(v, cap) for c, v in totals.items()}
        saturated = sum(1 << c for c, v in totals.items() if v > cap)
        return Snapshot(self.rows[k].copy(), counters, saturated, self.schedules[k].value_q4,
                        self.gain_schedules[k].value_q4, int(self.objective[k]), trace)

    def snapshot(self, trace=None):
        snaps = [self._snapshot(k, trace or {}) for k in range(self.runs)]
        return snaps if self.batched else snaps[0]
