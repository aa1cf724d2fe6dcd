"""Per-lane pseudo-random source: xorshift32, stepped once per group a lane processes."""
from amaranth.hdl import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import LANE_SEED_KEY

__all__ = ["Xorshift32"]


class Xorshift32(wiring.Component):
    """Xorshift32 (13, 17, 5) with a lane-keyed reseed.

    ``init`` loads ``seed XOR key`` (or 1 when that is 0); ``step`` advances one state. The golden
    model reproduces the stream with GF(2) jump matrices, since the map is linear.
    """
    seed: In(32)
    init: In(1)
    step: In(1)
    state: Out(32)

    def __init__(self, lane):
        if not isinstance(lane, int) or lane < 0:
            raise ValueError(f"lane must be a non-negative int, not {lane!r}")
        self.lane = lane
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        key = (LANE_SEED_KEY * (self.lane + 1)) & 0xFFFFFFFF
        keyed = Signal(32)
        m.d.comb += keyed.eq(self.seed ^ key)
        a = Signal(32)
        b = Signal(32)
        c = Signal(32)
        m.d.comb += [
            a.eq(self.state ^ (self.state << 13)[:32]),
            b.eq(a ^ (a >> 17)),
            c.eq(b ^ (b << 5)[:32]),
        ]
        with m.If(self.init):
            m.d.sync += self.state.eq(Mux(keyed == 0, 1, keyed))
        with m.Elif(self.step):
            m.d.sync += self.state.eq(c)
        return m
