"""User-facing run settings in physical units (kT, sweeps), checked and turned into register values."""
import math
from dataclasses import asdict, dataclass

from ..hdl.params import (ACC_FRAC_BITS, ARG_FRAC_BITS, BARRIER_BITS, GAIN_ACC_EXTRA_BITS, GAIN_BITS, GAIN_FRAC_BITS,
                          GAIN_RATE_BITS, GAIN_RATE_MAX_OCTAVES, Schedule, gain_kt, gain_register)
from ..sim.energy import SECONDS_PER_YEAR, Device
from ..sim.golden import RunConfig, ScheduleModel
from ..sim.temperature import gain_range

__all__ = ["SettingsError", "AnnealSettings", "SIMULATOR_CHOICES", "GAIN_SCHEDULES", "format_notes",
           "check_fits_build"]

SIMULATOR_CHOICES = ("verilator", "icarus", "amaranth", "golden")
_Q = 2 ** ARG_FRAC_BITS
#: The gain register holds the gain's logarithm: it cools geometrically or holds (hdl/array.py).
GAIN_SCHEDULES = ("constant", "exponential")
_GAIN_RATE_ONE = 2 ** (GAIN_FRAC_BITS + GAIN_ACC_EXTRA_BITS)   # an octave per sweep, in the RATE register


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


def _derived_rate(kind, start, end, sweeps):
    """The rate that takes a schedule from ``start`` to ``end`` (register values) in ``sweeps``:
    register steps per sweep (linear), or growth per sweep (exponential, at most x2 per sweep,
    the register's range: short runs end below ``end``)."""
    if kind == Schedule.LINEAR:
        return (end - start) / max(1, sweeps)
    return min((end / start) ** (1 / max(1, sweeps - 1)) - 1, (2 ** 16 - 1) / 2 ** 16)


def _rate_register(kind, start, end, sweeps, rate, what, unit):
    """The RATE register of a schedule from ``start`` to ``end`` (register values), ``rate`` in
    physical units or None: reach ``end`` after ``sweeps`` sweeps."""
    if kind == Schedule.LINEAR:
        if rate is None:   # rounded up where rounding would not reach the end in time (it clamps there)
            exact = _derived_rate(kind, start, end, sweeps) * 2 ** (ACC_FRAC_BITS - ARG_FRAC_BITS)
            register = round(exact) if round(exact) * max(1, sweeps) >= exact * max(1, sweeps) - 0.5 else math.ceil(exact)
            return _to_fixed(f"{what} linear rate ({unit} per sweep)", register / 2 ** ACC_FRAC_BITS,
                             ACC_FRAC_BITS, 32)
        return _to_fixed(f"{what} linear rate ({unit} per sweep)", rate, ACC_FRAC_BITS, 32)
    if kind == Schedule.EXPONENTIAL:
        if start == 0:
            raise SettingsError(f"an exponential {what} schedule multiplies the {what}, so it needs "
                                f"--{what}-start above 0")
        if rate is None:
            rate = _derived_rate(kind, start, end, sweeps)
        return _to_fixed(f"{what} exponential rate (growth per sweep)", rate, 16, 16)
    if kind == Schedule.LOGARITHMIC:
        if rate is None:
            rate = 8
        if float(rate) != int(rate) or not 1 <= rate < 2 ** 32:
            raise SettingsError(f"{what} logarithmic rate is tau in whole sweeps (1 .. {2 ** 32 - 1}), not {rate:g}")
        return int(rate)
    return 0


def _gain_register(name, kt, qp):
    """The GAIN register value (the gain's logarithm) nearest ``kt`` kT per unit."""
    if not isinstance(kt, (int, float)) or math.isnan(kt) or math.isinf(kt):
        raise SettingsError(f"{name} must be a number, not {kt!r}")
    register = gain_register(kt, qp)
    if register is None:
        raise SettingsError(f"{name} must be in {gain_kt(0, qp):.3g} .. {gain_kt(2 ** GAIN_BITS - 1, qp):.4g} kT per "
                            f"unit{' (QP cells)' if qp else ''}, not {kt:g}")
    return register


