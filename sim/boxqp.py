"""Real-valued box-constrained QPs and their fixed-point images on p-bit cells.

A workload is f(w) = w'Aw/2 + c'w over low <= w <= high. At precision p, each w_i becomes a
level x_i in 0 .. 2^p - 1 with w = low + step * x, step = (high - low) / (2^p - 1), and the
objective in levels, s^2 x'Ax/2 + s (A low + c)'x + const, is scaled to the array's signed
weights and rounded: the only approximation, and it shrinks as the weights widen. The optimum
is solved in float by SciPy (L-BFGS-B with the box), so the gap of a run is in f's own units.
"""
from dataclasses import dataclass

import numpy as np

from . import temperature
from .problem import ProblemError, QpProblem, random_qp, read_text_file

__all__ = ["BoxQp", "Quantized", "known_optimum_qp", "random_box_qp", "least_squares_qp", "digits_qp", "load_qp", "WORKLOADS"]


@dataclass
class Quantized:
    problem: QpProblem
    step: np.ndarray      # w = low + step * level
    low: np.ndarray
    factor: float         # integer objective = factor * (f - f(low)) in levels
    lost: int = 0         # entries of Q and b above float round-off that round to 0 at these widths

    def to_real(self, levels):
        return self.low + self.step * np.asarray(levels, dtype=np.float64)

    def to_levels(self, w):
        levels = np.rint((np.asarray(w, dtype=np.float64) - self.low) / self.step)
        return np.clip(levels, 0, (1 << self.problem.bits) - 1).astype(np.int64)


@dataclass
class BoxQp:
    A: np.ndarray
    c: np.ndarray
    low: np.ndarray
    high: np.ndarray
    name: str
    test: tuple = None    # (X, y) held-out data of a learning workload
    classes: int = None   # a classifier: w holds one weight column per class, y the labels

    def __post_init__(self):
        self.A, self.c = np.asarray(self.A, dtype=np.float64), np.asarray(self.c, dtype=np.float64)
        n = len(self.c)
        if self.A.shape != (n, n):
            raise ProblemError(f"{self.name}: A is {self.A.shape}, c has {n} entries")
        if not np.allclose(self.A, self.A.T):
            raise ProblemError(f"{self.name}: A is not symmetric")
        self.low = np.broadcast_to(np.asarray(self.low, dtype=np.float64), (n,)).copy()
        self.high = np.broadcast_to(np.asarray(self.high, dtype=np.float64), (n,)).copy()
        if not np.all(self.low < self.high):
            raise ProblemError(f"{self.name}: every box needs low < high")

    @property
    def n(self):
        return len(self.c)

    def held_out(self, w):
        """How ``w`` does on the held-out data: accuracy (a classifier) or mean squared error."""
        if self.test is None:
            return {}
        X, y = self.test
        w = np.asarray(w, dtype=np.float64)
        if self.classes:
            scores = X @ w.reshape(self.classes, -1).T
            return {"test_accuracy": float(np.mean(np.argmax(scores, axis=1) == y))}
        return {"test_mse": float(np.mean((X @ w - y) ** 2))}

    def f(self, w):
        w = np.asarray(w, dtype=np.float64)
        return 0.5 * np.einsum("...i,ij,...j->...", w, self.A, w) + w @ self.c

    def solve(self, starts=16, seed=0):
        """The float optimum over the box: SciPy's L-BFGS-B, best of ``starts`` starts (one for
        a convex problem, where every start finds the same minimum)."""
        from scipy.optimize import minimize   # here, not at the top: every `lim` command imports this module
        convex = np.linalg.eigvalsh(self.A).min() >= -1e-12
        rng = np.random.default_rng(seed)
        best = None
        for k in range(1 if convex else starts):
            w0 = (self.low + self.high) / 2 if k == 0 else rng.uniform(self.low, self.high)
            r = minimize(self.f, w0, jac=lambda w: self.A @ w + self.c, method="L-BFGS-B",
                         bounds=list(zip(self.low, self.high)), options={"ftol": 1e-15, "gtol": 1e-12})
            if best is None or r.fun < best.fun:
                best = r
        return best.x, float(best.fun), convex

    def quantize(self, bits, weight_max, bias_max, largest_move=None):
        """The QP on ``bits``-bit levels with couplings within +-``weight_max`` and biases within
        +-``bias_max`` (an array's limits, ArrayGeometry): one factor scales both as far as the
        tighter of the two allows, and, with ``largest_move``, no
        further than keeps the largest change of U one move can make (temperature.largest_move)
        below 99% of it: the hot end of an anneal (ln 2 over that change) must stay within the
        gain register's range."""
        step = (self.high - self.low) / ((1 << bits) - 1)
        Q = self.A * np.outer(step, step)
        b = step * (self.A @ self.low + self.c)
        limits = ((Q, weight_max), (b, bias_max))
        factor = min((limit / np.abs(a).max() for a, limit in limits if np.abs(a).max() > 0), default=1.0)
        quantized = self._scaled(Q, b, bits, step, factor)
        if largest_move is not None:
            move = temperature.largest_move(quantized.problem)
            if move > 0.99 * largest_move:   # linear in the factor, up to rounding (the 1%)
                quantized = self._scaled(Q, b, bits, step, factor * 0.99 * largest_move / move)
        return quantized

    def _scaled(self, Q, b, bits, step, factor):
        Qi, bi = np.rint(Q * factor), np.rint(b * factor)
        lost = int(sum((_significant(a) & (ai == 0)).sum() for a, ai in ((Q, Qi), (b, bi))))
        problem = QpProblem.from_dense(Qi, bi, bits, name=f"{self.name}-p{bits}")
        return Quantized(problem, step, self.low, factor, lost)


