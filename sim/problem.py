"""Ising problems and the Gset MaxCut text format.

An Ising problem has spins s_i in {-1, +1}, integer couplings J_ij and biases h_i, and the
objective U(s) = -sum_{i<j} J_ij s_i s_j - sum_i h_i s_i (in problem units; the gain converts to kT).
MaxCut with weights w maps to J = -w, h = 0, and cut(s) = (sum w - U(s)) / 2.
"""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["ProblemError", "IsingProblem", "QpProblem", "parse_gset", "load_gset", "random_maxcut", "read_text_file",
           "MAX_SPINS"]

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

    def objective_gain_units(self, spins_pm):
        """The objective in the units the gain multiplies (docs/architecture.md): U itself."""
        return int(self.objective(spins_pm))

    def cut_value(self, spins_pm):
        """The MaxCut value of a spin assignment (the problem must come from MaxCut)."""
        if self.maxcut_weights is None:
            raise ProblemError(f"{self.name} is not a MaxCut problem")
        s = np.asarray(spins_pm, dtype=np.int64)
        return int((self.maxcut_weights * (s[..., self.rows] != s[..., self.cols])).sum(axis=-1))


@dataclass(frozen=True)
class QpProblem:
    """Box-constrained integer quadratic program: minimise U(x) = x'Qx/2 + b'x over levels
    x_i in lo_i .. hi_i, a subset of 0 .. 2^bits - 1 (docs/architecture.md, QP cells).

    Stored like an Ising problem (off-diagonal couplings Q_ij for i < j, biases b) plus the
    diagonal Q_ii and the box, so the same colouring and mapping serve both.
    """
    n: int
    rows: np.ndarray
    cols: np.ndarray
    couplings: np.ndarray    # Q_ij, i < j
    diagonal: np.ndarray     # Q_ii
    biases: np.ndarray       # b_i
    low: np.ndarray
    high: np.ndarray
    bits: int
    name: str = "qp"
    scale: float = 1.0       # real value of one level (for reports: x_real = x * scale)

    maxcut_weights = None

    @classmethod
    def from_dense(cls, Q, b, bits, low=None, high=None, name="qp", scale=1.0):
        """From a dense symmetric integer Q (n x n) and b (n); the box defaults to all levels."""
        if not isinstance(bits, (int, np.integer)) or not 1 <= bits <= 8:
            raise ProblemError(f"{name}: precision must be 1 to 8 bits, not {bits!r}")
        Q, b = np.asarray(Q), np.asarray(b)
        if Q.ndim != 2 or Q.shape[0] != Q.shape[1]:
            raise ProblemError(f"{name}: Q must be square, not of shape {Q.shape}")
        n = Q.shape[0]
        if n < 1 or n > MAX_SPINS:
            raise ProblemError(f"{name}: {n} variables; 1 to {MAX_SPINS} are possible")
        if b.shape != (n,):
            raise ProblemError(f"{name}: b has shape {b.shape}; Q is {n} x {n}, so b needs {n} entries")
        for what, a in (("Q", Q), ("b", b)):
            if not np.all(np.isfinite(a)) or not np.array_equal(a, np.round(a)):
                raise ProblemError(f"{name}: {what} must hold integers (scale the problem to fixed point)")
            if np.abs(a).max(initial=0) >= _WEIGHT_LIMIT:
                raise ProblemError(f"{name}: {what} has values outside the 32-bit range")
        Q, b = Q.astype(np.int64), b.astype(np.int64)
        if not np.array_equal(Q, Q.T):
            i, j = np.argwhere(Q != Q.T)[0]
            raise ProblemError(f"{name}: Q is not symmetric: Q[{i},{j}] = {Q[i, j]} but Q[{j},{i}] = {Q[j, i]}")
        top = (1 << bits) - 1
        low = np.zeros(n, dtype=np.int64) if low is None else np.asarray(low, dtype=np.int64)
        high = np.full(n, top, dtype=np.int64) if high is None else np.asarray(high, dtype=np.int64)
        if low.shape != (n,) or high.shape != (n,):
            raise ProblemError(f"{name}: the box limits need {n} entries each")
        if np.any(low < 0) or np.any(high > top) or np.any(low > high):
            k = int(np.flatnonzero((low < 0) | (high > top) | (low > high))[0])
            raise ProblemError(f"{name}: box of variable {k} is {low[k]} .. {high[k]}; "
                               f"it must lie in 0 .. {top} ({bits} bits) with low <= high")
        rows, cols = np.nonzero(np.triu(Q, 1))
        return cls(n, rows, cols, Q[rows, cols], np.diag(Q).copy(), b, low, high, int(bits), name, float(scale))

    @property
    def m(self):
        return len(self.rows)

    def dense(self):
        Q = np.zeros((self.n, self.n), dtype=np.int64)
        Q[self.rows, self.cols] = self.couplings
        Q[self.cols, self.rows] = self.couplings
        Q[np.arange(self.n), np.arange(self.n)] = self.diagonal
        return Q

    def objective(self, levels):
        """U(x) = x'Qx/2 + b'x for levels x; works on a (..., n) batch (exact: halves are floats)."""
        x = np.asarray(levels, dtype=np.int64)
        pair = (x[..., self.rows] * x[..., self.cols] * self.couplings).sum(axis=-1)
        square = (x * x * self.diagonal).sum(axis=-1)
        return pair + square / 2 + (x * self.biases).sum(axis=-1)

    def objective_gain_units(self, levels):
        """The objective in the units the gain multiplies (docs/architecture.md): 4U, an integer."""
        x = np.asarray(levels, dtype=np.int64)
        pair = int((x[self.rows] * x[self.cols] * self.couplings).sum())
        return 4 * pair + 2 * int((x * x * self.diagonal).sum()) + 4 * int((x * self.biases).sum())

    def digest(self):
        h = hashlib.sha256()
        for a in (np.array([self.n, self.bits]), self.rows, self.cols, self.couplings, self.diagonal,
                  self.biases, self.low, self.high):
            h.update(np.ascontiguousarray(a, dtype="<i8").tobytes())
        return h.hexdigest()


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


