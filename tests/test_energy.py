"""The energy model: its invariants over many random runs, and the analytic bounds."""
import math

import numpy as np
import pytest

from cases import SMALL, RATES, WEIGHT_SETS
from lim.hdl.params import Counter, Schedule, gain_kt
from lim.host.anneal import max_tilt_kt
from lim.sim.energy import (LN2, TECHNOLOGIES, Retention, binary_entropy, kt_joules, run_energy,
                            technology_energy, workload_bounds)
from lim.sim.golden import GoldenArray, RunConfig
from lim.sim.mapping import map_problem
from lim.sim.problem import random_maxcut


def random_runs(count, seed):
    rng = np.random.default_rng(seed)
    for k in range(count):
        n = int(rng.integers(4, 80))
        m = int(rng.integers(0, min(5 * n, n * (n - 1) // 2) + 1))
        problem = random_maxcut(n, m, seed=int(rng.integers(1 << 30)), weights=WEIGHT_SETS[k % len(WEIGHT_SETS)])
        kind = Schedule(k % 4)
        start = int(rng.integers(1, 80))
        config = RunConfig(seed=int(rng.integers(1 << 32)), gain_q4=int(rng.integers(0, 48)), schedule=kind,
                           barrier_start_q4=start, barrier_end_q4=start + int(rng.integers(0, 1200)),
                           rate=RATES[kind])
        retention = Retention(time_s=float(10 ** rng.uniform(0, 9)), error=float(10 ** rng.uniform(-9, -1)),
                              step_time_s=float(10 ** rng.uniform(-12, -3)))
        yield problem, config, retention, int(rng.integers(2, 40)), rng.integers(0, 2, size=n)


def run_and_price(problem, config, retention, sweeps, bits):
    program = map_problem(problem, SMALL)
    gold = GoldenArray(program, bits, config)
    u0 = problem.objective(gold.spins_pm())
    snap = gold.run(sweeps)
    u1 = problem.objective(gold.spins_pm())
    e = run_energy(snap.counters, problem.n, gain_kt(config.gain_q4), u0 - u1, snap.trace["barrier_q4"][-1], retention)
    return snap, e


def test_measured_is_never_below_the_bound_and_conventional_never_below_measured():
    checked_conventional = 0
    for problem, config, retention, sweeps, bits in random_runs(200, seed=11):
        snap, e = run_and_price(problem, config, retention, sweeps, bits)
        m, b, c = e["measured"], e["bound"], e["conventional"]
        for wall in ("read_kt", "update_kt", "consolidation_kt", "total_kt"):
            assert getattr(m, wall) >= getattr(b, wall) - 1e-9, (wall, problem.name)
        assert b.consolidation_kt >= e["landauer_kt"]
        if max_tilt_kt(problem, config.gain_q4) <= e["hold_barrier_kt"]:
            checked_conventional += 1
            for wall in ("read_kt", "update_kt", "consolidation_kt", "total_kt"):
                assert getattr(c, wall) >= getattr(m, wall) - 1e-9, (wall, problem.name)
    assert checked_conventional >= 100


def test_consolidation_equals_the_bound_when_the_schedule_ends_at_retention():
    """An ideal schedule ends exactly at Eb_ret: the consolidation wall meets the bound exactly."""
    problem = random_maxcut(40, 120, seed=5, weights=(-1, 1))
    retention = Retention(time_s=1e3, error=1e-3, step_time_s=1e-6)  # Eb_ret = ln(1e12) = 27.63 kT
    end_q4 = math.ceil(retention.barrier_kt * 16)
    config = RunConfig(seed=3, gain_q4=16, schedule=Schedule.LINEAR, barrier_end_q4=end_q4, rate=1 << 18)
    snap, e = run_and_price(problem, config, retention, 40, np.zeros(40, dtype=int))
    assert snap.barrier_q4 == end_q4
    excess = e["measured"].consolidation_kt - e["bound"].consolidation_kt
    assert excess == pytest.approx(problem.n * (end_q4 / 16 - retention.barrier_kt))
    assert excess < problem.n / 16  # within one barrier step per cell
    # and the update wall exceeds its bound by exactly the climbs the bath lent
    climb = snap.counters[Counter.CLIMB_Q4] / 16
    assert e["measured"].update_kt - e["bound"].update_kt == pytest.approx(climb)


def test_retention_barrier_and_commit_cost():
    r = Retention(time_s=10 * 365.25 * 86400, error=1e-6, step_time_s=1e-9)
    assert r.barrier_kt == pytest.approx(math.log(3.15576e8 / 1e-15))
    assert 54 < r.barrier_kt < 54.2
    assert r.commit_kt == pytest.approx(LN2 - binary_entropy(1e-6))
    assert binary_entropy(0.5) == pytest.approx(LN2)
    with pytest.raises(ValueError):
        Retention(error=0.7)
    with pytest.raises(ValueError, match="at least one step time"):
        Retention(time_s=1e-10, step_time_s=1e-9)


def test_workload_bounds_scale_as_derived():
    b = workload_bounds(1e6, 1e9, 8)
    eb = b.retention.barrier_kt
    assert b.landauer_kt == pytest.approx(8e6 * LN2)
    assert b.lim_bound_kt == pytest.approx(8e6 * (b.retention.commit_kt + eb))
    assert b.conventional_kt == pytest.approx(1e9 * 8 * (eb + LN2) + 8e6 * (eb + LN2))
    assert b.landauer_kt <= b.lim_bound_kt <= b.conventional_kt
    # LIM does not grow with operations; the conventional memory does, linearly
    b10 = workload_bounds(1e6, 1e10, 8)
    assert b10.lim_bound_kt == pytest.approx(b.lim_bound_kt)
    assert b10.conventional_kt / b.conventional_kt == pytest.approx(10, rel=1e-3)
    # faster convergence needs a higher retention barrier: ln(S / T)
    slow = workload_bounds(1e6, 1e9, 8, convergence_time_s=1e3)
    fast = workload_bounds(1e6, 1e9, 8, convergence_time_s=1.0)
    assert fast.retention.barrier_kt - slow.retention.barrier_kt == pytest.approx(math.log(1e3))
    assert fast.lim_bound_kt > slow.lim_bound_kt


def test_technology_prices_and_joules():
    counters = {c: 0 for c in Counter}
    counters.update({Counter.READS: 1000, Counter.ATTEMPTS: 100})
    sram = technology_energy(TECHNOLOGIES["sram-dram"], counters, cells=10, bits=1, checkpoints=2)
    assert sram["read_j"] == pytest.approx(1000 * 10e-12 / 64)
    assert sram["update_j"] == pytest.approx(100 * 10e-12 / 64)
    assert sram["consolidation_j"] == pytest.approx(2 * 10 * 2e-9 / 64)
    fn = technology_energy(TECHNOLOGIES["fn-synapse"], counters, cells=10)
    assert fn["update_j"] == pytest.approx(100 * 5e-15)
    with pytest.raises(ValueError, match="at most 14 bits"):
        technology_energy(TECHNOLOGIES["fn-synapse"], counters, cells=10, bits=16)
    assert kt_joules(300) == pytest.approx(4.1419e-21, rel=1e-4)
