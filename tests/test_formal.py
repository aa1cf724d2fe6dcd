"""Formal proofs of the RTL (SymbiYosys + z3), and broken blocks that the same proofs must reject."""
import json

import pytest
from amaranth.hdl import Const, Signal, signed

from lim.hdl.command import CommandBlock
from lim.hdl.counters import SaturatingCounter
from lim.hdl.lane import Lane
from lim.hdl.params import Region
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


class NarrowLane(Lane):
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
    result = prove(LaneProperties(lane=NarrowLane), "narrow", tmp_path)
    assert not result.passed


def test_write_windows_match_the_bus_map():
    g = FORMAL_GEOMETRY
    assert g.writable(g.address(Region.EDGES, g.edge_depth - 1, lane=g.lanes - 1))
    assert not g.writable(g.address(Region.EDGES, g.edge_depth, lane=0))
    assert not g.writable(g.address(Region.COUNTERS, 0))
    assert not g.writable(g.address(Region.STATE, 0) | (1 << g.index_bits))  # lane field set
    assert not g.writable(1 << g.addr_bits)                                    # beyond the bus


def test_lim_prove_reports_and_writes_json(tmp_path, capsys):
    rc = main(["prove", "--only", "schedule", "--out", str(tmp_path), "--workdir", str(tmp_path / "w")])
    assert rc == 0
    assert "schedule" in capsys.readouterr().out
    (entry,) = json.loads((tmp_path / "formal.json").read_text())["proofs"]
    assert entry["passed"] and entry["mode"] == "prove"
