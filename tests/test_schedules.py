"""Schedules at their extremes: every run the settings accept follows its schedule to where it
says it goes (as the array computes it), and a run the registers cannot follow is refused."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import numpy as np

from lim.hdl.params import GAIN_BITS, gain_kt
from lim.host.settings import AnnealSettings, SettingsError
from lim.sim.gset import load_named
from lim.sim.golden import ScheduleModel
from lim.sim.temperature import gain_range

LIM = shutil.which("lim", path=str(Path(sys.executable).parent))


def gains(config, sweeps, qp=False):
    """The gain (kT per unit) the array runs each sweep at, as it computes it."""
    model = ScheduleModel.gain(config)
    values = []
    for _ in range(sweeps):
        values.append(model.value_q4)
        model.advance()
    return gain_kt(np.array(values + [model.value_q4]), qp)


@pytest.fixture(scope="module")
def g11():
    return load_named("G11")


@pytest.mark.parametrize("sweeps", [10, 100, 1000, 10_000, 100_000, 1_000_000])
def test_the_default_gain_schedule_is_geometric_within_1_percent_at_every_step(g11, sweeps):
    """Every sweep's gain is within 1% of the exact geometric schedule from the derived hot gain
    to the derived cold one over the anneal, and the run ends at the cold gain (within 1%)."""
    settings = AnnealSettings(sweeps=sweeps).resolve(g11)
    assert settings.gain_schedule == "exponential"
    r = gain_range(g11)
    anneal = sweeps - settings.consolidation_sweeps
    run = gains(settings.to_config(), sweeps)
    k = np.arange(sweeps + 1)
    exact = r.hot * (r.cold / r.hot) ** np.minimum(k / anneal, 1)
    assert np.abs(run / exact - 1).max() <= 0.01
    assert abs(run[-1] / r.cold - 1) <= 0.01


def test_a_gain_rising_faster_than_the_register_steps_is_refused(g11):
    """G11's range is 5.0 octaves: 2 sweeps (1 of them annealing) need more than 4 per sweep."""
    with pytest.raises(SettingsError, match="at most 4 octaves"):
        AnnealSettings(sweeps=2).resolve(g11)
    AnnealSettings(sweeps=3).resolve(g11)
    with pytest.raises(SettingsError, match="at most 4 octaves"):
        AnnealSettings(sweeps=1000, gain_rate=15.5).resolve(g11)
    with pytest.raises(SettingsError, match="below the rate register's step"):
        AnnealSettings(sweeps=1000, gain_rate=1e-10).resolve(g11)


def test_a_user_geometric_rate_is_followed(g11):
    """--gain-rate 0.01: the gain grows by 1% per sweep (to 2^-28 octaves) until its end."""
    settings = AnnealSettings(sweeps=500, gain_rate=0.01).resolve(g11)
    run = gains(settings.to_config(), 200)
    assert np.abs(run[1:] / run[:-1] - 1.01).max() < 0.003   # the 1/256-octave value steps: 0.27%
    assert abs(run[200] / (run[0] * 1.01 ** 200) - 1) < 0.003


def test_quality_does_not_fall_with_length(g11):
    """The real G11 under the default settings: the mean cut of 4 runs of 10,000 sweeps is at
    least that of 8 runs of 1,000 (before the schedules were checked, 10,000 sweeps ended at a
    gain 25% short of its end, and 30,000 never left the hot end: a cut of 54)."""
    import lim
    short = [lim.run(g11, target="golden", settings=lim.Settings(sweeps=1000, seed=s)).cut for s in range(1, 9)]
    long = [lim.run(g11, target="golden", settings=lim.Settings(sweeps=10_000, seed=s)).cut for s in range(1, 5)]
    assert sum(long) / len(long) >= sum(short) / len(short)


@pytest.fixture(scope="module")
def qps():
    from lim.sim.boxqp import digits_qp, least_squares_qp
    return [least_squares_qp(), digits_qp()]


@pytest.mark.parametrize("bits", range(1, 9))
def test_qp_defaults_are_accepted_at_every_precision(qps, bits):
    """lim qp's own defaults (both workloads, every precision): the anneal starts at the derived hot
    gain and ends at the derived cold gain, each within 1% (the 8-bit gain register clamped the hot
    gain up to 3,960x)."""
    from lim.host.qp import default_sweeps, quantize
    for qp in qps:
        q = quantize(qp, bits)
        settings = AnnealSettings(sweeps=default_sweeps(bits)).resolve(q.problem)
        r = gain_range(q.problem)
        run = gains(settings.to_config(), settings.sweeps, qp=True)
        assert abs(run[0] / r.hot - 1) <= 0.01 and abs(run[-1] / max(r.cold, r.hot) - 1) <= 0.01


@pytest.mark.parametrize("flags, message", [
    (["--simulator", "golden", "--sweeps", "2"], "at most 4 octaves"),
    (["--simulator", "golden", "--gain-start", "1e-9"], "gain start must be in"),
    (["--sim-board", "--board", "icebreaker", "--schedule", "logarithmic"], "leaves out the barrier's logarithmic"),
])
def test_the_command_line_refuses_in_one_line(tmp_path, flags, message):
    proc = subprocess.run([LIM, "anneal", "--problem", "G11", *flags, "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and message in proc.stderr


def test_a_gain_beyond_the_register_is_noted_in_one_line():
    """A derived gain the register cannot hold is clamped to its end, and the report says so: the
    hot end (a run starting colder) and the cold end (a QP problem of more than 85,000 cells whose
    smallest move is 1/2 unit: ending hotter)."""
    from lim.host.settings import format_notes
    lowest, highest = gain_kt(0, qp=True), gain_kt(2 ** GAIN_BITS - 1, qp=True)
    within = {"derived_from_problem": {"gain_hot_kt": lowest, "gain_cold_kt": highest},
              "gain_start_kt": lowest, "gain_end_kt": highest, "qp_cells": True}
    assert format_notes(within) == []
    hot = dict(within, derived_from_problem={"gain_hot_kt": lowest / 3, "gain_cold_kt": highest})
    cold = dict(within, derived_from_problem={"gain_hot_kt": lowest, "gain_cold_kt": 2 * highest})
    (hot_note,), (cold_note,) = format_notes(hot), format_notes(cold)
    assert "below the gain register's range" in hot_note and "3x colder" in hot_note
    assert "above the gain register's range" in cold_note and "2x hotter" in cold_note
