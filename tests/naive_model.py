"""A literal, slow reading of docs/architecture.md: group by group, lane by lane, edge by edge.

It exists to check the vectorised golden model (colour batching, PRNG jump tables) against the
contract as written, on small problems.
"""
from lim.hdl.params import (GROUP_OVERHEAD_CYCLES, TABLE_DEPTH, Counter, hop_probability_table,
                            lane_seed, xorshift32)
from lim.sim.golden import ScheduleModel

TABLE = hop_probability_table()


def run_naive(program, initial_bits, config, sweeps):
    P = program.geometry.lanes
    qp = program.geometry.qp
    rows = program.spins_to_rows(initial_bits).tolist()
    prng = [lane_seed(config.seed, lane) for lane in range(P)]
    schedule = ScheduleModel(config)
    totals = {c: 0 for c in Counter}
    for _ in range(sweeps):
        base = 0
        barrier = schedule.barrier_q4
        for g in range(program.n_groups):
            length = int(program.lengths[g])
            moves = [0] * P
            for lane in range(P):
                up_bit = prng[lane] & 1          # the state before this group's step
                prng[lane] = xorshift32(prng[lane])
                if not program.valid[g, lane]:
                    continue
                field = int(program.bias[g, lane])
                for e in range(base, base + length):
                    w = int(program.edge_weight[e, lane])
                    if w == 0:
                        continue
                    totals[Counter.READS] += 1
                    value = rows[int(program.edge_row[e, lane])][int(program.edge_col[e, lane])]
                    if qp:
                        field += w * value
                    else:
                        field += w if value else -w
                level = rows[g][lane]
                if qp:
                    d = 1 if up_bit else -1
                    tilt = 2 * d * field + int(program.diagonal[g, lane])
                    allowed = level < program.high[g, lane] if d > 0 else level > program.low[g, lane]
                else:
                    d = 1 - 2 * level            # a flip
                    tilt = (1 if level else -1) * field
                    allowed = True
                x = barrier + config.gain_q4 * tilt
                r = prng[lane] >> 16
                hop = allowed and (x <= 0 or (x < TABLE_DEPTH and r < TABLE[x]))
                drop = 2 * (barrier - x)
                totals[Counter.ATTEMPTS] += 1
                totals[Counter.BARRIER_Q4] += schedule.raise_q4 * program.geometry.level_bits
                if hop:
                    moves[lane] = d
                    totals[Counter.HOPS] += 1
                    if drop > 0:
                        totals[Counter.DROP_Q4] += drop
                    elif drop < 0:
                        totals[Counter.UPHILL_HOPS] += 1
                        totals[Counter.CLIMB_Q4] += -drop
            rows[g] = [v + m for v, m in zip(rows[g], moves)]
            totals[Counter.CYCLES] += length + GROUP_OVERHEAD_CYCLES
            base += length
        totals[Counter.SWEEPS] += 1
        totals[Counter.CYCLES] += schedule.advance()
    return rows, totals
