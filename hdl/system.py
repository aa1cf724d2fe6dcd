"""The LIM array behind its UART command interface: what a board, or a simulated board, runs."""
from amaranth.hdl import Module, ResetInserter, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .array import LimArray
from .command import CommandBlock
from .compiled import CompiledArray
from .params import ArrayGeometry
from .uart import UARTRx, UARTTx, least_divider

__all__ = ["LimSystem", "frame_timeout_cycles", "uart_divider"]


def frame_timeout_cycles(clk_hz, baud, timeout_s=0.01):
    """Clock cycles of a quiet line after which a partial frame is dropped: at least 16 bit times."""
    return max(16 * round(clk_hz / baud), int(timeout_s * clk_hz))


def uart_divider(clk_hz, baud, synchronous_line=False):
    """Clocks per bit of the serial line: ``baud`` from ``clk_hz`` within 2%, or a ValueError."""
    divider = round(clk_hz / baud)
    if divider < least_divider(synchronous_line) or abs(clk_hz / divider - baud) / baud > 0.02:
        raise ValueError(f"{clk_hz / 1e6:g} MHz cannot make {baud} baud within 2% (divider {clk_hz / baud:.2f})")
    return divider


class LimSystem(wiring.Component):
    """``rx``/``tx`` are the UART lines (8N1, ``clk_hz / baud`` clocks per bit). With ``program``,
    the array is that problem's compiled array (hdl/compiled.py) and IDENTIFY names it.
    ``synchronous_line``: the line's other end runs on this clock (the simulated board), so the
    UART may run at down to one clock per bit (hdl/uart.py)."""
    rx: In(1, init=1)
    tx: Out(1, init=1)

    def __init__(self, geometry, clk_hz, baud, board_id=0, timeout_s=0.01, program=None, synchronous_line=False):
        if not isinstance(geometry, ArrayGeometry):
            raise TypeError(f"geometry must be an ArrayGeometry, not {type(geometry).__name__}")
        divider = uart_divider(clk_hz, baud, synchronous_line)
        if program is not None and program.geometry != geometry:
            raise ValueError("the compiled program is mapped for another geometry")
        self.geometry = geometry
        self.program = program   # a compiled problem (hdl/compiled.py), or None: programmable
        self.clk_hz = clk_hz
        self.baud = baud
        self.divider = divider
        self.synchronous_line = synchronous_line
        self.board_id = board_id
        self.timeout_cycles = frame_timeout_cycles(clk_hz, baud, timeout_s)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = rx = UARTRx(self.divider, self.synchronous_line)
        m.submodules.uart_tx = tx = UARTTx(self.divider, self.synchronous_line)
        digest = self.program.digest() if self.program is not None else None
        m.submodules.command = cmd = CommandBlock(self.geometry, self.board_id, self.clk_hz, self.timeout_cycles,
                                                  problem_digest=digest)
        array = LimArray(self.geometry) if self.program is None else CompiledArray(self.program)
        # the RESET command resets the array a cycle later, from a register: that reset reaches
        # every register of the array, across the chip, and gets the whole cycle for it
        array_reset = Signal()
        m.d.sync += array_reset.eq(cmd.array_reset)
        m.submodules.array = ResetInserter(array_reset)(array)
        m.d.comb += [
            rx.rx.eq(self.rx), self.tx.eq(tx.tx),
            cmd.rx_data.eq(rx.data), cmd.rx_valid.eq(rx.valid),
            tx.data.eq(cmd.tx_data), tx.valid.eq(cmd.tx_valid), cmd.tx_ready.eq(tx.ready),
            array.bus_addr.eq(cmd.bus_addr), array.bus_wdata.eq(cmd.bus_wdata), array.bus_we.eq(cmd.bus_we),
            cmd.bus_rdata.eq(array.bus_rdata), cmd.array_busy.eq(array.busy),
        ]
        return m