def _significant(a):
    """Entries above float64 round-off of a sum over a row (n eps of the largest): smaller ones
    are zeros computed inexactly (the digits features' means, for one), not problem data."""
    return np.abs(a) > a.shape[0] * np.finfo(np.float64).eps * np.abs(a).max(initial=0)


def known_optimum_qp(n=12, seed=5):
    """A convex QP whose optimum is known in closed form: A diagonally dominant, the optimum w*
    inside the box, c = -A w*. SciPy must confirm it (tests/test_qp.py)."""
    rng = np.random.default_rng(seed)
    B = np.triu(rng.uniform(-1, 1, (n, n)) * (rng.random((n, n)) < 0.4), 1)
    A = B + B.T
    A[np.arange(n), np.arange(n)] = np.abs(A).sum(axis=1) + rng.uniform(0.5, 1.5, n)
    w_star = rng.uniform(-0.8, 0.8, n)
    qp = BoxQp(A, -A @ w_star, -1.0, 1.0, "known-optimum")
    qp.known = w_star
    return qp


def random_box_qp(n=24, definite=True, seed=3):
    """A random sparse QP on the box [-1, 1]^n: positive definite, or indefinite."""
    problem = random_qp(n, 1, seed, density=0.25, weights=(-4, 4), definite=definite)
    A = problem.dense().astype(np.float64)
    return BoxQp(A, problem.biases.astype(np.float64) * 2.0, -1.0, 1.0,
                 f"random-{'definite' if definite else 'indefinite'}")


