"""Unit tests of the RTL blocks in Amaranth's simulator, each against the contract in hdl/params.py."""
import math

import pytest
from amaranth.sim import Simulator

from lim.hdl.counters import SaturatingCounter
from lim.hdl.params import (ARG_FRAC_BITS, PROB_BITS, TABLE_DEPTH, Schedule, hop_probability_table,
                            lane_seed, xorshift32)
from lim.hdl.prng import Xorshift32
from lim.hdl.schedule import BarrierSchedule
from lim.sim.golden import RunConfig, ScheduleModel


def simulate(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("seed, lane", [(0, 0), (1, 5), (0xDEADBEEF, 31), (0x9E3779B9, 0)])
def test_xorshift_follows_reference_stream(seed, lane):
    dut = Xorshift32(lane)

    async def bench(ctx):
        ctx.set(dut.seed, seed)
        ctx.set(dut.init, 1)
        await ctx.tick()
        ctx.set(dut.init, 0)
        state = lane_seed(seed, lane)
        assert ctx.get(dut.state) == state
        ctx.set(dut.step, 1)
        for _ in range(100):
            await ctx.tick()
            state = xorshift32(state)
            assert ctx.get(dut.state) == state

    simulate(dut, bench)


def test_zero_keyed_seed_becomes_one():
    assert lane_seed(0x9E3779B9, 0) == 1


def test_saturating_counter_sticks_and_flags():
    dut = SaturatingCounter(width=8, increment_width=4)

    async def bench(ctx):
        total = 0
        for inc in [15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 3]:
            ctx.set(dut.increment, inc)
            await ctx.tick()
            total += inc
            assert ctx.get(dut.value) == min(total, 255)
            assert ctx.get(dut.saturated) == (total > 255)
        ctx.set(dut.increment, 0)
        ctx.set(dut.clear, 1)
        await ctx.tick()
        assert ctx.get(dut.value) == 0 and ctx.get(dut.saturated) == 0

    simulate(dut, bench)


def test_counter_exactly_at_maximum_is_not_saturated():
    dut = SaturatingCounter(width=4, increment_width=4)

    async def bench(ctx):
        ctx.set(dut.increment, 15)
        await ctx.tick()
        assert ctx.get(dut.value) == 15 and not ctx.get(dut.saturated)
        ctx.set(dut.increment, 1)
        await ctx.tick()
        assert ctx.get(dut.value) == 15 and ctx.get(dut.saturated)

    simulate(dut, bench)


SCHEDULES = [
    RunConfig(schedule=Schedule.CONSTANT, barrier_start_q4=40, barrier_end_q4=90),
    RunConfig(schedule=Schedule.LINEAR, barrier_start_q4=0, barrier_end_q4=100, rate=23456),
    RunConfig(schedule=Schedule.LINEAR, barrier_start_q4=10, barrier_end_q4=4095, rate=1 << 20),
    RunConfig(schedule=Schedule.EXPONENTIAL, barrier_start_q4=5, barrier_end_q4=3000, rate=9000),
    RunConfig(schedule=Schedule.EXPONENTIAL, barrier_start_q4=0, barrier_end_q4=80, rate=65535),
    RunConfig(schedule=Schedule.LOGARITHMIC, barrier_start_q4=16, barrier_end_q4=200, rate=1),
    RunConfig(schedule=Schedule.LOGARITHMIC, barrier_start_q4=0, barrier_end_q4=4095, rate=7),
    RunConfig(schedule=Schedule.LOGARITHMIC, barrier_start_q4=0, barrier_end_q4=50, rate=0xFFFFFFFF),
]


@pytest.mark.parametrize("config", SCHEDULES, ids=lambda c: f"{c.schedule.name.lower()}-{c.rate}")
def test_schedule_block_matches_model(config):
    dut = BarrierSchedule()
    model = ScheduleModel(config)

    async def bench(ctx):
        ctx.set(dut.kind, config.schedule)
        ctx.set(dut.start_q4, config.barrier_start_q4)
        ctx.set(dut.end_q4, config.barrier_end_q4)
        ctx.set(dut.rate, config.rate)
        ctx.set(dut.init, 1)
        await ctx.tick()
        ctx.set(dut.init, 0)
        assert ctx.get(dut.barrier_q4) == model.barrier_q4 == config.barrier_start_q4
        previous = model.barrier_q4
        for sweep in range(60):
            ctx.set(dut.advance, 1)
            await ctx.tick()
            ctx.set(dut.advance, 0)
            cycles = 1
            while ctx.get(dut.busy):  # the array waits for busy to drop, then moves on
                await ctx.tick()
                cycles += 1
            await ctx.tick()
            cycles += 1
            expected_cycles = model.advance()
            assert ctx.get(dut.barrier_q4) == model.barrier_q4, f"sweep {sweep}"
            assert ctx.get(dut.raise_q4) == model.raise_q4, f"sweep {sweep}"
            assert cycles == expected_cycles, f"sweep {sweep}"
            assert config.barrier_start_q4 <= model.barrier_q4 <= max(config.barrier_end_q4, config.barrier_start_q4)
            assert model.barrier_q4 >= previous
            previous = model.barrier_q4

    simulate(dut, bench)


def test_logarithmic_schedule_follows_ln():
    """Eb(k) = start + floor(16 ln(1 + k/tau)) / 16, up to the threshold's rounding drift.

    The m-th step is due at k + tau >= tau * C^m / 2^(16(m-1)) with C = round(2^16 e^(1/16)); the
    rounding of C and of each product shifts that time by a relative error of at most m * 2^-15.
    """
    tau = 5
    model = ScheduleModel(RunConfig(schedule=Schedule.LOGARITHMIC, barrier_end_q4=4095, rate=tau))
    for k in range(1, 20000):
        model.advance()
        m = model.barrier_q4
        drift = (m + 1) * 2 ** -15
        late = math.floor(16 * math.log((k + tau) / (tau * (1 + drift))))
        early = math.floor(16 * math.log((k + tau) / (tau * (1 - drift))))
        assert late <= m <= early, k


def test_probability_table_error_against_float():
    """Only rounding to 16 bits: |p - exp(-x)| <= 2^-17 for every x the table serves."""
    table = hop_probability_table()
    assert len(table) == TABLE_DEPTH
    worst = max(abs(table[k] / 2 ** PROB_BITS - math.exp(-k / 2 ** ARG_FRAC_BITS)) for k in range(1, TABLE_DEPTH))
    assert worst <= 2 ** -(PROB_BITS + 1)
    assert all(a >= b for a, b in zip(table[1:], table[2:]))  # monotone
    first_zero = table.index(0)
    assert math.exp(-first_zero / 16) < 2 ** -(PROB_BITS + 1) <= math.exp(-(first_zero - 1) / 16)
