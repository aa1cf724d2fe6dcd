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

from ..hdl.params import DECIDE_CYCLES, DRAIN_CYCLES, PROB_BITS, RUN_BITS

__all__ = ["spin_sweep", "neighbour_lists", "sweep_cycles", "field_pass_cycles"]

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
def _walk(sources, costs, group, lanes, latched, banks):
    """The field banks' walk of a group's sources latched at cycle ``latched`` (hdl/lane.py,
    FieldBank). ``banks`` (3, columns), advanced in place: per bank, the cycle it can start a
    source, the cycle its walk reaches the next buffer, and the cycle from which it holds no
    buffer. A bank starts its sources of the group in lane order, from the cycle after the latch,
    or when it is ready and has reached the group's buffer; a source takes its ``costs`` (cycles
    in that bank; 0: none of its entries there, skipped). A bank with none of the group's sources
    passes its buffer when it reaches it, two cycles after the latch at the earliest. Returns the
    last cycle in which a bank started a source of the group or passed it (-1 if the group has no
    source: it takes no buffer)."""
    sourced = False
    for lane in range(lanes):
        slot = group * lanes + lane
        if sources[slot] and costs[slot].any():
            sourced = True
    if not sourced:
        return -1
    started_last = -1
    for c in range(costs.shape[1]):
        t = max(latched + 1, banks[0, c], banks[1, c])
        last = -1
        for lane in range(lanes):
            slot = group * lanes + lane
            if sources[slot] and costs[slot, c]:
                last = t
                t += costs[slot, c]
                banks[0, c] = t
        if last < 0:   # none of its own: it passes the buffer
            last = max(latched + 2, banks[1, c])
        banks[1, c] = last + 1
        banks[2, c] = last + 1
        started_last = max(started_last, last)
    return started_last


@njit(cache=True)
def _settled(latched, banks):
    """The first cycle, after the latch at ``latched``, in which no field can change and no bank
    holds a buffer: each bank's last entry read (at its ready cycle - 1) reaches its field
    DRAIN_CYCLES later."""
    return max(latched + 1, banks[0].max() - 1 + DRAIN_CYCLES, banks[2].max())


@njit(cache=True)
def _may_load(t, j, loads, sourced, started, buffers, streaming):
    """Whether group ``j`` of a colour may load at cycle ``t`` (the sequencer's may_load, set in
    cycle t - 1): the buffer it would fill, counting the groups loaded in cycles t - 3 .. t - 1 as
    groups with sources, is free in t - 1, i.e. every bank started the sources of the group with
    sources ``buffers`` before it by t - 2 (or passed it); without ``streaming``, also no group is
    in flight. ``loads``, ``sourced``: the colour's groups before ``j``; ``started``: the last
    cycle a bank started a source of each group with sources, or passed it."""
    if not streaming and j > 0 and loads[j - 1] > t - DECIDE_CYCLES:
        return False
    in_flight, committed = 0, 0
    for i in range(j):
        if loads[i] >= t - DECIDE_CYCLES:   # committing, deciding or loading in t - 1
            in_flight += 1
        elif sourced[i]:
            committed += 1
    reserved = committed + in_flight - buffers
    return reserved < 0 or started[reserved] <= t - 2


