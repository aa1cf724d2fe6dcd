"""8N1 UART receiver and transmitter with an integer clock divider (clocks per bit).

A line between two clocks (a board's serial port) needs the receiver to sample each bit near its
middle, so at least 4 clocks per bit. A line whose two ends run on one clock (the simulated board,
sim/cosim/board_harness.py) has no drift to absorb: it runs at any divider down to one clock per
bit, with the same RTL.
"""
from amaranth.hdl import Module, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out

__all__ = ["UARTRx", "UARTTx", "least_divider"]


class _BitTimed(wiring.Component):
    """A UART side: ``divider`` clocks per bit; ``synchronous``: both ends of the line share this
    clock (then 1 clock per bit is enough)."""

    def __init__(self, divider, synchronous=False):
        least = least_divider(synchronous)
        if not isinstance(divider, int) or divider < least:
            raise ValueError(f"divider must be an int of at least {least} clock{'s' if least > 1 else ''} per bit"
                             f"{' on a synchronous line' if synchronous else ''}, not {divider!r}")
        self.divider = divider
        super().__init__()


def least_divider(synchronous):
    """The fewest clocks per bit a line takes: 4 between two clocks (a bit sampled near its
    middle), 1 when both ends share the clock."""
    return 1 if synchronous else 4


class UARTRx(_BitTimed):
    """Samples each bit in its middle; ``valid`` pulses one cycle with ``data``.

    A frame with a low stop bit is dropped (``framing_error`` pulses instead).
    """
    rx: In(1, init=1)
    data: Out(8)
    valid: Out(1)
    framing_error: Out(1)

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.divider * 3 // 2 + 1))
        bits = Signal(4)
        shift = Signal(8)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += [timer.eq(self.divider * 3 // 2 - 1), bits.eq(0)]
                    m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    m.d.sync += [shift.eq((shift >> 1) | (rx << 7)), bits.eq(bits + 1),
                                 timer.eq(self.divider - 1)]
                    with m.If(bits == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer != 0):
                    m.d.sync += timer.eq(timer - 1)
                with m.Else():
                    with m.If(rx):
                        m.d.comb += [self.valid.eq(1)]
                    with m.Else():
                        m.d.comb += self.framing_error.eq(1)
                    m.next = "IDLE"
        m.d.comb += self.data.eq(shift)
        return m


class UARTTx(_BitTimed):
    """Sends ``data`` when ``valid`` and ``ready``; ``ready`` is low while a byte is on the line."""
    data: In(8)
    valid: In(1)
    ready: Out(1)
    tx: Out(1, init=1)

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divider))
        shift = Signal(10)
        bits = Signal(4)
        # ready only once the stop bit has been on the line for a whole bit time
        m.d.comb += self.ready.eq((bits == 0) & (timer == 0))
        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.Elif(bits != 0):
            m.d.sync += [self.tx.eq(shift[0]), shift.eq(shift >> 1), timer.eq(self.divider - 1),
                         bits.eq(bits - 1)]
        with m.Elif(self.valid):
            m.d.sync += [shift.eq((self.data << 1) | (1 << 9)), bits.eq(10)]
        return m
