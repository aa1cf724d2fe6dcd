"""Parameter sweeps: a grid (or list) of runs, on local cores or a Dask cluster, through one path.

A spec (TOML) names the axes; every combination is a run. Each run has a key, a hash of its
settings and of its problem's content, and writes ``runs/KEY.json`` whole or not at all. A run
whose file exists is skipped, so a sweep resumes after a crash and a finished sweep does no work.
Runs go to a ``concurrent.futures`` executor: a process pool on this machine, or Dask's executor
for a cluster (``Client(address).get_executor``). A worker that dies has its runs retried
elsewhere: Dask reschedules them, and the local pool is rebuilt and given the unfinished runs.
At the end: ``summary.csv`` (one row per run) and ``summary.png`` (each swept axis).

    name = "demo"
    [settings]                 # fixed for every run (any lim.Settings field)
    checkpoints = 1
    [grid]                     # one run per combination
    problem = ["G11", "G14"]
    seed = [1, 2, 3, 4, 5]
    sweeps = [50, 100, 200, 400]
    target = ["golden"]
"""
from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import time
import tomllib
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Optional

from .settings import AnnealSettings, SettingsError

__all__ = ["SweepSpec", "SweepSummary", "load_spec", "sweep", "execute", "SUMMARY_FIELDS"]

#: Axes a spec may sweep besides the settings' own fields.
RUN_AXES = ("problem", "target", "bits")
_SETTINGS_FIELDS = {f.name for f in fields(AnnealSettings)} - {"qp_cells"}
#: The columns of summary.csv that describe a run's outcome (the axes come first).
SUMMARY_FIELDS = ("key", "read_from", "cut", "fraction_of_best_known", "objective_final", "gap",
                  "test_accuracy", "agrees", "energy_measured_j", "energy_update_kt", "lim_lower_bound_j",
                  "attempts", "hops", "seconds")
#: Columns that depend on the machine, not on the run (left out when comparing sweeps).
TIMING_FIELDS = ("seconds",)


@dataclass
class SweepSpec:
    """The runs of a sweep (each a dict of axis values) and where their results go."""
    name: str
    runs: list
    out: Path
    axes: list = field(default_factory=list)


def _problem_identity(name):
    from .api import load_problem
    problem = load_problem(name)
    digest = getattr(problem, "digest", None)
    return digest() if digest else f"{type(problem).__name__}:{problem.name}"


def run_key(run):
    """A run's identity: its settings and its problem's content."""
    identity = dict(run, problem_content=_problem_identity(run["problem"]))
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _check_run(run, where):
    unknown = sorted(set(run) - _SETTINGS_FIELDS - set(RUN_AXES))
    if unknown:
        raise SettingsError(f"{where}: unknown setting {unknown[0]!r}; sweepable: "
                            f"{', '.join(sorted(set(RUN_AXES) | _SETTINGS_FIELDS))}")
    if "problem" not in run:
        raise SettingsError(f"{where}: every run needs a problem")
    settings = {k: v for k, v in run.items() if k in _SETTINGS_FIELDS}
    try:
        AnnealSettings(**settings).validate()
    except TypeError as exc:
        raise SettingsError(f"{where}: {exc}") from None
    except SettingsError as exc:
        raise SettingsError(f"{where}: {exc}") from None


def load_spec(source, out=None) -> SweepSpec:
    """A spec from a TOML file (or a dict of the same shape); raises SettingsError, one line."""
    if isinstance(source, dict):
        data, where = source, "sweep spec"
        default_out = Path("results") / f"sweep-{source.get('name', 'sweep')}"
    else:
        path = Path(source)
        try:
            data = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise SettingsError(f"{path}: no such file") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError(f"{path}: not a readable TOML spec ({exc})") from None
        where = str(path)
        default_out = Path("results") / f"sweep-{data.get('name', path.stem)}"
    unknown = sorted(set(data) - {"name", "out", "settings", "grid", "run"})
    if unknown:
        raise SettingsError(f"{where}: unknown section {unknown[0]!r} (expected name, out, settings, grid, run)")
    fixed = data.get("settings", {})
    grid = data.get("grid", {})
    if not isinstance(fixed, dict) or not isinstance(grid, dict):
        raise SettingsError(f"{where}: [settings] and [grid] must be tables")
    axes = []
    values = []
    for axis, options in grid.items():
        options = options if isinstance(options, list) else [options]
        if not options:
            raise SettingsError(f"{where}: grid axis {axis!r} has no values")
        axes.append(axis)
        values.append(options)
    runs = [dict(fixed, **dict(zip(axes, combo))) for combo in itertools.product(*values)] if grid else []
    for extra in data.get("run", []):
        if not isinstance(extra, dict):
            raise SettingsError(f"{where}: each [[run]] must be a table")
        runs.append(dict(fixed, **extra))
    if not runs:
        raise SettingsError(f"{where}: no runs (give a [grid] or [[run]] entries)")
    for k, run in enumerate(runs):
        run.setdefault("target", "golden")
        _check_run(run, f"{where}, run {k + 1}")
    keys = [run_key(run) for run in runs]
    if len(set(keys)) != len(keys):
        raise SettingsError(f"{where}: two runs have the same settings and problem")
    out = Path(out or data.get("out") or default_out)
    return SweepSpec(data.get("name", "sweep"), runs, out, axes)


