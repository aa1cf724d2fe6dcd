"""Sweeps: the 40-run example on local cores and on a two-worker Dask cluster give the same
results; a finished sweep does no work; a worker killed mid-sweep loses no run and duplicates
none (Dask and the local pool); bad specs are one-line errors."""
import csv
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import lim
from lim.host.sweep import TIMING_FIELDS, load_spec

ROOT = Path(__file__).parent.parent
DEMO = ROOT / "examples" / "sweep-demo.toml"
LIM = str(Path(sys.executable).parent / "lim")


def table(path):
    """summary.csv without the machine-dependent columns."""
    with open(path) as f:
        return [{k: v for k, v in row.items() if k not in TIMING_FIELDS} for row in csv.DictReader(f)]


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("local")
    return lim.sweep(DEMO, workers=2, out=out, progress=False), out


def test_the_demo_spec_is_40_runs_and_all_finish(local_sweep):
    summary, out = local_sweep
    assert len(load_spec(DEMO).runs) == 40
    assert summary.ran == 40 and summary.skipped == 0 and not summary.failed
    assert len(list((out / "runs").glob("*.json"))) == 40
    rows = table(summary.csv_path)
    assert len(rows) == 40 and len({r["key"] for r in rows}) == 40
    assert all(0.9 < float(r["fraction_of_best_known"]) <= 1 for r in rows)
    assert summary.png_path.stat().st_size > 10_000


def test_a_finished_sweep_does_no_work(local_sweep):
    summary, out = local_sweep
    before = {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    again = lim.sweep(DEMO, workers=2, out=out, progress=False)
    assert again.ran == 0 and again.skipped == 40
    assert {p: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == before
    assert table(again.csv_path) == table(summary.csv_path)


@pytest.fixture(scope="module")
def dask_cluster():
    from distributed import LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield cluster
    cluster.close()


def test_a_dask_cluster_gives_the_same_results(local_sweep, dask_cluster, tmp_path):
    summary, _ = local_sweep
    on_cluster = lim.sweep(DEMO, engine="dask", address=dask_cluster.scheduler_address, out=tmp_path,
                           progress=False)
    assert on_cluster.ran == 40 and not on_cluster.failed
    assert table(on_cluster.csv_path) == table(summary.csv_path)


def _kill_one_worker_when(out, runs_done, find_worker):
    """In the background: once ``runs_done`` results exist, SIGKILL one worker process."""
    killed = []

    def watch():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if len(list((out / "runs").glob("*.json"))) >= runs_done:
                pid = find_worker()
                if pid:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.05)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, killed


def _check_complete(summary, out):
    keys = [row["key"] for row in table(summary.csv_path)]
    assert not summary.failed and len(keys) == 40 and len(set(keys)) == 40
    assert sorted(p.name for p in (out / "runs").iterdir()) == sorted(f"{k}.json" for k in keys)


def test_killing_a_dask_worker_loses_no_run(dask_cluster, tmp_path):
    from distributed import Client
    with Client(dask_cluster.scheduler_address) as client:
        pids = list(client.run(os.getpid).values())
    thread, killed = _kill_one_worker_when(tmp_path, 8, lambda: pids[0])
    summary = lim.sweep(DEMO, engine="dask", address=dask_cluster.scheduler_address, out=tmp_path, progress=False)
    thread.join()
    assert killed, "no worker was killed"
    _check_complete(summary, tmp_path)


def _children():
    """PIDs of this process's child processes."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def test_killing_a_local_worker_loses_no_run(tmp_path):
    before = _children()          # e.g. the Dask cluster's processes: not the pool's workers
    thread, killed = _kill_one_worker_when(tmp_path, 8, lambda: next(iter(_children() - before), None))
    summary = lim.sweep(DEMO, workers=2, out=tmp_path, progress=False)
    thread.join()
    assert killed, "no worker was killed"
    _check_complete(summary, tmp_path)


@pytest.mark.parametrize("content, message", [
    ("a = [", "not a readable TOML spec"),
    ("[grid]\nproblem = ['G1']\nsweeps = [0]\n", "run 1: sweeps must be"),
    ("[grid]\nproblem = ['G1']\nfoo = [1]\n", "unknown setting 'foo'"),
    ("[grid]\nseed = [1]\n", "needs a problem"),
    ("[grid]\nproblem = ['G1', 'G1']\n", "the same settings and problem"),
    ("name = 'x'\n", "no runs"),
])
def test_bad_specs_are_one_line_errors(tmp_path, content, message):
    spec = tmp_path / "s.toml"
    spec.write_text(content)
    proc = subprocess.run([LIM, "sweep", str(spec), "--out", str(tmp_path / "out")], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_the_command_line_sweep(tmp_path):
    proc = subprocess.run([LIM, "sweep", str(DEMO), "--workers", "2", "--quiet", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "40 runs done, 0 already done, 0 failed" in proc.stdout
    dry = subprocess.run([LIM, "sweep", str(DEMO), "--dry-run", "--out", str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert dry.stdout.count(" done ") == 40
