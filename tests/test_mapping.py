"""The mapping: valid parallel groups, complete edge lists, clear errors when a problem does not fit."""
from dataclasses import replace

import numpy as np
import pytest

from lim.hdl.params import ArrayGeometry, Region
from lim.sim.mapping import MappingError, _mapped, map_problem
from lim.sim.problem import random_maxcut, random_qp, toroidal_lattice


@pytest.mark.parametrize("lanes", [1, 3, 8])
def test_groups_never_couple_their_own_spins(lanes):
    p = random_maxcut(120, 900, seed=lanes, weights=(-2, 1))
    prog = map_problem(p, ArrayGeometry(lanes=lanes, groups=512, edge_depth=8192))
    group_of = prog.slot_of_node // lanes
    assert not np.any(group_of[p.rows] == group_of[p.cols])
    # groups are contiguous per colour and the colour ranges tile the groups
    assert prog.colour_groups[0][0] == 0 and prog.colour_groups[-1][1] == prog.n_groups


@pytest.mark.parametrize("name, colours", [("G1", 15), ("G22", 8), ("G43", 8)])
def test_the_gset_graphs_take_as_few_colours_as_dsatur_finds(name, colours):
    """Each colour costs a compiled sweep a pipeline drain; largest-degree-first greedy took 17,
    10 and 10 colours here. The colouring stays proper (no coupled pair in one group)."""
    from lim.sim.gset import load_named
    p = load_named(name)
    prog = map_problem(p, ArrayGeometry(lanes=8, groups=512, edge_depth=8192))
    assert len(prog.colour_groups) == colours
    group_of = prog.slot_of_node // 8
    assert not np.any(group_of[p.rows] == group_of[p.cols])


