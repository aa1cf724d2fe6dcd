"""The vectorised golden model against the literal reference, and its own invariants."""
import numpy as np
import pytest

from cases import all_cases, qp_cases
from lim.hdl.params import GAIN_MANTISSA_BITS, Counter, Schedule, gain_register, gain_step
from lim.sim.energy import first_law
from lim.sim.golden import GoldenArray
from naive_model import run_naive

CASES = all_cases() + qp_cases()


@pytest.mark.parametrize("name, geometry, job", CASES, ids=[c[0] for c in CASES])
def test_golden_equals_literal_reference(name, geometry, job):
    sweeps = sum(job.chunks)
    gold = GoldenArray(job.program, job.initial_bits, job.config)
    snap = gold.run(sweeps)
    rows, totals, objective = run_naive(job.program, job.initial_bits, job.config, sweeps)
    assert snap.rows.tolist() == rows
    assert gold.totals == totals
    assert snap.objective == objective


def test_checkpoints_do_not_change_the_run():
    name, geometry, job = CASES[3]
    whole = GoldenArray(job.program, job.initial_bits, job.config).run(9)
    parts = GoldenArray(job.program, job.initial_bits, job.config)
    for k in (2, 3, 4):
        last = parts.run(k)
    assert np.array_equal(whole.rows, last.rows) and whole.counters == last.counters


@pytest.mark.parametrize("name, geometry, job", CASES, ids=[c[0] for c in CASES])
def test_first_law_closes_and_objective_register_tracks_the_state(name, geometry, job):
    """Work by the gain driver = heat released by the hops + change of the stored energy g U,
    to within the counters' rounding (half a unit of 1/16 kT per y, per step).

    The stored energy is computed here from the start and final states (the problem's own
    objective), not from the counters, so this fails if the hops' drops, the work counters, the
    objective register or the gain schedule disagree with the state the array ends in.
    """
    problem = job.program.problem
    gold = GoldenArray(job.program, job.initial_bits, job.config)
    u0 = problem.objective_gain_units(job.program.values(job.initial_bits))
    snap = gold.run(sum(job.chunks))
    u1 = problem.objective_gain_units(gold.spins_pm())
    law = first_law(gold.totals, job.config.gain_log, snap.gain_log, u0, u1, qp=job.program.geometry.qp)
    assert law["closes"], law
    assert snap.objective == u1


def test_counters_saturate_and_flag():
    name, geometry, job = next(c for c in CASES if c[0] == "saturating-counters")
    snap = GoldenArray(job.program, job.initial_bits, job.config).run(sum(job.chunks))
    cap = geometry.counter_max
    assert snap.counters[Counter.READS] == cap
    assert snap.saturated & (1 << Counter.READS)
    assert snap.saturated & (1 << Counter.CYCLES)
    assert not snap.saturated & (1 << Counter.SWEEPS)


def test_sparse_field_path_equals_literal_reference(monkeypatch):
    """The gathered fields (a single run, or DENSE_LIMIT 0) instead of the matrix product."""
    monkeypatch.setattr(GoldenArray, "DENSE_LIMIT", 0)
    for name, geometry, job in CASES[:12] + qp_cases()[:4]:
        sweeps = sum(job.chunks)
        gold = GoldenArray(job.program, job.initial_bits, job.config)
        assert not hasattr(gold.classes[0], "matrix")
        snap = gold.run(sweeps)
        rows, totals, _ = run_naive(job.program, job.initial_bits, job.config, sweeps)
        assert snap.rows.tolist() == rows and gold.totals == totals, name


@pytest.mark.parametrize("case", ["checkpoints-3-2-5", "qp5-p5-n34-linear"])
@pytest.mark.parametrize("dense_limit", [0, 4096])
def test_batched_runs_equal_runs_one_by_one(monkeypatch, dense_limit, case):
    monkeypatch.setattr(GoldenArray, "DENSE_LIMIT", dense_limit)
    from dataclasses import replace
    name, geometry, job = next(c for c in CASES if c[0] == case)
    rng = np.random.default_rng(3)
    configs = [replace(job.config, seed=int(rng.integers(1 << 32)), gain_log=gain_register(g))
               for g in (0.5, 1.25, 2.0625)]
    configs[1] = replace(configs[1], schedule=Schedule.LINEAR, rate=1 << 15)
    top = 2 if not geometry.qp else int(job.program.problem.high.min()) + 1
    bits = rng.integers(0, top, size=(3, job.program.problem.n))
    batch = GoldenArray(job.program, bits, configs)
    # QP classes take the matrix product across runs; spins sweep in the compiled kernel
    assert hasattr(batch.classes[0], "matrix") == (bool(dense_limit) and geometry.qp)
    together = batch.run(7)
    for k in range(3):
        alone = GoldenArray(job.program, bits[k], configs[k]).run(7)
        assert together[k].rows.tolist() == alone.rows.tolist()
        assert together[k].counters == alone.counters
        assert together[k].trace == alone.trace


