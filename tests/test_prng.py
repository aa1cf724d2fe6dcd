"""The lanes' random streams: independent of each other for every seed, uniform, uncorrelated.

Streams are produced exactly as the array draws them (params.lane_prng_state, one
xoshiro128++ output per group); the RTL produces the same streams (test_blocks, test_cosim).
"""
import numpy as np
import pytest

from lim.hdl.params import LANE_KEY, PROB_BITS, lane_prng_state, xoshiro_next, xoshiro_output

LANES = 8
DRAWS = 1 << 15


def streams(seed, lanes=LANES, draws=DRAWS):
    """(lanes, draws) uint32 outputs, all lanes stepped together as the array steps them."""
    state = tuple(np.array(words, dtype=np.uint32) for words in zip(*(lane_prng_state(seed, l) for l in range(lanes))))
    out = np.empty((draws, lanes), dtype=np.uint32)
    for k in range(draws):
        out[k] = xoshiro_output(state)
        state = xoshiro_next(state)
    return out.T


@pytest.fixture(scope="module")
def drawn():
    return {seed: streams(seed) for seed in (1, 12345, 0xDEADBEEF)}


def xor_keyed_state(seed, lane):
    """The seeding the warm-up replaces: seed XOR a key per lane, no mixing."""
    return ((seed ^ (LANE_KEY * (lane + 1))) & 0xFFFFFFFF, *lane_prng_state(0, lane)[1:])


def state_offsets(seeding, seeds=range(20), steps=(0, 1, 100)):
    """Lane 1's engine state XOR lane 0's, after ``steps`` engine steps, for each seed.

    The engine is linear over GF(2): for seeding that XORs a key into the seed, the offset after
    k steps is A^k (key_0 XOR key_1) whatever the seed, a fixed XOR between the two streams'
    states for ever."""
    offsets = []
    for seed in seeds:
        a, b = seeding(seed, 0), seeding(seed, 1)
        row = []
        for k in range(max(steps) + 1):
            if k in steps:
                row.append(tuple(x ^ y for x, y in zip(a, b)))
            a, b = xoshiro_next(a), xoshiro_next(b)
        offsets.append(tuple(row))
    return offsets


def test_lane_states_are_not_a_fixed_xor_apart():
    """Across seeds, the lanes' state offset differs at every step; the same check finds the
    offset constant for XOR-keyed seeding (so it can fail)."""
    assert len(set(state_offsets(lane_prng_state))) == 20
    assert len(set(state_offsets(xor_keyed_state))) == 1


def test_uniformity_chi_square(drawn):
    """The 16-bit numbers compared with the table, in 256 bins: chi-square within 5 sigma."""
    for s in drawn.values():
        for lane in s:
            r16 = lane >> np.uint32(32 - PROB_BITS)
            counts = np.bincount(r16 >> 8, minlength=256)
            expected = len(r16) / 256
            chi2 = ((counts - expected) ** 2 / expected).sum()
            dof = 255
            assert abs(chi2 - dof) < 5 * np.sqrt(2 * dof), chi2


def test_low_bit_is_balanced(drawn):
    """Bit 0 is the direction of a QP move."""
    for s in drawn.values():
        ones = (s & 1).sum(axis=1)
        assert np.all(np.abs(ones - DRAWS / 2) < 5 * np.sqrt(DRAWS / 4))


def _corr(a, b):
    a = a.astype(float) - a.mean()
    b = b.astype(float) - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


def test_serial_and_cross_lane_correlation(drawn):
    """Consecutive draws of a lane, and the same draw of two lanes: |r| < 5 / sqrt(n)."""
    limit = 5 / np.sqrt(DRAWS)
    for s in drawn.values():
        r16 = (s >> np.uint32(16)).astype(np.int64)
        for lane in range(LANES):
            assert abs(_corr(r16[lane, :-1], r16[lane, 1:])) < limit
            for other in range(lane + 1, LANES):
                assert abs(_corr(r16[lane], r16[other])) < limit
                # and the XOR of two lanes' streams is itself uniform (it is not for XOR-keyed
                # linear generators, where it repeats the same sequence for every seed)
                x = (r16[lane] ^ r16[other]) >> 8
                counts = np.bincount(x, minlength=256)
                chi2 = ((counts - len(x) / 256) ** 2 / (len(x) / 256)).sum()
                assert abs(chi2 - 255) < 5 * np.sqrt(510)
