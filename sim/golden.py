"""Bit-exact NumPy model of the LIM array (docs/architecture.md is the contract).

Vectorised over a colour class at a time: spins of one colour are not coupled, so the hardware's
group-by-group order within a colour cannot change any local field, and all of them are decided
at once. The per-lane xorshift32 streams are linear over GF(2); they are produced a sweep at a
time from a table of jump matrices instead of stepping each generator in Python.
"""
from dataclasses import dataclass, field, replace

import numpy as np

from ..hdl.params import (ACC_FRAC_BITS, ARG_FRAC_BITS, GROUP_OVERHEAD_CYCLES, LOG_STEP_MULT,
                          LOG_THRESHOLD_BITS, PROB_BITS, TABLE_DEPTH, Counter, Schedule,
                          hop_probability_table, lane_seed, xorshift32)

__all__ = ["RunConfig", "Snapshot", "ScheduleModel", "GoldenArray", "xorshift_jump_table"]

_SHIFT = ACC_FRAC_BITS - ARG_FRAC_BITS
_TABLE = np.array(hop_probability_table(), dtype=np.int64)


@dataclass(frozen=True)
class RunConfig:
    """What the host programs before a run (register values, fixed point as in the RTL)."""
    seed: int = 1
    gain_q4: int = 16                 # 1.0 kT per objective unit
    schedule: Schedule = Schedule.LOGARITHMIC
    barrier_start_q4: int = 0
    barrier_end_q4: int = 160         # 10 kT
    rate: int = 4                     # meaning depends on the schedule, see ScheduleModel


@dataclass
class Snapshot:
    """The observable result at a checkpoint: state rows, counters (saturated as the RTL shows them)."""
    rows: np.ndarray
    counters: dict
    saturated: int
    barrier_q4: int
    trace: dict = field(default_factory=dict)


class ScheduleModel:
    """Mirror of hdl/schedule.py: the barrier per sweep and the cycles each update takes."""

    def __init__(self, config):
        self.kind = Schedule(config.schedule)
        self.end_acc = config.barrier_end_q4 << _SHIFT
        self.rate = config.rate & 0xFFFFFFFF
        self.acc = config.barrier_start_q4 << _SHIFT
        self.raise_q4 = config.barrier_start_q4
        self.sweeps = 0
        self.threshold = self.rate * LOG_STEP_MULT

    @property
    def barrier_q4(self):
        return self.acc >> _SHIFT

    def advance(self):
        """Advance past one completed sweep; return the cycles the RTL spends (SWEEP_END on)."""
        self.sweeps += 1
        before = self.barrier_q4
        if self.kind == Schedule.LOGARITHMIC:
            steps = 0
            limit = (1 << LOG_THRESHOLD_BITS) - 1
            while ((self.sweeps + self.rate) << 16) >= self.threshold and self.acc < self.end_acc:
                self.acc += 1 << _SHIFT
                self.threshold = min((self.threshold * LOG_STEP_MULT) >> 16, limit)
                steps += 1
            cycles = steps + 3
        else:
            if self.kind == Schedule.LINEAR:
                nxt = self.acc + self.rate
            elif self.kind == Schedule.EXPONENTIAL:
                nxt = self.acc + ((self.acc * (self.rate & 0xFFFF)) >> 16)
            else:
                nxt = self.acc
            self.acc = min(nxt, self.end_acc)
            cycles = 2
        self.raise_q4 = (self.barrier_q4 - before) & ((1 << 12) - 1)
        return cycles


def xorshift_jump_table(steps):
    """T[j, b] = xorshift32 applied j+1 times to the unit vector 1 << b (uint32)."""
    table = np.empty((steps, 32), dtype=np.uint32)
    v = np.left_shift(np.uint32(1), np.arange(32, dtype=np.uint32))
    for j in range(steps):
        v = xorshift32(v)
        table[j] = v
    return table


class _ColourClass:
    """Precomputed gather/scatter indices for one colour's groups."""

    def __init__(self, program, g0, g1):
        P = program.geometry.lanes
        self.g0, self.g1 = g0, g1
        self.slots = np.arange(g0 * P, g1 * P)
        self.valid = program.valid[g0:g1].reshape(-1)
        self.bias = program.bias[g0:g1].reshape(-1)
        starts = np.concatenate([[0], np.cumsum(program.lengths)])
        e0, e1 = starts[g0], starts[g1]
        rows_in_group = np.repeat(np.arange(g0, g1), program.lengths[g0:g1])  # group of each edge row
        w = program.edge_weight[e0:e1]
        nz_e, nz_lane = np.nonzero(w)
        self.edge_local = (rows_in_group[nz_e] - g0) * P + nz_lane
        self.edge_nbr = program.edge_row[e0:e1][nz_e, nz_lane] * P + program.edge_col[e0:e1][nz_e, nz_lane]
        self.edge_w = w[nz_e, nz_lane].astype(np.float64)
        self.reads = len(self.edge_w)
        self.size = len(self.slots)