def _gain_rate_register(start, end, sweeps, rate, qp=False):
    """The gain's RATE register (octaves per sweep, Q2.28) of a geometric schedule from L = ``start``
    to ``end``: growth ``rate`` per sweep, or None to reach ``end`` after ``sweeps`` sweeps (rounded
    up: it arrives no later, and 10^6 sweeps early by at most 10^6 2^-28 octaves, 0.26%)."""
    if rate is None:
        register = math.ceil((end - start) * 2 ** GAIN_ACC_EXTRA_BITS / max(1, sweeps))
        what = f"from {gain_kt(start, qp):.3g} to {gain_kt(end, qp):.3g} in {max(1, sweeps)} sweeps"
    else:
        if not isinstance(rate, (int, float)) or not rate > 0 or math.isinf(rate):
            raise SettingsError(f"the gain's exponential rate is its growth per sweep (above 0), not {rate!r}")
        register = round(math.log2(1 + rate) * _GAIN_RATE_ONE)
        what = f"a growth of {rate:g} per sweep"
        if register == 0 and end > start:
            raise SettingsError(f"a gain growth of {rate:g} per sweep is below the rate register's step "
                                f"(2^-28 octaves, {2 ** (1 / _GAIN_RATE_ONE) - 1:.2g} per sweep)")
    if register >= 2 ** GAIN_RATE_BITS:
        raise SettingsError(f"the gain rises by at most {GAIN_RATE_MAX_OCTAVES} octaves (x{2 ** GAIN_RATE_MAX_OCTAVES}) "
                            f"per sweep; {what} needs more: use more sweeps")
    return register


def _final_value(kind, start, end, rate, value_bits, advances):
    """The register value a schedule stands at after ``advances`` steps, as the array computes it
    (the golden model's ScheduleModel)."""
    model = ScheduleModel(kind, start, end, rate, value_bits, logarithmic=False)
    for _ in range(advances):
        before = model.acc
        model.advance()
        if model.acc in (before, model.end_acc):   # reached its end, or stalled for good
            break
    return model.value_q4


def _exact_value(kind, start, end, rate, steps):
    """Where exact arithmetic takes a schedule in ``steps`` at ``rate`` (register steps per sweep
    when linear, growth per sweep when geometric; None: the derived rate)."""
    if rate is None:
        rate = _derived_rate(kind, start, end, steps)
    if kind == Schedule.LINEAR:
        return min(end, start + rate * steps)
    return min(end, start * (1 + rate) ** steps)


def _check_reaches(kind, start, end, rate, register, value_bits, steps, run_steps, what, unit, step_kt):
    """Refuse a linear or geometric schedule that the register cannot follow: with its RATE
    ``register``, by the run's end (``run_steps`` advances) it stands more than 1% and one
    register step short of where exact arithmetic takes it in ``steps`` at ``rate`` (None: the
    derived rate)."""
    if kind not in (Schedule.LINEAR, Schedule.EXPONENTIAL) or steps <= 0:
        return
    want = _exact_value(kind, start, end, rate, steps)
    got = _final_value(kind, start, end, register, value_bits, run_steps)
    if got < min(0.99 * want, want - 1):
        raise SettingsError(
            f"the {what} register (steps of {step_kt:g} {unit}) cannot follow this "
            f"{Schedule(kind).name.lower()} schedule over {steps} sweeps: its steps fall below the "
            f"register's resolution, and the run would end at {got * step_kt:g} instead of "
            f"{want * step_kt:.4g} {unit}; use fewer sweeps (docs/architecture.md, Schedules)")