@pytest.mark.parametrize("banks", [1, 4])
def test_every_coupling_is_an_update_entry_of_both_ends(banks):
    """Walking the memory images as the RTL does: the rows of a cell (LINKS) hold, lane by lane
    and bank by bank, its neighbours' groups and couplings (EDGES), each neighbour once, in the
    lane it lives in and the bank of its group."""
    p = random_maxcut(40, 200, seed=2, weights=(-3, 5))
    g = ArrayGeometry(lanes=4, groups=64, edge_depth=2048, field_banks=banks)
    prog = map_problem(p, g)
    seen = {}
    for node, slot in enumerate(prog.slot_of_node.tolist()):
        grp, lane = divmod(slot, g.lanes)
        base, rows = int(prog.base[grp, lane]), int(prog.rows[grp, lane])
        for r in range(base, base + rows):
            for column in range(g.columns):
                w = int(prog.entry_weight[r, column])
                if w:
                    t, bank = divmod(column, banks)
                    assert int(prog.entry_group[r, column]) % banks == bank
                    key = (node, int(prog.entry_group[r, column]) * g.lanes + t)
                    assert key not in seen
                    seen[key] = w
        assert prog.reads[grp, lane] == sum(1 for (i, _) in seen if i == node)
    expected = {}
    for i, j, J in zip(p.rows.tolist(), p.cols.tolist(), p.couplings.tolist()):
        expected[(i, int(prog.slot_of_node[j]))] = J
        expected[(j, int(prog.slot_of_node[i]))] = J
    assert seen == expected
    # a cell's rows are as few as its busiest bank needs, and the rows of all cells do not overlap
    busiest = {}
    for (i, target) in seen:
        column = (target % g.lanes, target // g.lanes % banks)
        busiest[(i, column)] = busiest.get((i, column), 0) + 1
    for node, slot in enumerate(prog.slot_of_node.tolist()):
        need = max((c for (i, _), c in busiest.items() if i == node), default=0)
        assert prog.rows.reshape(-1)[slot] == need
    assert prog.update_rows == prog.rows.sum()
    starts = prog.base.reshape(-1)[prog.rows.reshape(-1) > 0]
    assert len(set(starts.tolist())) == len(starts)


@pytest.mark.parametrize("banks", [1, 4])
def test_each_bank_ends_each_sources_walk_at_its_last_entry(banks):
    """Walking each bank's column from a cell's first row as a FieldBank does (up to the entry
    marked last) reads exactly the cell's couplings into that bank, and takes max(1, entries)
    cycles (entries in a sweep, which skips a source with none): what Program.stream_costs says,
    and what the golden model's cycle count charges; the OWN word the host writes for that bank
    has the source's bit set exactly when it has entries there. A colour's last group is marked
    in its cells' words."""
    p = random_maxcut(40, 200, seed=2, weights=(-3, 5))
    g = ArrayGeometry(lanes=4, groups=64, edge_depth=2048, field_banks=banks)
    prog = map_problem(p, g)
    source, target, _ = prog.couplings()
    costs, skipping = prog.stream_costs(), prog.stream_costs(skipping=True)
    writes = dict(prog.bus_writes(np.zeros(p.n, dtype=np.uint8)))
    for slot in range(prog.n_groups * g.lanes):
        base, rows = int(prog.base.reshape(-1)[slot]), int(prog.rows.reshape(-1)[slot])
        for column in range(g.columns):
            if rows == 0:   # never a source
                assert costs[slot, column] == 0
                continue
            walked, r = [], base
            while True:
                assert r < base + rows, "a walk ran past its cell's rows"
                if prog.entry_weight[r, column]:
                    walked.append(int(prog.entry_group[r, column]))
                if prog.entry_last[r, column]:
                    break
                r += 1
            mine = target[(source == slot) & (target % g.lanes == column // banks)
                          & (target // g.lanes % banks == column % banks)] // g.lanes
            assert sorted(walked) == sorted(mine.tolist())
            assert costs[slot, column] == r - base + 1 == max(1, len(mine))
            # in a sweep a bank skips a source with no entry of its own, as the host tells it
            assert skipping[slot, column] == len(mine)
            grp, lane, bank = slot // g.lanes, slot % g.lanes, column % banks
            own = writes[g.address(Region.OWN, grp * banks + bank, column // banks)]
            assert bool(own >> lane & 1) == (len(mine) > 0)
    assert prog.entry_last.sum() == (prog.rows > 0).sum() * g.columns
    ends = [g1 - 1 for _, g1 in prog.colour_groups]
    for grp in range(prog.n_groups):
        word = writes[g.address(Region.CELLS, grp, 0)]
        assert bool(word >> (g.bias_bits + 1) & 1) == (grp in ends)


def test_padding_slots_are_invalid_and_spins_round_trip():
    p = random_maxcut(10, 12, seed=3)
    prog = map_problem(p, ArrayGeometry(lanes=4, groups=16, edge_depth=128))
    assert prog.valid.sum() == 10
    bits = np.random.default_rng(0).integers(0, 2, 10)
    assert np.array_equal(prog.rows_to_spins(prog.spins_to_rows(bits)), bits)


@pytest.mark.parametrize("geometry, problem, message", [
    (ArrayGeometry(lanes=2, groups=4, edge_depth=512), random_maxcut(20, 10, seed=1), "needs .* groups"),
    (ArrayGeometry(lanes=2, groups=64, edge_depth=16), random_maxcut(20, 100, seed=1), "update rows"),
    (ArrayGeometry(weight_bits=4), random_maxcut(5, 4, seed=1, weights=(9,)), "outside the array's 4-bit range"),
])
def test_problems_that_do_not_fit_are_refused(geometry, problem, message):
    with pytest.raises(MappingError, match=message):
        map_problem(problem, geometry)


@pytest.mark.parametrize("kwargs, error", [
    ({"lanes": 0}, ValueError), ({"lanes": 2.0}, TypeError), ({"counter_bits": 80}, ValueError),
])
def test_geometry_validates_its_parameters(kwargs, error):
    with pytest.raises(error):
        ArrayGeometry(**kwargs)


def test_banks_spread_each_cells_neighbours():
    """With field banks a cell owns as many rows as it has neighbours in its busiest bank of a
    lane: the mapping balances the banks too (each lane's positions in the colour are its
    banks'), which the lanes' balance and the banks that positions give alone fall short of (G1 at
    8 lanes: 4,593 rows with 2 banks, 3,317 with 4, against 4,092 and 2,722 balanced for the
    fewest rows)."""
    from lim.sim.gset import load_named
    p = load_named("G1")
    one = map_problem(p, ArrayGeometry(lanes=8, groups=128, edge_depth=8192)).update_rows
    for banks, share in ((2, 0.65), (4, 0.45)):
        prog = _mapped(p, ArrayGeometry(lanes=8, groups=128, edge_depth=8192, field_banks=banks), spread_work=False)
        assert prog.n_groups == 107   # the colours keep their fewest groups
        assert prog.update_rows < share * one, (banks, prog.update_rows, one)


def test_each_colours_entries_spread_over_the_banks_where_the_rows_fit():
    """A colour's hops cost the banks its busiest column's entries, so the mapping spreads each
    colour's entries over the columns as well as each cell's neighbours (G1 on the ULX3S geometry:
    1,296 entries in the colours' busiest columns against 1,430, for 2,952 rows against 2,722; its
    default run takes 656 cycles a sweep against 691, benchmarks/compiled.py). A problem whose
    spread layout does not fit the rows is mapped with the fewest, and so is one whose columns
    the fewest rows already balance (a lattice: every column of a colour holds as many)."""
    from lim.sim.gset import load_named
    p = load_named("G1")
    g = ArrayGeometry(lanes=8, groups=256, edge_depth=4096, field_banks=4)
    spread, fewest = map_problem(p, g), _mapped(p, g, spread_work=False)
    assert spread.busiest_columns() < 0.93 * fewest.busiest_columns()
    assert fewest.update_rows < spread.update_rows < 1.1 * fewest.update_rows
    tight = map_problem(p, replace(g, edge_depth=fewest.update_rows))
    assert tight.update_rows == fewest.update_rows and tight.busiest_columns() == fewest.busiest_columns()
    with pytest.raises(MappingError) as refused:
        map_problem(p, replace(g, edge_depth=fewest.update_rows - 1))
    assert refused.value.resource == "edge_depth"
    lattice = toroidal_lattice(16, seed=1)
    balanced = _mapped(lattice, g, spread_work=False)
    assert balanced.busiest_columns() * g.columns == 4 * lattice.n   # every column: a colour's 4 n / 2 / 32 entries each
    assert (map_problem(lattice, g).slot_of_node == balanced.slot_of_node).all()
    assert (_mapped(lattice, g, spread_work=True).slot_of_node != balanced.slot_of_node).any()   # a choice was made


def test_the_spread_gives_way_to_the_rows_before_the_fewest_rows_layout_is_taken():
    """G1 at 8 banks a lane on the ULX3S's update rows (2,048 a lane): its full spread needs more
    rows than that, the spread weighed against twice the rows fits, and it is the one mapped (its
    default run: 428 cycles a sweep against the fewest rows' 448)."""
    from lim.sim.gset import load_named
    p = load_named("G1")
    g = ArrayGeometry(lanes=8, groups=256, edge_depth=2048, field_banks=8)
    fewest = _mapped(p, g, spread_work=False)
    with pytest.raises(MappingError):
        _mapped(p, g, spread_work=True)
    mapped = map_problem(p, g)
    assert mapped.busiest_columns() < 0.95 * fewest.busiest_columns()
    assert fewest.update_rows < mapped.update_rows <= g.edge_depth
    assert (mapped.slot_of_node == _mapped(p, g, spread_work=True, rows_weight=2).slot_of_node).all()


def test_lanes_spread_each_cells_neighbours():
    """A cell owns as many rows as it has neighbours in its busiest lane; the mapping's
    lane choice keeps that sum below what lanes dealt in degree order give (the earlier layout)."""
    p = random_maxcut(400, 4800, seed=5)
    g = ArrayGeometry(lanes=16, groups=256, edge_depth=8192)
    prog = map_problem(p, g)
    # the earlier layout: each colour's nodes, largest degree first, dealt to lanes 0, 1, ... in turn
    colour_of = {}
    for c, (g0, g1) in enumerate(prog.colour_groups):
        for slot in range(g0 * g.lanes, g1 * g.lanes):
            colour_of[slot] = c
    node_colour = np.array([colour_of[s] for s in prog.slot_of_node.tolist()])
    degree = np.bincount(np.concatenate([p.rows, p.cols]), minlength=p.n)
    dealt = np.empty(p.n, dtype=np.int64)
    for c in range(len(prog.colour_groups)):
        members = np.flatnonzero(node_colour == c)
        members = members[np.argsort(-degree[members], kind="stable")]
        dealt[members] = np.arange(len(members)) % g.lanes

    def rows(lane_of):
        count = np.zeros((p.n, g.lanes), dtype=np.int64)
        np.add.at(count, (p.rows, lane_of[p.cols]), 1)
        np.add.at(count, (p.cols, lane_of[p.rows]), 1)
        return count.max(axis=1).sum()

    mapped = prog.slot_of_node % g.lanes
    assert prog.rows.sum() == rows(mapped)
    assert rows(mapped) < 0.85 * rows(dealt)


@pytest.mark.parametrize("qp", [False, True])
def test_a_program_loads_in_one_burst_per_region_and_lane(qp):
    """The host sends each run of consecutive bus addresses as one WRITE frame, so a program
    interleaving its regions per cell took three frames per cell (2,917 frames for G1)."""
    geometry = ArrayGeometry(lanes=4, groups=64, edge_depth=1024, weight_bits=16 if qp else 8,
                             cell_bits=3 if qp else 0)
    problem = random_qp(40, 3, seed=3, density=0.3) if qp else random_maxcut(40, 200, seed=3)
    program = map_problem(problem, geometry)
    writes = program.bus_writes(np.zeros(problem.n, dtype=np.int64))
    runs = 1 + sum(1 for (a, _), (b, _) in zip(writes, writes[1:]) if b != a + 1)
    memory_regions = 5 + qp   # CELLS, LINKS, DEGREES, EDGES, OWN (+ BOXES)
    state_runs = geometry.lanes if qp else 1
    assert runs <= 3 + state_runs + memory_regions * geometry.lanes
    assert sorted(a for a, _ in writes) == sorted(set(a for a, _ in writes))   # each address once