def execute(run, out_dir):
    """Run one spec entry and write its result (a worker's job); returns its summary row."""
    from dataclasses import replace

    from .anneal import write_result
    from .api import Settings, run as run_one
    out_dir = Path(out_dir)
    key = run_key(run)
    settings = replace(Settings(), **{k: v for k, v in run.items() if k in _SETTINGS_FIELDS})
    t0 = time.perf_counter()
    result = run_one(run["problem"], target=run.get("target", "golden"), settings=settings,
                     bits=run.get("bits", 6))
    row = dict(run, **_summary(result.data), key=key, seconds=time.perf_counter() - t0)
    write_result({"key": key, "run": run, "row": row, "result": result.data}, out_dir / "runs" / f"{key}.json")
    return row


def _summary(data):
    energy = data["energy"]
    rtl = data.get("rtl")
    return {
        "read_from": data.get("read_from", "golden model"),
        "cut": data.get("cut"),
        "fraction_of_best_known": data.get("fraction_of_best_known"),
        "objective_final": data["objective"]["final"] if "objective" in data else data.get("f"),
        "gap": data.get("gap"),
        "test_accuracy": data.get("test_accuracy"),
        "agrees": rtl["agrees_with_golden_model"] if isinstance(rtl, dict) else data.get("rtl_agrees"),
        "energy_measured_j": energy["measured"]["total_j"],
        "energy_update_kt": energy["measured"]["update_kt"],
        "lim_lower_bound_j": energy["lower_bounds"]["lim"]["j"],
        "attempts": data["counters"]["ATTEMPTS"],
        "hops": data["counters"]["HOPS"],
    }


@dataclass
class SweepSummary:
    """What a sweep did: one row per run (in spec order), the files, and the counts."""
    rows: list
    csv_path: Path
    png_path: Optional[Path]
    ran: int
    skipped: int
    failed: dict
    seconds: float

    def results(self):
        """Every run's full result record, in spec order (read from runs/KEY.json)."""
        runs = self.csv_path.parent / "runs"
        return [json.loads((runs / f"{row['key']}.json").read_text())["result"] for row in self.rows]


def _executor(engine, workers, address):
    if engine == "local":
        return ProcessPoolExecutor(max_workers=workers or os.cpu_count()), None
    if engine == "dask":
        from distributed import Client
        client = Client(address) if address else Client(n_workers=workers or os.cpu_count(), threads_per_worker=1)
        return client.get_executor(retries=2, pure=False), client
    raise SettingsError(f"engine must be 'local' or 'dask', not {engine!r}")


