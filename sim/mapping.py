"""Maps an Ising or QP problem onto an array geometry: the memory images the RTL is loaded with.

Parallel updates are valid because every group holds spins of one colour of the coupling graph
(a greedy largest-degree-first colouring): no two spins updated together are coupled. Within a
colour, spins are sorted by degree so a group's lanes have similar edge counts; every lane's list
is padded to the group's longest (weight-0 entries, which are neither read nor counted).
A QP cell's list ends with its own entry (weight Q_ii) when Q_ii is not zero: the gradient
Q x + b includes it, and the lane takes Q_ii from it for the hop argument.
"""
from dataclasses import dataclass

import numpy as np

from ..hdl.params import ArrayGeometry, Region, Reg
from .problem import IsingProblem, ProblemError, QpProblem

__all__ = ["MappingError", "Program", "map_problem"]


class MappingError(ProblemError):
    """The problem does not fit the array or its number formats.

    ``resource`` names what is short: "groups", "edge_depth", "weight_bits" or "cell_bits".
    """

    def __init__(self, message, resource):
        super().__init__(message)
        self.resource = resource


@dataclass
class Program:
    geometry: ArrayGeometry
    problem: IsingProblem
    lengths: np.ndarray        # (G,) edge entries per lane in group g
    valid: np.ndarray          # (G, P) bool: slot holds a real spin
    bias: np.ndarray           # (G, P)
    edge_row: np.ndarray       # (E, P) neighbour position (row = group, col = lane)
    edge_col: np.ndarray
    edge_weight: np.ndarray    # (E, P), 0 for padding
    slot_of_node: np.ndarray   # (n,) g * P + lane
    colour_groups: list        # [(g0, g1)] group ranges, one per colour
    diagonal: np.ndarray = None   # (G, P) Q_ii of QP cells
    low: np.ndarray = None        # (G, P) box of QP cells
    high: np.ndarray = None

    @property
    def n_groups(self):
        return len(self.lengths)

    def spins_to_rows(self, spins_bits):
        """Node values (spin bits, or QP levels) to state RAM rows (G, P); padding slots hold 0."""
        flat = np.zeros(self.n_groups * self.geometry.lanes, dtype=np.uint8)
        flat[self.slot_of_node] = np.asarray(spins_bits, dtype=np.uint8)
        return flat.reshape(self.n_groups, self.geometry.lanes)

    def rows_to_spins(self, rows):
        return np.asarray(rows, dtype=np.uint8).reshape(-1)[self.slot_of_node]

    def values(self, spins_bits):
        """Node values from what the state RAM holds: spins in {-1, +1}, or QP levels."""
        v = np.asarray(spins_bits, dtype=np.int64)
        return v if self.geometry.qp else 2 * v - 1

    def objective_register(self, spins_bits):
        """What the host writes into OBJECTIVE with this state: the objective in gain units."""
        return self.problem.objective_gain_units(self.values(spins_bits))

    def bus_writes(self, spins_bits):
        """(address, data) pairs that load this program and an initial state over the bus."""
        g = self.geometry
        P = g.lanes
        objective = self.objective_register(spins_bits)
        writes = [(g.address(Region.REGS, Reg.N_GROUPS), self.n_groups),
                  (g.address(Region.REGS, Reg.OBJECTIVE), objective & 0xFFFFFFFF),
                  (g.address(Region.REGS, Reg.OBJECTIVE_HIGH), (objective >> 32) & 0xFFFFFFFF)]
        for grp, length in enumerate(self.lengths.tolist()):
            writes.append((g.address(Region.GROUPS, grp), length))
        rows = self.spins_to_rows(spins_bits)
        if g.qp:   # one level per bus word, addressed by lane
            writes += [(g.address(Region.STATE, grp, lane), int(rows[grp, lane]))
                       for grp in range(self.n_groups) for lane in range(P)]
        else:      # a row's spins in one word, bit l = lane l
            weights = 1 << np.arange(P, dtype=np.int64)
            for grp, row in enumerate((rows.astype(np.int64) * weights).sum(axis=1).tolist()):
                writes.append((g.address(Region.STATE, grp), row))
        for lane in range(P):
            for grp in range(self.n_groups):
                box = (int(self.low[grp, lane]), int(self.high[grp, lane])) if g.qp else ()
                writes.append((g.address(Region.CELLS, grp, lane),
                               g.cell_word(self.valid[grp, lane], int(self.bias[grp, lane]), *box)))
            for e in range(len(self.edge_weight)):
                writes.append((g.address(Region.EDGES, e, lane),
                               g.edge_word(int(self.edge_row[e, lane]), int(self.edge_col[e, lane]),
                                           int(self.edge_weight[e, lane]))))
        return writes


