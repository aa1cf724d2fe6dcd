"""Gset-class MaxCut instances generated from fixed seeds (the Gset files are not shipped).

- g1-class: 800 nodes, 19,176 unit edges (Gset G1-G5: random graph, density 6%)
- g6-class: the same graph statistics with weights +/-1 (Gset G6-G10)
- g11-class: 800-node toroidal grid (40 x 20), weights +/-1 (Gset G11-G13)
Written in the Gset text format and read back with the host's loader, so the benchmark exercises it.
"""
from pathlib import Path

import numpy as np

from lim.sim.problem import load_gset, random_maxcut

__all__ = ["toroidal_grid", "write_gset", "instances"]


def toroidal_grid(rows, cols, seed, weights=(-1, 1), name=None):
    rng = np.random.default_rng(seed)
    edges = []
    for r in range(rows):
        for c in range(cols):
            v = r * cols + c
            edges.append((v, r * cols + (c + 1) % cols))
            edges.append((v, ((r + 1) % rows) * cols + c))
    i, j = np.array(edges).T
    from lim.sim.problem import IsingProblem
    w = rng.choice(np.asarray(weights), size=len(edges))
    return IsingProblem.maxcut(rows * cols, i, j, w, name=name or f"torus-{rows}x{cols}-s{seed}")


def write_gset(problem, path):
    path = Path(path)
    lines = [f"{problem.n} {problem.m}"]
    lines += [f"{i + 1} {j + 1} {w}" for i, j, w in zip(problem.rows.tolist(), problem.cols.tolist(),
                                                       problem.maxcut_weights.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


def instances(folder, n=800):
    """The benchmark instances, written as Gset files into ``folder`` and loaded back."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    m = round(19176 * (n * (n - 1)) / (800 * 799))
    made = {
        "g1-class": random_maxcut(n, m, seed=1, weights=(1,)),
        "g6-class": random_maxcut(n, m, seed=6, weights=(-1, 1)),
        "g11-class": toroidal_grid(40, n // 40, seed=11),
    }
    return {name: load_gset(write_gset(p, folder / f"{name}-{n}.txt")) for name, p in made.items()}
