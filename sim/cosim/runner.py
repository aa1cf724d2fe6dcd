"""Co-simulation driver: Amaranth -> Verilog -> Icarus or Verilator under cocotb, jobs in, results out.

A design is built once per (geometry, simulator, waves) and cached under a content hash of the
generated Verilog, so a second run of the same geometry starts at once.
"""
import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...hdl.params import Region
from ..golden import RunConfig, Snapshot
from .lifeline import host_environment
from .tools import simulator_environment

__all__ = ["Job", "CosimError", "Cosimulator", "default_build_root", "generate_verilog"]

TOPLEVEL = "lim_array"


class CosimError(RuntimeError):
    """The simulator failed to build or run; the message points at its log."""


@dataclass
class Job:
    """One annealing job on the RTL: a mapped program, a start state, a config, checkpoints."""
    name: str
    program: object
    initial_bits: np.ndarray
    config: RunConfig
    chunks: list = field(default_factory=lambda: [1])
    presets: dict = None    # {Counter: value} loaded after init (needs a counter_preset build)

    def spec(self):
        c = self.config
        g = self.program.geometry
        presets = []
        for counter, value in (self.presets or {}).items():
            presets += [[g.address(Region.COUNTERS, 2 * counter), value & 0xFFFFFFFF],
                        [g.address(Region.COUNTERS, 2 * counter + 1), value >> 32]]
        return {
            "name": self.name,
            "n_groups": self.program.n_groups,
            "writes": [[int(a), int(d)] for a, d in self.program.bus_writes(self.initial_bits)],
            "config": {reg.name: value for reg, value in c.registers().items()},
            "presets": presets,
            "chunks": [int(k) for k in self.chunks],
        }


def default_build_root():
    """Where built simulators are cached: $LIM_BUILD_DIR, else ~/.cache/lim-emulator."""
    env = os.environ.get("LIM_BUILD_DIR")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "lim-emulator"


@dataclass(frozen=True)
class Design:
    """What a Cosimulator builds: a top-level name, the Amaranth component, the cocotb module."""
    toplevel: str
    component: object
    test_module: str


def array_design(geometry, counter_preset=False):
    from ...hdl.array import LimArray
    return Design(TOPLEVEL, LimArray(geometry, counter_preset), "lim.sim.cosim.bench")


def generate_verilog(design):
    """SystemVerilog of a design for the simulators.

    Yosys writes combinational processes as ``always @*``, which Icarus evaluates only when an
    input changes: a block whose inputs sit still from time 0 (an FSM output while the FSM idles)
    stays X and poisons the registers it feeds. ``always_comb`` runs once at time 0 by definition
    (IEEE 1800-2017 9.2.2.2.2), so both simulators start from the values Amaranth specifies.
    """
    from amaranth.back import verilog
    source = verilog.convert(design.component, name=design.toplevel)
    return source.replace("always @* begin", "always_comb begin")


class Cosimulator:
    """Builds the array for one geometry and simulator; runs lists of jobs on it."""

    def __init__(self, geometry, simulator="verilator", build_root=None, waves=False, design=None,
                 counter_preset=False):
        simulator_environment(simulator)
        self.geometry = geometry
        self.design = design or array_design(geometry, counter_preset)
        self.simulator = simulator
        self.waves = waves
        self.build_root = Path(build_root) if build_root else default_build_root()
        self.build_seconds = None
        self._build_dir = None
        self._runner = None

    def build(self):
        """Generate Verilog and compile it; returns the build directory.

        The Verilog is only rewritten when it changed, so the simulators' own up-to-date checks
        (iverilog's, Verilator's make) skip the work on a second call.
        """
        if self._build_dir is not None:
            return self._build_dir
        from cocotb_tools.runner import get_runner
        top = self.design.toplevel
        source = generate_verilog(self.design)
        digest = hashlib.sha256(source.encode()).hexdigest()[:16]
        build_dir = self.build_root / f"{self.simulator}-{top}-{digest}{'-waves' if self.waves else ''}"
        build_dir.mkdir(parents=True, exist_ok=True)
        verilog_path = build_dir / f"{top}.sv"
        if not verilog_path.exists() or verilog_path.read_text() != source:
            verilog_path.write_text(source)
        self._runner = get_runner(self.simulator)
        build_args = ["-Wno-fatal", "-Wno-WIDTH", "-CFLAGS", "-O2"] if self.simulator == "verilator" else []
        log = build_dir / "build.log"
        t0 = time.perf_counter()
        try:
            self._runner.build(sources=[verilog_path], hdl_toplevel=top,
                               build_dir=build_dir, build_args=build_args, waves=self.waves,
                               timescale=("1ns", "1ps"), log_file=log)
        except (SystemExit, Exception) as exc:
            raise CosimError(f"{self.simulator} build failed ({exc}); see {log}") from None
        self.build_seconds = time.perf_counter() - t0
        self._build_dir = build_dir
        return build_dir

    @property
    def waves_path(self):
        """Where the waveform of the last run is (with ``waves=True``): FST for Icarus, VCD for Verilator."""
        suffix = "vcd" if self.simulator == "verilator" else "fst"
        return self.build() / f"{self.design.toplevel}.{suffix}"

    def test(self, work_dir, extra_env, log_file=None):
        """Run the design's cocotb module in ``work_dir`` with ``extra_env`` (blocks until it ends)."""
        build_dir = self.build()
        work_dir = Path(work_dir)
        log = Path(log_file) if log_file else work_dir / "sim.log"
        test_args = ["--trace-file", str(self.waves_path)] if self.waves and self.simulator == "verilator" else []
        try:
            self._runner.test(test_module=self.design.test_module, hdl_toplevel=self.design.toplevel,
                              build_dir=build_dir, test_dir=work_dir, waves=self.waves, test_args=test_args,
                              results_xml=str(work_dir / "results.xml"), log_file=log,
                              extra_env={**host_environment(), **extra_env})
        except (SystemExit, Exception) as exc:
            raise CosimError(f"{self.simulator} run failed ({exc}); see {log}") from None

    def run(self, jobs, log_file=None, progress_file=None):
        """Run ``jobs`` in one simulator process; returns one list of Snapshots per job.

        With ``progress_file``, the bench appends a line per checkpoint as it reaches it.
        """
        with tempfile.TemporaryDirectory(prefix="lim-cosim-") as tmp:
            tmp = Path(tmp)
            spec = {"geometry": self.geometry.__dict__, "jobs": [job.spec() for job in jobs]}
            (tmp / "jobs.json").write_text(json.dumps(spec))
            results_path = tmp / "results.json"
            self.test(tmp, {"LIM_JOBS": str(tmp / "jobs.json"), "LIM_RESULTS": str(results_path),
                            "LIM_PROGRESS": str(progress_file or "")}, log_file)
            log = Path(log_file) if log_file else tmp / "sim.log"
            if not results_path.exists():
                tail = log.read_text()[-3000:] if log.exists() else ""
                raise CosimError(f"{self.simulator} run produced no results:\n{tail}")
            results = json.loads(results_path.read_text())
        self.geometry_word = results["geometry_word"]
        return [[self._snapshot(job, cp) for cp in res["checkpoints"]]
                for job, res in zip(jobs, results["jobs"])]

    def _snapshot(self, job, checkpoint):
        snap = Snapshot.from_bus(self.geometry, checkpoint["rows"], checkpoint["counter_words"],
                                 checkpoint["reg_words"])
        snap.wall_s = checkpoint["wall_s"]
        return snap
