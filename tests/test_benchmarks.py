"""The benchmark suite's quick subset runs and writes its numbers."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.mark.slow
@pytest.mark.cosim
def test_quick_benchmarks_write_json_and_plots(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run_all.py"), "--quick", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=1200, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    report = json.loads((tmp_path / "bench-maxcut.json").read_text())
    maxcut = report["instances"]["G1"]
    lengths = report["lengths"]["G1"]   # cut against length, both sides, with the schedule used
    assert [r["sweeps"] for r in lengths] == [100, 1000] and all(r["golden_gain_schedule"] for r in lengths)
    # each side's spread is reported with its mean (2 runs each in --quick)
    assert all(r["golden_standard_error"] is not None and r["difference_standard_error"] is not None for r in lengths)
    assert (tmp_path / "bench-maxcut-lengths.png").stat().st_size > 10_000
    # the real G1 at 200 sweeps with the derived defaults: within 1% of the best known cut
    assert maxcut["golden"]["spin_updates_per_second"] > 0 and maxcut["golden_fraction_of_best"] >= 0.99
    sims = json.loads((tmp_path / "bench-simulators.json").read_text())
    for name in ("verilator", "icarus", "amaranth"):
        assert sims["simulators"][name]["equals_golden_model"], name
    # the simulated board's whole command, both builds: checked by the golden model, no frame
    # retried on the loopback line, and the compiled array needs fewer cycles for the same sweeps
    board = json.loads((tmp_path / "bench-sim-board.json").read_text())["runs"]
    assert all(r["agrees_with_golden_model"] and r["retries"] == 0 for r in board.values())
    assert board["compiled"]["cycles"] < board["programmable"]["cycles"]
    assert board["compiled"]["frames"] < board["programmable"]["frames"]   # no program on the line
    scaling = json.loads((tmp_path / "bench-scaling.json").read_text())
    assert len(scaling["rows"]) >= 2
    qp = json.loads((tmp_path / "bench-qp.json").read_text())
    assert {r["bits"] for r in qp["precision"]} == {2, 4, 6} and set(qp["slopes"]) == {
        "known-optimum", "random-definite", "random-indefinite", "least-squares", "digits"}
    digits6 = next(r for r in qp["precision"] if r["workload"] == "digits" and r["bits"] == 6)
    assert digits6["test_accuracy"] >= digits6["test_accuracy_optimum"] - 0.02
    # the compiled array does the programmable one's work in fewer cycles on every problem, board and
    # width the programmable build holds; both boards are drawn, with their block-RAM ceilings
    compiled = json.loads((tmp_path / "bench-compiled.json").read_text())
    pairs = {}
    for row in compiled["rows"]:
        pairs.setdefault((row["problem"], row["board"], row["lanes"]), {}).setdefault(row["mode"], []).append(row)
    both = [p for p in pairs.values() if "programmable" in p]
    assert len(both) >= 6 and all(p["compiled"][0]["attempts"] == q["attempts"]
                                  and p["compiled"][0]["cycles"] < q["cycles"] for p in both for q in p["programmable"])
    assert {r["board"] for r in compiled["rows"]} == {"ulx3s", "icebreaker"}
    # the ULX3S's programmable array at 4 and at 8 banks a lane: more banks, fewer cycles, where it fits
    g1 = {r["field_banks"]: r for r in pairs["G1", "ulx3s", 8]["programmable"]}
    assert set(g1) == {4, 8} and g1[8]["cycles"] < 0.7 * g1[4]["cycles"]
    assert [r["field_banks"] for r in pairs["G22", "ulx3s", 8]["programmable"]] == [4]   # 2,603 rows of 2,048 at 8
    # no programmable run beats its field-update ceiling (a bank updates one field a cycle), nor
    # its decisions' (a group loads a cycle at most; a colour's last commits and settles)
    bounds = {(c["problem"], c["board"], c["field_banks"]): c["ceiling"] for c in compiled["field_update_ceilings"]}
    assert {p for p, _, _ in bounds} == {"G1", "G22", "G43"}
    for row in compiled["rows"]:
        if row["mode"] == "programmable":
            assert row["spin_updates_per_second"] <= row["decision_ceiling"], row
            bound = bounds.get((row["problem"], row["board"], row["field_banks"]))
            if bound:
                assert row["spin_updates_per_second"] < bound[str(row["lanes"])], row
    ceilings = {(c["board"], c["lanes"], c["field_banks"]): c["g1_density"]["spins"] for c in compiled["ceilings"]}
    assert ceilings[("ulx3s", 8, 4)] < ceilings[("ulx3s", 32, 4)] and ceilings[("icebreaker", 1, 1)] < ceilings[("ulx3s", 8, 4)]
    assert 800 <= ceilings[("ulx3s", 8, 8)] < ceilings[("ulx3s", 8, 4)]   # G1 fits 8 banks, in fewer rows a bank
    for name in ("bench-maxcut.png", "bench-scaling.png", "bench-qp.png", "bench-compiled.png"):
        assert (tmp_path / name).stat().st_size > 10_000
