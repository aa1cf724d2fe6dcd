"""Byte pipes to a board: a serial port, or a simulated board over a loopback socket."""
import socket
import time

__all__ = ["TransportError", "SerialTransport", "SocketTransport", "FaultyTransport"]


class TransportError(RuntimeError):
    """The link is gone or cannot be opened; the message says which and why."""


class SerialTransport:
    """A real board's USB serial port (pyserial)."""

    def __init__(self, port, baud):
        try:
            import serial
        except ImportError:
            raise TransportError("pyserial is missing: pip install pyserial") from None
        try:
            self.serial = serial.Serial(port, baud, timeout=0)
        except (serial.SerialException, OSError) as exc:
            raise TransportError(f"cannot open {port}: {exc}. Is the board attached? "
                                 "(ls /dev/ttyUSB* /dev/ttyACM*)") from None
        self.name = port

    def write(self, data):
        self.serial.write(data)

    def read(self, timeout_s):
        """Bytes that arrive within ``timeout_s`` (returns as soon as some have)."""
        deadline = time.monotonic() + timeout_s
        while True:
            data = self.serial.read(65536)
            if data or time.monotonic() >= deadline:
                return data
            time.sleep(0.0005)

    def close(self):
        self.serial.close()


class SocketTransport:
    """A connected stream socket (the simulated board's bridge)."""

    def __init__(self, sock, name="socket"):
        self.sock = sock
        self.name = name

    def write(self, data):
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise TransportError(f"{self.name}: {exc}") from None

    def read(self, timeout_s):
        self.sock.settimeout(max(timeout_s, 1e-6))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return b""
        except OSError as exc:
            raise TransportError(f"{self.name}: {exc}") from None
        if not data:
            raise TransportError(f"{self.name}: the simulated board closed the link")
        return data

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class FaultyTransport:
    """Wraps a transport and injects faults: flipped bits and dropped bytes, from a seeded PRNG."""

    def __init__(self, inner, bit_error_rate=0.0, drop_rate=0.0, seed=0):
        import random
        self.inner = inner
        self.name = f"faulty {inner.name}"
        self.ber = bit_error_rate
        self.drop = drop_rate
        self.rng = random.Random(seed)
        self.injected = {"flipped_bits": 0, "dropped_bytes": 0}

    def _corrupt(self, data):
        out = bytearray()
        for byte in data:
            if self.rng.random() < self.drop:
                self.injected["dropped_bytes"] += 1
                continue
            for bit in range(8):
                if self.rng.random() < self.ber:
                    byte ^= 1 << bit
                    self.injected["flipped_bits"] += 1
            out.append(byte)
        return bytes(out)

    def write(self, data):
        self.inner.write(self._corrupt(data))

    def read(self, timeout_s):
        return self._corrupt(self.inner.read(timeout_s))

    def close(self):
        self.inner.close()
