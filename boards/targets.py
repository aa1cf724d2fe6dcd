"""Board targets: the array sized for each board, its clock, its serial line."""
from dataclasses import dataclass

from amaranth.hdl import ClockDomain, ClockSignal, Instance, Module, ResetSignal, Signal
from amaranth.lib import io, wiring

from ..hdl.params import ArrayGeometry
from ..hdl.system import LimSystem

__all__ = ["BoardTarget", "BOARDS", "BoardTop", "pll_dividers"]


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
    placer: str = None       # nextpnr's placer for the programmable build (None: its default, HeAP)
    compiled_placer: str = None   # and for a compiled problem's
    router: str = None       # nextpnr's router for the programmable build (None: its default, router1)
    pll_hz: int = None       # the array's clock, made by the PLL from the oscillator (None: the oscillator)
    compiled_pll_hz: int = None   # and a compiled problem's (None: pll_hz)

    def platform(self):
        import importlib
        module, cls = self.platform_path.split(":")
        return getattr(importlib.import_module(module), cls)()

    @property
    def clk_hz(self):
        """The clock the array runs at: the PLL's output, or the board's oscillator."""
        return self.pll_hz or int(self.platform().default_clk_frequency)

    @property
    def compiled_clk_hz(self):
        """The clock a compiled problem's array runs at by default."""
        return self.compiled_pll_hz or self.clk_hz


def ecp5_pll_dividers(f_in, f_out):
    """(CLKI_DIV, CLKFB_DIV, CLKOP_DIV) of an ECP5 EHXPLLL making exactly ``f_out`` from ``f_in``
    with its phase detector at 3.125 MHz or more and its VCO within 400 .. 800 MHz (the data
    sheet's ranges); ValueError when no setting does."""
    settings = {}   # clock made: its first setting
    for clki in range(1, 129):
        pfd = f_in / clki
        if pfd < 3.125e6:
            break
        for clkfb in range(1, 81):
            clkop = next((d for d in range(1, 129) if 400e6 <= pfd * clkfb * d <= 800e6), None)
            if clkop is not None:
                settings.setdefault(pfd * clkfb, (clki, clkfb, clkop))
    return _pll_setting("ECP5", f_in, f_out, settings)


def ice40_pll_dividers(f_in, f_out):
    """(DIVR, DIVF, DIVQ, FILTER_RANGE) of an iCE40 SB_PLL40 making exactly ``f_out`` from ``f_in``
    (f_in / (DIVR + 1) x (DIVF + 1) / 2^DIVQ) with its phase detector within 10 .. 133 MHz and
    its VCO within 533 .. 1066 MHz (the data sheet's ranges); FILTER_RANGE for that phase
    detector's frequency, as icepll sets it. ValueError when no setting does."""
    settings = {}
    for divr in range(16):
        pfd = f_in / (divr + 1)
        if not 10e6 <= pfd <= 133e6:
            continue
        filter_range = 1 + sum(pfd >= limit for limit in (17e6, 26e6, 44e6, 66e6, 101e6))
        for divf in range(128):
            vco = pfd * (divf + 1)
            if 533e6 <= vco <= 1066e6:
                for divq in range(1, 7):
                    settings.setdefault(vco / 2 ** divq, (divr, divf, divq, filter_range))
    return _pll_setting("iCE40", f_in, f_out, settings)


def _pll_setting(family, f_in, f_out, settings):
    """The setting of ``settings`` ({clock: setting}) that makes ``f_out`` to the Hz, or a
    ValueError naming the nearest clocks the PLL makes."""
    for f, setting in settings.items():
        if abs(f - f_out) <= 1:
            return setting
    makeable = sorted(settings)
    below = [f for f in makeable if f < f_out][-1:]
    above = [f for f in makeable if f > f_out][:1]
    # to the Hz, so that a suggestion given back is made (29.1667 MHz is 33 Hz from 175 / 6)
    nearest = " or ".join(f"{f / 1e6:.6f}".rstrip("0").rstrip(".") for f in below + above)
    raise ValueError(f"the {family} PLL cannot make {f_out / 1e6:g} MHz from {f_in / 1e6:g} MHz"
                     + (f" (nearest: {nearest} MHz)" if nearest else ""))


def pll_dividers(family, f_in, f_out):
    """The PLL setting of ``family`` ("ecp5" or "ice40") that makes ``f_out`` from ``f_in``."""
    return {"ecp5": ecp5_pll_dividers, "ice40": ice40_pll_dividers}[family](f_in, f_out)


