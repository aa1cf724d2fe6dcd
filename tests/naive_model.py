"""A literal, slow reading of docs/architecture.md: group by group, lane by lane, edge by edge.

It exists to check the vectorised golden model (colour batching, batched PRNG streams, the
schedules' interplay) against the contract as written, on small problems. It shares only the
contract's constants and primitives (table, PRNG step, schedule generator) with the golden model.
"""
from lim.hdl.params import (BARRIER_BITS, GAIN_BITS, GROUP_OVERHEAD_CYCLES, TABLE_DEPTH, Counter,
                            hop_probability_table, lane_prng_state, xoshiro_next, xoshiro_output)
from lim.sim.golden import ScheduleModel

TABLE = hop_probability_table()


def run_naive(program, initial_bits, config, sweeps):
    P = program.geometry.lanes
    qp = program.geometry.qp
    rows = program.spins_to_rows(initial_bits).tolist()
    prng = [lane_prng_state(config.seed, lane) for lane in range(P)]
    barrier_schedule = ScheduleModel(config.schedule, config.barrier_start_q4, config.barrier_end_q4,
                                     config.rate, BARRIER_BITS, config.barrier_hold)
    gain_schedule = ScheduleModel(config.gain_schedule, config.gain_q4, config.gain_end_q4,
                                  config.gain_rate, GAIN_BITS, logarithmic=False)
    objective = program.objective_register(initial_bits)
    totals = {c: 0 for c in Counter}
    for _ in range(sweeps):
        base = 0
        barrier = barrier_schedule.value_q4
        gain = gain_schedule.value_q4
        for g in range(program.n_groups):
            length = int(program.lengths[g])
            moves = [0] * P
            for lane in range(P):
                draw = xoshiro_output(prng[lane])       # taken at decide, before the step
                prng[lane] = xoshiro_next(prng[lane])
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
                    d = 1 if draw & 1 else -1
                    t = 2 * d * field + int(program.diagonal[g, lane])
                    allowed = level < program.high[g, lane] if d > 0 else level > program.low[g, lane]
                else:
                    d = 1 - 2 * level            # a flip
                    t = (1 if level else -1) * field
                    allowed = True
                y = gain * t                     # half the climb, Q.4 kT
                if y > 0:                        # uphill: from the barrier top, or the whole climb
                    a = max(barrier + y, 2 * y)
                else:                            # downhill
                    a = barrier + y
                r = draw >> 16
                hop = allowed and (a <= 0 or (a < TABLE_DEPTH and r < TABLE[a]))
                drop = -2 * y
                totals[Counter.ATTEMPTS] += 1
                totals[Counter.BARRIER_Q4] += barrier_schedule.raise_q4 * program.geometry.level_bits
                if hop:
                    moves[lane] = d
                    objective += 2 * t
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
        totals[Counter.CYCLES] += max(barrier_schedule.advance(), gain_schedule.advance())
        work = gain_schedule.raise_q4 * objective
        totals[Counter.WORK_IN_Q4 if work > 0 else Counter.WORK_OUT_Q4] += abs(work)
    return rows, totals, objective
