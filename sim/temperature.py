"""The annealing (gain) range a problem needs, derived from its own couplings.

The gain is the inverse temperature in kT per unit of the objective. Two criteria fix its range
(the same ones good simulated-annealing codes use, e.g. dwave-samplers' default beta range):

- **hot**: every move, even the steepest one the problem allows, is accepted with probability
  at least 1/2: ``gain_hot = ln 2 / dU_max``, with ``dU_max`` the largest change one move can make;
- **cold**: at the end, the expected number of excitations over all N cells in one sweep is at
  most 1/100: ``N exp(-gain_cold dU_min) = 0.01``, so ``gain_cold = ln(100 N) / dU_min``, with
  ``dU_min`` the smallest non-zero change. For spins it is exact: twice the smallest non-zero
  |local field| any node can see, from the subset sums of its couplings (a degree-4 torus with
  unit weights has fields 0, 2, 4, so dU_min = 4, where the smallest coupling would say 2). For
  QP cells it is approximated by the smallest non-zero coefficient.

``dU`` is in the objective's units: a spin flip changes U by ``2 s_i f_i``; a QP level move by
``d (Q x + b)_i + Q_ii / 2``.
"""
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["GainRange", "gain_range", "largest_move", "smallest_nonzero_field"]

#: Acceptance of the steepest move at the hot end.
HOT_ACCEPTANCE = 0.5
#: Expected excitations per sweep over the whole array at the cold end.
COLD_EXCITATIONS = 0.01


@dataclass(frozen=True)
class GainRange:
    """Hot and cold gain (kT per unit of the objective) and the energy scales they come from."""
    hot: float
    cold: float
    du_max: float
    du_min: float


def largest_field(problem):
    """Per node, the largest |local field| any state gives it: sum_j |J_ij| x_j,max + |h_i|, with
    x_j,max = 1 for spins and the box's top level for QP cells (the diagonal counted too)."""
    qp = hasattr(problem, "high")
    top = problem.high.astype(float) if qp else np.ones(problem.n)
    total = np.abs(problem.biases).astype(float)
    np.add.at(total, problem.rows, np.abs(problem.couplings) * top[problem.cols])
    np.add.at(total, problem.cols, np.abs(problem.couplings) * top[problem.rows])
    if qp:
        total += np.abs(problem.diagonal) * top
    return total


def largest_move(problem):
    """The largest |dU| one move can make: 2 |f_i| for a spin flip, |(Qx + b)_i| + |Q_ii| / 2 for
    a QP level move."""
    if hasattr(problem, "high"):
        return float((largest_field(problem) + np.abs(problem.diagonal) / 2).max(initial=0))
    return 2 * float(largest_field(problem).max(initial=0))


def _smallest_nonzero(*arrays):
    values = np.concatenate([np.abs(np.asarray(a, dtype=float)).ravel() for a in arrays])
    values = values[values > 0]
    return float(values.min()) if len(values) else 0.0


def smallest_nonzero_field(problem):
    """min over nodes of the smallest non-zero |h_i + sum_j J_ij s_j| over all neighbour spins.

    Reachable sums are a bitset (a Python int, bit k = value k - offset): each coupling J moves
    every reachable value by +J or -J.
    """
    neighbours = [[] for _ in range(problem.n)]
    for i, j, w in zip(problem.rows.tolist(), problem.cols.tolist(), problem.couplings.tolist()):
        if w:
            neighbours[i].append(abs(w))
            neighbours[j].append(abs(w))
    best = None
    for i, weights in enumerate(neighbours):
        h = abs(int(problem.biases[i]))
        offset = h + sum(weights)
        reachable = 1 << (offset + h)
        for w in weights:
            reachable = (reachable << w) | (reachable >> w)
        reachable &= ~(1 << offset)                       # drop the zero field
        above = reachable >> (offset + 1)                 # values 1, 2, ...
        below = reachable & ((1 << offset) - 1)           # values ..., -2, -1
        for candidate in ((above & -above).bit_length() if above else None,
                          offset - below.bit_length() + 1 if below else None):
            if candidate is not None and (best is None or candidate < best):
                best = candidate
    return best or 0


def gain_range(problem):
    """The hot and cold gain for ``problem`` (an IsingProblem or a QpProblem)."""
    du_max = largest_move(problem)
    if hasattr(problem, "high"):
        du_min = _smallest_nonzero(problem.couplings, problem.biases, np.asarray(problem.diagonal) / 2)
    else:
        du_min = 2 * smallest_nonzero_field(problem)
    if du_max == 0:    # nothing to optimise: any gain is as good as another
        return GainRange(1.0, 1.0, 0.0, 0.0)
    hot = math.log(1 / HOT_ACCEPTANCE) / du_max
    cold = math.log(problem.n / COLD_EXCITATIONS) / du_min
    return GainRange(hot, max(cold, hot), du_max, du_min)
