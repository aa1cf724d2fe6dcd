"""Schedule generator: one for the barrier (mobility and consolidation), one for the gain
(the inverse temperature).

The value lives in an accumulator with more fractional bits than the value the array sees
(Q8.16 kT for the 12-bit barrier; for the gain, held as its logarithm L, Q5.28 octaves). It is
updated once per completed sweep (``advance``), in one cycle, except the logarithmic schedule,
which takes one extra cycle per 1/16 step (``busy`` stays high while it steps). The gain's
geometric schedule is the linear kind of its logarithm (hdl/array.py maps the kinds).
"""
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .params import ACC_FRAC_BITS, ARG_FRAC_BITS, BARRIER_BITS, LOG_STEP_MULT, LOG_THRESHOLD_BITS, Schedule

__all__ = ["ScheduleGenerator"]


class ScheduleGenerator(wiring.Component):
    """v(k) for sweep k: constant, linear, exponential (geometric) or logarithmic.

    - linear:      acc += rate                     (rate: ``extra_bits`` more fractional bits than v)
    - exponential: acc += (acc * rate) >> 16       (rate: Q0.16 growth per sweep)
    - logarithmic: v = start + ln(1 + k / tau), in 1/16 steps (rate: tau in sweeps)
    All clamp at ``end``. A generator built without a kind (the gain's has neither the
    logarithmic threshold chain nor the exponential multiplier) holds its value under it. For the
    first ``hold`` sweeps the value stays at ``start`` and k does not count. ``raise_q4`` is the
    last increase (the start value right after init), which the consolidation counter charges to
    every cell (barrier) and the work counters multiply with the objective (gain).

    Contract: ``advance`` comes while not ``busy``, and not in the cycle right after ``init`` or
    after another ``advance`` (an array's sweep takes 6 cycles at least, and its first starts
    after the generators' warm-up).
    """

    def __init__(self, value_bits=BARRIER_BITS, extra_bits=ACC_FRAC_BITS - ARG_FRAC_BITS, logarithmic=True,
                 exponential=True):
        if not isinstance(value_bits, int) or not 1 <= value_bits <= 16:
            raise ValueError(f"value_bits must be an int from 1 to 16, not {value_bits!r}")
        self.value_bits = value_bits
        self.extra_bits = extra_bits
        #: without the logarithmic kind (its 56-bit threshold chain), that kind holds the value
        self.logarithmic = bool(logarithmic)
        #: without the exponential kind (its multiplier), that kind holds the value
        self.exponential = bool(exponential)
        super().__init__({
            "kind": In(2), "start_q4": In(value_bits), "end_q4": In(value_bits), "rate": In(32),
            "hold": In(32), "init": In(1), "advance": In(1),
            "busy": Out(1), "value_q4": Out(value_bits), "raise_q4": Out(value_bits),
        })

    def elaborate(self, platform):
        m = Module()
        shift = self.extra_bits
        acc_bits = self.value_bits + shift
        acc = Signal(acc_bits)
        end_acc = Signal(acc_bits)
        m.d.comb += [end_acc.eq(self.end_q4 << shift), self.value_q4.eq(acc >> shift)]

        sweeps = Signal(32)
        tau = Signal(32)
        m.d.comb += tau.eq(self.rate)

        # The next value, registered: formed from acc in the cycle after acc changes, so that the
        # exponential kind's multiplier and adder do not share the advance's cycle with the clamp
        # and the raise (the compiled ULX3S builds' critical path). acc changes at init, at an
        # advance and while stepping; the next advance comes two cycles later at the soonest (the
        # contract, above), when nxt is the next value of the acc it reads. Only acc's bits and
        # whether the sum passed them are kept: all the clamp needs.
        formed = Signal(acc_bits + 33)
        with m.Switch(self.kind):
            with m.Case(Schedule.LINEAR):
                m.d.comb += formed.eq(acc + self.rate)
            if self.exponential:
                with m.Case(Schedule.EXPONENTIAL):
                    m.d.comb += formed.eq(acc + ((acc * self.rate[:16]) >> 16))
            with m.Default():
                m.d.comb += formed.eq(acc)
        nxt = Signal(acc_bits + 1)
        m.d.sync += nxt.eq(Cat(formed[:acc_bits], formed[acc_bits:].any()))
        nxt_clamped = Signal(acc_bits)
        m.d.comb += nxt_clamped.eq(nxt)
        with m.If(nxt > end_acc):
            m.d.comb += nxt_clamped.eq(end_acc)

        threshold = Signal(LOG_THRESHOLD_BITS)
        step_due = Signal()
        threshold_next = Signal(LOG_THRESHOLD_BITS)
        if self.logarithmic:
            # the next 1/16 step is due once (k + tau) << 16 >= threshold
            elapsed = Signal(33 + 16)
            m.d.comb += elapsed.eq((sweeps + tau) << 16)
            m.d.comb += step_due.eq((elapsed >= threshold) & (acc < end_acc))
            # (threshold * C) >> 16 with C = 2^16 + c: threshold + (threshold * c >> 16), and
            # threshold * c as shifted adds over the set bits of c (exact; no multiplier for a constant)
            fraction = LOG_STEP_MULT - (1 << 16)
            assert 0 < fraction < (1 << 16)
            product = sum(threshold << k for k in range(16) if fraction >> k & 1)
            grown = Signal(LOG_THRESHOLD_BITS + 17)
            m.d.comb += grown.eq(threshold + (product >> 16))
            m.d.comb += threshold_next.eq(grown)
            with m.If(grown >> LOG_THRESHOLD_BITS):
                m.d.comb += threshold_next.eq(-1)

        before = Signal(self.value_bits)  # the value when this update began
        held = Signal(32)
        stepping = Signal()
        m.d.comb += self.busy.eq(stepping)

        with m.If(self.init):
            m.d.sync += [
                acc.eq(self.start_q4 << shift),
                self.raise_q4.eq(self.start_q4),
                sweeps.eq(0),
                held.eq(0),
                threshold.eq(tau * LOG_STEP_MULT),
                stepping.eq(0),
            ]
        with m.Elif(stepping):
            with m.If(step_due):
                m.d.sync += [acc.eq(acc + (1 << shift)), threshold.eq(threshold_next)]
            with m.Else():
                m.d.sync += [stepping.eq(0), self.raise_q4.eq(self.value_q4 - before)]
        with m.Elif(self.advance & (held < self.hold)):
            m.d.sync += [held.eq(held + 1), self.raise_q4.eq(0)]
        with m.Elif(self.advance):
            m.d.sync += [sweeps.eq(sweeps + 1), before.eq(self.value_q4)]
            with m.If((self.kind == Schedule.LOGARITHMIC) & self.logarithmic):
                m.d.sync += stepping.eq(1)
            with m.Else():
                m.d.sync += [acc.eq(nxt_clamped),
                             self.raise_q4.eq((nxt_clamped >> shift) - self.value_q4)]
        return m