def read_text_file(path):
    """The text of a user's file, or a ProblemError naming the file and why it cannot be read."""
    try:
        return Path(path).read_text()
    except FileNotFoundError:
        raise ProblemError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProblemError(f"{path}: cannot read ({exc})") from None


def load_gset(path):
    path = Path(path)
    return parse_gset(read_text_file(path), name=path.name)


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


def toroidal_lattice(side, seed, name=None):
    """A side x side toroidal grid (each spin coupled to its four neighbours) with +-1 couplings
    drawn at random: the +-J spin glass of the sparse Ising machines. Two colours when ``side``
    is even."""
    if not isinstance(side, int) or side < 3:
        raise ProblemError(f"a toroidal lattice needs a side of at least 3, not {side!r}")
    index = np.arange(side * side).reshape(side, side)
    rows = np.concatenate([index.reshape(-1), index.reshape(-1)])
    cols = np.concatenate([np.roll(index, -1, axis=1).reshape(-1), np.roll(index, -1, axis=0).reshape(-1)])
    w = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int64), size=len(rows))
    return IsingProblem.maxcut(side * side, rows, cols, w, name=name or f"torus{side}")


def random_qp(n, bits, seed, density=0.2, weights=(-3, 3), definite=False, box=None, name=None):
    """A random sparse integer QP on ``bits``-bit variables.

    Off-diagonal Q_ij are drawn from ``weights`` (inclusive range) with probability ``density``;
    b from four times that range. With ``definite``, the diagonal is set above the row sums (strictly
    diagonally dominant, so Q is positive definite); otherwise it is drawn like the rest (usually
    indefinite). ``box``: (low, high) for all variables, default the full range.
    """
    rng = np.random.default_rng(seed)
    lo, hi = weights
    upper = np.triu(rng.integers(lo, hi + 1, size=(n, n)) * (rng.random((n, n)) < density), 1)
    Q = upper + upper.T
    if definite:
        diagonal = np.abs(Q).sum(axis=1) + rng.integers(1, hi + 1, size=n)
    else:
        diagonal = rng.integers(lo, hi + 1, size=n)
    Q[np.arange(n), np.arange(n)] = diagonal
    top = (1 << bits) - 1
    b = rng.integers(4 * lo, 4 * hi + 1, size=n)
    low, high = (np.zeros(n, dtype=np.int64), np.full(n, top, dtype=np.int64)) if box is None else \
        (np.full(n, box[0]), np.full(n, box[1]))
    return QpProblem.from_dense(Q, b, bits, low, high, name=name or f"qp-n{n}-p{bits}-s{seed}")
