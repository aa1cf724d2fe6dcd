"""Formal proofs of the RTL (SymbiYosys + z3), and broken blocks that the same proofs must reject."""
import json
from dataclasses import replace

import pytest
from amaranth.hdl import Const, Elaboratable, Module, Signal, signed

from lim.hdl.command import CommandBlock
from lim.hdl.counters import SaturatingCounter
from lim.hdl.gain import rounded_shift
from lim.hdl.decision import Decision, TiltProduct, hop_argument_shape
from lim.boards.targets import BOARDS
from lim.hdl.params import Region, gain_product
from lim.host.cli import main
from lim.sim.formal.properties import (FORMAL_GEOMETRY, PROOFS, CommandLiveness, CommandSafety,
                                       CounterProperties, LaneProperties)
from lim.sim.formal.prover import run_proof


def prove(harness, name, tmp_path, mode="prove", depth=3):
    return run_proof(name, harness, harness.ports(), mode, depth, tmp_path / name)


def _marked(proof):
    """The proofs at the boards' own sizes take tens of seconds each: full suite only."""
    board_sized = proof.name.endswith(("_icebreaker", "_ulx3s"))
    return pytest.param(proof, id=proof.name, marks=[pytest.mark.slow] if board_sized else [])


@pytest.mark.parametrize("proof", [_marked(p) for p in PROOFS])
def test_property_is_proved(proof, tmp_path):
    result = prove(proof.build(), proof.name, tmp_path, proof.mode, proof.depth)
    assert result.passed, result.summary
    assert "successful proof by k-induction" in result.summary


# ---- the proofs are not vacuous: each rejects a block with the bug it rules out ----------------

class WrappingCounter(SaturatingCounter):
    """A plain counter: it wraps past its maximum."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.sync += self.value.eq(self.value + self.increment)
        return m


class UncheckedCommandBlock(CommandBlock):
    """Executes every WRITE, whatever its address."""

    def _window_ok(self, m, first, last):
        return Const(1)


class StuckCommandBlock(CommandBlock):
    """Its line-quiet timer never runs, so a frame cut short leaves it waiting for ever."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        m.d.sync += self.idle_timer.eq(0)
        return m


class NarrowDecision(Decision):
    """Forms x in too few bits, so a large tilt overflows it."""

    def __init__(self, geometry, index):
        super().__init__(geometry, index)
        self.x_shape = signed(12)
        self.x_next = Signal(self.x_shape)
        self.x = Signal(self.x_shape)


def test_wrapping_counter_fails_the_proof(tmp_path):
    result = prove(CounterProperties(12, 4, counter=WrappingCounter), "wrap", tmp_path)
    assert not result.passed


@pytest.mark.slow
def test_unchecked_write_fails_the_proof(tmp_path):
    # A real counterexample, not only a failed induction: the solver builds a whole WRITE frame
    # with a matching CRC whose address leaves the array (17 cycles from reset).
    harness = CommandSafety(max_payload=8, command=UncheckedCommandBlock)
    result = prove(harness, "unchecked", tmp_path, mode="bmc", depth=20)
    assert not result.passed
    assert "properties.py" in result.summary and "counterexample trace" in result.summary


def test_a_decoder_that_can_hang_fails_the_liveness_proof(tmp_path):
    result = prove(CommandLiveness(command=StuckCommandBlock), "stuck", tmp_path, mode="bmc", depth=4)
    assert not result.passed and "counterexample trace" in result.summary


def test_narrow_hop_argument_fails_the_proof(tmp_path):
    result = prove(LaneProperties(decision=NarrowDecision), "narrow", tmp_path)
    assert not result.passed


GAIN_EXTREMES = [(512, 0), (1021, 0), (1021, 1), (733, 13), (512, 31), (1021, 31)]   # (M, s)


class _TiltAndY(Elaboratable):
    """The lane's TiltProduct and its rounded shift, composed as the lane composes them."""

    def __init__(self, tilt, x_shape):
        self.tilt, self.shift, self.y = tilt, Signal(5), Signal(x_shape)

    def elaborate(self, platform):
        m = Module()
        m.submodules.tilt = self.tilt
        m.d.comb += self.y.eq(rounded_shift(m, self.tilt.product, self.tilt.negative, self.shift))
        return m


