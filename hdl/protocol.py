"""The UART command protocol: the contract between hdl/command.py and host/protocol.py.

Frame, both directions (docs/protocol.md):
    SYNC | code | seq | len (2 bytes, little endian) | payload (len bytes) | CRC-16 (2 bytes, LE)
``code`` is a Command from the host and a Status from the board; the reply echoes ``seq``. The
CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over code, seq, len and payload. Payloads
are whole 32-bit little-endian words.
"""
import binascii
from enum import IntEnum

__all__ = ["SYNC", "PROTOCOL_VERSION", "MAX_PAYLOAD", "MAGIC", "Command", "Status", "crc16_ccitt"]

SYNC = 0xA5
PROTOCOL_VERSION = 9
MAX_PAYLOAD = 1024          # bytes, a multiple of 4
MAGIC = b"LIM1"
CRC_INIT = 0xFFFF


class Command(IntEnum):
    IDENTIFY = 0x01  # -> MAGIC, version, board id, lanes, weight_bits, counter_bits, cell_bits, features, groups (2), edge_depth (4), clk_hz (4), problem digest (4), field banks
    WRITE = 0x02     # address, word, word, ...: bus writes at address, address + 1, ...
    READ = 0x03      # address, count: -> count words read at address, address + 1, ...
    RESET = 0x04     # reset the array's registers and counters (memories keep their contents)


class Status(IntEnum):
    OK = 0x00
    BAD_CRC = 0x81
    UNKNOWN_COMMAND = 0x82
    BAD_LENGTH = 0x83     # oversize, not whole words, or wrong for the command
    BUSY = 0x84           # a WRITE while the array runs (nothing written)
    TIMEOUT = 0x85        # the frame stopped arriving part-way
    BAD_ADDRESS = 0x86    # a WRITE that leaves one window of writable locations (nothing written)


def crc16_ccitt(data, crc=CRC_INIT):
    """CRC-16/CCITT-FALSE: the standard library's CRC-CCITT (poly 0x1021) from 0xFFFF. The RTL
    computes the same with amaranth.lib.crc's catalog entry (hdl/command.py)."""
    return binascii.crc_hqx(bytes(data), crc)