def least_squares_qp(samples=96, features=8, noise=0.1, seed=11):
    """Training a linear model y = X w by least squares on a generated data set (2/3 train,
    1/3 test): f(w) = |X w - y|^2 / (2 m), weights boxed to [-2, 2]."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(samples, features))
    w_true = rng.uniform(-1.5, 1.5, features)
    y = X @ w_true + noise * rng.normal(size=samples)
    train = 2 * samples // 3
    Xt, yt = X[:train], y[:train]
    return BoxQp(Xt.T @ Xt / train, -(Xt.T @ yt) / train, -2.0, 2.0, "least-squares",
                 test=(X[train:], y[train:]))


def digits_qp(seed=0):
    """Least-squares training of a linear classifier on scikit-learn's bundled 8x8 digits (1797
    images, 64 pixels, 10 classes): 2/3 train, 1/3 held out. Pixels are standardised on the
    training set (the 3 that never vary are dropped) and a constant feature carries the bias;
    each class gets a weight column fitting its one-hot target, so the QP is ten independent
    blocks of f(W) = |F W - Y|^2 / (2 m). The box is the unconstrained least-squares solution's
    own range, so the float optimum is the least-squares classifier itself."""
    from scipy.linalg import block_diag
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order].astype(np.float64), y[order]
    m = 2 * len(y) // 3
    mean, std = X[:m].mean(axis=0), X[:m].std(axis=0)
    varies = std > 0

    def features(rows):
        return np.hstack([(rows[:, varies] - mean[varies]) / std[varies], np.ones((len(rows), 1))])

    F, classes = features(X[:m]), int(y.max()) + 1
    Y = np.eye(classes)[y[:m]]
    A, C = F.T @ F / m, -(F.T @ Y) / m
    bound = float(np.abs(np.linalg.lstsq(F, Y, rcond=None)[0]).max())
    return BoxQp(block_diag(*[A] * classes), C.T.reshape(-1), -bound, bound, "digits",
                 test=(features(X[m:]), y[m:]), classes=classes)


WORKLOADS = {
    "known-optimum": known_optimum_qp,
    "random-definite": lambda: random_box_qp(definite=True),
    "random-indefinite": lambda: random_box_qp(definite=False),
    "least-squares": least_squares_qp,
    "digits": digits_qp,
}


def load_qp(path):
    """A QP from JSON: ``{"A": [[...]], "c": [...], "low": ..., "high": ...}`` (real values, a box
    for each variable or one for all). Raises ProblemError naming the file and the fault."""
    import json
    from pathlib import Path
    path = Path(path)
    try:
        spec = json.loads(read_text_file(path))
    except json.JSONDecodeError as exc:
        raise ProblemError(f"{path}: not a readable JSON QP ({exc})") from None
    if not isinstance(spec, dict) or not {"A", "c"} <= set(spec):
        raise ProblemError(f"{path}: expected an object with 'A' (n x n), 'c' (n) and optional 'low', 'high'")
    try:
        A = np.array(spec["A"], dtype=np.float64)
        c = np.array(spec["c"], dtype=np.float64)
        low = np.array(spec.get("low", -1.0), dtype=np.float64)
        high = np.array(spec.get("high", 1.0), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ProblemError(f"{path}: A, c, low and high must be numbers ({exc})") from None
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ProblemError(f"{path}: A must be square, not of shape {A.shape}")
    if c.shape != (A.shape[0],):
        raise ProblemError(f"{path}: A is {A.shape[0]} x {A.shape[0]} but c has shape {c.shape}")
    for what, a in (("A", A), ("c", c), ("low", low), ("high", high)):
        if not np.all(np.isfinite(a)):
            raise ProblemError(f"{path}: {what} holds a value that is not finite")
        if a.size and np.abs(a).max() > 1e12:
            raise ProblemError(f"{path}: {what} holds values beyond 1e12, outside any fixed-point range")
    if low.shape not in ((), c.shape) or high.shape not in ((), c.shape):
        raise ProblemError(f"{path}: low and high must be one number or {len(c)} numbers")
    if not np.allclose(A, A.T, rtol=0, atol=1e-12 * max(1.0, np.abs(A).max(initial=0))):
        i, j = np.argwhere(~np.isclose(A, A.T))[0]
        raise ProblemError(f"{path}: A is not symmetric: A[{i}][{j}] = {A[i, j]:g} but A[{j}][{i}] = {A[j, i]:g}")
    try:
        return BoxQp((A + A.T) / 2, c, low, high, path.stem)
    except ProblemError as exc:
        raise ProblemError(f"{path}: {str(exc).split(': ', 1)[-1]}") from None