def lane_tilts(tilt_class, geometry):
    """The lane's t and y for its own value 0 and 1 at the field's extremes and the gain's
    extremes (M, s), read from the lane's own units in Amaranth's simulator, against t = +-f and
    y = params.gain_product(t, M, s): -f overflows only at the most negative f, M t only where
    both are largest."""
    from amaranth.sim import Simulator
    dut = _TiltAndY(tilt_class(geometry), hop_argument_shape(geometry))
    low, high = -(1 << (geometry.field_bits - 1)), (1 << (geometry.field_bits - 1)) - 1
    cases = [(f, own, m, shift) for f in (low, low + 1, -1, 0, 1, high) for own in (0, 1)
             for m, shift in GAIN_EXTREMES]
    got = []

    async def bench(ctx):
        for f, own, m, shift in cases:
            ctx.set(dut.tilt.field, f)
            ctx.set(dut.tilt.own_value, own)
            ctx.set(dut.tilt.mantissa, m)
            ctx.set(dut.shift, shift)
            await ctx.delay(1e-9)
            got.append((ctx.get(dut.tilt.t), ctx.get(dut.y)))

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    want = [(t, int(gain_product(t, m, shift))) for f, own, m, shift in cases for t in [f if own else -f]]
    return got, want


class NarrowTiltProduct(TiltProduct):
    """Forms t = +-f at the field's own width, so negating the most negative field wraps."""

    def __init__(self, geometry):
        super().__init__(geometry)
        self.t = Signal(signed(geometry.field_bits))


class NarrowProduct(TiltProduct):
    """Holds M |t| one bit narrower than it needs: the largest products wrap."""

    def __init__(self, geometry):
        super().__init__(geometry)
        self.product = Signal(self.product_shape.width - 3)   # M |t| < 2^(width - 2) for spins


@pytest.mark.parametrize("geometry", [FORMAL_GEOMETRY, BOARDS["icebreaker"].geometry, BOARDS["ulx3s"].geometry],
                         ids=["small", "icebreaker", "ulx3s"])
def test_the_lanes_t_and_y_at_their_extremes(geometry):
    got, want = lane_tilts(TiltProduct, geometry)
    assert got == want


@pytest.mark.parametrize("tilt", [NarrowTiltProduct, NarrowProduct])
def test_a_lane_whose_t_or_product_wraps_fails_the_extremes_check(tilt):
    got, want = lane_tilts(tilt, FORMAL_GEOMETRY)
    assert got != want


def test_write_windows_match_the_bus_map():
    g = FORMAL_GEOMETRY
    assert g.writable(g.address(Region.EDGES, g.edge_depth - 1, lane=g.lanes - 1))
    assert not g.writable(g.address(Region.EDGES, g.edge_depth, lane=0))
    assert not g.writable(g.address(Region.COUNTERS, 0))
    assert not g.writable(g.address(Region.STATE, 0) | (1 << g.index_bits))  # lane field set
    assert not g.writable(1 << g.addr_bits)                                    # beyond the bus
    # fields in 4 banks: a row's 4 entries (9 bits each here: address, last, weight) take 2 words of EDGES, row * 2 + k
    banked = replace(g, field_banks=4)
    assert (banked.edge_entry_bits, banked.edge_word_entries, banked.edge_words) == (9, 2, 2)
    assert banked.writable(banked.address(Region.EDGES, 2 * g.edge_depth - 1, lane=g.lanes - 1))
    assert not banked.writable(banked.address(Region.EDGES, 2 * g.edge_depth, lane=0))
    assert banked.write_window(Region.EDGES) == (True, 2 * g.edge_depth)
    # which sources have entries in which bank: a word per group and bank, per lane; nothing to
    # tell with one lane and one bank
    assert banked.write_window(Region.OWN) == (True, 4 * g.groups)
    assert banked.writable(banked.address(Region.OWN, 4 * g.groups - 1, lane=g.lanes - 1))
    assert not banked.writable(banked.address(Region.OWN, 4 * g.groups, lane=0))
    assert replace(g, lanes=1).write_window(Region.OWN) is None


def test_lim_prove_reports_and_writes_json(tmp_path, capsys):
    rc = main(["prove", "--only", "schedule", "--out", str(tmp_path), "--workdir", str(tmp_path / "w")])
    assert rc == 0
    assert "schedule" in capsys.readouterr().out
    (entry,) = json.loads((tmp_path / "formal.json").read_text())["proofs"]
    assert entry["passed"] and entry["mode"] == "prove"


def test_leading_zeros_counts_every_position():
    """The lane's leading-zero tree (its run of zeros against e) on 31, 16 and 47 bits: one set
    bit at every position, a random bit below it, and zero."""
    from amaranth.sim import Simulator
    from lim.hdl.decision import leading_zeros

    class Count(Elaboratable):
        def __init__(self, width):
            self.value, self.width = Signal(width), width

        def elaborate(self, platform):
            m = Module()
            self.count = leading_zeros(m, self.value)
            return m

    for width in (31, 16, 47):
        dut = Count(width)
        values = [0] + [(1 << k) | ((1 << k) - 1 & 0x5A5A5A5A5A5A) for k in range(width)]
        got = []

        async def bench(ctx):
            for v in values:
                ctx.set(dut.value, v)
                await ctx.delay(1e-9)
                got.append(ctx.get(dut.count))

        sim = Simulator(dut)
        sim.add_testbench(bench)
        sim.run()
        assert got == [width - v.bit_length() for v in values], width