def sweep(spec, engine: str = "local", workers: Optional[int] = None, address: Optional[str] = None,
          progress: bool = True, retries: int = 2, out=None) -> SweepSummary:
    """Run every run of ``spec`` (a SweepSpec, a TOML path or a dict) that has no result yet.

    ``engine="local"``: one process per core (or ``workers``); ``engine="dask"``: the Dask
    cluster at ``address`` (a scheduler address; without one, a local Dask cluster of
    ``workers`` processes). A run that fails is retried ``retries`` times, then reported.
    """
    from .progress import Progress
    if not isinstance(spec, SweepSpec):
        spec = load_spec(spec, out)
    elif out is not None:
        spec.out = Path(out)
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise SettingsError(f"workers must be a positive whole number, not {workers!r}")
    t0 = time.perf_counter()
    keys = [run_key(run) for run in spec.runs]
    todo = [(k, run) for k, run in zip(keys, spec.runs) if not (spec.out / "runs" / f"{k}.json").exists()]
    skipped = len(spec.runs) - len(todo)
    failed = {}
    shown = Progress(enabled=progress)
    if todo:
        shown.update(0, len(todo), f"sweep {spec.name} ({skipped} done before)" if skipped else f"sweep {spec.name}")
    attempts = {k: 0 for k, _ in todo}
    pending = dict(todo)
    done = 0
    while pending:
        executor, client = _executor(engine, workers, address)
        try:
            futures = {executor.submit(execute, run, str(spec.out)): k for k, run in pending.items()}
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for future in finished:
                    k = futures.pop(future)
                    try:
                        future.result()
                    except BrokenProcessPool:
                        raise
                    except Exception as exc:   # the run itself failed: retry, then report
                        attempts[k] += 1
                        if attempts[k] <= retries:
                            futures[executor.submit(execute, pending[k], str(spec.out))] = k
                            continue
                        failed[k] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                    pending.pop(k, None)
                    done += 1
                    shown.update(done, len(todo))
        except BrokenProcessPool:   # a local worker died: a new pool takes the unfinished runs
            for k in pending:
                attempts[k] += 1
            for k in [k for k in pending if attempts[k] > retries + 1]:
                failed[k] = "the worker process died every time"
                pending.pop(k)
                done += 1
        finally:
            if client is not None:
                client.close()
            else:
                executor.shutdown(wait=True, cancel_futures=True)
    from .files import TEMPORARY_SUFFIX
    for orphan in (spec.out / "runs").glob(f".*{TEMPORARY_SUFFIX}"):   # from writers killed mid-write
        orphan.unlink(missing_ok=True)
    rows = []
    for k, run in zip(keys, spec.runs):
        path = spec.out / "runs" / f"{k}.json"
        if path.exists():
            rows.append(json.loads(path.read_text())["row"])
    csv_path = write_summary(rows, spec)
    png_path = plot_summary(rows, spec) if rows else None
    return SweepSummary(rows, csv_path, png_path, len(todo) - len(failed), skipped, failed,
                        time.perf_counter() - t0)


def write_summary(rows, spec):
    from .files import write_atomically
    columns = list(dict.fromkeys([*spec.axes, *RUN_AXES, *SUMMARY_FIELDS,
                                  *(c for row in rows for c in row)]))

    def write(tmp):
        with open(tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            for row in rows:
                writer.writerow({c: row.get(c) for c in columns})
    return write_atomically(spec.out / "summary.csv", write)


def plot_summary(rows, spec):
    """For each swept axis (seeds pooled): the main quality figure and the measured energy, mean
    and spread over the other axes, one line per problem."""
    from .plots import plt, _save
    axes = [a for a in spec.axes if a not in ("seed", "problem") and len({str(r.get(a)) for r in rows}) > 1]
    axes = axes or ["seed"]
    quality = next((q for q in ("fraction_of_best_known", "test_accuracy", "gap")
                    if any(r.get(q) is not None for r in rows)), "hops")
    fig, grid = plt.subplots(2, len(axes), figsize=(4.5 * len(axes), 7), squeeze=False)
    problems = sorted({str(r["problem"]) for r in rows})
    for col, axis in enumerate(axes):
        values = sorted({r.get(axis) for r in rows}, key=lambda v: (str(type(v)), v))
        for problem in problems:
            for row_index, metric in enumerate((quality, "energy_measured_j")):
                means, spreads = [], []
                for v in values:
                    ys = [r[metric] for r in rows if str(r["problem"]) == problem and r.get(axis) == v
                          and r.get(metric) is not None]
                    means.append(sum(ys) / len(ys) if ys else float("nan"))
                    spreads.append((max(ys) - min(ys)) / 2 if ys else 0.0)
                x = range(len(values))
                grid[row_index, col].errorbar(x, means, yerr=spreads, marker="o", capsize=3, label=problem)
                grid[row_index, col].set_xticks(list(x), [str(v) for v in values])
                grid[row_index, col].set_ylabel(metric.replace("_", " "))
                grid[row_index, col].set_xlabel(axis)
                grid[row_index, col].grid(alpha=0.3)
    grid[0, 0].legend(fontsize=7)
    fig.suptitle(f"sweep {spec.name}: {len(rows)} runs (mean, and half the range over the other axes)", fontsize=9)
    fig.tight_layout()
    return _save(fig, spec.out / "summary.png")