@dataclass
class AnnealSettings:
    """A run's settings. Two schedules drive it (docs/architecture.md):

    - the gain (inverse temperature, kT per unit of the objective) anneals from hot to cold; by
      default geometrically over the problem's own range (sim/temperature.py);
    - the barrier sets the mobility: by default it stays at 0 kT (fastest relaxation) while the
      gain anneals, then rises linearly to the retention barrier over the last
      ``consolidation_sweeps`` sweeps, consolidating the state into long-term memory.

    None means "derive it": ``resolve(problem)`` fills every such field from the problem and the
    retention requirement, and those values are printed and recorded.
    """
    sweeps: int = 1000
    schedule: str = "linear"            # the barrier's
    barrier_start_kt: float = 0.0
    barrier_end_kt: float = None        # None: the retention barrier
    rate: float = None                  # per schedule, see ``rate_help``; None: reach the end in time
    barrier_hold: int = None            # None: sweeps - consolidation_sweeps
    consolidation_sweeps: int = None    # None: sweeps // 20 (at least 1)
    gain_schedule: str = None           # None: geometric, or linear where the register cannot follow that
    gain_start_kt: float = None         # None: the problem's hot gain
    gain_end_kt: float = None           # None: the problem's cold gain
    gain_rate: float = None
    seed: int = 1
    lanes: int = 8
    field_banks: int = None             # each lane's field banks (hdl/lane.py); None: the array's own
    checkpoints: int = 10
    simulator: str = "verilator"
    compiled: bool = False              # the problem built into the array (hdl/compiled.py): spins only
    retention_years: float = 10.0
    retention_error: float = 1e-6
    write_error: float = 1e-6           # the reliability an update must reach (energy bounds only)
    step_time_s: float = 1e-6           # one sweep on the emulated device
    attempt_time_s: float = 1e-9        # tau0, the Arrhenius attempt time
    temperature_k: float = 300.0
    qp_cells: bool = False              # set by resolve: the gain register's unit differs (params.gain_kt)

    rate_help = ("linear: kT per sweep; exponential: growth per sweep, e.g. 0.01 = 1%%; logarithmic: tau in "
                 "sweeps, v = start + ln(1 + t/tau) (default 8); constant: unused. Default: reach the end "
                 "when the schedule's time is up")

    def resolve(self, problem):
        """A copy with every derived field filled in from ``problem``; raises SettingsError."""
        from dataclasses import replace
        if not isinstance(self.sweeps, int) or self.sweeps < 1:
            raise SettingsError(f"sweeps must be a whole number from 1 to {2 ** 32 - 1}, not {self.sweeps!r}")
        consolidation = self.consolidation_sweeps
        if consolidation is None:
            consolidation = max(1, self.sweeps // 20) if self.sweeps > 1 else 0
        if not isinstance(consolidation, int) or not 0 <= consolidation <= self.sweeps:
            raise SettingsError(f"consolidation sweeps must be a whole number from 0 to the sweeps "
                                f"({self.sweeps}), not {consolidation!r}")
        hold = self.sweeps - consolidation if self.barrier_hold is None else self.barrier_hold
        end = self.barrier_end_kt
        if end is None:
            end = min(self.device().retention_barrier_kt, (2 ** BARRIER_BITS - 1) / _Q)
        r = gain_range(problem)
        qp = hasattr(problem, "high")
        lowest, highest = gain_kt(0, qp), gain_kt(2 ** GAIN_BITS - 1, qp)
        hot = self.gain_start_kt if self.gain_start_kt is not None else min(highest, max(lowest, r.hot))
        cold = self.gain_end_kt if self.gain_end_kt is not None else min(highest, max(r.cold, hot))
        derived = {"gain_hot_kt": r.hot, "gain_cold_kt": r.cold, "du_max": r.du_max, "du_min": r.du_min}

        def with_gain_schedule(kind):
            resolved = replace(self, consolidation_sweeps=consolidation, barrier_hold=hold, barrier_end_kt=end,
                               gain_start_kt=hot, gain_end_kt=cold, qp_cells=qp, gain_schedule=kind)
            resolved.derived = dict(derived, **({} if self.gain_schedule else {"gain_schedule": kind}))
            return resolved.validate()

        return with_gain_schedule(self.gain_schedule or "exponential")

    def validate(self):
        if not isinstance(self.sweeps, int) or not 1 <= self.sweeps <= 2 ** 32 - 1:
            raise SettingsError(f"sweeps must be a whole number from 1 to {2 ** 32 - 1}, not {self.sweeps!r}")
        if self.schedule not in [s.name.lower() for s in Schedule]:
            raise SettingsError(f"schedule must be one of {', '.join(s.name.lower() for s in Schedule)}, not {self.schedule!r}")
        if self.gain_schedule == "linear":
            raise SettingsError("the gain register holds the gain's logarithm, so the gain cools geometrically "
                                "(exponential) or holds (constant); there is no linear gain schedule")
        if self.gain_schedule is not None and self.gain_schedule not in GAIN_SCHEDULES:
            raise SettingsError(f"gain schedule must be one of {', '.join(GAIN_SCHEDULES)}, not {self.gain_schedule!r}")
        if self.simulator not in SIMULATOR_CHOICES:
            raise SettingsError(f"simulator must be one of {', '.join(SIMULATOR_CHOICES)}, not {self.simulator!r}")
        if not isinstance(self.checkpoints, int) or not 1 <= self.checkpoints:
            raise SettingsError(f"checkpoints must be a positive whole number, not {self.checkpoints!r}")
        if self.compiled and self.simulator == "amaranth":
            raise SettingsError("a compiled array runs in verilator or icarus (or on the golden model)")
        if not isinstance(self.lanes, int) or not 1 <= self.lanes <= 32:
            raise SettingsError(f"lanes must be from 1 to 32, not {self.lanes!r}")
        if self.field_banks is not None:
            if (not isinstance(self.field_banks, int) or not 1 <= self.field_banks <= 16
                    or self.field_banks & (self.field_banks - 1)):
                raise SettingsError(f"field banks must be 1, 2, 4, 8 or 16, not {self.field_banks!r}")
            if self.compiled:
                raise SettingsError("a compiled array keeps no fields in memory: --field-banks is for the "
                                    "programmable array")
        if not isinstance(self.seed, int) or not 0 <= self.seed < 2 ** 32:
            raise SettingsError(f"seed must be a whole number from 0 to {2 ** 32 - 1}, not {self.seed!r}")
        if self.resolved:
            self.to_config(check=True)
        self.device()
        return self

    def device(self):
        """The emulated memory's physics (sim/energy.py): retention, step and attempt times."""
        try:
            return Device(attempt_time_s=self.attempt_time_s, step_time_s=self.step_time_s,
                          retention_time_s=self.retention_years * SECONDS_PER_YEAR,
                          retention_error=self.retention_error, temperature_k=self.temperature_k,
                          write_error=self.write_error)
        except ValueError as exc:
            raise SettingsError(str(exc)) from None

    @property
    def resolved(self):
        """Every value derived from the problem is filled in (``resolve``)."""
        return None not in (self.barrier_end_kt, self.barrier_hold, self.gain_start_kt, self.gain_end_kt,
                            self.gain_schedule)

    def to_config(self, check=False):
        """The register values of this (resolved) run; raises SettingsError on any bad value.

        ``check`` also refuses schedules the registers cannot follow (validate() does, once)."""
        if not self.resolved:
            raise SettingsError("these settings derive values from the problem: resolve(problem) them first")
        kind = Schedule[self.schedule.upper()]
        gain_kind = Schedule[self.gain_schedule.upper()]
        start = _to_fixed("barrier start (kT)", self.barrier_start_kt, ARG_FRAC_BITS, BARRIER_BITS)
        end = _to_fixed("barrier end (kT)", self.barrier_end_kt, ARG_FRAC_BITS, BARRIER_BITS)
        if end < start:
            raise SettingsError(f"barrier end ({self.barrier_end_kt:g} kT) is below barrier start "
                                f"({self.barrier_start_kt:g} kT); barriers only rise")
        if not isinstance(self.barrier_hold, int) or not 0 <= self.barrier_hold < 2 ** 32:
            raise SettingsError(f"the barrier hold must be a whole number of sweeps, not {self.barrier_hold!r}")
        # the GAIN register: the gain's logarithm (params.gain_kt), 1/256 octave per step
        g0 = _gain_register("gain start", self.gain_start_kt, self.qp_cells)
        g1 = _gain_register("gain end", self.gain_end_kt, self.qp_cells)
        if g1 < g0:
            raise SettingsError(f"gain end ({self.gain_end_kt:g}) is below gain start ({self.gain_start_kt:g}); "
                                "the gain is an inverse temperature and only rises (cooling)")
        anneal_sweeps = self.sweeps - (self.consolidation_sweeps or 0)
        rate = _rate_register(kind, start, end, self.sweeps - self.barrier_hold, self.rate, "barrier", "kT")
        gain_rate = (_gain_rate_register(g0, g1, anneal_sweeps, self.gain_rate, self.qp_cells)
                     if gain_kind == Schedule.EXPONENTIAL else 0)
        if check:
            barrier_step = None if self.rate is None else self.rate * (_Q if kind == Schedule.LINEAR else 1)
            _check_reaches(kind, start, end, barrier_step, rate, BARRIER_BITS, self.sweeps - self.barrier_hold,
                           self.sweeps - self.barrier_hold, "barrier", "kT", 1 / _Q)
        return RunConfig(seed=self.seed, gain_log=g0, schedule=kind, barrier_start_q4=start,
                         barrier_end_q4=end, rate=rate, gain_schedule=gain_kind, gain_end_log=g1,
                         gain_rate=gain_rate, barrier_hold=self.barrier_hold)

    def describe(self):
        c = self.to_config()
        b0, b1 = c.barrier_start_q4 / _Q, c.barrier_end_q4 / _Q
        hold = f" after {c.barrier_hold} sweeps at {b0:g} kT" if c.barrier_hold else ""
        barrier = {
            Schedule.CONSTANT: f"constant {b0:g} kT",
            Schedule.LINEAR: f"linear {b0:g} -> {b1:g} kT at {c.rate / 2 ** ACC_FRAC_BITS:.4g} kT/sweep{hold}",
            Schedule.EXPONENTIAL: f"exponential {b0:g} -> {b1:g} kT, x{1 + c.rate / 2 ** 16:.5f} per sweep{hold}",
            Schedule.LOGARITHMIC: f"logarithmic {b0:g} kT + ln(1 + t/{c.rate}), up to {b1:g} kT{hold}",
        }[c.schedule]
        g0, g1 = gain_kt(c.gain_log, self.qp_cells), gain_kt(c.gain_end_log, self.qp_cells)
        gain = {
            Schedule.CONSTANT: f"constant {g0:.4g}",
            Schedule.EXPONENTIAL: f"geometric {g0:.4g} -> {g1:.4g}, x{2 ** (c.gain_rate / _GAIN_RATE_ONE):.6f} per sweep",
        }[c.gain_schedule]
        return f"gain {gain} kT per unit (1/T); barrier {barrier}; {self.sweeps} sweeps; seed {self.seed}"

    def to_dict(self):
        d = asdict(self)
        d["derived_from_problem"] = getattr(self, "derived", None)
        d["register_values"] = {k: int(v) for k, v in asdict(self.to_config()).items()}
        return d


def check_fits_build(settings, geometry, where="this build"):
    """Refuse a run that needs a schedule kind ``geometry``'s build leaves out, or field banks it
    was not built with."""
    if settings.schedule == "logarithmic" and not geometry.logarithmic_barrier:
        raise SettingsError(f"{where} leaves out the barrier's logarithmic schedule (to fit its FPGA); "
                            "use --schedule linear, exponential or constant")
    if settings.field_banks not in (None, geometry.field_banks):
        raise SettingsError(f"{where} keeps its fields in {geometry.field_banks} bank(s) per lane, not "
                            f"{settings.field_banks}: leave out --field-banks, or build it with them")


def format_notes(settings):
    """Where the registers run a resolved run (``AnnealSettings.to_dict()``) away from what was
    derived from its problem: one NOTE line each, for the report."""
    derived = settings.get("derived_from_problem") or {}
    notes = []
    hot, used = derived.get("gain_hot_kt"), settings.get("gain_start_kt")
    lowest = gain_kt(0, settings.get("qp_cells", False))
    if hot and used and hot < 0.99 * lowest:
        notes.append(f"NOTE       the derived hot gain {hot:.3g} kT per unit is below the gain register's range: the "
                     f"anneal starts at {used:.3g}, {used / hot:.3g}x colder (docs/architecture.md, Number formats)")
    cold, ended = derived.get("gain_cold_kt"), settings.get("gain_end_kt")
    highest = gain_kt(2 ** GAIN_BITS - 1, settings.get("qp_cells", False))
    if cold and ended and cold > 1.01 * highest:
        notes.append(f"NOTE       the derived cold gain {cold:.3g} kT per unit is above the gain register's range: the "
                     f"anneal ends at {ended:.3g}, {cold / ended:.3g}x hotter (docs/architecture.md, Number formats)")
    return notes