class GoldenArray:
    """The array's behaviour, run in sweeps; ``init`` and ``run`` mirror the RTL's control bits."""

    def __init__(self, program, initial_spins_bits, config=RunConfig()):
        self.program = program
        self.geometry = program.geometry
        self.rows = program.spins_to_rows(initial_spins_bits)
        self.classes = [_ColourClass(program, g0, g1) for g0, g1 in program.colour_groups]
        self.jump = xorshift_jump_table(program.n_groups)
        self.group_cycles = int(program.lengths.sum()) + GROUP_OVERHEAD_CYCLES * program.n_groups
        self.init(config)

    def init(self, config):
        """CONTROL.init: counters to zero, schedule to its start, PRNGs reseeded."""
        self.config = config
        self.schedule = ScheduleModel(config)
        self.prng = np.array([lane_seed(config.seed, lane) for lane in range(self.geometry.lanes)],
                             dtype=np.uint32)
        self.totals = {c: 0 for c in Counter}

    def _random16(self):
        """The 16-bit numbers every lane draws in each group of the next sweep: (G, P)."""
        bits = ((self.prng[:, None] >> np.arange(32, dtype=np.uint32)) & 1).astype(bool)  # (P, 32)
        states = np.bitwise_xor.reduce(np.where(bits[:, None, :], self.jump[None, :, :], np.uint32(0)), axis=2)
        self.prng = states[:, -1].copy()
        return (states.T >> np.uint32(32 - PROB_BITS)).astype(np.int64)

    def _sweep(self):
        P = self.geometry.lanes
        barrier = self.schedule.barrier_q4
        gain = self.config.gain_q4
        random16 = self._random16().reshape(-1)
        flat = self.rows.reshape(-1)
        t = self.totals
        for cls in self.classes:
            spin_pm = flat.astype(np.float64) * 2 - 1
            fields = cls.bias + np.bincount(cls.edge_local, weights=cls.edge_w * spin_pm[cls.edge_nbr],
                                            minlength=cls.size).astype(np.int64)
            own_pm = flat[cls.slots].astype(np.int64) * 2 - 1
            x = barrier + gain * own_pm * fields
            r = random16[cls.slots]
            p = _TABLE[np.clip(x, 0, TABLE_DEPTH - 1)]
            hop = cls.valid & ((x <= 0) | ((x < TABLE_DEPTH) & (r < p)))
            drop = 2 * (barrier - x)
            valid = int(cls.valid.sum())
            t[Counter.ATTEMPTS] += valid
            t[Counter.READS] += cls.reads
            t[Counter.HOPS] += int(hop.sum())
            t[Counter.UPHILL_HOPS] += int((hop & (drop < 0)).sum())
            t[Counter.DROP_Q4] += int(drop[hop & (drop > 0)].sum())
            t[Counter.CLIMB_Q4] += int(-drop[hop & (drop < 0)].sum())
            t[Counter.BARRIER_Q4] += valid * self.schedule.raise_q4
            flat[cls.slots] ^= hop.astype(np.uint8)
        t[Counter.SWEEPS] += 1
        t[Counter.CYCLES] += self.group_cycles + self.schedule.advance()
        return barrier

    def run(self, sweeps):
        """CONTROL.start for ``sweeps`` sweeps; returns the snapshot the RTL would show after it."""
        problem = self.program.problem
        trace = {"barrier_q4": [], "objective": []}
        for _ in range(sweeps):
            trace["barrier_q4"].append(self._sweep())
            trace["objective"].append(int(problem.objective(self.spins_pm())))
        return self.snapshot(trace)

    def spins_pm(self):
        return self.program.rows_to_spins(self.rows).astype(np.int64) * 2 - 1

    def snapshot(self, trace=None):
        cap = self.geometry.counter_max
        counters = {c: min(v, cap) for c, v in self.totals.items()}
        saturated = sum(1 << c for c, v in self.totals.items() if v > cap)
        return Snapshot(self.rows.copy(), counters, saturated, self.schedule.barrier_q4, trace or {})
