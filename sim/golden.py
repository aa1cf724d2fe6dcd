"""Bit-exact NumPy model of the LIM array (docs/architecture.md is the contract).

Vectorised over a colour class at a time: spins of one colour are not coupled, so the hardware's
group-by-group order within a colour cannot change any local field, and all of them are decided
at once. The per-lane xorshift32 streams are linear over GF(2); they are produced a sweep at a
time from a table of jump matrices instead of stepping each generator in Python.
"""
from dataclasses import dataclass, field

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

    @classmethod
    def from_bus(cls, geometry, state_words, counter_words, saturated, barrier_q4):
        """Decode what the array's bus reads back: the state words at
        ``geometry.state_addresses``, and the counters as 2 words each, low word first
        (docs/architecture.md, Bus)."""
        if geometry.qp:   # lane by lane, one level per word (ArrayGeometry.state_addresses)
            rows = np.array(state_words, dtype=np.uint8).reshape(geometry.lanes, -1).T.copy()
        else:
            rows = np.array([[(w >> lane) & 1 for lane in range(geometry.lanes)] for w in state_words],
                            dtype=np.uint8).reshape(-1, geometry.lanes)
        counters = {c: counter_words[2 * c] | (counter_words[2 * c + 1] << 32) for c in Counter}
        return cls(rows, counters, saturated, barrier_q4)


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

    def __init__(self, program, g0, g1, dense):
        P = program.geometry.lanes
        self.g0, self.g1 = g0, g1
        self.slots = np.arange(g0 * P, g1 * P)
        self.valid = program.valid[g0:g1].reshape(-1)
        self.bias = program.bias[g0:g1].reshape(-1)
        if program.geometry.qp:
            self.diagonal, self.low, self.high = (a[g0:g1].reshape(-1) for a in
                                                  (program.diagonal, program.low, program.high))
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

    def __init__(self, program, initial_spins_bits, config=RunConfig()):
        self.program = program
        self.geometry = program.geometry
        bits = np.asarray(initial_spins_bits)
        self.batched = bits.ndim == 2
        bits = bits if self.batched else bits[None, :]
        self.runs = bits.shape[0]
        self.rows = np.stack([program.spins_to_rows(b) for b in bits])          # (R, G, P)
        # a matrix product pays off across runs; a single run gathers its couplings instead
        dense = self.runs > 1 and program.n_groups * self.geometry.lanes <= self.DENSE_LIMIT
        self.classes = [_ColourClass(program, g0, g1, dense) for g0, g1 in program.colour_groups]
        self.jump = xorshift_jump_table(program.n_groups)
        self.group_cycles = int(program.lengths.sum()) + GROUP_OVERHEAD_CYCLES * program.n_groups
        self.init(config)

    def init(self, config):
        """CONTROL.init: counters to zero, schedule to its start, PRNGs reseeded."""
        configs = list(config) if isinstance(config, (list, tuple)) else [config] * self.runs
        if len(configs) != self.runs:
            raise ValueError(f"{len(configs)} configs for {self.runs} runs")
        self.configs = configs
        self.config = configs[0]
        self.schedules = [ScheduleModel(c) for c in configs]
        self.schedule = self.schedules[0]
        self.gain = np.array([c.gain_q4 for c in configs], dtype=np.int64)
        self.prng = np.array([[lane_seed(c.seed, lane) for lane in range(self.geometry.lanes)] for c in configs],
                             dtype=np.uint32)
        self._totals = {c: np.zeros(self.runs, dtype=object) for c in Counter}

    @property
    def totals(self):
        """Exact event totals ({Counter: int}, or {Counter: [int per run]} when batched)."""
        if self.batched:
            return {c: [int(x) for x in v] for c, v in self._totals.items()}
        return {c: int(v[0]) for c, v in self._totals.items()}

    def _draws(self):
        """What every lane of every run draws in each group of the next sweep, each (R, G, P):
        the 16-bit number compared at commit, and the direction bit of a QP move (bit 0 of the
        state before the step, as the lane sees it at decide)."""
        bits = ((self.prng[:, :, None] >> np.arange(32, dtype=np.uint32)) & 1).astype(bool)   # (R, P, 32)
        states = np.bitwise_xor.reduce(np.where(bits[:, :, None, :], self.jump[None, None, :, :], np.uint32(0)),
                                       axis=3)                                                  # (R, P, G)
        before = np.concatenate([self.prng[:, :, None], states[:, :, :-1]], axis=2)
        self.prng = states[:, :, -1].copy()
        random16 = (states.transpose(0, 2, 1) >> np.uint32(32 - PROB_BITS)).astype(np.int64)
        return random16, (before.transpose(0, 2, 1) & 1).astype(np.int64)

    def _sweep(self):
        barrier = np.array([s.barrier_q4 for s in self.schedules], dtype=np.int64)[:, None]
        raises = np.array([s.raise_q4 for s in self.schedules], dtype=np.int64)
        gain = self.gain[:, None]
        random16, up_bits = (a.reshape(self.runs, -1) for a in self._draws())
        flat = self.rows.reshape(self.runs, -1)
        qp = self.geometry.qp
        t = {c: np.zeros(self.runs, dtype=np.int64) for c in Counter}  # this sweep's events (fit int64)
        for cls in self.classes:
            own = flat[:, cls.slots].astype(np.int64)
            if qp:   # a move of one level: t = 2 d g + Q_ii is twice the climb; blocked at the box
                gradient = cls.fields(flat.astype(np.float64))
                d = up_bits[:, cls.slots] * 2 - 1
                tilt = 2 * d * gradient + cls.diagonal[None, :]
                allowed = np.where(d > 0, own < cls.high[None, :], own > cls.low[None, :])
            else:    # a spin flip: t = s f
                tilt = (own * 2 - 1) * cls.fields(flat.astype(np.float64) * 2 - 1)
                allowed = True
            x = barrier + gain * tilt
            r = random16[:, cls.slots]
            p = _TABLE[np.clip(x, 0, TABLE_DEPTH - 1)]
            hop = cls.valid[None, :] & allowed & ((x <= 0) | ((x < TABLE_DEPTH) & (r < p)))
            drop = 2 * (barrier - x)
            valid = int(cls.valid.sum())
            down, up = hop & (drop > 0), hop & (drop < 0)
            t[Counter.ATTEMPTS] += valid
            t[Counter.READS] += cls.reads
            t[Counter.HOPS] += hop.sum(axis=1)
            t[Counter.UPHILL_HOPS] += up.sum(axis=1)
            t[Counter.DROP_Q4] += np.where(down, drop, 0).sum(axis=1)
            t[Counter.CLIMB_Q4] += np.where(up, -drop, 0).sum(axis=1)
            t[Counter.BARRIER_Q4] += valid * raises * self.geometry.level_bits
            flat[:, cls.slots] = own + (d * hop if qp else np.where(hop, 1 - 2 * own, 0))
        t[Counter.SWEEPS] += 1
        t[Counter.CYCLES] += np.array([self.group_cycles + s.advance() for s in self.schedules], dtype=np.int64)
        for c in Counter:  # exact, unbounded totals; the RTL's saturation is applied on read-out
            self._totals[c] += t[c].astype(object)
        return barrier[:, 0]

    def run(self, sweeps, trace=True):
        """CONTROL.start for ``sweeps`` sweeps; returns the snapshot the RTL would show after it
        (a list of snapshots, one per run, when batched).

        With ``trace``, the snapshot also holds the barrier and the objective after every sweep.
        """
        problem = self.program.problem
        records = [{"barrier_q4": [], "objective": []} for _ in range(self.runs)]
        for _ in range(sweeps):
            barriers = self._sweep()
            if trace:
                objectives = problem.objective(self._values_all())
                for k in range(self.runs):
                    records[k]["barrier_q4"].append(int(barriers[k]))
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
        return Snapshot(self.rows[k].copy(), counters, saturated, self.schedules[k].barrier_q4, trace)

    def snapshot(self, trace=None):
        snaps = [self._snapshot(k, trace or {}) for k in range(self.runs)]
        return snaps if self.batched else snaps[0]
