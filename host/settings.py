"""User-facing run settings in physical units (kT, sweeps), checked and turned into register values."""
import math
from dataclasses import asdict, dataclass

from ..hdl.params import ACC_FRAC_BITS, ARG_FRAC_BITS, BARRIER_BITS, GAIN_BITS, Schedule
from ..sim.energy import SECONDS_PER_YEAR, Retention
from ..sim.golden import RunConfig

__all__ = ["SettingsError", "AnnealSettings", "SIMULATOR_CHOICES"]

SIMULATOR_CHOICES = ("verilator", "icarus", "amaranth", "golden")
_Q = 2 ** ARG_FRAC_BITS


class SettingsError(ValueError):
    """A setting out of range or inconsistent with another; the message names it."""


def _to_fixed(name, value, frac_bits, bits):
    if not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
        raise SettingsError(f"{name} must be a number, not {value!r}")
    scaled = round(value * 2 ** frac_bits)
    top = f"{(2 ** bits - 1) / 2 ** frac_bits:.6f}".rstrip("0").rstrip(".")
    if not 0 <= scaled <= 2 ** bits - 1:
        raise SettingsError(f"{name} must be in 0 .. {top}, not {value:g}")
    return scaled


@dataclass
class AnnealSettings:
    sweeps: int = 1000
    schedule: str = "logarithmic"
    barrier_start_kt: float = 0.0
    barrier_end_kt: float = 10.0
    rate: float = None          # per schedule, see ``rate_help``; None picks a default
    gain_kt: float = 0.5
    seed: int = 1
    lanes: int = 8
    checkpoints: int = 10
    simulator: str = "verilator"
    retention_years: float = 10.0
    retention_error: float = 1e-6
    step_time_s: float = 1e-9
    temperature_k: float = 300.0
    conventional_checkpoints: int = 1

    rate_help = ("linear: kT per sweep (default: reach the end barrier at the last sweep); "
                 "exponential: growth per sweep, e.g. 0.01 = 1%% (default: reach the end at the last sweep); "
                 "logarithmic: tau in sweeps, Eb = start + ln(1 + t/tau) (default 8); constant: unused")

    def validate(self):
        if not isinstance(self.sweeps, int) or not 1 <= self.sweeps <= 2 ** 32 - 1:
            raise SettingsError(f"sweeps must be a whole number from 1 to {2 ** 32 - 1}, not {self.sweeps!r}")
        if self.schedule not in [s.name.lower() for s in Schedule]:
            raise SettingsError(f"schedule must be one of {', '.join(s.name.lower() for s in Schedule)}, not {self.schedule!r}")
        if self.simulator not in SIMULATOR_CHOICES:
            raise SettingsError(f"simulator must be one of {', '.join(SIMULATOR_CHOICES)}, not {self.simulator!r}")
        if not isinstance(self.checkpoints, int) or not 1 <= self.checkpoints:
            raise SettingsError(f"checkpoints must be a positive whole number, not {self.checkpoints!r}")
        if not isinstance(self.lanes, int) or not 1 <= self.lanes <= 32:
            raise SettingsError(f"lanes must be from 1 to 32, not {self.lanes!r}")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2 ** 32:
            raise SettingsError(f"seed must be a whole number from 0 to {2 ** 32 - 1}, not {self.seed!r}")
        self.to_config()
        self.retention()
        if not self.temperature_k > 0:
            raise SettingsError(f"temperature must be above 0 K, not {self.temperature_k:g}")
        if not isinstance(self.conventional_checkpoints, int) or self.conventional_checkpoints < 1:
            raise SettingsError("conventional checkpoints must be a whole number >= 1")
        return self

    def retention(self):
        try:
            return Retention(self.retention_years * SECONDS_PER_YEAR, self.retention_error, self.step_time_s)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    def to_config(self):
        """The register values of this run (RunConfig); raises SettingsError on any bad value."""
        kind = Schedule[self.schedule.upper()]
        start = _to_fixed("barrier start (kT)", self.barrier_start_kt, ARG_FRAC_BITS, BARRIER_BITS)
        end = _to_fixed("barrier end (kT)", self.barrier_end_kt, ARG_FRAC_BITS, BARRIER_BITS)
        if end < start:
            raise SettingsError(f"barrier end ({self.barrier_end_kt:g} kT) is below barrier start "
                                f"({self.barrier_start_kt:g} kT); barriers only rise")
        gain = _to_fixed("gain (kT per objective unit)", self.gain_kt, ARG_FRAC_BITS, GAIN_BITS)
        rate = self.rate
        if kind == Schedule.LINEAR:
            if rate is None:
                rate = (end - start) / _Q / self.sweeps
            rate_reg = _to_fixed("linear rate (kT per sweep)", rate, ACC_FRAC_BITS, 32)
        elif kind == Schedule.EXPONENTIAL:
            if start == 0:
                raise SettingsError("an exponential schedule multiplies the barrier, so it needs "
                                    "--barrier-start above 0")
            if rate is None:
                rate = (end / start) ** (1 / self.sweeps) - 1
            rate_reg = _to_fixed("exponential rate (growth per sweep)", rate, 16, 16)
        elif kind == Schedule.LOGARITHMIC:
            if rate is None:
                rate = 8
            if float(rate) != int(rate) or not 1 <= rate < 2 ** 32:
                raise SettingsError(f"logarithmic rate is tau in whole sweeps (1 .. {2 ** 32 - 1}), not {rate:g}")
            rate_reg = int(rate)
        else:
            rate_reg = 0
        return RunConfig(seed=self.seed, gain_q4=gain, schedule=kind, barrier_start_q4=start,
                         barrier_end_q4=end, rate=rate_reg)

    def describe(self):
        c = self.to_config()
        text = {
            Schedule.CONSTANT: f"constant {c.barrier_start_q4 / _Q:g} kT",
            Schedule.LINEAR: f"linear {c.barrier_start_q4 / _Q:g} -> {c.barrier_end_q4 / _Q:g} kT "
                             f"at {c.rate / 2 ** ACC_FRAC_BITS:.4g} kT/sweep",
            Schedule.EXPONENTIAL: f"exponential {c.barrier_start_q4 / _Q:g} -> {c.barrier_end_q4 / _Q:g} kT, "
                                  f"x{1 + c.rate / 2 ** 16:.5f} per sweep",
            Schedule.LOGARITHMIC: f"logarithmic {c.barrier_start_q4 / _Q:g} kT + ln(1 + t/{c.rate}), "
                                  f"up to {c.barrier_end_q4 / _Q:g} kT",
        }[c.schedule]
        return f"{text}; gain {c.gain_q4 / _Q:g} kT per unit; {self.sweeps} sweeps; seed {self.seed}"

    def to_dict(self):
        d = asdict(self)
        d["register_values"] = {k: int(v) for k, v in asdict(self.to_config()).items()}
        return d
