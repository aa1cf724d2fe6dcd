"""Schedules at their extremes: every run the settings accept follows its schedule to where it
says it goes (as the array computes it), and a run the registers cannot follow is refused."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lim.host.settings import AnnealSettings, SettingsError
from lim.sim.gset import load_named
from lim.sim.golden import ScheduleModel

LIM = shutil.which("lim", path=str(Path(sys.executable).parent))


def final_gain(config, sweeps):
    model = ScheduleModel.gain(config)
    for _ in range(sweeps):
        model.advance()
    return model.value_q4


@pytest.fixture(scope="module")
def g11():
    return load_named("G11")


@pytest.mark.parametrize("sweeps", [10, 100, 1000, 3000, 5000])
def test_accepted_geometric_gain_schedules_reach_their_end(g11, sweeps):
    settings = AnnealSettings(sweeps=sweeps).resolve(g11)
    config = settings.to_config()
    assert final_gain(config, sweeps) >= 0.99 * config.gain_end_q4


@pytest.mark.parametrize("sweeps", [10_000, 30_000])
def test_geometric_gain_schedules_the_register_cannot_follow_are_refused(g11, sweeps):
    with pytest.raises(SettingsError, match="the gain register .* cannot follow this exponential schedule") as refused:
        AnnealSettings(sweeps=sweeps, gain_schedule="exponential").resolve(g11)
    # the linear alternative is offered where the register follows it (its step is 44/9500 of a
    # register step at 10,000 sweeps: a rate register of 19)
    assert "--gain-schedule linear" in str(refused.value)


@pytest.mark.parametrize("sweeps", [10_000, 30_000, 100_000, 1_000_000])
def test_the_default_cools_linearly_where_the_register_cannot_follow_geometric_cooling(g11, sweeps):
    settings = AnnealSettings(sweeps=sweeps).resolve(g11)
    assert settings.gain_schedule == "linear" and settings.derived["gain_schedule"] == "linear"
    config = settings.to_config()
    assert final_gain(config, sweeps) == config.gain_end_q4


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
    """lim qp's own defaults (both workloads, every precision) pass the check and reach their end."""
    from lim.host.qp import QP_WEIGHT_BITS, default_sweeps
    for qp in qps:
        q = qp.quantize(bits, (1 << (QP_WEIGHT_BITS - 1)) - 1)
        settings = AnnealSettings(sweeps=default_sweeps(bits)).resolve(q.problem)
        config = settings.to_config()
        assert final_gain(config, settings.sweeps) >= 0.99 * config.gain_end_q4


def test_the_command_line_refuses_in_one_line(tmp_path):
    proc = subprocess.run([LIM, "anneal", "--problem", "G11", "--simulator", "golden", "--sweeps", "30000",
                           "--gain-schedule", "exponential", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and "cannot follow" in proc.stderr and "0.0625" in proc.stderr
