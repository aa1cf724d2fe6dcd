"""The UART command protocol: codec, UART blocks, and the board's answers to good and bad frames."""
import struct

import pytest
from amaranth.sim import Simulator

from lim.hdl.protocol import MAX_PAYLOAD, Command, Status, crc16_ccitt
from lim.hdl.uart import UARTRx, UARTTx
from lim.host.protocol import ReplyParser, encode_frame


def test_crc_matches_the_standard_check_value():
    assert crc16_ccitt(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE


def test_frame_round_trip_and_parser_skips_garbage():
    frame = encode_frame(Status.OK, 7, struct.pack("<2I", 1, 2))
    bad = bytearray(encode_frame(Status.OK, 8, b"\0\0\0\0"))
    bad[6] ^= 0x10
    parser = ReplyParser()
    replies = parser.feed(b"\x00\xff" + bytes(bad) + b"\xa5" + frame[:5])
    assert replies == [] and parser.rejected >= 1
    replies = parser.feed(frame[5:])
    assert [(r.status, r.seq, r.payload) for r in replies] == [(Status.OK, 7, struct.pack("<2I", 1, 2))]
    with pytest.raises(ValueError):
        encode_frame(Command.WRITE, 1, b"\0" * (MAX_PAYLOAD + 4))


@pytest.mark.parametrize("divider,synchronous", [(4, False), (7, False), (12, False), (1, True), (2, True), (3, True)])
def test_uart_loopback_back_to_back(divider, synchronous):
    """Bytes back to back arrive whole, between clocks (4 or more clocks per bit) and on a line
    whose ends share the clock (the simulated board's: down to 1)."""
    tx, rx = UARTTx(divider, synchronous), UARTRx(divider, synchronous)
    from amaranth.hdl import Module
    m = Module()
    m.submodules.tx, m.submodules.rx = tx, rx
    m.d.comb += rx.rx.eq(tx.tx)
    sent = [0x00, 0xFF, 0xA5, 0x5A, 0x01, 0x80, 0x3C]
    received = []

    async def bench(ctx):
        for byte in sent:
            ctx.set(tx.data, byte)
            ctx.set(tx.valid, 1)
            while True:
                await ctx.tick()
                if ctx.get(rx.valid):
                    received.append(ctx.get(rx.data))
                if ctx.get(tx.ready):
                    break
            ctx.set(tx.valid, 0)
        for _ in range(divider * 12):
            await ctx.tick()
            if ctx.get(rx.valid):
                received.append(ctx.get(rx.data))

    sim = Simulator(m)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()
    assert received == sent


@pytest.mark.parametrize("side", [UARTTx, UARTRx])
def test_a_line_between_clocks_takes_at_least_4_clocks_a_bit(side):
    with pytest.raises(ValueError, match="at least 4 clocks per bit, not 3"):
        side(3)
    with pytest.raises(ValueError, match="at least 1 clock per bit on a synchronous line, not 0"):
        side(0, synchronous=True)
    from lim.boards.targets import BOARDS
    from lim.hdl.system import LimSystem
    with pytest.raises(ValueError, match="cannot make 4000000 baud"):
        LimSystem(BOARDS["icebreaker"].geometry, 12_000_000, 4_000_000)
    assert LimSystem(BOARDS["icebreaker"].geometry, 12_000_000, 12_000_000, synchronous_line=True).divider == 1


def test_identify_carries_the_whole_geometry():
    """The host maps a problem for the geometry IDENTIFY reports: every field that changes the
    memory images (lanes, groups, edge depth, formats, field banks) comes back as built."""
    from dataclasses import replace
    from lim.boards.targets import BOARDS
    from lim.hdl.command import identify_payload
    from lim.hdl.params import ArrayGeometry
    from lim.host.driver import BoardIdentity
    geometries = [BOARDS["ulx3s"].geometry, BOARDS["icebreaker"].geometry,
                  ArrayGeometry(lanes=3, groups=16, edge_depth=256, counter_bits=12, field_banks=4),
                  replace(ArrayGeometry(cell_bits=5, weight_bits=12), field_banks=16),
                  ArrayGeometry(lanes=2, groups=8, edge_depth=64, field_banks=2, streaming=False)]
    for geometry in geometries:
        identity = BoardIdentity(identify_payload(geometry, 2, 30_000_000))
        assert identity.geometry == geometry and identity.clk_hz == 30_000_000
