"""Maps an Ising or QP problem onto an array geometry: the memory images the RTL is loaded with.

Parallel updates are valid because every group holds spins of one colour of the coupling graph
(a DSatur colouring): no two spins updated together are coupled. Within a
colour, spins are sorted by degree.

The array keeps every cell's local field and changes it when a neighbour hops. A cell's couplings
are therefore stored where they are used: as *update rows*. Row r of cell i holds, in each lane t's
EDGES memory and for each of its field banks b, the r-th neighbour of i that lives in lane t with
its field in bank b, as {its group, J}, the last of them marked (an empty first entry where it
has none there): each bank walks its own run of a hopping cell's entries (hdl/lane.py, FieldBank).
Cell i owns ``rows_i`` = the most neighbours it has in any one lane's bank, at ``base_i``
(rows of all cells are laid out in slot order). A QP cell's own entry
(weight Q_ii) is one of its rows' entries when Q_ii is not zero: its gradient includes it.
"""
from dataclasses import dataclass

import numpy as np

from ..hdl.params import COMPILED_READ_DISTANCE, ArrayGeometry, Region, Reg
from .problem import IsingProblem, ProblemError, QpProblem

__all__ = ["MappingError", "Program", "map_problem"]

SPREAD_ROWS_WEIGHTS = (1, 2, 4)   # the rows' weight against the colours' spread, tried in turn (map_problem)


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
    valid: np.ndarray          # (G, P) bool: slot holds a real spin
    bias: np.ndarray           # (G, P)
    base: np.ndarray           # (G, P) first update row of the cell
    rows: np.ndarray           # (G, P) update rows of the cell (0 for padding)
    reads: np.ndarray          # (G, P) neighbour reads per attempt: degree (+1 for a QP cell's own entry)
    entry_group: np.ndarray    # (D, P * B) update row r, column t * B + b (lane t, field bank b): the target cell's group
    entry_weight: np.ndarray   # (D, P * B) and the coupling; 0 where the row has no entry there
    entry_last: np.ndarray     # (D, P * B) bool: the row is its source's last for that column (one per source and column)
    slot_of_node: np.ndarray   # (n,) g * P + lane
    colour_groups: list        # [(g0, g1)] group ranges, one per colour
    diagonal: np.ndarray = None   # (G, P) Q_ii of QP cells
    low: np.ndarray = None        # (G, P) box of QP cells
    high: np.ndarray = None

    @property
    def n_groups(self):
        return len(self.valid)

    @property
    def update_rows(self):
        """Update rows per lane: what the program fills of each lane's EDGES memory."""
        return len(self.entry_weight)

    def digest(self):
        """A 32-bit fingerprint of what a compiled array builds in (geometry, cells, couplings,
        colours): a board holding a compiled problem reports it, and the host checks a job against it."""
        import zlib
        crc = zlib.crc32(repr(self.geometry).encode())
        for part in (self.valid, self.bias, self.reads, *self.couplings(), np.array(self.colour_groups)):
            crc = zlib.crc32(np.ascontiguousarray(part, dtype=np.int64).tobytes(), crc)
        return crc

    def compiled_issue(self):
        """The cycle, from a sweep's first, in which a compiled array issues each group (G,): the
        next cycle, or COMPILED_READ_DISTANCE after the last group holding one of its neighbours,
        whichever is later (hdl/compiled.py). Within a colour the groups follow back to back."""
        P = self.geometry.lanes
        source, target, _ = self.couplings()
        issue = np.zeros(self.n_groups, dtype=np.int64)
        needs = np.full(self.n_groups, -1, dtype=np.int64)   # the latest earlier group a group reads
        earlier = source // P < target // P
        np.maximum.at(needs, target[earlier] // P, source[earlier] // P)
        for grp in range(1, self.n_groups):
            issue[grp] = max(issue[grp - 1] + 1, issue[needs[grp]] + COMPILED_READ_DISTANCE if needs[grp] >= 0 else 0)
        return issue

    def _row_owners(self):
        """(D,): the slot whose update rows each row is (rows are laid out in slot order)."""
        return np.repeat(np.arange(self.n_groups * self.geometry.lanes), self.rows.reshape(-1))

    def colour_ends(self):
        """(G,) bool: the group is its colour's last (the CELLS words carry it)."""
        ends = np.zeros(self.n_groups, dtype=bool)
        ends[[g1 - 1 for g0, g1 in self.colour_groups if g1 > g0]] = True
        return ends

    def stream_costs(self, skipping=False):
        """(G * P, P * B): the cycles each column (a lane's field bank) spends on each source's
        entries when it hops: one per entry up to its last, at least the one that says so; 0 for a
        cell without update rows, which is never a source (hdl/lane.py, FieldBank). ``skipping``:
        in a sweep, where a bank skips a source with no entry of its own (its single entry empty),
        which then costs it nothing."""
        source = self._row_owners()
        r, c = np.nonzero(self.entry_last)
        costs = np.zeros((self.n_groups * self.geometry.lanes, self.geometry.columns), dtype=np.int64)
        costs[source[r], c] = r - self.base.reshape(-1)[source[r]] + 1
        if skipping:
            first = self.base.reshape(-1)[source[r]]
            empty = (r == first) & (self.entry_weight[r, c] == 0)
            costs[source[r[empty]], c[empty]] = 0
        return costs

    def busiest_columns(self):
        """Each colour's entries in its busiest column (a lane's bank), summed over the colours:
        what the banks walk in a sweep in which every cell hops, since a colour's banks settle
        together."""
        P = self.geometry.lanes
        costs = self.stream_costs(skipping=True)
        return sum(int(costs[g0 * P:g1 * P].sum(axis=0).max()) for g0, g1 in self.colour_groups if g1 > g0)

    def own_words(self):
        """(P, G * B) words of Region.OWN: for lane t's bank b, at index g * B + b, bit l says that
        source (g, l) has entries in that bank (its run there is not the single empty entry), so
        that a sweep marks it pending there when it hops (hdl/lane.py, FieldBank)."""
        G, P, B = self.n_groups, self.geometry.lanes, self.geometry.field_banks
        own = (self.stream_costs(skipping=True) > 0).reshape(G, P, P, B)   # group, source lane, lane, bank
        return (own.astype(np.int64) << np.arange(P)[None, :, None, None]).sum(axis=1).transpose(1, 0, 2).reshape(P, -1)

    def couplings(self):
        """The stored couplings as (source slot, target slot, weight) arrays, one per non-zero entry:
        what a hop of the source adds to the target's field (times the source's change)."""
        P = self.geometry.lanes
        source = self._row_owners()
        r, c = np.nonzero(self.entry_weight)
        return source[r], self.entry_group[r, c] * P + c // self.geometry.field_banks, self.entry_weight[r, c]

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
        rows = self.spins_to_rows(spins_bits)
        if g.qp:   # one level per bus word, addressed by lane
            writes += [(g.address(Region.STATE, grp, lane), int(rows[grp, lane]))
                       for lane in range(P) for grp in range(self.n_groups)]
        else:      # a row's spins in one word, bit l = lane l
            weights = 1 << np.arange(P, dtype=np.int64)
            for grp, row in enumerate((rows.astype(np.int64) * weights).sum(axis=1).tolist()):
                writes.append((g.address(Region.STATE, grp), row))
        # region by region and lane by lane: each run of consecutive addresses is one WRITE frame
        ends = self.colour_ends()
        words = {
            Region.CELLS: lambda grp, lane: g.cell_word(self.valid[grp, lane], int(self.bias[grp, lane]), ends[grp]),
            Region.LINKS: lambda grp, lane: g.links_word(int(self.base[grp, lane]), int(self.rows[grp, lane])),
            Region.DEGREES: lambda grp, lane: g.degrees_word(
                int(self.reads[grp, lane]), int(self.diagonal[grp, lane]) if g.qp else 0),
        }
        if g.qp:
            words[Region.BOXES] = lambda grp, lane: g.box_word(int(self.low[grp, lane]), int(self.high[grp, lane]))
        for region, word in words.items():
            writes += [(g.address(region, grp, lane), word(grp, lane))
                       for lane in range(P) for grp in range(self.n_groups)]
        # the update rows, lane by lane, as arrays: a row's entries for a lane's banks in
        # edge_words words of edge_word_entries each (37,000 words for G1 at 8 lanes and 2 banks)
        first = g.address(Region.EDGES, 0)
        lane_step = g.address(Region.EDGES, 0, 1) - first if P > 1 else 0
        addresses = first + lane_step * np.arange(P)[:, None] + np.arange(self.update_rows * g.edge_words)[None, :]
        by_lane = (self.update_rows, P, g.edge_words, g.edge_word_entries)
        packed = g.edge_word(self.entry_group.reshape(by_lane), self.entry_last.reshape(by_lane).astype(np.int64),
                             self.entry_weight.reshape(by_lane))
        shifts = g.edge_entry_bits * np.arange(g.edge_word_entries, dtype=np.int64)
        entries = (packed << shifts).sum(axis=-1).transpose(1, 0, 2).reshape(P, -1)
        writes += zip(addresses.ravel().tolist(), entries.ravel().tolist())
        if g.skips_sources:
            for lane, words in enumerate(self.own_words().tolist()):
                first = g.address(Region.OWN, 0, lane)
                writes += zip(range(first, first + len(words)), words)
        return writes


def _neighbours(n, rows, cols):
    """Each node's neighbours, as sets (the colouring's and the issue order's adjacency)."""
    neighbours = [set() for _ in range(n)]
    for i, j in zip(rows.tolist(), cols.tolist()):
        neighbours[i].add(j)
        neighbours[j].add(i)
    return neighbours


def _colouring(neighbours):
    """DSatur (Brelaz): colour next the node whose neighbours already hold the most distinct
    colours (ties: larger degree, then lower index), with the smallest colour free. Fewer colours
    than largest-degree-first greedy on the Gset graphs (G1: 15, not 17; G22 and G43: 8, not 10),
    and each colour costs a sweep a pipeline drain (hdl/compiled.py) and a group's padding."""
    import heapq
    n = len(neighbours)
    degree = np.array([len(a) for a in neighbours], dtype=np.int64)
    colour = np.full(n, -1, dtype=np.int64)
    seen = [set() for _ in range(n)]      # the colours among each node's coloured neighbours
    heap = [(0, -int(degree[v]), v) for v in range(n)]
    heapq.heapify(heap)
    while heap:
        saturation, _, v = heapq.heappop(heap)
        if colour[v] >= 0 or -saturation != len(seen[v]):
            continue   # coloured already, or an entry from before its saturation grew
        c = 0
        while c in seen[v]:
            c += 1
        colour[v] = c
        for u in neighbours[v]:
            if colour[u] < 0 and c not in seen[u]:
                seen[u].add(c)
                heapq.heappush(heap, (-len(seen[u]), -int(degree[u]), u))
    return colour, degree


def _balanced_columns(n, rows, cols, colour, degree, P, B, spread_work=False, rows_weight=1):
    """A column for every node: its lane and its field bank, column = lane * B + bank.

    A cell owns as many update rows as it has neighbours in its busiest column (a lane's bank),
    so the sum over cells of that maximum is what the rows' memory pays for; spreading each
    cell's neighbours also spreads a hop's work over the banks that walk it. Nodes are
    placed greedily (colour by colour, largest degree first) in the column that raises the fewest
    of their neighbours' maxima, among the columns with room left in the colour. With
    ``spread_work``, the fewest of those maxima (times ``rows_weight``) and of the colours'
    busiest columns together: a node in column c adds an entry to c for each hop of its
    neighbours, so each colour's hops cost the banks its busiest column's entries (the banks of a
    colour settle together); G1's default run then takes 5% fewer cycles a sweep, for 8% more
    rows. A lane holds
    ceil(size / P) cells of it, in the colour's groups g0, g0 + 1, .. (the colour keeps its fewest
    groups), and the bank of group g is g mod B, so bank b has room for the positions k with
    (g0 + k) mod B = b. The colour then takes exactly ceil(size / P) groups in map_problem (a lane
    holding that many cells fills every position), so g0 here is the group map_problem starts it at."""
    column_of = np.zeros(n, dtype=np.int64)
    if P * B == 1:
        return column_of
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.add.at(indptr, np.concatenate([rows, cols]) + 1, 1)
    indptr = np.cumsum(indptr)
    order = np.argsort(np.concatenate([rows, cols]), kind="stable")
    adjacent = np.concatenate([cols, rows])[order]
    count = np.zeros((n, P * B), dtype=np.int64)     # neighbours of each node placed in each column
    busiest = np.zeros(n, dtype=np.int64)
    work = np.zeros((colour.max() + 1 if n else 0, P * B), dtype=np.int64)   # entries per colour and column
    work_busiest = np.zeros(len(work), dtype=np.int64)
    columns = np.arange(P * B)
    g0 = 0
    for c in range(colour.max() + 1 if n else 0):
        members = np.flatnonzero(colour == c)
        members = members[np.argsort(-degree[members], kind="stable")]
        positions = -(-len(members) // P)
        room = np.tile(np.bincount((g0 + np.arange(positions)) % B, minlength=B), P)
        for v in members.tolist():
            nb = adjacent[indptr[v]:indptr[v + 1]]
            raised = (count[nb] == busiest[nb, None]).sum(axis=0)   # maxima raised, per column
            load = count[nb].sum(axis=0)
            first = raised   # with spread_work: and the colours' busiest columns raised (by how much)
            if spread_work:
                worked, m = np.unique(colour[nb], return_counts=True)   # the neighbours' colours
                spread = np.maximum(0, work[worked] + m[:, None] - work_busiest[worked, None]).sum(axis=0)
                first = rows_weight * raised + spread
            cost = np.where(room > 0, first * (1 << 40) + raised * (1 << 20) + load * P * B + columns,
                            np.iinfo(np.int64).max)
            column = int(np.argmin(cost))
            column_of[v] = column
            room[column] -= 1
            count[nb, column] += 1
            busiest[nb] = np.maximum(busiest[nb], count[nb, column])
            if spread_work:
                work[worked, column] += m
                work_busiest[worked] = np.maximum(work_busiest[worked], work[worked, column])
        g0 += positions
    return column_of


def _lane_columns(members, column_of, P, B, g0):
    """A colour's ``members`` (by degree) as each lane's list of cells in the colour's groups from
    g0 on: position k holds the next of the lane's cells in bank (g0 + k) mod B, or -1 (padding)."""
    positions = -(-len(members) // P)
    lanes = []
    for lane in range(P):
        banked = [[v for v in members if column_of[v] == lane * B + b] for b in range(B)]
        taken = [0] * B
        column = []
        for k in range(positions):
            b = (g0 + k) % B
            column.append(banked[b][taken[b]] if taken[b] < len(banked[b]) else -1)
            taken[b] += 1
        while column and column[-1] < 0:
            column.pop()
        lanes.append(column)
    return lanes


def _lead_with_the_unread(columns, before, neighbours):
    """``columns`` (a colour's cells per lane) reordered so that the colour's first groups read
    as few as possible of the groups ``before`` it: a compiled array issues a group
    COMPILED_READ_DISTANCE (D) cycles or more after any group it reads (Program.compiled_issue).
    Issued back to back, the colour's k-th group (k = 0, 1, ..) follows the group b places
    before the colour by k + b cycles, so a cell of it coupled to that group makes it wait
    D - k - b cycles. Position by position (k < D - 1), each lane puts there the first of its
    remaining cells (by degree) that waits least, and stops once a position waits anyway (a
    wait shifts every later group: their reads are then in reach)."""
    D = COMPILED_READ_DISTANCE
    recent = [{v for v in group if v >= 0} for group in reversed(before[-(D - 1):])]   # b = 1, 2, ..

    def wait(v, k):
        return max([D - k - b for b, group in enumerate(recent, start=1) if not neighbours[v].isdisjoint(group)],
                   default=0)

    led = [list(column) for column in columns]
    for k in range(D - 1 if recent else 0):
        waits = []
        for column in led:
            if len(column) > k:
                best = min(range(k, len(column)), key=lambda i: (wait(column[i], k), i))
                column.insert(k, column.pop(best))
                waits.append(wait(column[k], k))
        if max(waits, default=0) > 0:
            break
    return led


def map_problem(problem, geometry):
    """Colour, group and pad ``problem`` for ``geometry``; raise MappingError when it does not fit.
    Where banks walk the hops' entries, the layout with each colour's entries spread over the
    columns (_balanced_columns) if its colours' busiest columns hold fewer entries than the
    fewest-rows layout's, spread as far as the rows allow: the spread is weighed against the rows
    it costs at SPREAD_ROWS_WEIGHTS in turn, and the first layout that fits is taken (G1 at 8 banks
    a lane: 2,068 rows at weight 1, 1,985 at 2, of 2,048). Else the fewest rows (on a lattice both
    spread them evenly)."""
    coloured = _coloured(problem, geometry)
    fewest = _laid_out(problem, geometry, coloured, spread_work=False)
    if geometry.field_banks == 1:
        return fewest
    for rows_weight in SPREAD_ROWS_WEIGHTS:
        try:
            spread = _laid_out(problem, geometry, coloured, spread_work=True, rows_weight=rows_weight)
        except MappingError as error:
            if error.resource != "edge_depth":
                raise
            continue
        return spread if spread.busiest_columns() < fewest.busiest_columns() else fewest
    return fewest


def _mapped(problem, geometry, spread_work, rows_weight=1):
    """One of map_problem's layouts."""
    return _laid_out(problem, geometry, _coloured(problem, geometry), spread_work, rows_weight)


def _coloured(problem, geometry):
    """What every layout shares: the checks against the number formats, the couplings (rows,
    cols, J), each node's neighbours, its colour and its degree."""
    g = geometry
    qp = isinstance(problem, QpProblem)
    if qp != g.qp:
        raise MappingError(f"{problem.name}: a {'QP' if qp else 'Ising'} problem needs an array of "
                           f"{'QP cells' if qp else 'spins'}", "cell_bits")
    if qp and problem.bits != g.cell_bits:
        raise MappingError(f"{problem.name}: {problem.bits}-bit variables on {g.cell_bits}-bit cells", "cell_bits")
    nonzero = problem.couplings != 0
    rows, cols, J = problem.rows[nonzero], problem.cols[nonzero], problem.couplings[nonzero]
    weights = (g.weight_bits, g.weight_min, g.weight_max)
    checked = [("coupling", J, *weights), ("bias", problem.biases, g.bias_bits, g.bias_min, g.bias_max)]
    if qp:
        checked.append(("diagonal", problem.diagonal, *weights))
    for what, values, bits, lo, hi in checked:
        if len(values) and (values.min() < lo or values.max() > hi):
            bad = values[(values < lo) | (values > hi)][0]
            raise MappingError(f"{problem.name}: {what} {bad} is outside the array's {bits}-bit "
                               f"range {lo} .. {hi}", "weight_bits")
    neighbours = _neighbours(problem.n, rows, cols)
    return (rows, cols, J, neighbours, *_colouring(neighbours))


def _laid_out(problem, geometry, coloured, spread_work, rows_weight=1):
    """The program of ``problem`` placed by _balanced_columns (``spread_work``, ``rows_weight``),
    grouped and padded."""
    g = geometry
    P = g.lanes
    qp = isinstance(problem, QpProblem)
    rows, cols, J, neighbours, colour, degree = coloured
    own = (problem.diagonal != 0).astype(np.int64) if qp else np.zeros(problem.n, dtype=np.int64)

    groups = []       # list of node lists (length P, -1 = padding)
    colour_groups = []
    B = g.field_banks
    column_of = _balanced_columns(problem.n, rows, cols, colour, degree, P, B, spread_work, rows_weight)
    for c in range(colour.max() + 1 if problem.n else 0):
        members = np.flatnonzero(colour == c)
        members = members[np.argsort(-degree[members], kind="stable")].tolist()
        columns = _lane_columns(members, column_of, P, B, len(groups))
        if B == 1:   # the compiled array's lead order (it keeps no fields: one bank); banks fix the positions
            columns = _lead_with_the_unread(columns, groups, neighbours)
        g0 = len(groups)
        for k in range(max(len(col) for col in columns)):
            groups.append([col[k] if k < len(col) else -1 for col in columns])
        colour_groups.append((g0, len(groups)))
    G = len(groups)
    if G > g.groups:
        raise MappingError(f"{problem.name}: needs {G} groups of {P} lanes ({problem.n} spins in "
                           f"{len(colour_groups)} colours); the array has {g.groups}", "groups")
    slots = np.array(groups, dtype=np.int64).reshape(G, P)
    slot_of_node = np.empty(problem.n, dtype=np.int64)
    where = np.flatnonzero(slots.reshape(-1) >= 0)
    slot_of_node[slots.reshape(-1)[where]] = where

    # every coupling twice, once from each end, as (source node, target node, weight); a QP cell's
    # own entry Q_ii once
    src = np.concatenate([rows, cols])
    dst = np.concatenate([cols, rows])
    w = np.concatenate([J, J])
    if qp:
        mine = np.flatnonzero(own)
        src, dst, w = np.concatenate([src, mine]), np.concatenate([dst, mine]), np.concatenate([w, problem.diagonal[mine]])
    source_slot, target_slot = slot_of_node[src], slot_of_node[dst]
    column_of_target = (target_slot % P) * B + (target_slot // P) % B   # its lane's bank of its group
    order = np.lexsort((target_slot, column_of_target, source_slot))
    source_slot, target_slot, column_of_target, w = (source_slot[order], target_slot[order],
                                                     column_of_target[order], w[order])
    # rank of each entry among its source's entries into the same column: its row within the source's rows
    key = source_slot * g.columns + column_of_target
    first = np.searchsorted(key, key, side="left")
    rank = np.arange(len(key)) - first
    rows_of = np.zeros(G * P, dtype=np.int64)
    np.maximum.at(rows_of, source_slot, rank + 1)
    base_of = np.concatenate([[0], np.cumsum(rows_of)[:-1]])
    D = int(rows_of.sum())
    if D > g.edge_depth:
        raise MappingError(f"{problem.name}: needs {D} update rows per lane; the array has {g.edge_depth}",
                           "edge_depth")
    if len(rows_of) and rows_of.max() >= 1 << g.rows_bits:
        raise MappingError(f"{problem.name}: a cell needs {rows_of.max()} update rows; a cell holds at most "
                           f"{(1 << g.rows_bits) - 1} on this array", "edge_depth")
    reads_of = np.zeros(G * P, dtype=np.int64)
    reads_of[slot_of_node] = degree + own
    if len(reads_of) and reads_of.max() >= 1 << g.reads_bits:
        raise MappingError(f"{problem.name}: a cell with {reads_of.max()} couplings; the array counts up to "
                           f"{(1 << g.reads_bits) - 1}", "edge_depth")
    entry_group = np.zeros((D, g.columns), dtype=np.int64)
    entry_weight = np.zeros((D, g.columns), dtype=np.int64)
    row = base_of[source_slot] + rank
    entry_group[row, column_of_target] = target_slot // P
    entry_weight[row, column_of_target] = w
    # each column's last entry of each source; a source's first row for a column it has none in
    entry_last = np.zeros((D, g.columns), dtype=bool)
    count = np.zeros((G * P, g.columns), dtype=np.int64)
    np.add.at(count, (source_slot, column_of_target), 1)
    owner, column = np.nonzero(np.broadcast_to(rows_of[:, None] > 0, count.shape))   # every column of a cell with rows
    entry_last[base_of[owner] + np.maximum(count[owner, column], 1) - 1, column] = True

    valid = slots >= 0
    bias = np.zeros((G, P), dtype=np.int64)
    bias.reshape(-1)[slot_of_node] = problem.biases
    extra = {}
    if qp:
        for name, values in (("diagonal", problem.diagonal), ("low", problem.low), ("high", problem.high)):
            extra[name] = np.zeros((G, P), dtype=np.int64)
            extra[name].reshape(-1)[slot_of_node] = values
    return Program(g, problem, valid, bias, base_of.reshape(G, P), rows_of.reshape(G, P), reads_of.reshape(G, P),
                   entry_group, entry_weight, entry_last, slot_of_node, colour_groups, **extra)
