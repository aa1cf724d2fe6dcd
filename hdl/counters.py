"""Saturating event counters: a counter never wraps; it sticks at its maximum and says so."""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

__all__ = ["SaturatingCounter"]


class SaturatingCounter(wiring.Component):
    """Adds ``increment`` every cycle; past ``2**width - 1`` it holds all-ones, ``saturated`` set.

    ``loadable`` (test builds only) adds ``load``/``load_value``: the counter takes that value,
    so a simulation can start it near 2^32 or 2^width without running for years.
    """

    def __init__(self, width, increment_width, loadable=False):
        for name, value in (("width", width), ("increment_width", increment_width)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, not {value!r}")
        self.width = width
        self.increment_width = increment_width
        self.loadable = loadable
        ports = {
            "increment": In(increment_width),
            "clear": In(1),
            "value": Out(width),
            "saturated": Out(1),
        }
        if loadable:
            ports.update(load=In(1), load_value=In(width))
        super().__init__(ports)

    def elaborate(self, platform):
        m = Module()
        total = Signal(max(self.width, self.increment_width) + 1)
        m.d.comb += total.eq(self.value + self.increment)
        with m.If(self.clear):
            m.d.sync += [self.value.eq(0), self.saturated.eq(0)]
        if self.loadable:
            with m.Elif(self.load):
                m.d.sync += self.value.eq(self.load_value)
        with m.Elif(total >> self.width != 0):
            m.d.sync += [self.value.eq(-1), self.saturated.eq(1)]
        with m.Else():
            m.d.sync += self.value.eq(total)
        return m
