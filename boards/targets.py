"""Board targets: the array sized for each board, its clock, its serial line."""
from dataclasses import dataclass

from amaranth.hdl import Module
from amaranth.lib import wiring

from ..hdl.params import ArrayGeometry
from ..hdl.system import LimSystem

__all__ = ["BoardTarget", "BOARDS", "BoardTop"]


@dataclass(frozen=True)
class BoardTarget:
    name: str
    board_id: int
    platform_path: str       # "module:Class" in amaranth_boards
    geometry: ArrayGeometry
    baud: int
    family: str              # "ice40" or "ecp5"
    description: str
    synth_opts: str = ""     # extra synth_ice40 / synth_ecp5 options

    def platform(self):
        import importlib
        module, cls = self.platform_path.split(":")
        return getattr(importlib.import_module(module), cls)()

    @property
    def clk_hz(self):
        return int(self.platform().default_clk_frequency)


BOARDS = {
    "icebreaker": BoardTarget(
        "icebreaker", 1, "amaranth_boards.icebreaker:ICEBreakerPlatform",
        ArrayGeometry(lanes=1, groups=128, edge_depth=1024, counter_bits=32), 1_000_000, "ice40",
        "iCEBreaker (iCE40 UP5K, 5,280 LUT4, 30 x 4 kbit EBR, 8 DSP), 12 MHz oscillator, FT2232H serial",
        synth_opts="-dsp"),
    "ulx3s": BoardTarget(
        "ulx3s", 2, "amaranth_boards.ulx3s:ULX3S_85F_Platform",
        ArrayGeometry(lanes=8, groups=256, edge_depth=8192, counter_bits=48), 1_000_000, "ecp5",
        "ULX3S (ECP5 LFE5U-85F, 84k LUT4, 208 x 18 kbit EBR), 25 MHz oscillator, FT231X serial"),
}


class BoardTop(wiring.Component):
    """The LimSystem wired to the board's serial port, clocked by its default oscillator."""

    def __init__(self, target):
        self.target = target
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        t = self.target
        uart = platform.request("uart", 0)
        m.submodules.system = system = LimSystem(t.geometry, int(platform.default_clk_frequency), t.baud,
                                                 board_id=t.board_id)
        m.d.comb += [system.rx.eq(uart.rx.i), uart.tx.o.eq(system.tx)]
        return m
