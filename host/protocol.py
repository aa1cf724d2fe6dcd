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
    """Feeds on received bytes; yields Replies whose CRC matched, skips garbage between them.

    A damaged header can announce more bytes than will ever come; rather than wait for them, a
    complete good frame further on in the buffer wins, and the damaged start is dropped.
    """

    def __init__(self):
        self.buffer = bytearray()
        self.rejected = 0

    def _frame_at(self, start):
        """(Reply, end) for a complete good frame at ``start``; "short" if incomplete; None if bad."""
        b = self.buffer
        if len(b) - start < 5:
            return "short"
        status, seq, length = struct.unpack_from("<BBH", b, start + 1)
        if length > MAX_PAYLOAD or status not in Status._value2member_map_:
            return None
        end = start + 5 + length + 2
        if len(b) < end:
            return "short"
        body = bytes(b[start + 1:start + 5 + length])
        (crc,) = struct.unpack_from("<H", b, start + 5 + length)
        if crc != crc16_ccitt(body):
            return None
        return Reply(Status(status), seq, body[4:]), end

    def _next_good_frame(self):
        """The start of the first complete good frame after position 0, or None."""
        k = self.buffer.find(bytes([SYNC]), 1)
        while k >= 0:
            if isinstance(self._frame_at(k), tuple):
                return k
            k = self.buffer.find(bytes([SYNC]), k + 1)
        return None

    def feed(self, data):
        self.buffer += data
        replies = []
        while True:
            start = self.buffer.find(bytes([SYNC]))
            if start < 0:
                self.buffer.clear()
                return replies
            del self.buffer[:start]
            found = self._frame_at(0)
            if found == "short":
                later = self._next_good_frame()
                if later is None:
                    return replies
                del self.buffer[:later]
                self.rejected += 1
            elif found is None:
                del self.buffer[:1]
                self.rejected += 1
            else:
                reply, end = found
                replies.append(reply)
                del self.buffer[:end]