def test_directed_cases_reach_what_they_are_named_for():
    """The co-simulation cases that target one mechanism do exercise it (they would pass
    vacuously otherwise)."""
    cases = {name: job for name, _, job in CASES}
    # one-group-steep-gain: every sweep takes 7 cycles (fetch, load, decide, commit, settle, end, schedule)
    # and raises the gain by just under 4 octaves (L by 1023 or 1024), so a step crosses 4 octaves
    job = cases["one-group-steep-gain"]
    gold = GoldenArray(job.program, job.initial_bits, job.config)
    first = gold.run(1).counters[Counter.CYCLES]
    second = gold.run(1).counters[Counter.CYCLES] - first
    schedule = gold.gain_schedules[0]
    assert job.program.n_groups == 1 and second == 7 and schedule.raise_q4 in (1023, 1024)
    assert gain_step(schedule.value_before, schedule.value_q4)[0] >= 1 << GAIN_MANTISSA_BITS + 3
    assert gold.totals[Counter.HOPS] == 0 and gold.totals[Counter.WORK_IN_Q4] + gold.totals[Counter.WORK_OUT_Q4] > 0
    # star-forwarding: each leaf has one entry, into the centre's field: the centre's bank walks a
    # group's k leaves back to back and updates that field k times in a row; at the smallest gain every leaf hops
    job = cases["star-forwarding"]
    p = job.program
    centre = p.slot_of_node[0]
    source, target, _ = p.couplings()
    leaves_to_centre = source[target == centre]
    per_group = np.bincount(leaves_to_centre // p.geometry.lanes)
    assert per_group.max() >= 3 and p.rows.reshape(-1)[leaves_to_centre].max() == 1
    gold = GoldenArray(p, job.initial_bits, job.config)
    assert gold.run(1).counters[Counter.HOPS] >= len(leaves_to_centre)


@pytest.mark.parametrize("case", [0, 5, 12, "dense-banked-not-streaming"])
def test_sweep_cycles_equal_the_banks_stepped_cycle_by_cycle(case):
    """kernel.sweep_cycles (a recurrence) against the literal reference's banks stepped register
    by register, on random hops: sparse ones leave groups without sources between groups with
    many, where a bank lags behind the sequencer (a group without sources once took a buffer,
    and a bank then walked a later group before an earlier one), and banks with none of a
    group's entries pass its buffer while walking an earlier one. The field pass likewise, on
    random subsets of the cells as its sources; and a build whose groups do not stream."""
    from lim.sim import kernel
    from naive_model import stream
    index = case if isinstance(case, int) else next(k for k, c in enumerate(CASES) if c[0] == case)
    program = CASES[index][2].program
    P = program.geometry.lanes
    bounds = np.array(program.colour_groups, dtype=np.int64).reshape(-1, 2)
    costs, skipping = program.stream_costs(), program.stream_costs(skipping=True)
    assert (skipping < costs).any(), "no bank skips a source here: the case checks nothing of it"
    rng = np.random.default_rng(index)
    for density in (0.05, 0.2, 0.5, 1.0):
        for _ in range(40):
            hops = (rng.random((program.n_groups, P)) < density) & program.valid
            lists = [[lane for lane in range(P) if hops[g, lane]] for g in range(program.n_groups)]
            K, streaming = program.geometry.source_buffers, program.geometry.streaming
            assert (kernel.sweep_cycles(hops.reshape(-1), skipping, bounds, P, K, streaming)
                    == stream(program, lists)), density
            assert (kernel.field_pass_cycles(hops.reshape(-1), costs, program.n_groups, P, K)
                    == program.n_groups + 1 + stream(program, lists, field_pass=True)), density
