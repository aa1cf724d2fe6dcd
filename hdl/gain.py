"""The gain in hardware: its logarithm L decoded into the mantissa and shift the lanes multiply
by, and the rounded product y = round(M * v / 2^s) the lanes and the work counter form.

The gain schedule holds L (hdl/schedule.py), so a geometric schedule is an addition and every
gain from 1.5e-8 to 63.8 kT per unit is within 0.3% of a register value (params.py, Number
formats in docs/architecture.md).
"""
from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .params import GAIN_BITS, GAIN_FRAC_BITS, GAIN_MANTISSA_BITS, GAIN_SHIFT_MAX, QP_GAIN_SHIFT, gain_mantissa_table

__all__ = ["GainDecoder", "shift_shape", "magnitude_product", "rounded_magnitude", "rounded_shift", "rounded_product", "with_sign"]


def _shift_top(qp):
    return GAIN_SHIFT_MAX + (QP_GAIN_SHIFT if qp else 0)


def shift_shape(qp=False):
    """The width of s (0 .. GAIN_SHIFT_MAX, QP_GAIN_SHIFT more for QP cells)."""
    return unsigned(_shift_top(qp).bit_length())


def magnitude_product(m, value, mantissa):
    """(|value| * mantissa, value < 0) as signals: the first half of params.gain_product."""
    negative = Signal()
    m.d.comb += negative.eq(value < 0 if value.shape().signed else 0)
    magnitude = Signal(unsigned(len(value)))
    m.d.comb += magnitude.eq(with_sign(value, negative))
    product = Signal(unsigned(len(value) + len(mantissa)))
    m.d.comb += product.eq(magnitude * mantissa)
    return product, negative


def rounded_magnitude(m, product, shift):
    """round(product / 2^shift), halves up: |y| of params.gain_product (the product shifted one
    place less, plus one, halved)."""
    halves = Signal(unsigned(len(product) + 1))
    m.d.comb += halves.eq((product << 1) >> shift)
    rounded = Signal(unsigned(len(halves)))
    m.d.comb += rounded.eq((halves + 1) >> 1)
    return rounded


def rounded_shift(m, product, negative, shift):
    """round(product / 2^shift), halves away from zero, negated when ``negative``: the second half
    of params.gain_product."""
    rounded = rounded_magnitude(m, product, shift)
    result = Signal(signed(len(rounded) + 1))
    m.d.comb += result.eq(with_sign(rounded, negative))
    return result


def with_sign(magnitude, negative):
    """-``magnitude`` if ``negative``, else ``magnitude``."""
    return Mux(negative, -magnitude, magnitude)


def rounded_product(m, value, mantissa, shift):
    """A signal holding round(value * mantissa / 2^shift), halves away from zero
    (params.gain_product), in one cycle."""
    return rounded_shift(m, *magnitude_product(m, value, mantissa), shift)


class GainDecoder(wiring.Component):
    """(M, s) of two gain values, a cycle after their L arrives: ``now`` drives the lanes,
    ``before`` (the value before the last step) the work counter. The mantissa table is a ROM
    with two read ports (a block RAM where the fabric has one). ``qp``: the shifts of QP cells
    (params.gain_operands)."""

    def __init__(self, qp=False):
        self.qp = qp
        super().__init__({
            "now": In(GAIN_BITS), "before": In(GAIN_BITS),
            "mantissa": Out(GAIN_MANTISSA_BITS), "shift": Out(shift_shape(qp)),
            "mantissa_before": Out(GAIN_MANTISSA_BITS), "shift_before": Out(shift_shape(qp)),
        })

    def elaborate(self, platform):
        m = Module()
        m.submodules.table = table = Memory(shape=unsigned(GAIN_MANTISSA_BITS), depth=2 ** GAIN_FRAC_BITS,
                                            init=gain_mantissa_table())
        for value, mantissa, shift in ((self.now, self.mantissa, self.shift),
                                       (self.before, self.mantissa_before, self.shift_before)):
            port = table.read_port()
            m.d.comb += [port.addr.eq(value[:GAIN_FRAC_BITS]), mantissa.eq(port.data)]
            m.d.sync += shift.eq(_shift_top(self.qp) - value[GAIN_FRAC_BITS:])
        return m
