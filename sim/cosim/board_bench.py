"""cocotb bridge: the simulated board's serial line <-> a loopback TCP connection to the host.

The host listens on 127.0.0.1:LIM_BRIDGE_PORT; this bench connects, then moves bytes both ways
while the RTL runs free in between. It ends when the host closes the connection.
"""
import os
import socket

from .lifeline import die_with_host

die_with_host()   # first: the simulated board ends with its host

import cocotb  # noqa: E402
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge, Timer  # noqa: E402

from .runner import CLOCK_PERIOD_NS  # noqa: E402

POLL_CYCLES = 2048


async def cycles(dut, n):
    """Let ``n`` clock cycles pass in the simulator alone (one timed callback, not one per edge),
    ending just after a falling edge."""
    await Timer(n * CLOCK_PERIOD_NS, "ns")
    await FallingEdge(dut.clk)


async def board_to_host(dut, sock):
    while True:
        await RisingEdge(dut.host_rx_valid)
        await FallingEdge(dut.clk)
        sock.sendall(bytes([int(dut.host_rx_data.value)]))


@cocotb.test()
async def bridge(dut):
    dut.host_tx_valid.value = 0
    dut.host_tx_data.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 2)
    await FallingEdge(dut.clk)
    dut.rst.value = 0
    sock = socket.create_connection(("127.0.0.1", int(os.environ["LIM_BRIDGE_PORT"])), timeout=60)
    # a reply goes out a byte at a time: with Nagle's algorithm each byte after the first waited
    # for the host's delayed acknowledgement (40 ms, about 30,000 cycles of simulation, per frame)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    cocotb.start_soon(board_to_host(dut, sock))
    while True:
        try:
            data = sock.recv(65536)
        except BlockingIOError:
            await cycles(dut, POLL_CYCLES)
            continue
        except OSError:
            break
        if not data:
            break
        await FallingEdge(dut.clk)
        sent = 0
        while sent < len(data):
            # as many bytes as the FIFO has room for, one per cycle; the UART drains it meanwhile
            room = int(dut.host_tx_space.value)
            if room <= 0:
                await cycles(dut, 64)
                continue
            for byte in data[sent:sent + room]:
                dut.host_tx_data.value = byte
                dut.host_tx_valid.value = 1
                await FallingEdge(dut.clk)
            sent += min(room, len(data) - sent)
            dut.host_tx_valid.value = 0
            await FallingEdge(dut.clk)
            await FallingEdge(dut.clk)   # inputs reach the design's registers a cycle late: the
                                         # space read now counts every byte pushed
    sock.close()
