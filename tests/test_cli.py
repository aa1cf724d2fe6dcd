"""The ``lim`` command line: the main job end to end, and one-line errors for bad input."""
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cases import write_gset

from lim.hdl.params import DECIDE_CYCLES
from lim.host.cli import main
from lim.sim.energy import binary_entropy
from lim.sim.problem import load_gset, random_maxcut

LIM = shutil.which("lim", path=str(Path(sys.executable).parent))


@pytest.fixture
def small_gset(tmp_path):
    return write_gset(tmp_path / "small.txt", random_maxcut(60, 240, seed=3, weights=(-1, 1)))


def test_golden_only_run_writes_json_and_plot(tmp_path, small_gset, capsys):
    rc = main(["anneal", "--problem", str(small_gset), "--simulator", "golden", "--sweeps", "50",
               "--out", str(tmp_path / "out"), "--quiet"])
    assert rc == 0
    result = json.loads((tmp_path / "out" / "anneal-small.json").read_text())
    assert (tmp_path / "out" / "anneal-small.png").stat().st_size > 10_000
    problem = load_gset(small_gset)
    assert result["cut"] == problem.cut_value(result["spins"])
    assert result["counters"]["SWEEPS"] == 50 and result["rtl"] is None
    assert len(result["trace"]["sweep"]) == 50
    e = result["energy"]
    m = e["measured"]
    c = result["counters"]
    assert m["update_kt"] == (c["DROP_Q4"] - c["CLIMB_Q4"]) / 16
    w = e["workload"]
    assert (w["parameters"], w["update_ops"], w["bits"]) == (60, c["ATTEMPTS"], 1)
    assert w["time_s"] == pytest.approx(50 * 1e-6)
    assert e["first_law"]["closes"]
    assert set(e["cost_models"]) == {"lim_array", "fn_synapse", "forced_write_memory", "sram_dram", "accelerator",
                                     "accelerator_measured"}
    # a spin write has a floor too: ATTEMPTS x ln((1 - 1e-6) / 1e-6) x (1 - 1e-6) = ATTEMPTS x 13.8155 kT
    assert e["lower_bounds"]["reliability_floor"]["kt"] == pytest.approx(c["ATTEMPTS"] * 13.815495742, rel=1e-9)
    assert m["read_kt"] == pytest.approx(c["READS"] * 0.69314718, rel=1e-8)   # 1 bit sensed per read
    out = capsys.readouterr().out
    assert f"cut        {result['cut']}" in out and "LIM lower bound" in out and "Landauer, final state" in out


@pytest.mark.cosim
def test_main_job_on_verilator_agrees_with_golden_model(tmp_path):
    """The default job (the real G1, default array), shortened to 20 sweeps."""
    proc = subprocess.run([LIM, "anneal", "--sweeps", "20", "--checkpoints", "4", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "anneal-G1.json").read_text())
    assert result["rtl"]["simulator"] == "verilator"
    assert result["rtl"]["agrees_with_golden_model"] is True
    assert result["rtl"]["checkpoints_compared"] == 4
    problem = result["problem"]
    assert (problem["name"], problem["spins"], problem["couplings"], problem["source"]) == \
        ("G1.txt", 800, 19176, "built-in")
    assert len(problem["sha256"]) == 64
    assert "golden model agrees with the RTL" in proc.stdout and ": yes" in proc.stdout


