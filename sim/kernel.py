"""The golden model's compiled sweep for spin arrays (Numba): the same arithmetic as the RTL, at
the speed of a simulated-annealing code.

Local fields are kept per cell and changed only where a hop changes them, as fast annealing codes
do; they are exact integers, so this is the same number the RTL sums from its neighbour reads.
The device's READS counter does not depend on it: the counters count what the array reads per
attempt (sim/golden.py adds them per sweep). Groups are decided in the hardware's order, each
lane drawing one xoshiro128++ output per group; cells of one colour are never coupled, so
deciding them one at a time equals the array's parallel decision.
"""
import numpy as np
from numba import njit

from ..hdl.params import DRAIN_CYCLES, PROB_BITS, RUN_BITS

__all__ = ["spin_sweep", "neighbour_lists"]

_MASK = np.uint64(0xFFFFFFFF)
_LOW16 = np.uint64(2 ** (32 - PROB_BITS) - 1)


@njit(cache=True, inline="always")
def _rotl(x, k):
    return ((x << np.uint64(k)) | (x >> np.uint64(32 - k))) & _MASK


@njit(cache=True, inline="always")
def hop_argument(barrier, y):
    """params.hop_exponent for one cell: from the barrier top downhill, the whole climb uphill
    once the tilt exceeds twice the barrier."""
    a = barrier + y
    if y > 0 and 2 * y > a:
        return 2 * y
    return a


@njit(cache=True, inline="always")
def _step(prng, r, lane):
    """The lane's xoshiro128++ output, and one step of its state (in place)."""
    s0 = prng[0, r, lane]
    s1 = prng[1, r, lane]
    s2 = prng[2, r, lane]
    s3 = prng[3, r, lane]
    out = (_rotl((s0 + s3) & _MASK, 7) + s0) & _MASK
    t = (s1 << np.uint64(9)) & _MASK
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 11)
    prng[0, r, lane] = s0
    prng[1, r, lane] = s1
    prng[2, r, lane] = s2
    prng[3, r, lane] = s3
    return out


@njit(cache=True, inline="always")
def gain_product(value, mantissa, shift):
    """params.gain_product for one value: round(value M / 2^s), halves away from zero."""
    magnitude = (((abs(value) * mantissa) << 1) >> shift) + 1 >> 1
    return -magnitude if value < 0 else magnitude


@njit(cache=True)
def spin_sweep(bits, fields, prng, barrier, mantissa, shift, groups, lanes, indptr, neighbours, weights, valid,
               rows, table, events):
    """One sweep of every run. ``bits`` (R, S) cell states 0/1 and ``fields`` (R, S) local fields
    are updated in place, as is ``prng`` (4, R, P) (uint64 holding 32-bit words); each run's gain
    is its (``mantissa``, ``shift``) (params.gain_operands). ``groups`` lists
    the groups in decision order. ``events`` (R, 6) receives hops, uphill hops, drop, climb (Q.4),
    the objective register's change and the cycles the array spends streaming the hops' update
    rows (``rows`` per slot; golden.source_cycles)."""
    runs = bits.shape[0]
    depth = table.shape[0]
    for r in range(runs):
        hops = uphill = drop_total = climb_total = objective = streaming = 0
        b_r = barrier[r]
        m_r = mantissa[r]
        s_r = shift[r]
        last = groups[len(groups) - 1]
        for g in groups:
            group_hops = 0
            after_empty = False    # the previous hopping cell of the group had no rows
            for lane in range(lanes):
                first = _step(prng, r, lane)    # at load
                second = _step(prng, r, lane)   # at decide
                slot = g * lanes + lane
                if not valid[slot]:
                    continue
                spin = 2 * np.int64(bits[r, slot]) - 1
                tilt = spin * fields[r, slot]
                y = gain_product(tilt, m_r, s_r)
                a = hop_argument(b_r, y)
                if a <= 0:
                    hop = True
                elif a < depth:   # params.hop_decision: a run of e zeros, and r16 below m
                    run = np.int64(((first >> np.uint64(1)) << np.uint64(32 - PROB_BITS)) | (second & _LOW16))
                    hop = (run < (np.int64(1) << (RUN_BITS - table[a, 1]))
                           and np.int64(second >> np.uint64(32 - PROB_BITS)) < table[a, 0])
                else:
                    hop = False
                if not hop:
                    continue
                drop = -2 * y
                hops += 1
                if drop > 0:
                    drop_total += drop
                elif drop < 0:
                    uphill += 1
                    climb_total -= drop
                objective += 2 * tilt
                if after_empty:    # picked in a cycle of its own
                    streaming += 1
                group_hops += 1
                streaming += rows[slot]
                after_empty = rows[slot] == 0
                bits[r, slot] = 1 - bits[r, slot]
                change = -2 * spin          # the new spin minus the old
                for k in range(indptr[slot], indptr[slot + 1]):
                    fields[r, neighbours[k]] += weights[k] * change
            if group_hops:   # the first pick, the drain, the next group's fetch
                streaming += 1 + DRAIN_CYCLES + (0 if g == last else 1)
        events[r, 0] = hops
        events[r, 1] = uphill
        events[r, 2] = drop_total
        events[r, 3] = climb_total
        events[r, 4] = objective
        events[r, 5] = streaming


def neighbour_lists(slots, source, target, weight):
    """CSR, by source slot, of the fields a hop changes (target slot, integer weight)."""
    order = np.argsort(source, kind="stable")
    counts = np.bincount(source, minlength=slots)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return indptr, target[order].astype(np.int64), np.asarray(weight)[order].astype(np.int64)
