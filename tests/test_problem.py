"""The Gset parser: accepted input, and one clear error for each kind of bad input."""
import numpy as np
import pytest

from lim.sim.problem import IsingProblem, ProblemError, load_gset, parse_gset, random_maxcut


def test_parse_gset_builds_maxcut():
    p = parse_gset("4 3\n1 2 1\n2 3 -2\n4 1 5\n")
    assert p.n == 4 and p.m == 3
    assert p.rows.tolist() == [0, 1, 0] and p.cols.tolist() == [1, 2, 3]
    assert p.couplings.tolist() == [-1, 2, -5]
    s = np.array([1, -1, 1, -1])
    assert p.cut_value(s) == 1 + (-2) + 5
    # U = -sum J s_i s_j; cut = (sum w - U) / 2
    assert p.cut_value(s) == (4 - p.objective(s)) // 2


def test_identical_duplicate_edges_merge():
    assert parse_gset("3 2\n1 2 1\n2 1 1\n").m == 1


@pytest.mark.parametrize("text, message", [
    ("", "empty file"),
    ("3\n", "header 'n m'"),
    ("a b\n", "integers"),
    ("0 0\n", "at least 1"),
    ("3 2\n1 2 1\n", "announces 2 edges but the file has 1"),
    ("3 1\n1 2\n", "an edge 'i j w'"),
    ("3 1\n1 2 x\n", "integers"),
    ("3 1\n0 2 1\n", "1-based"),
    ("3 1\n1 4 1\n", "outside 1..3"),
    ("3 1\n2 2 1\n", "self loop"),
    ("3 2\n1 2 1\n2 1 3\n", "repeats line 2"),
    ("3 1\n1 2 1.5\n", "integers"),
])
def test_bad_gset_is_rejected_with_a_clear_message(text, message):
    with pytest.raises(ProblemError, match=message):
        parse_gset(text, name="bad.txt")


def test_missing_file(tmp_path):
    with pytest.raises(ProblemError, match="no such file"):
        load_gset(tmp_path / "nope.txt")


def test_random_maxcut_is_simple_and_reproducible():
    a = random_maxcut(50, 300, seed=4)
    b = random_maxcut(50, 300, seed=4)
    assert np.array_equal(a.rows, b.rows) and np.array_equal(a.cols, b.cols)
    pairs = set(zip(a.rows.tolist(), a.cols.tolist()))
    assert len(pairs) == 300 and all(i < j for i, j in pairs)


def test_objective_matches_definition():
    p = IsingProblem(3, np.array([0, 1]), np.array([1, 2]), np.array([2, -3]), np.array([1, 0, -1]))
    s = np.array([1, -1, -1])
    assert p.objective(s) == -(2 * 1 * -1 + -3 * -1 * -1) - (1 * 1 + 0 + -1 * -1)
