"""QP cells end to end: problems and their errors, the known optimum, least-squares training, a
classifier trained on real data (digits), and the ``lim qp`` command (golden model and RTL)."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lim.hdl.params import ArrayGeometry
from lim.host.cli import main
from lim.host.qp import run_qp
from lim.sim.boxqp import digits_qp, known_optimum_qp, least_squares_qp
from lim.sim.mapping import MappingError, map_problem
from lim.sim.problem import ProblemError, QpProblem, random_maxcut, random_qp

LIM = shutil.which("lim", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize("Q, b, bits, box, message", [
    ([[1, 2], [0, 1]], [0, 0], 4, None, r"not symmetric: Q\[0,1\] = 2 but Q\[1,0\] = 0"),
    ([[1, 0], [0, 1]], [0, 0, 0], 4, None, "b needs 2 entries"),
    ([[1, 0, 0], [0, 1, 0]], [0, 0], 4, None, "must be square"),
    ([[1.5, 0], [0, 1]], [0, 0], 4, None, "integers"),
    ([[1, 0], [0, 1]], [0, 0], 9, None, "1 to 8 bits"),
    ([[1, 0], [0, 1]], [0, 0], 2, ([0, 0], [3, 4]), "must lie in 0 .. 3"),
    ([[1, 0], [0, 1]], [0, 0], 2, ([2, 0], [1, 3]), "low <= high"),
    ([[2 ** 40, 0], [0, 1]], [0, 0], 2, None, "32-bit range"),
])
def test_bad_qp_is_named(Q, b, bits, box, message):
    low, high = box or (None, None)
    with pytest.raises(ProblemError, match=message):
        QpProblem.from_dense(Q, b, bits, low, high, name="bad")


def test_mapping_checks_the_cells_and_the_weight_range():
    qp = random_qp(10, 4, seed=1)
    with pytest.raises(MappingError, match="needs an array of QP cells"):
        map_problem(qp, ArrayGeometry())
    with pytest.raises(MappingError, match="4-bit variables on 3-bit cells"):
        map_problem(qp, ArrayGeometry(cell_bits=3))
    with pytest.raises(MappingError, match="needs an array of spins"):
        map_problem(random_maxcut(5, 4, seed=1), ArrayGeometry(cell_bits=4))
    wide = QpProblem.from_dense([[300, 1], [1, 2]], [0, 0], 4)
    with pytest.raises(MappingError, match="diagonal 300 is outside the array's 8-bit range"):
        map_problem(wide, ArrayGeometry(cell_bits=4))
    # a QP bias has the cells' bits and one more (13 bits at 8 + 4): the linear term holds the
    # box's low corner, a row of couplings times up to 2^p - 1 levels
    g = ArrayGeometry(cell_bits=4)
    assert (g.bias_min, g.bias_max) == (-4096, 4095)
    map_problem(QpProblem.from_dense([[2, 1], [1, 2]], [4095, -4096], 4), g)
    with pytest.raises(MappingError, match="bias 4096 is outside the array's 13-bit range"):
        map_problem(QpProblem.from_dense([[2, 1], [1, 2]], [4096, 0], 4), g)
    assert ArrayGeometry().bias_bits == 8     # spins: the weights' width


def test_scipy_confirms_the_known_optimum_and_the_array_reaches_it():
    qp = known_optimum_qp()
    w, f, convex = qp.solve()
    assert convex and np.abs(w - qp.known).max() < 1e-6
    assert f == pytest.approx(qp.f(qp.known), abs=1e-12)
    gaps = {bits: run_qp(qp, bits, sweeps=4 * (1 << bits) + 64)["gap"] for bits in (2, 4, 8)}
    assert gaps[2] > gaps[4] > gaps[8] >= 0 and gaps[8] < 0.01


def test_least_squares_training_generalises():
    qp = least_squares_qp()
    r = run_qp(qp, 6, sweeps=320)
    assert r["gap"] < 0.01
    assert r["test_mse"] < 1.5 * r["test_mse_optimum"]


@pytest.fixture(scope="module")
def digits():
    qp = digits_qp()
    return qp, qp.solve()


def test_digits_is_the_real_data_set(digits):
    qp, (w, f, convex) = digits
    X, y = qp.test
    assert qp.classes == 10 and qp.n == 10 * X.shape[1] == 620 and len(y) == 1797 - 2 * 1797 // 3
    assert convex and 0.9 < qp.held_out(w)["test_accuracy"] < 0.97   # a linear least-squares classifier
    # the box is the unconstrained solution's range: the float optimum touches it, nothing is clipped
    assert np.isclose(np.abs(w).max(), qp.high[0], rtol=1e-6)


def test_digits_classifier_at_8_bits_is_as_good_as_float(digits):
    """With one width for biases and couplings, 5,640 couplings rounded to zero at 8 bits and the
    gap was 0.056. With the bias p + 1 bits wider none does, though at 8 bits the hot end bounds
    the scale (host.qp.quantize narrows it to about 0.8 of the couplings' width); the gap is
    under 0.01 and the held-out accuracy within half a point of the float classifier's."""
    from lim.host.qp import quantize
    qp, optimum = digits
    q = quantize(qp, 8)
    assert q.lost == 0 and 16_384 < np.abs(q.problem.dense()).max() < 32_767
    r = run_qp(qp, 8, optimum=optimum)
    assert r["gap"] < 0.01 and r["test_accuracy"] >= r["test_accuracy_optimum"] - 0.005, (r["gap"], r["test_accuracy"])
    low = run_qp(qp, 2, optimum=optimum)
    assert low["test_accuracy"] < r["test_accuracy"]     # precision matters: 2 bits lose accuracy
    # the energy of the run grows with precision, and so does the final state's Landauer bound (N b);
    # the per-update reliability floor does not: the write error is its own setting
    assert r["energy"]["measured"]["update_kt"] > low["energy"]["measured"]["update_kt"]
    final = [x["energy"]["lower_bounds"]["landauer_final_state"]["kt"] for x in (low, r)]
    assert final[1] == pytest.approx(4 * final[0])
    assert r["energy"]["workload"]["update_floor_kt"] == low["energy"]["workload"]["update_floor_kt"]


@pytest.mark.cosim
def test_lim_qp_digits_on_verilator(tmp_path):
    """The digits classifier on the RTL (620 cells at 4 bits, 128 sweeps; 8 bits, 1088 sweeps, is
    the same datapath and takes a minute more): bit-exact, and within 2 points of float."""
    proc = subprocess.run([LIM, "qp", "--workload", "digits", "--bits", "4", "--simulator", "verilator",
                           "--quiet", "--out", str(tmp_path)], capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    r = json.loads((tmp_path / "qp-digits-p4.json").read_text())
    assert r["rtl_agrees"] is True
    assert r["test_accuracy"] >= r["test_accuracy_optimum"] - 0.02


def test_lim_qp_reports_energy_against_precision(tmp_path, capsys):
    assert main(["qp", "--workload", "least-squares", "--bits", "2,4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.count("LIM lower bound") == 2
    data = json.loads((tmp_path / "qp-least-squares-p2-4.json").read_text())
    assert [r["bits"] for r in data["runs"]] == [2, 4]
    assert (tmp_path / "qp-least-squares-p2-4.png").stat().st_size > 10_000


@pytest.mark.parametrize("content, message", [
    ('{"A": [[1, 2], [0, 1]], "c": [0, 0]}', "A is not symmetric"),
    ('{"A": [[1, 0], [0, 1]], "c": [0, 0, 1]}', "c has shape (3,)"),
    ('{"A": [[1e15, 0], [0, 1]], "c": [0, 0]}', "outside any fixed-point range"),
    ('{"A": [[1, 0], [0, 1]], "c": [0, 0], "low": 1, "high": 0}', "low < high"),
    ('{"A": [[1, 0], [0, 1]]}', "expected an object"),
    ('not json', "not a readable JSON"),
])
def test_lim_qp_bad_problem_gets_one_line(tmp_path, content, message):
    path = tmp_path / "q.json"
    path.write_text(content)
    proc = subprocess.run([LIM, "qp", "--problem", str(path), "--out", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and str(path) in lines[0]
    assert not (tmp_path / "out").exists()


@pytest.mark.cosim
def test_lim_qp_runs_a_problem_file_on_the_rtl(tmp_path, capsys):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"A": [[2, -1, 0], [-1, 2, -1], [0, -1, 2]], "c": [-1, 0, 1], "low": -1, "high": 1}))
    rc = main(["qp", "--problem", str(path), "--bits", "3", "--sweeps", "30", "--simulator", "icarus",
               "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "agrees with the golden model" in out
    result = json.loads((tmp_path / "qp-mine-p3.json").read_text())
    assert result["rtl_agrees"] is True and result["bits"] == 3


def test_entries_below_the_fixed_point_resolution_are_reported(tmp_path, capsys):
    path = tmp_path / "wide.json"
    path.write_text('{"A": [[1, 1e-9], [1e-9, 1]], "c": [0.5, 0]}')
    assert main(["qp", "--problem", str(path), "--bits", "3", "--sweeps", "20", "--out", str(tmp_path)]) == 0
    assert "2 non-zero entries of the problem round to 0" in capsys.readouterr().out
    assert json.loads((tmp_path / "qp-wide-p3.json").read_text())["entries_rounded_to_zero"] == 2
