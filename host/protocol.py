"""Host side of the UART command protocol (hdl/protocol.py): frames, replies, a byte parser."""
import struct
from dataclasses import dataclass

from ..hdl.protocol import MAX_PAYLOAD, SYNC, Status, crc16_ccitt

__all__ = ["ProtocolError", "Reply", "encode_frame", "ReplyParser"]


class ProtocolError(RuntimeError):
    """The board answered with an error status, or not at all, after every retry."""


@dataclass(frozen=True)
class Reply:
    status: Status
    seq: int
    payload: bytes


def encode_frame(code, seq, payload=b""):
    if len(payload) > MAX_PAYLOAD or len(payload) % 4:
        raise ValueError(f"payload of {len(payload)} bytes: at most {MAX_PAYLOAD}, whole words")
    body = struct.pack("<BBH", int(code), seq & 0xFF, len(payload)) + payload
    return bytes([SYNC]) + body + struct.pack("<H", crc16_ccitt(body))


class ReplyParser:
    """Feeds on received bytes; yields Replies whose CRC matched, skips garbage between them."""

    def __init__(self):
        self.buffer = bytearray()
        self.rejected = 0

    def feed(self, data):
        self.buffer += data
        replies = []
        while True:
            start = self.buffer.find(bytes([SYNC]))
            if start < 0:
                self.buffer.clear()
                return replies
            del self.buffer[:start]
            if len(self.buffer) < 5:
                return replies
            status, seq, length = struct.unpack_from("<BBH", self.buffer, 1)
            if length > MAX_PAYLOAD:
                del self.buffer[:1]
                self.rejected += 1
                continue
            end = 5 + length + 2
            if len(self.buffer) < end:
                return replies
            body = bytes(self.buffer[1:5 + length])
            (crc,) = struct.unpack_from("<H", self.buffer, 5 + length)
            if crc != crc16_ccitt(body) or status not in Status._value2member_map_:
                del self.buffer[:1]
                self.rejected += 1
                continue
            replies.append(Reply(Status(status), seq, body[4:]))
            del self.buffer[:end]
