"""Barrier schedule generator: the annealing and consolidation schedule at once.

The barrier lives in a Q8.16 kT accumulator; the array sees its top 12 bits (Q8.4). It is
updated once per completed sweep (``advance``), in one cycle, except the logarithmic schedule,
which takes one extra cycle per 1/16 kT step (``busy`` stays high while it steps).
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import (ACC_FRAC_BITS, ARG_FRAC_BITS, BARRIER_BITS, LOG_STEP_MULT,
                     LOG_THRESHOLD_BITS, Schedule)

__all__ = ["BarrierSchedule"]

_SHIFT = ACC_FRAC_BITS - ARG_FRAC_BITS
_ACC_BITS = BARRIER_BITS + _SHIFT


class BarrierSchedule(wiring.Component):
    """Eb(k) for sweep k: constant, linear, exponential (geometric) or logarithmic.

    - linear:      acc += rate                     (rate: Q8.16 kT per sweep)
    - exponential: acc += (acc * rate) >> 16       (rate: Q0.16 growth per sweep)
    - logarithmic: Eb = start + ln(1 + k / tau), in 1/16 kT steps (rate: tau in sweeps)
    All clamp at ``end``. ``raise_q4`` is the last increase (the start value right after init),
    which the consolidation counter charges to every cell.
    """
    kind: In(2)
    start_q4: In(BARRIER_BITS)
    end_q4: In(BARRIER_BITS)
    rate: In(32)
    init: In(1)
    advance: In(1)
    busy: Out(1)
    barrier_q4: Out(BARRIER_BITS)
    raise_q4: Out(BARRIER_BITS)

    def elaborate(self, platform):
        m = Module()
        acc = Signal(_ACC_BITS)
        end_acc = Signal(_ACC_BITS)
        m.d.comb += [end_acc.eq(self.end_q4 << _SHIFT), self.barrier_q4.eq(acc >> _SHIFT)]

        sweeps = Signal(32)
        threshold = Signal(LOG_THRESHOLD_BITS)
        tau = Signal(32)
        m.d.comb += tau.eq(self.rate)

        nxt = Signal(_ACC_BITS + 33)
        with m.Switch(self.kind):
            with m.Case(Schedule.LINEAR):
                m.d.comb += nxt.eq(acc + self.rate)
            with m.Case(Schedule.EXPONENTIAL):
                m.d.comb += nxt.eq(acc + ((acc * self.rate[:16]) >> 16))
            with m.Default():
                m.d.comb += nxt.eq(acc)
        nxt_clamped = Signal(_ACC_BITS)
        m.d.comb += nxt_clamped.eq(nxt)
        with m.If(nxt > end_acc):
            m.d.comb += nxt_clamped.eq(end_acc)

        # Logarithmic: the next 1/16 kT step is due once (k + tau) << 16 >= threshold.
        elapsed = Signal(33 + 16)
        m.d.comb += elapsed.eq((sweeps + tau) << 16)
        step_due = Signal()
        m.d.comb += step_due.eq((elapsed >= threshold) & (acc < end_acc))
        # (threshold * C) >> 16 with C = 2^16 + c: threshold + (threshold * c >> 16), and threshold * c
        # as shifted adds over the set bits of c (exact; no multiplier for a constant)
        fraction = LOG_STEP_MULT - (1 << 16)
        assert 0 < fraction < (1 << 16)
        product = sum(threshold << k for k in range(16) if fraction >> k & 1)
        grown = Signal(LOG_THRESHOLD_BITS + 17)
        m.d.comb += grown.eq(threshold + (product >> 16))
        threshold_next = Signal(LOG_THRESHOLD_BITS)
        m.d.comb += threshold_next.eq(grown)
        with m.If(grown >> LOG_THRESHOLD_BITS):
            m.d.comb += threshold_next.eq(-1)

        before = Signal(BARRIER_BITS)  # the barrier when this update began
        stepping = Signal()
        m.d.comb += self.busy.eq(stepping)

        with m.If(self.init):
            m.d.sync += [
                acc.eq(self.start_q4 << _SHIFT),
                self.raise_q4.eq(self.start_q4),
                sweeps.eq(0),
                threshold.eq(tau * LOG_STEP_MULT),
                stepping.eq(0),
            ]
        with m.Elif(stepping):
            with m.If(step_due):
                m.d.sync += [acc.eq(acc + (1 << _SHIFT)), threshold.eq(threshold_next)]
            with m.Else():
                m.d.sync += [stepping.eq(0), self.raise_q4.eq(self.barrier_q4 - before)]
        with m.Elif(self.advance):
            m.d.sync += [sweeps.eq(sweeps + 1), before.eq(self.barrier_q4)]
            with m.If(self.kind == Schedule.LOGARITHMIC):
                m.d.sync += stepping.eq(1)
            with m.Else():
                m.d.sync += [acc.eq(nxt_clamped),
                             self.raise_q4.eq((nxt_clamped >> _SHIFT) - self.barrier_q4)]
        return m
