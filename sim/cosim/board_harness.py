"""A simulated board: the LimSystem a board runs, with the host's end of its serial line.

The host's bytes go through a FIFO into a UART transmitter whose line drives the system's ``rx``;
the system's ``tx`` line is decoded by a UART receiver. Everything on the serial line is RTL, so
the bench only handles whole bytes.
"""
from amaranth.hdl import Module
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from ...hdl.protocol import MAX_PAYLOAD
from ...hdl.system import LimSystem
from ...hdl.uart import UARTRx, UARTTx

__all__ = ["SimBoard", "board_design", "SIM_CLK_HZ", "SIM_BAUD"]

SIM_CLK_HZ = 12_000_000
#: One clock per bit: both ends of the simulated line run on the board's clock, so the same UART
#: RTL needs no oversampling (hdl/uart.py); a board's line takes at least 4. The protocol is
#: unchanged, and a byte takes 11 cycles, not 41 (G1's program, 185 KB: 2.0 million cycles of
#: simulation against 7.6 million at 4 clocks per bit).
SIM_BAUD = SIM_CLK_HZ


class SimBoard(wiring.Component):
    host_tx_data: In(8)
    host_tx_valid: In(1)
    host_tx_ready: Out(1)
    host_tx_space: Out(16)    # bytes the line's FIFO can still take
    host_rx_data: Out(8)
    host_rx_valid: Out(1)

    def __init__(self, geometry, clk_hz=SIM_CLK_HZ, baud=SIM_BAUD, program=None):
        self.system = LimSystem(geometry, clk_hz, baud, board_id=0, timeout_s=2e-4, program=program,
                                synchronous_line=True)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.system = system = self.system
        divider = system.divider
        m.submodules.to_board_fifo = fifo = SyncFIFO(width=8, depth=MAX_PAYLOAD + 16)
        m.submodules.host_uart_tx = tx = UARTTx(divider, synchronous=True)
        m.submodules.host_uart_rx = rx = UARTRx(divider, synchronous=True)
        m.d.comb += [
            fifo.w_data.eq(self.host_tx_data), fifo.w_en.eq(self.host_tx_valid),
            self.host_tx_ready.eq(fifo.w_rdy), self.host_tx_space.eq(fifo.depth - fifo.w_level),
            tx.data.eq(fifo.r_data), tx.valid.eq(fifo.r_rdy), fifo.r_en.eq(tx.ready),
            system.rx.eq(tx.tx), rx.rx.eq(system.tx),
            self.host_rx_data.eq(rx.data), self.host_rx_valid.eq(rx.valid),
        ]
        return m


def board_design(geometry, program=None):
    """The simulated board of ``geometry``; with ``program``, that problem compiled in."""
    from .runner import Design
    compiled = "" if program is None else f", compiled {program.digest():08x}"
    return Design("lim_sim_board", lambda: SimBoard(geometry, program=program), "lim.sim.cosim.board_bench",
                  key=f"SimBoard({geometry!r}{compiled})", compiled=program is not None)