@njit(cache=True)
def sweep_cycles(sources, costs, bounds, lanes, buffers, streaming):
    """Cycles of a sweep, from its first fetch to its end (SWEEP_END excluded), given which cells
    hopped (``sources`` (S,) bool by slot), each source's cycles per field bank (``costs``,
    Program.stream_costs) and the colours' group ranges ``bounds`` (K, 2), with ``buffers``
    source buffers. The groups of a colour stream through load, decide and commit
    (DECIDE_CYCLES), one a cycle unless the source buffer a group would fill is not free
    (_may_load); without ``streaming``, one after another. A colour's last commit waits for the
    fields to settle, whose cycle fetches the next colour's first group (docs/architecture.md,
    Cycle count)."""
    banks = np.zeros((3, costs.shape[1]), dtype=np.int64)
    most = np.max(bounds[:, 1] - bounds[:, 0]) if bounds.shape[0] else 0
    loads = np.zeros(most, dtype=np.int64)
    sourced = np.zeros(most, dtype=np.bool_)
    started = np.zeros(most, dtype=np.int64)
    fetch = 0
    for k in range(bounds.shape[0]):
        banks[:] = 0      # settled: every bank idle, every buffer passed
        n = 0             # the colour's groups with sources so far
        t = fetch         # the colour's first group loads in the cycle after its fetch
        commit = fetch
        for j in range(bounds[k, 1] - bounds[k, 0]):
            t += 1
            while not _may_load(t, j, loads, sourced, started, buffers, streaming):
                t += 1
            loads[j] = t
            commit = t + DECIDE_CYCLES - 1
            last = _walk(sources, costs, bounds[k, 0] + j, lanes, commit, banks)
            sourced[j] = last >= 0
            if sourced[j]:   # only a group with sources moves the buffers on
                started[n] = last
                n += 1
        fetch = _settled(commit, banks)
    return fetch + 1


@njit(cache=True)
def field_pass_cycles(sources, costs, n_groups, lanes, buffers):
    """Cycles of the field pass (up to the cycle that fetches the sweep's first group): the biases
    (G + 1), then per group a fetch (repeated until a source buffer is free: every bank started the
    sources of the group with sources ``buffers`` before) and a load that latches its cells as
    sources (``sources``: the valid cells), and the fields' settling."""
    banks = np.zeros((3, costs.shape[1]), dtype=np.int64)
    started = np.zeros(max(n_groups, 1), dtype=np.int64)
    n = 0
    fetch, latched = 0, 0
    for grp in range(n_groups):
        latched = fetch + 1
        if n >= buffers:
            latched = max(fetch, started[n - buffers] + 1) + 1
        last = _walk(sources, costs, grp, lanes, latched, banks)
        if last >= 0:
            started[n] = last
            n += 1
        fetch = latched + 1
    return n_groups + 1 + _settled(latched, banks)


@njit(cache=True)
def spin_sweep(bits, fields, prng, barrier, mantissa, shift, groups, lanes, indptr, neighbours, weights, valid,
               costs, bounds, buffers, streaming, table, events, hopped):
    """One sweep of every run. ``bits`` (R, S) cell states 0/1 and ``fields`` (R, S) local fields
    are updated in place, as is ``prng`` (4, R, P) (uint64 holding 32-bit words); each run's gain
    is its (``mantissa``, ``shift``) (params.gain_operands). ``groups`` lists
    the groups in decision order. ``events`` (R, 6) receives hops, uphill hops, drop, climb (Q.4),
    the objective register's change and the sweep's cycles up to its end (sweep_cycles, with
    ``costs`` and ``bounds``; ``hopped`` (S,) is its scratch)."""
    runs = bits.shape[0]
    depth = table.shape[0]
    for r in range(runs):
        hops = uphill = drop_total = climb_total = objective = 0
        b_r = barrier[r]
        m_r = mantissa[r]
        s_r = shift[r]
        hopped[:] = False
        for g in groups:
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
                hopped[slot] = True
                bits[r, slot] = 1 - bits[r, slot]
                change = -2 * spin          # the new spin minus the old
                for k in range(indptr[slot], indptr[slot + 1]):
                    fields[r, neighbours[k]] += weights[k] * change
        events[r, 0] = hops
        events[r, 1] = uphill
        events[r, 2] = drop_total
        events[r, 3] = climb_total
        events[r, 4] = objective
        events[r, 5] = sweep_cycles(hopped, costs, bounds, lanes, buffers, streaming)


def neighbour_lists(slots, source, target, weight):
    """CSR, by source slot, of the fields a hop changes (target slot, integer weight)."""
    order = np.argsort(source, kind="stable")
    counts = np.bincount(source, minlength=slots)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return indptr, target[order].astype(np.int64), np.asarray(weight)[order].astype(np.int64)
