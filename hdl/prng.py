"""Per-lane pseudo-random source: xoshiro128++, one output and one step per group a lane processes."""
from amaranth.hdl import Cat, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import LANE_KEY, PRNG_INIT_WORDS

__all__ = ["Xoshiro128pp"]


def _rotl(value, k):
    return Cat(value[32 - k:], value[:32 - k])


class Xoshiro128pp(wiring.Component):
    """xoshiro128++ (Blackman and Vigna): a 128-bit linear engine, period 2^128 - 1, with an
    add-rotate-add output that passes the standard statistical batteries.

    ``init`` loads (seed, key(lane), PRNG_INIT_WORDS); while ``warm`` is high the state steps and
    its output is folded back into s0, which makes each lane's state a non-linear function of
    (seed, lane) (params.lane_prng_state). ``step`` advances the engine (two steps with ``double``);
    ``output`` is the draw of the current state, ``output_next`` the draw after it.
    """
    seed: In(32)
    init: In(1)
    warm: In(1)
    step: In(1)
    double: In(1)
    output: Out(32)
    output_next: Out(32)

    def __init__(self, lane):
        if not isinstance(lane, int) or lane < 0:
            raise ValueError(f"lane must be a non-negative int, not {lane!r}")
        self.lane = lane
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        s = [Signal(32, name=f"s{k}") for k in range(4)]
        nxt = _engine(m, s, "next")
        after = _engine(m, nxt, "after")
        m.d.comb += [self.output.eq(_draw(s)), self.output_next.eq(_draw(nxt))]
        key = (LANE_KEY * (self.lane + 1)) & 0xFFFFFFFF
        with m.If(self.init):
            m.d.sync += [s[0].eq(self.seed), s[1].eq(key), s[2].eq(PRNG_INIT_WORDS[0]),
                         s[3].eq(PRNG_INIT_WORDS[1])]
        with m.Elif(self.warm):
            m.d.sync += [s[0].eq(nxt[0] ^ self.output), s[1].eq(nxt[1]), s[2].eq(nxt[2]), s[3].eq(nxt[3])]
        with m.Elif(self.step):
            m.d.sync += [s[k].eq(Mux(self.double, after[k], nxt[k])) for k in range(4)]
        return m


def _draw(s):
    """The output of state ``s``: rotl(s0 + s3, 7) + s0."""
    return (_rotl((s[0] + s[3])[:32], 7) + s[0])[:32]


def _engine(m, s, name):
    """The state after ``s``: t = s1 << 9; s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
    s3 = rotl(s3, 11)."""
    s2a = Signal(32, name=f"{name}_s2a")
    s3a = Signal(32, name=f"{name}_s3a")
    nxt = [Signal(32, name=f"{name}{k}") for k in range(4)]
    m.d.comb += [
        s2a.eq(s[2] ^ s[0]),
        s3a.eq(s[3] ^ s[1]),
        nxt[1].eq(s[1] ^ s2a),
        nxt[0].eq(s[0] ^ s3a),
        nxt[2].eq(s2a ^ (s[1] << 9)[:32]),
        nxt[3].eq(_rotl(s3a, 11)),
    ]
    return nxt
