"""RTL co-simulation: the generated Verilog under Icarus and Verilator (and Amaranth's simulator)
must equal the golden model exactly: every state row and every counter at every checkpoint.

All cases of one geometry run in one simulator process (one build); each case is its own test.
"""
import pytest

from cases import all_cases, qp_cases
from lim.hdl.params import Counter
from lim.sim.cosim.amaranth_sim import AmaranthSimulator
from lim.sim.cosim.runner import Cosimulator
from lim.sim.golden import GoldenArray

CASES = all_cases() + qp_cases()
SIMULATORS = ["icarus", "verilator", "amaranth"]
_results = {}


def _run_geometry(simulator, geometry, waves):
    key = (simulator, geometry)
    if key not in _results:
        jobs = [job for _, g, job in CASES if g == geometry]
        if simulator == "amaranth":
            runner = AmaranthSimulator(geometry)
        else:
            runner = Cosimulator(geometry, simulator, waves=waves)
        _results[key] = dict(zip((name for name, g, _ in CASES if g == geometry), runner.run(jobs)))
    return _results[key]


@pytest.mark.cosim
@pytest.mark.parametrize("simulator", SIMULATORS)
@pytest.mark.parametrize("name, geometry, job", CASES, ids=[c[0] for c in CASES])
def test_rtl_equals_golden_model(simulator, name, geometry, job, waves):
    rtl = _run_geometry(simulator, geometry, waves)[name]
    gold = GoldenArray(job.program, job.initial_bits, job.config)
    assert len(rtl) == len(job.chunks)
    for k, (sweeps, got) in enumerate(zip(job.chunks, rtl)):
        want = gold.run(sweeps)
        where = f"{simulator}, {name}, checkpoint {k}"
        assert got.rows.tolist() == want.rows.tolist(), f"state differs ({where})"
        for counter in Counter:
            assert got.counters[counter] == want.counters[counter], f"{counter.name} differs ({where})"
        assert got.saturated == want.saturated, f"saturation flags differ ({where})"
        assert got.barrier_q4 == want.barrier_q4, f"barrier differs ({where})"
        assert got.gain_q4 == want.gain_q4, f"gain differs ({where})"
        assert got.objective == want.objective, f"objective register differs ({where})"


@pytest.mark.cosim
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_waveforms_on_request(simulator, tmp_path):
    name, geometry, job = next(c for c in CASES if c[0] == "three-lanes")
    runner = Cosimulator(geometry, simulator, build_root=tmp_path, waves=True)
    runner.run([job])
    assert runner.waves_path.exists() and runner.waves_path.stat().st_size > 1000
    quiet = Cosimulator(geometry, simulator, build_root=tmp_path)
    quiet.run([job])
    assert not (quiet.build() / runner.waves_path.name).exists()