def _greedy_colouring(n, rows, cols):
    """Welsh-Powell: colour nodes in order of decreasing degree with the smallest free colour."""
    neighbours = [[] for _ in range(n)]
    for i, j in zip(rows.tolist(), cols.tolist()):
        neighbours[i].append(j)
        neighbours[j].append(i)
    degree = np.array([len(a) for a in neighbours])
    order = np.argsort(-degree, kind="stable")
    colour = np.full(n, -1, dtype=np.int64)
    for v in order.tolist():
        used = {colour[u] for u in neighbours[v]}
        c = 0
        while c in used:
            c += 1
        colour[v] = c
    return colour, degree


def map_problem(problem, geometry):
    """Colour, group and pad ``problem`` for ``geometry``; raise MappingError when it does not fit."""
    g = geometry
    P = g.lanes
    qp = isinstance(problem, QpProblem)
    if qp != g.qp:
        raise MappingError(f"{problem.name}: a {'QP' if qp else 'Ising'} problem needs an array of "
                           f"{'QP cells' if qp else 'spins'}", "cell_bits")
    if qp and problem.bits != g.cell_bits:
        raise MappingError(f"{problem.name}: {problem.bits}-bit variables on {g.cell_bits}-bit cells", "cell_bits")
    nonzero = problem.couplings != 0
    rows, cols, J = problem.rows[nonzero], problem.cols[nonzero], problem.couplings[nonzero]
    checked = [("coupling", J), ("bias", problem.biases)] + ([("diagonal", problem.diagonal)] if qp else [])
    for what, values in checked:
        if len(values) and (values.min() < g.weight_min or values.max() > g.weight_max):
            bad = values[(values < g.weight_min) | (values > g.weight_max)][0]
            raise MappingError(f"{problem.name}: {what} {bad} is outside the array's {g.weight_bits}-bit "
                               f"range {g.weight_min} .. {g.weight_max}", "weight_bits")
    colour, degree = _greedy_colouring(problem.n, rows, cols)
    own = (problem.diagonal != 0).astype(np.int64) if qp else np.zeros(problem.n, dtype=np.int64)

    groups = []       # list of node lists (length P, -1 = padding)
    colour_groups = []
    for c in range(colour.max() + 1 if problem.n else 0):
        members = np.flatnonzero(colour == c)
        members = members[np.argsort(-degree[members], kind="stable")]
        g0 = len(groups)
        for k in range(0, len(members), P):
            chunk = members[k:k + P].tolist()
            groups.append(chunk + [-1] * (P - len(chunk)))
        colour_groups.append((g0, len(groups)))
    G = len(groups)
    if G > g.groups:
        raise MappingError(f"{problem.name}: needs {G} groups of {P} lanes ({problem.n} spins in "
                           f"{len(colour_groups)} colours); the array has {g.groups}", "groups")
    slots = np.array(groups, dtype=np.int64).reshape(G, P)
    slot_of_node = np.empty(problem.n, dtype=np.int64)
    where = np.flatnonzero(slots.reshape(-1) >= 0)
    slot_of_node[slots.reshape(-1)[where]] = where

    # adjacency in CSR form, in node order
    both_src = np.concatenate([rows, cols])
    both_dst = np.concatenate([cols, rows])
    both_w = np.concatenate([J, J])
    order = np.lexsort((both_dst, both_src))
    both_src, both_dst, both_w = both_src[order], both_dst[order], both_w[order]
    start = np.searchsorted(both_src, np.arange(problem.n + 1))

    lengths = np.array([max((degree[v] + own[v] for v in grp if v >= 0), default=0) for grp in groups],
                       dtype=np.int64)
    E = int(lengths.sum())
    if E > g.edge_depth:
        raise MappingError(f"{problem.name}: needs {E} edge entries per lane; the array has {g.edge_depth}",
                           "edge_depth")
    edge_row = np.zeros((E, P), dtype=np.int64)
    edge_col = np.zeros((E, P), dtype=np.int64)
    edge_weight = np.zeros((E, P), dtype=np.int64)
    valid = slots >= 0
    bias = np.zeros((G, P), dtype=np.int64)
    diagonal, low, high = (np.zeros((G, P), dtype=np.int64) for _ in range(3))
    base = 0
    for grp in range(G):
        for lane in range(P):
            v = slots[grp, lane]
            if v < 0:
                continue
            bias[grp, lane] = problem.biases[v]
            nb = both_dst[start[v]:start[v + 1]]
            pos = slot_of_node[nb]
            k = len(nb)
            edge_row[base:base + k, lane] = pos // P
            edge_col[base:base + k, lane] = pos % P
            edge_weight[base:base + k, lane] = both_w[start[v]:start[v + 1]]
            if qp:
                diagonal[grp, lane] = problem.diagonal[v]
                low[grp, lane], high[grp, lane] = problem.low[v], problem.high[v]
                if own[v]:
                    edge_row[base + k, lane], edge_col[base + k, lane] = grp, lane
                    edge_weight[base + k, lane] = problem.diagonal[v]
        base += lengths[grp]
    extra = {"diagonal": diagonal, "low": low, "high": high} if qp else {}
    return Program(g, problem, lengths, valid, bias, edge_row, edge_col, edge_weight,
                   slot_of_node, colour_groups, **extra)