BOARDS = {
    "icebreaker": BoardTarget(
        "icebreaker", 1, "amaranth_boards.icebreaker:ICEBreakerPlatform",
        # its groups do not stream: three cycles a group, which the UP5K's cells hold (streaming,
        # the build took 5,705 logic cells of its 5,280; without, 5,255)
        ArrayGeometry(lanes=1, groups=128, edge_depth=1024, counter_bits=32, logarithmic_barrier=False,
                      streaming=False),
        1_000_000, "ice40",
        "iCEBreaker (iCE40 UP5K, 5,280 LUT4, 30 x 4 kbit EBR, 8 DSP), 12 MHz oscillator and PLL, FT2232H serial",
        # nextpnr's static placer: the default build in 47 s of CPU against HeAP's 127 (Fmax 15.3
        # against 15.6 MHz), the 4 x 4 lattice compiled (97.6% of the cells) in 38 against 59
        # (Fmax 14.8 against 14.4); timing met at 12 MHz either way.
        # 18 MHz from the PLL (1.5 times the oscillator) since a decision forms |t| and the hop
        # exponent without negating in series: the default build 5,193 cells, Fmax 18.3 MHz; the
        # 4 x 4 lattice compiled 4,996 cells, Fmax 18.7 (lim build --board icebreaker [--problem
        # torus4]); --clock-mhz 15 leaves a fifth of the period spare
        synth_opts="-dsp", placer="static", compiled_placer="static", pll_hz=18_000_000),
    "ulx3s": BoardTarget(
        "ulx3s", 2, "amaranth_boards.ulx3s:ULX3S_85F_Platform",
        # fields in 4 banks per lane, each walking the hops' entries into its fields on its own
        # (4.88e7 spin updates per second on G1 at 40 MHz; 7.7e6 at 30 MHz with one bank streaming rows
        # one hop at a time); G1 needs 2,952 update rows a lane instead of 6,647 (2,722 laid out
        # for the fewest); 4,096 rows of 4 entries take the block RAM 8,192 rows of 2 would, hold
        # G22 (3,985 rows; the largest Gset instance the 256 groups hold) and problems of G1's
        # density up to 1,196 spins
        # (1,590 with 2 banks, 1,426 with one; benchmarks/compiled.py, lim build)
        # nextpnr's static placer and router2 for it: built in 617 s alone (static and router1:
        # 884 s beside another build; HeAP and router1: 1,343 s beside another build); the
        # compiled arrays keep HeAP and router1, which they were measured with.
        # 35 MHz from the PLL: Fmax 37.8 MHz once a commit's sources reach the banks without the
        # OR over the lanes (34.6 before, which held it at 30 MHz); 38.3 with the groups
        # streaming and the banks skipping (56,394 LUT4, 196 block RAMs), 39.0 with the decision's
        # carry chains cut (56,237 LUT4; at a 40 MHz constraint 39.3 and 36.6).
        # 40 MHz since the host writes which sources have entries in each bank (Region.OWN): 54,513
        # LUT4, 172 block RAMs, Fmax 40.2 MHz (lim build --board ulx3s; --clock-mhz 35 leaves an
        # eighth of the period spare); the compiled arrays keep 30 MHz, which their figures were
        # measured at (lim build --clock-mhz sets either)
        ArrayGeometry(lanes=8, groups=256, edge_depth=4096, counter_bits=48, field_banks=4), 1_000_000, "ecp5",
        "ULX3S (ECP5 LFE5U-85F, 84k LUT4, 208 x 18 kbit EBR), 25 MHz oscillator and PLL, FT231X serial",
        placer="static", router="router2", pll_hz=40_000_000, compiled_pll_hz=30_000_000),
}


class BoardTop(wiring.Component):
    """The LimSystem wired to the board's serial port, clocked by its oscillator or, when the
    target sets ``pll_hz``, by the board's PLL (held in reset until the PLL locks)."""

    def __init__(self, target, program=None):
        self.target = target
        self.program = program   # a problem compiled into the array (hdl/compiled.py), or None
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        t = self.target
        uart = platform.request("uart", 0)
        clk_hz = int(platform.default_clk_frequency)
        if t.pll_hz and t.family == "ice40":
            divr, divf, divq, filter_range = ice40_pll_dividers(clk_hz, t.pll_hz)
            m.domains.sync = ClockDomain("sync")
            m.domains.por = ClockDomain("por", local=True)
            locked = Signal()
            # the PLL on the oscillator's own pin takes the pad (SB_PLL40_PAD), not a buffer's output
            m.submodules.pll = Instance(
                "SB_PLL40_PAD", p_FEEDBACK_PATH="SIMPLE", p_DIVR=divr, p_DIVF=divf, p_DIVQ=divq,
                p_FILTER_RANGE=filter_range, i_PACKAGEPIN=platform.request(platform.default_clk, dir="-").io,
                i_RESETB=1, i_BYPASS=0, o_PLLOUTGLOBAL=ClockSignal("sync"), o_LOCK=locked)
            # held in reset until the PLL locks and 15 us more: an iCE40's block RAM reads zero for
            # a few us after configuration (as the platform's own reset does without a PLL)
            delay = int(15e-6 * t.pll_hz)
            timer = Signal(range(delay + 1))
            m.d.comb += [ClockSignal("por").eq(ClockSignal("sync")), ResetSignal("por").eq(~locked),
                         ResetSignal("sync").eq(timer != delay)]
            with m.If(timer != delay):
                m.d.por += timer.eq(timer + 1)
            clk_hz = t.pll_hz
        elif t.pll_hz:
            clki, clkfb, clkop = ecp5_pll_dividers(clk_hz, t.pll_hz)
            m.submodules.oscillator = oscillator = io.Buffer("i", platform.request(platform.default_clk, dir="-"))
            m.domains.sync = ClockDomain("sync")
            locked = Signal()
            m.submodules.pll = Instance(
                "EHXPLLL",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_FEEDBK_PATH="CLKOP",
                p_CLKI_DIV=clki, p_CLKFB_DIV=clkfb, p_CLKOP_ENABLE="ENABLED", p_CLKOP_DIV=clkop,
                p_CLKOP_CPHASE=clkop - 1, p_CLKOP_FPHASE=0,
                i_CLKI=oscillator.i, i_CLKFB=ClockSignal("sync"), o_CLKOP=ClockSignal("sync"), o_LOCK=locked,
                i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0, i_PHASEDIR=1, i_PHASESTEP=1,
                i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0)
            m.d.comb += ResetSignal("sync").eq(~locked)
            clk_hz = t.pll_hz
        m.submodules.system = system = LimSystem(t.geometry, clk_hz, t.baud, board_id=t.board_id,
                                                 program=self.program)
        m.d.comb += [system.rx.eq(uart.rx.i), uart.tx.o.eq(system.tx)]
        return m
