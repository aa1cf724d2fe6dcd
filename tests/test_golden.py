"""The vectorised golden model against the literal reference, and its own invariants."""
import numpy as np
import pytest

from cases import all_cases, qp_cases
from lim.hdl.params import Counter, Schedule, lane_seed, xorshift32
from lim.sim.golden import GoldenArray, xorshift_jump_table
from naive_model import run_naive

CASES = all_cases() + qp_cases()


@pytest.mark.parametrize("name, geometry, job", CASES, ids=[c[0] for c in CASES])
def test_golden_equals_literal_reference(name, geometry, job):
    sweeps = sum(job.chunks)
    gold = GoldenArray(job.program, job.initial_bits, job.config)
    snap = gold.run(sweeps)
    rows, totals = run_naive(job.program, job.initial_bits, job.config, sweeps)
    assert snap.rows.tolist() == rows
    assert gold.totals == totals


def test_jump_table_reproduces_stepping():
    table = xorshift_jump_table(50)
    state = lane_seed(12345, 3)
    bits = np.array([(state >> b) & 1 for b in range(32)], dtype=bool)
    jumped = np.bitwise_xor.reduce(np.where(bits[None, :], table, np.uint32(0)), axis=1)
    expected = []
    for _ in range(50):
        state = xorshift32(state)
        expected.append(state)
    assert jumped.tolist() == expected


def test_checkpoints_do_not_change_the_run():
    name, geometry, job = CASES[3]
    whole = GoldenArray(job.program, job.initial_bits, job.config).run(9)
    parts = GoldenArray(job.program, job.initial_bits, job.config)
    for k in (2, 3, 4):
        last = parts.run(k)
    assert np.array_equal(whole.rows, last.rows) and whole.counters == last.counters


def test_net_dissipation_equals_objective_drop():
    """Drops minus climbs over all hops telescope to gain * (U_start - U_end), in Q.4 kT."""
    for name, geometry, job in CASES[:20]:
        gold = GoldenArray(job.program, job.initial_bits, job.config)
        u0 = job.program.problem.objective(gold.spins_pm())
        gold.run(sum(job.chunks))
        u1 = job.program.problem.objective(gold.spins_pm())
        net = gold.totals[Counter.DROP_Q4] - gold.totals[Counter.CLIMB_Q4]
        assert net == job.config.gain_q4 * (u0 - u1), name


def test_counters_saturate_and_flag():
    name, geometry, job = next(c for c in CASES if c[0] == "saturating-counters")
    snap = GoldenArray(job.program, job.initial_bits, job.config).run(sum(job.chunks))
    cap = geometry.counter_max
    assert snap.counters[Counter.READS] == cap
    assert snap.saturated & (1 << Counter.READS)
    assert snap.saturated & (1 << Counter.CYCLES)
    assert not snap.saturated & (1 << Counter.SWEEPS)


def test_sparse_field_path_equals_literal_reference(monkeypatch):
    monkeypatch.setattr(GoldenArray, "DENSE_LIMIT", 0)
    for name, geometry, job in CASES[:12]:
        sweeps = sum(job.chunks)
        gold = GoldenArray(job.program, job.initial_bits, job.config)
        assert not hasattr(gold.classes[0], "matrix")
        snap = gold.run(sweeps)
        rows, totals = run_naive(job.program, job.initial_bits, job.config, sweeps)
        assert snap.rows.tolist() == rows and gold.totals == totals, name


@pytest.mark.parametrize("dense_limit", [0, 4096])
def test_batched_runs_equal_runs_one_by_one(monkeypatch, dense_limit):
    monkeypatch.setattr(GoldenArray, "DENSE_LIMIT", dense_limit)
    from dataclasses import replace
    name, geometry, job = next(c for c in CASES if c[0] == "checkpoints-3-2-5")
    rng = np.random.default_rng(3)
    configs = [replace(job.config, seed=int(rng.integers(1 << 32)), gain_q4=g) for g in (8, 20, 33)]
    configs[1] = replace(configs[1], schedule=Schedule.LINEAR, rate=1 << 15)
    bits = rng.integers(0, 2, size=(3, job.program.problem.n))
    batch = GoldenArray(job.program, bits, configs)
    assert hasattr(batch.classes[0], "matrix") == bool(dense_limit)
    together = batch.run(7)
    for k in range(3):
        alone = GoldenArray(job.program, bits[k], configs[k]).run(7)
        assert together[k].rows.tolist() == alone.rows.tolist()
        assert together[k].counters == alone.counters
        assert together[k].trace == alone.trace
