"""A simulated board: the board's RTL (array, UART, command block) in Verilator or Icarus,
its serial line bridged to this process over a loopback socket, behind the same transport
interface as a serial port."""
import socket
import tempfile
import threading

from ..sim.cosim.board_harness import SIM_CLK_HZ, board_design
from ..sim.cosim.runner import Cosimulator
from .transport import SocketTransport, TransportError

__all__ = ["SimulatedBoard"]


class SimulatedBoard:
    """Context manager: builds (cached) and starts the simulated board; ``transport`` talks to it."""

    def __init__(self, geometry, simulator="verilator", waves=False, connect_timeout_s=300, program=None):
        self.geometry = geometry
        self.cosim = Cosimulator(geometry, simulator, waves=waves, design=board_design(geometry, program))
        self.connect_timeout_s = connect_timeout_s
        self.clk_hz = SIM_CLK_HZ
        self.error = None

    def build(self):
        return self.cosim.build()

    def __enter__(self):
        self.build()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(1)
        port = self._listener.getsockname()[1]
        self._tmp = tempfile.TemporaryDirectory(prefix="lim-simboard-")

        def simulate():
            try:
                self.cosim.test(self._tmp.name, {"LIM_BRIDGE_PORT": str(port)})
            except Exception as exc:  # reported to the host when it next waits for the link
                self.error = exc

        self._thread = threading.Thread(target=simulate, daemon=True)
        self._thread.start()
        self._listener.settimeout(1.0)
        waited = 0.0
        while True:
            try:
                conn, _ = self._listener.accept()
                break
            except socket.timeout:
                waited += 1.0
                if self.error or not self._thread.is_alive():
                    raise TransportError(f"the simulated board did not start: {self.error}")
                if waited > self.connect_timeout_s:
                    raise TransportError("the simulated board did not connect in time")
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # frames leave at once (board_bench)
        self.transport = SocketTransport(conn, name=f"simulated board ({self.cosim.simulator})")
        return self

    def __exit__(self, *exc):
        self.transport.close()
        self._listener.close()
        self._thread.join(timeout=60)
        self._tmp.cleanup()
