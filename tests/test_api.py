"""The library API (``import lim``): problems from every source, runs on every target kind, the
result object, typed one-line errors, and the README's example run as written."""
import json
import re
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import lim
from cases import SMALL, write_gset
from lim.host.cli import main
from lim.sim.problem import random_maxcut

ROOT = Path(__file__).parent.parent


def test_problems_from_every_source_are_the_same_problem(tmp_path):
    problem = random_maxcut(30, 70, seed=4, weights=(1, 2, -1))
    gset = write_gset(tmp_path / "p.txt", problem)
    matrix = np.zeros((30, 30), dtype=int)
    matrix[problem.rows, problem.cols] = problem.maxcut_weights
    matrix += matrix.T
    graph = nx.Graph()
    graph.add_nodes_from(range(30))
    graph.add_weighted_edges_from(zip(problem.rows.tolist(), problem.cols.tolist(), problem.maxcut_weights.tolist()))
    def content(p):
        return p.n, sorted(zip(p.rows.tolist(), p.cols.tolist(), p.couplings.tolist()))
    loaded = [lim.load_problem(source) for source in (problem, gset, str(gset), matrix, graph)]
    assert all(content(p) == content(problem) for p in loaded)
    assert loaded[1].digest() == problem.digest()        # a file keeps the edge order
    assert lim.load_problem("G11").n == 800 and lim.load_problem("digits").classes == 10


@pytest.mark.parametrize("source, message", [
    (np.ones((3, 4)), "must be square"),
    (np.array([[0, 1], [2, 0]]), "symmetric"),
    (np.array([[1, 1], [1, 0]]), "diagonal"),
    (np.array([[0, 0.5], [0.5, 0]]), "integers"),
    ("G999", "not a shipped Gset instance"),
    (3.5, "cannot make a problem of a float"),
])
def test_bad_problems_raise_one_line_problem_errors(source, message):
    with pytest.raises(lim.ProblemError, match=message) as info:
        lim.load_problem(source)
    assert "\n" not in str(info.value)


def test_bad_settings_raise_one_line_settings_errors():
    with pytest.raises(lim.SettingsError, match="target must be one of"):
        lim.run("G11", target="gpu")
    with pytest.raises(lim.SettingsError, match="sweeps must be"):
        lim.run("G11", settings=lim.Settings(sweeps=0))
    with pytest.raises(lim.SettingsError, match="serial port"):
        lim.run("G11", target="board")
    with pytest.raises(lim.SettingsError, match="bits must be from 1 to 8"):
        lim.run("least-squares", bits=9)


def test_the_command_line_is_the_api(tmp_path):
    """`lim anneal` and `lim.run` with the same settings give the same record."""
    settings = lim.Settings(sweeps=60, seed=9)
    result = lim.run("G14", settings=settings)
    assert main(["anneal", "--problem", "G14", "--sweeps", "60", "--seed", "9", "--simulator", "golden",
                 "--quiet", "--out", str(tmp_path)]) == 0
    cli = json.loads((tmp_path / "anneal-G14.json").read_text())
    for key in ("spins", "counters", "energy", "cut", "objective", "settings"):
        assert cli[key] == result.data[key], key
    assert result.cut == cli["cut"] and result.agrees is None and result.counters["SWEEPS"] == 60
    assert result.trajectory["sweep"][-1] == 60
    assert json.loads(result.to_json())["cut"] == result.cut
    assert result.to_json(tmp_path / "r.json").exists() and result.plot(tmp_path / "r.png").stat().st_size > 10_000


@pytest.mark.cosim
def test_a_run_on_the_rtl_reads_the_rtl():
    graph = nx.complete_bipartite_graph(5, 6)   # on the test geometry the co-simulation has built
    result = lim.run(graph, target="verilator", settings=lim.Settings(sweeps=40, checkpoints=2), geometry=SMALL)
    assert result.agrees is True and result.data["read_from"] == "verilator" and result.cut == 30


def test_a_qp_through_the_api():
    result = lim.run("least-squares", bits=4, settings=lim.Settings(sweeps=128))
    assert result.objective["gap"] < 0.1 and result.energy["workload"]["bits"] == 4


def test_the_readme_example_runs_as_written(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```python\n(import lim\n.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(block, "README.md", "exec"), {})
    assert (tmp_path / "results" / "g11.json").exists() and (tmp_path / "results" / "g11.png").exists()
