"""The energy model: the reliability floor against an independent solution of the two-state
dynamics, the workload bounds' scaling, and a run's workload agreeing with ``lim bounds``.

Checks of measured energy against bounds the counters do not determine are in
tests/test_thermodynamics.py. What holds by construction (documentation, not a check):
``landauer_per_operation = OPS b ln 2`` and ``lim = max(...)`` are their own definitions.
"""
import json
import math

import numpy as np
import pytest
from scipy.linalg import expm

from lim.hdl.params import Counter
from lim.sim.energy import (LN2, Device, binary_entropy, reliability_tilt_kt, run_energy, update_error,
                            update_floor_kt, workload_energy)


def wrong_after(tilt, attempts):
    """P(wrong well) after k0 tau = ``attempts`` at a constant tilt, by the matrix exponential of
    the two-state generator (forward rate 1, backward exp(-tilt)), from the wrong well."""
    generator = np.array([[-1.0, math.exp(-tilt)], [1.0, -math.exp(-tilt)]])
    return (expm(generator * attempts) @ np.array([1.0, 0.0]))[0]


@pytest.mark.parametrize("bits", [2, 4, 8, 16])
@pytest.mark.parametrize("factor", [1.05, 1.5, 3.0, 30.0])
def test_reliability_tilt_is_the_smallest_that_reaches_the_error(bits, factor):
    eps = update_error(bits)
    attempts = factor * math.log(1 / eps)
    tilt = reliability_tilt_kt(eps, attempts)
    assert wrong_after(tilt, attempts) == pytest.approx(eps, rel=1e-6)
    assert wrong_after(tilt * 0.99, attempts) > eps       # any smaller tilt misses it


def test_floor_limits_and_speed_tradeoff():
    for bits in (2, 8, 16, 32):
        eps = update_error(bits)
        # slow limit: the log-odds of the error, Landauer's order b ln 2 per update
        assert reliability_tilt_kt(eps) == pytest.approx(math.log((1 - eps) / eps))
        assert update_floor_kt(bits) == pytest.approx(math.log(2 ** bits - 1) * (1 - eps))
        tilts = [reliability_tilt_kt(eps, f * math.log(1 / eps)) for f in (1.001, 1.1, 2, 10, 1000)]
        assert tilts == sorted(tilts, reverse=True)      # faster updates need a steeper tilt
        # MISSION.md's sketch ln(1/eps) + ln ln(1/eps) lies between the slow limit and the fastest steps
        sketch = math.log(1 / eps) + math.log(math.log(1 / eps))
        assert tilts[-1] < sketch < tilts[0]
        assert reliability_tilt_kt(eps, math.log(1 / eps)) == math.inf
    assert update_floor_kt(1) == 0.0                     # a 1-bit update wrong half the time


def test_workload_bounds_scale_with_operations_and_speed():
    base = workload_energy(1e6, 1e9, 8)
    more = workload_energy(1e6, 1e10, 8)
    for key in ("landauer_per_operation", "reliability_floor", "lim"):
        assert more["lower_bounds"][key]["kt"] / base["lower_bounds"][key]["kt"] == pytest.approx(10)
    assert more["lower_bounds"]["landauer_final_state"] == base["lower_bounds"]["landauer_final_state"]
    slow = workload_energy(1e6, 1e9, 8, time_s=1e3)   # 1e3 updates per parameter: 1 s = 1e9 attempts each
    fast = workload_energy(1e6, 1e9, 8, time_s=1e3 * 8e-9)
    assert fast["lower_bounds"]["lim"]["kt"] > slow["lower_bounds"]["lim"]["kt"] > base["lower_bounds"]["lim"]["kt"] * (1 - 1e-9)
    with pytest.raises(ValueError, match="allow more time"):
        workload_energy(1e6, 1e9, 8, time_s=1e3 * 1e-9)
    json.dumps(base, allow_nan=False)


def test_device_retention_barrier_and_commit():
    d = Device(retention_time_s=10 * 365.25 * 86400, retention_error=1e-6, attempt_time_s=1e-9)
    assert d.retention_barrier_kt == pytest.approx(math.log(3.15576e8 / 1e-15))
    assert d.commit_kt == pytest.approx(LN2 - binary_entropy(1e-6))
    assert d.kt_j == pytest.approx(4.1419e-21, rel=1e-4)
    with pytest.raises(ValueError, match="retention error"):
        Device(retention_error=0.7)
    with pytest.raises(ValueError, match="shorter than one attempt"):
        Device(step_time_s=1e-10)


def test_a_runs_workload_is_what_lim_bounds_computes():
    counters = {c: 0 for c in Counter}
    counters.update({Counter.ATTEMPTS: 64_000, Counter.READS: 640_000, Counter.DROP_Q4: 16 * 900,
                     Counter.CLIMB_Q4: 16 * 300, Counter.BARRIER_Q4: 16 * 5000})
    device = Device(step_time_s=2e-8)
    e = run_energy(counters, cells=100, bits=6, sweeps=640, final_barrier_q4=16 * 50, device=device)
    direct = workload_energy(100, 64_000, 6, time_s=640 * 2e-8, reads_per_update=60, device=device)
    assert e["lower_bounds"] == direct["lower_bounds"] and e["cost_models"] == direct["cost_models"]
    assert e["measured"]["update_kt"] == 600
    assert e["measured"]["read_kt"] == pytest.approx(640_000 * 6 * LN2)
    assert e["measured"]["consolidation_kt"] == pytest.approx(
        5000 + 600 * (device.retention_barrier_kt - 50) + 600 * device.commit_kt)
