"""Reproducing a run from its result file: same problem, settings, array and target, same numbers.

A result names its problem by content (SHA-256) and holds the settings with their register
values, the array's geometry and the target it ran on; its numbers were read from that target.
The rerun runs on the same target by default, so target is compared with target: the final
state, counters, energy and trajectory must come out equal. The rerun's own golden model checks
its target as every run does, so the comparison with the model is made again too.
"""
import json
from dataclasses import fields
from pathlib import Path

from ..hdl.params import ArrayGeometry
from ..sim.problem import load_gset, read_text_file
from .anneal import default_problem, run_anneal
from .settings import AnnealSettings, SettingsError

__all__ = ["ReproduceError", "load_result", "reproduce", "REPRODUCED_FIELDS"]

#: What a rerun must reproduce exactly (timings, dates and versions may differ).
REPRODUCED_FIELDS = ("problem", "array", "schedule", "objective", "counters", "saturated", "energy",
                     "trace", "spins", "cut")


class ReproduceError(SettingsError):
    """The result file cannot be rerun: not a result, or its problem is missing or changed."""


def load_result(path):
    path = Path(path)
    try:
        result = json.loads(read_text_file(path))
    except json.JSONDecodeError as exc:
        raise ReproduceError(f"{path}: not a readable JSON result ({exc})") from None
    missing = [k for k in ("settings", "problem", "array", "run", "counters", "spins")
               if not isinstance(result, dict) or k not in result]
    if missing:
        raise ReproduceError(f"{path}: not a 'lim anneal' result with its run record (no {missing[0]!r})")
    return result


def _settings(result, simulator):
    stored = dict(result["settings"])
    registers = stored.pop("register_values", None)
    names = {f.name for f in fields(AnnealSettings)}
    try:
        settings = AnnealSettings(**{k: v for k, v in stored.items() if k in names})
    except TypeError as exc:
        raise ReproduceError(f"the result's settings are incomplete ({exc})") from None
    settings.validate()
    if registers is not None and settings.to_dict()["register_values"] != registers:
        raise ReproduceError("the settings no longer give the register values the run used "
                             "(the fixed-point conversion changed)")
    if simulator:
        settings.simulator = simulator
        settings.validate()
    return settings


def _problem(result, problem_path):
    record = result["problem"]
    source = problem_path or record.get("source")
    if source in (None, "built-in"):
        problem = default_problem()
    else:
        problem = load_gset(source)
    if problem.digest() != record.get("sha256"):
        where = source or "the built-in problem"
        raise ReproduceError(f"{where} is not the problem of this result (content sha256 "
                             f"{problem.digest()[:12]}... != {str(record.get('sha256'))[:12]}...); "
                             "pass the original file with --problem")
    return problem, source


def differences(original, rerun):
    """Names of the reproduced fields that differ, with the first differing item of each."""
    out = []
    for key in REPRODUCED_FIELDS:
        a, b = original.get(key), rerun.get(key)
        if key == "problem":
            a = {k: v for k, v in (a or {}).items() if k != "source"}
            b = {k: v for k, v in (b or {}).items() if k != "source"}
        if a == b:
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            first = next(k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))
            out.append(f"{key}.{first}: {a.get(first)!r} != {b.get(first)!r}"[:200])
        else:
            out.append(f"{key} differs")
    a, b = original.get("rtl"), rerun.get("rtl")
    if a and b and a["agrees_with_golden_model"] != b["agrees_with_golden_model"]:
        out.append("rtl agreement differs")
    if b and not b["agrees_with_golden_model"]:
        out.append(f"the rerun's target ({b['simulator']}) disagrees with the golden model")
    return out


def reproduce(path, problem_path=None, simulator=None, port=None, progress=None):
    """Rerun the result at ``path``; returns (the new result, the differences)."""
    original = load_result(path)
    settings = _settings(original, simulator)
    problem, source = _problem(original, problem_path)
    run = original["run"]
    target, board = run.get("target", "rtl"), run.get("board") or "ulx3s"
    if target == "port" and not port:
        raise ReproduceError("this run was on a real board: give its serial port with --port")
    a = original["array"]
    geometry = ArrayGeometry(lanes=a["lanes"], groups=a["groups"], edge_depth=a["edge_depth"],
                             weight_bits=a.get("weight_bits", 8), counter_bits=a.get("counter_bits", 48),
                             field_banks=a.get("field_banks", 1))   # results from before the banks had one
    if settings.simulator == "golden" and target != "rtl":
        target = "rtl"   # the golden model alone, on the board's geometry
    rerun = run_anneal(problem, settings, progress, target=target, port=port, board=board, geometry=geometry)
    rerun["problem"]["source"] = source or "built-in"
    return rerun, differences(original, rerun)
