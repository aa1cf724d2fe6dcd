"""Ising problems and the Gset MaxCut text format.

An Ising problem has spins s_i in {-1, +1}, integer couplings J_ij and biases h_i, and the
objective U(s) = -sum_{i<j} J_ij s_i s_j - sum_i h_i s_i (in problem units; the gain converts to kT).
MaxCut with weights w maps to J = -w, h = 0, and cut(s) = (sum w - U(s)) / 2.
"""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ProblemError", "IsingProblem", "parse_gset", "load_gset", "random_maxcut", "MAX_SPINS"]

#: More spins than the largest array holds (32 lanes x 65,536 groups): refused when parsed.
MAX_SPINS = 32 << 16
#: Weights are read as 32-bit integers; the array's own (narrower) range is checked when mapping.
_WEIGHT_LIMIT = 1 << 31


class ProblemError(ValueError):
    """A problem that cannot be used: the message names the file, line and fault."""


@dataclass(frozen=True)
class IsingProblem:
    n: int
    rows: np.ndarray      # edge endpoints, rows[k] < cols[k], 0-based
    cols: np.ndarray
    couplings: np.ndarray  # J_k, integers
    biases: np.ndarray = None
    name: str = "problem"
    maxcut_weights: np.ndarray = field(default=None, repr=False)  # w_k when built from MaxCut

    def __post_init__(self):
        if self.biases is None:
            object.__setattr__(self, "biases", np.zeros(self.n, dtype=np.int64))
        if len(self.rows) != len(self.cols) or len(self.rows) != len(self.couplings):
            raise ProblemError("rows, cols and couplings must have the same length")
        if len(self.biases) != self.n:
            raise ProblemError(f"{len(self.biases)} biases for {self.n} spins")
        if len(self.rows) and (np.any(self.rows >= self.cols) or self.rows.min() < 0 or self.cols.max() >= self.n):
            raise ProblemError("edges must satisfy 0 <= row < col < n")

    @classmethod
    def maxcut(cls, n, rows, cols, weights, name="maxcut"):
        rows, cols, weights = (np.asarray(a, dtype=np.int64) for a in (rows, cols, weights))
        lo, hi = np.minimum(rows, cols), np.maximum(rows, cols)
        return cls(n, lo, hi, -weights, name=name, maxcut_weights=weights)

    @property
    def m(self):
        return len(self.rows)

    def digest(self):
        """SHA-256 of the problem's content, not of a file's formatting: how a result names it."""
        h = hashlib.sha256()
        for a in (np.array([self.n]), self.rows, self.cols, self.couplings, self.biases):
            h.update(np.ascontiguousarray(a, dtype="<i8").tobytes())
        return h.hexdigest()

    def objective(self, spins_pm):
        """U(s) for spins in {-1, +1}; works on a (..., n) batch."""
        s = np.asarray(spins_pm, dtype=np.int64)
        pair = (s[..., self.rows] * s[..., self.cols] * self.couplings).sum(axis=-1)
        return -pair - (s * self.biases).sum(axis=-1)

    def cut_value(self, spins_pm):
        """The MaxCut value of a spin assignment (the problem must come from MaxCut)."""
        if self.maxcut_weights is None:
            raise ProblemError(f"{self.name} is not a MaxCut problem")
        s = np.asarray(spins_pm, dtype=np.int64)
        return int((self.maxcut_weights * (s[..., self.rows] != s[..., self.cols])).sum(axis=-1))


def parse_gset(text, name="problem"):
    """Parse the Gset format: ``n m`` then m lines ``i j w`` with 1-based node indices."""
    lines = [(k + 1, ln.split()) for k, ln in enumerate(text.splitlines())]
    lines = [(k, toks) for k, toks in lines if toks and not toks[0].startswith(("#", "%"))]
    if not lines:
        raise ProblemError(f"{name}: empty file, expected a header line 'n m'")

    def ints(lineno, toks, count, what):
        if len(toks) != count:
            raise ProblemError(f"{name}:{lineno}: expected {what}, got {' '.join(toks)!r}")
        try:
            return [int(t) for t in toks]
        except ValueError:
            raise ProblemError(f"{name}:{lineno}: expected integers ({what}), got {' '.join(toks)!r}") from None

    header_line, header = lines[0]
    n, m = ints(header_line, header, 2, "a header 'n m'")
    if n < 1:
        raise ProblemError(f"{name}:{header_line}: the number of nodes must be at least 1, not {n}")
    if n > MAX_SPINS:
        raise ProblemError(f"{name}:{header_line}: {n} nodes; the largest array holds {MAX_SPINS}")
    if m < 0:
        raise ProblemError(f"{name}:{header_line}: the number of edges must not be negative, not {m}")
    body = lines[1:]
    if len(body) != m:
        raise ProblemError(f"{name}: the header announces {m} edges but the file has {len(body)} edge lines")
    seen = {}
    rows, cols, weights = [], [], []
    for lineno, toks in body:
        i, j, w = ints(lineno, toks, 3, "an edge 'i j w'")
        for v in (i, j):
            if not 1 <= v <= n:
                hint = " (Gset indices are 1-based)" if v == 0 else ""
                raise ProblemError(f"{name}:{lineno}: node {v} is outside 1..{n}{hint}")
        if i == j:
            raise ProblemError(f"{name}:{lineno}: self loop on node {i}")
        if not -_WEIGHT_LIMIT <= w < _WEIGHT_LIMIT:
            raise ProblemError(f"{name}:{lineno}: weight {w} is outside the 32-bit range")
        key = (min(i, j), max(i, j))
        if key in seen:
            first, w0 = seen[key]
            if w0 != w:
                raise ProblemError(f"{name}:{lineno}: edge {i}-{j} repeats line {first} with weight {w} instead of {w0}")
            continue
        seen[key] = (lineno, w)
        rows.append(key[0] - 1)
        cols.append(key[1] - 1)
        weights.append(w)
    return IsingProblem.maxcut(n, rows, cols, weights, name=name)


def load_gset(path):
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ProblemError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemError(f"{path}: cannot read ({exc})") from None
    return parse_gset(text, name=path.name)


def random_maxcut(n, m, seed, weights=(1,), name=None):
    """A random MaxCut graph with m distinct edges, weights drawn from ``weights``."""
    if m > n * (n - 1) // 2:
        raise ProblemError(f"{m} edges do not fit a simple graph on {n} nodes")
    rng = np.random.default_rng(seed)
    chosen = set()
    rows, cols = [], []
    while len(chosen) < m:
        need = m - len(chosen)
        a = rng.integers(0, n, size=2 * need)
        b = rng.integers(0, n, size=2 * need)
        for i, j in zip(a.tolist(), b.tolist()):
            if i == j:
                continue
            key = (min(i, j), max(i, j))
            if key not in chosen:
                chosen.add(key)
                rows.append(key[0])
                cols.append(key[1])
                if len(chosen) == m:
                    break
    w = rng.choice(np.asarray(weights, dtype=np.int64), size=m)
    return IsingProblem.maxcut(n, rows, cols, w, name=name or f"random-n{n}-m{m}-s{seed}")