def test_the_demo_runs_g1_compiled_on_verilator(tmp_path):
    """make demo's job (the Makefile's own command line), shortened to 20 sweeps: G1 compiled into
    the array, in Verilator, checked by the golden model; the RTL's cycles are the compiled
    array's (n_groups + 2 (colours - 1) + 3 + 2 a sweep, not the programmable array's)."""
    import re
    makefile = (Path(__file__).parent.parent / "Makefile").read_text()
    recipe = re.search(r"^demo:.*\n(?:\t.*\n)*?\t\$\(BIN\)/lim (anneal[^$\n]*)\$\(ARGS\)", makefile, re.M)
    argv = recipe[1].split()
    assert argv == ["anneal", "--compiled"]
    proc = subprocess.run([LIM, *argv, "--sweeps", "20", "--checkpoints", "4", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((tmp_path / "anneal-G1.json").read_text())
    assert result["settings"]["compiled"] is True and result["rtl"]["simulator"] == "verilator"
    assert result["rtl"]["agrees_with_golden_model"] is True and result["rtl"]["checkpoints_compared"] == 4
    from lim.host.anneal import fit_geometry
    from lim.sim.gset import load_named
    _, program = fit_geometry(load_named("G1"), 8)
    # fewer cycles than the programmable array's 3 a group could ever take (G1: 140 a sweep, not 3,135)
    assert result["rtl"]["cycles"] < 20 * DECIDE_CYCLES * program.n_groups


@pytest.mark.cosim
def test_icarus_through_the_command_line(tmp_path, small_gset):
    rc = main(["anneal", "--problem", str(small_gset), "--simulator", "icarus", "--sweeps", "6",
               "--checkpoints", "3", "--schedule", "linear", "--barrier-end", "6", "--lanes", "4",
               "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    result = json.loads((tmp_path / "anneal-small.json").read_text())
    assert result["rtl"]["agrees_with_golden_model"] is True


@pytest.mark.parametrize("content, args, message", [
    ("3 2\n1 2 1\n", [], "announces 2 edges"),
    ("3 1\n0 2 1\n", [], "1-based"),
    ("3 1\n1 2 400\n", [], "outside the array's 8-bit range"),
    ("3 1\n1 2 1\n", ["--barrier-start", "4", "--barrier-end", "2"], "barriers only rise"),
    ("3 1\n1 2 1\n", ["--schedule", "exponential"], "--barrier-start above 0"),
    ("3 1\n1 2 1\n", ["--gain", "100"], "gain start must be in"),
    ("3 1\n1 2 1\n", ["--sweeps", "0"], "sweeps"),
])
def test_bad_input_gets_one_line_and_exit_2(tmp_path, content, args, message):
    path = tmp_path / "p.txt"
    path.write_text(content)
    proc = subprocess.run([LIM, "anneal", "--problem", str(path), "--simulator", "golden", "--quiet",
                           "--out", str(tmp_path), *args], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lim: error:") and message in lines[0]
    assert not list(tmp_path.glob("*.json"))


def test_help_explains_the_schedules():
    proc = subprocess.run([LIM, "anneal", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    for word in ("logarithmic", "tau", "Gset", "--problem", "examples"):
        assert word in proc.stdout
    # a default is said once, in words where it is derived: never "(default: None)" after them
    assert "default: None" not in proc.stdout and proc.stdout.count("(default: 1000)") == 1


def test_bounds_table_of_ai_workloads(tmp_path, capsys):
    assert main(["bounds", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for text in ("LeNet-5", "GPT-3", "brain-scale", "Brown et al., NeurIPS 2020", "lower bounds (J)", "estimates (J)",
                 "cost models (J)", "H100/LIM", "kT = 4.142e-21 J", "FN synapse '-'", "arXiv 2402.14878",
                 "per-event prices", "Horowitz", "unresolved", "not known here"):
        assert text in out, text
    assert "contains" not in out
    data = json.loads((tmp_path / "bounds-ai-workloads.json").read_text())
    rows = data["workloads"]
    sizes = [r["workload"]["parameters"] for r in rows]
    assert sizes[-1] == 1e15 and min(sizes) == 6e4
    for r in rows:
        assert all(v["kind"] == "lower bound" and v["assumption"] for v in r["lower_bounds"].values())
        assert all(v["kind"] == "estimate" and v["assumption"] for v in r["estimates"].values())
        assert all(v["kind"] == "cost model" and v["assumption"] for v in r["cost_models"].values())
    gpt3 = next(r for r in rows if r["name"] == "GPT-3")
    assert gpt3["workload"]["update_ops"] == 1.75e11 * 3e11 and gpt3["workload"]["flops"] == 3.14e23
    # 5.25e22 updates x 13.8155 kT x 4.141947e-21 J = 3004.2 J, printed in the LIM bound column
    assert gpt3["lower_bounds"]["lim"]["j"] == pytest.approx(3004.21, rel=1e-5)
    assert next(line for line in out.splitlines() if line.startswith("GPT-3")).split()[5] == "3e+03"
    assert data["paper_comparison"]["verdict"] == "unresolved"
    assert (tmp_path / "bounds-ai-workloads.png").stat().st_size > 10_000


def test_bounds_table_under_a_time_budget_reports_every_row(tmp_path, capsys):
    """One year is too short for the brain-scale row (2e16 updates per parameter, each at least
    ln(1e6) attempt times of 1 ns: 2.76e8 s), and enough for the others: every row is printed."""
    assert main(["bounds", "--time", "3.156e7", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = {}
    for line in out.splitlines():   # the table's rows: the first line that starts with each name
        if line[:1].isalpha() and "e+" in line:
            lines.setdefault(line.split()[0], line)
    assert {"LeNet-5", "ResNet-50", "BERT-large", "GPT-3", "Chinchilla", "brain-scale"} <= set(lines)
    assert lines["brain-scale"].split()[-2:] == ["2.76e+08", "NO"]
    assert lines["GPT-3"].split()[-1] == "yes"
    rows = json.loads((tmp_path / "bounds-ai-workloads.json").read_text())["workloads"]
    brain = rows[-1]["workload"]
    assert brain["min_time_s"] == pytest.approx(2.7631021e8, rel=1e-7) and not brain["time_allows"]


def test_bounds_for_one_workload(tmp_path, capsys):
    assert main(["bounds", "--params", "1e9", "--ops", "1e15", "--bits", "8", "--time", "3600",
                 "--out", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "bounds-custom.json").read_text())["workloads"][0]
    w = row["workload"]
    assert w["step_time_s"] == pytest.approx(3600 / 1e6)
    assert w["attempts_per_step"] == pytest.approx(3.6e-3 / 1e-9)
    assert w["retention_barrier_kt"] == pytest.approx(math.log(10 * 365.25 * 86400 / (1e-9 * 1e-6)))
    # 3.6e6 attempt times per update is the slow limit to 1e-12: 1e15 x 13.8155 kT
    assert row["lower_bounds"]["reliability_floor"]["kt"] == pytest.approx(1e15 * 13.815495742, rel=1e-9)
    # a looser write error lowers the floor: ln(999) x 0.999 = 6.8999 kT
    assert main(["bounds", "--params", "1e9", "--ops", "1e15", "--write-error", "1e-3", "--out", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "bounds-custom.json").read_text())["workloads"][0]
    assert row["workload"]["update_floor_kt"] == pytest.approx(6.89985, rel=1e-5)
    # FLOPs and the fraction of them that are updates stand in for --ops; reads per update are priced
    assert main(["bounds", "--params", "1e9", "--flops", "6e15", "--update-fraction", "0.5", "--reads", "0",
                 "--out", str(tmp_path)]) == 0
    row = json.loads((tmp_path / "bounds-custom.json").read_text())["workloads"][0]
    assert row["workload"]["update_ops"] == 3e15 and row["workload"]["flops"] == 6e15
    w = row["workload"]   # no reads: the array's cost is its updates and its consolidation alone
    assert row["cost_models"]["lim_array"]["kt"] == pytest.approx(
        3e15 * 13.815495742 + 1e9 * 16 * (w["retention_barrier_kt"] + math.log(2) - binary_entropy(1e-6)))


@pytest.mark.parametrize("args, message", [
    (["--params", "1e9"], "give --params with --ops (or --flops)"),
    (["--params", "1e9", "--flops", "6e15", "--update-fraction", "2"], "update fraction"),
    (["--params", "1e9", "--ops", "1e12", "--reads", "-1"], "bits read per update"),
    (["--params", "1e9", "--ops", "0"], "at least 1"),
    (["--params", "1e9", "--ops", "1e12", "--time", "1e-6"], "allow more time"),
    (["--params", "1e9", "--ops", "1e12", "--bits", "0"], "bits"),
    (["--retention-error", "0.9"], "retention error"),
    (["--write-error", "0"], "write error"),
])
def test_bounds_bad_input(args, message):
    proc = subprocess.run([LIM, "bounds", *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("argv, message", [
    (["anneal", "--field-banks", "3", "--simulator", "golden"], "field banks must be 1, 2, 4, 8 or 16, not 3"),
    (["anneal", "--field-banks", "0", "--simulator", "golden"], "field banks must be 1, 2, 4, 8 or 16, not 0"),
    (["anneal", "--field-banks", "32", "--simulator", "golden"], "field banks must be 1, 2, 4, 8 or 16, not 32"),
    (["anneal", "--field-banks", "4", "--compiled", "--simulator", "golden"], "keeps no fields in memory"),
    # a board's banks are built in: the iCEBreaker's lane keeps its fields in one
    (["anneal", "--field-banks", "2", "--sim-board", "--board", "icebreaker", "--sweeps", "40"],
     "keeps its fields in 1 bank(s) per lane, not 2"),
    (["build", "--board", "ulx3s", "--field-banks", "3"], "field_banks must be a power of two, not 3"),
    (["build", "--board", "ulx3s", "--field-banks", "32"], "field_banks must be in 1 .. 16, not 32"),
    (["build", "--board", "ulx3s", "--problem", "torus4", "--field-banks", "2"], "keeps no fields in memory"),
])
def test_field_banks_an_array_cannot_have_are_refused(argv, message, tmp_path, capsys):
    from lim.host.cli import main
    assert main([*argv, "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not list(tmp_path.iterdir())


def test_field_banks_take_fewer_cycles_for_the_same_work(tmp_path):
    """G1 with its fields in 1 and in 4 banks per lane: the banks change the mapping (each lane's
    banks balanced), so the draws and the run differ, but not the work: the same attempts and
    reads (every cell's degree each sweep), in fewer update rows and cycles."""
    from lim.host.api import run
    from lim.host.settings import AnnealSettings
    runs = {banks: run("G1", "golden", AnnealSettings(sweeps=20, field_banks=banks)).data for banks in (1, 4)}
    one, four = runs[1], runs[4]
    assert one["array"]["field_banks"] == 1 and four["array"]["field_banks"] == 4
    for counter in ("ATTEMPTS", "READS", "SWEEPS"):
        assert one["counters"][counter] == four["counters"][counter]
    assert four["array"]["update_rows_per_lane"] < 0.45 * one["array"]["update_rows_per_lane"]
    assert four["counters"]["CYCLES"] < 0.6 * one["counters"]["CYCLES"]


def test_a_build_with_other_field_banks_keeps_the_boards_row_memory():
    """`lim build --field-banks B` reshapes the board's update-row memory, it does not shrink it:
    the ULX3S's 4,096 rows of 4 entries become 16,384 rows of one (which hold G1's 6,647) or
    1,024 rows of 16."""
    from lim.boards.targets import BOARDS
    from lim.sim.gset import load_named
    from lim.sim.mapping import map_problem
    board = BOARDS["ulx3s"].geometry
    for banks in (1, 2, 4, 8, 16):
        shaped = board.with_field_banks(banks)
        assert shaped.field_banks == banks and shaped.edge_depth * banks == board.edge_depth * board.field_banks
    assert map_problem(load_named("G1"), board.with_field_banks(1)).update_rows == 6647
    with pytest.raises(ValueError, match="power of two"):
        board.with_field_banks(3)
    with pytest.raises(ValueError, match="in 1 .. 16, not 0"):
        board.with_field_banks(0)
