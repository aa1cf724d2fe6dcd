"""The co-simulation case list: random problems x seeds x schedules, plus edge cases.

Each case is (id, geometry, Job); the same list drives Icarus, Verilator and the golden model.
"""
from dataclasses import replace

import numpy as np

from lim.hdl.params import GAIN_BITS, ArrayGeometry, Schedule, gain_register
from lim.sim.cosim.runner import Job
from lim.sim.golden import RunConfig
from lim.sim.mapping import map_problem
from lim.sim.problem import IsingProblem, QpProblem, random_maxcut, random_qp

SMALL = ArrayGeometry(lanes=4, groups=64, edge_depth=1024)
# 3 lanes (not a power of two) and 12-bit counters, so that runs drive counters to saturation;
# each lane's fields in 4 banks (hdl/lane.py), SMALL's in one; 16-bit weights make an update
# entry 20 bits, one to a bus word, 4 words a row (the boards' 16-bit entries go 2 to a word).
TINY = ArrayGeometry(lanes=3, groups=16, edge_depth=256, counter_bits=12, field_banks=4, weight_bits=16)

RATES = {  # a rate per schedule kind that moves the barrier within a few sweeps
    Schedule.CONSTANT: 0,
    Schedule.LINEAR: 3 << 14,          # 0.75 kT per sweep
    Schedule.EXPONENTIAL: 20000,       # x1.3 per sweep
    Schedule.LOGARITHMIC: 2,           # tau = 2 sweeps
}
GAIN_RATES = {  # a rate per gain schedule kind: geometric moves the gain within a few sweeps
    Schedule.CONSTANT: 0,
    Schedule.LINEAR: 5 << 16,          # the gain generator has no linear kind: it holds
    Schedule.EXPONENTIAL: 3 << 26,     # 0.75 octave (x1.68) per sweep
}
GAIN_KINDS = list(GAIN_RATES)
GAIN_TOP = 2 ** GAIN_BITS - 1


def gain(kt):
    """The GAIN register value (the gain's logarithm) of ``kt`` kT per unit; 0 for 0 (1.5e-8)."""
    return gain_register(kt) if kt else 0
WEIGHT_SETS = [(1,), (-1, 1), (-3, -1, 2, 5), (-7, 7)]


def random_gain(rng, kind):
    """Gain register values (start, end, rate) for a schedule kind: from 0.03 to 2.5 kT per unit,
    rising by up to 3 octaves."""
    start = int(rng.integers(gain(0.03), gain(2.5)))
    return {"gain_schedule": kind, "gain_log": start, "gain_end_log": min(GAIN_TOP, start + int(rng.integers(0, 768))),
            "gain_rate": GAIN_RATES[kind]}


def with_biases(problem, biases):
    return IsingProblem(problem.n, problem.rows, problem.cols, problem.couplings,
                        np.asarray(biases, dtype=np.int64), name=problem.name)


def random_cases(count=20, seed=2024):
    rng = np.random.default_rng(seed)
    cases = []
    for k in range(count):
        n = int(rng.integers(5, 61))
        m = int(rng.integers(0, min(4 * n, n * (n - 1) // 2) + 1))
        problem = random_maxcut(n, m, seed=int(rng.integers(1 << 30)),
                                weights=WEIGHT_SETS[k % len(WEIGHT_SETS)])
        if k % 3 == 2:
            problem = with_biases(problem, rng.integers(-5, 6, size=n))
        kind = Schedule(k % 4)
        start = int(rng.integers(0, 48)) if kind != Schedule.EXPONENTIAL else int(rng.integers(4, 48))
        config = RunConfig(seed=int(rng.integers(1 << 32)), **random_gain(rng, GAIN_KINDS[(k // 4 + k) % 3]),
                           schedule=kind, barrier_start_q4=start, barrier_hold=int(rng.integers(0, 3)) * (k % 2),
                           barrier_end_q4=start + int(rng.integers(0, 120)), rate=RATES[kind])
        chunks = [int(c) for c in rng.integers(1, 5, size=int(rng.integers(1, 4)))]
        bits = rng.integers(0, 2, size=n)
        cases.append((f"random{k:02d}-n{n}-m{m}-{kind.name.lower()}", SMALL,
                      Job(problem.name, map_problem(problem, SMALL), bits, config, chunks)))
    return cases


def star(n, weight=-3):
    """A centre coupled to n - 1 leaves. The leaves are one colour: at gain 0 every leaf hops, and
    the rows of the hopping leaves of a group all update the centre's field, one after another
    (the field read-modify-write forwards each write to the next read)."""
    leaves = np.arange(1, n, dtype=np.int64)
    return IsingProblem(n, np.zeros(n - 1, dtype=np.int64), leaves, np.full(n - 1, weight, dtype=np.int64),
                        np.zeros(n, dtype=np.int64), name=f"star{n}")


def edge_cases():
    rng = np.random.default_rng(7)
    cases = []

    def add(name, geometry, problem, config, chunks, bits=None):
        bits = rng.integers(0, 2, size=problem.n) if bits is None else bits
        cases.append((name, geometry, Job(name, map_problem(problem, geometry), bits, config, chunks)))

    g = SMALL
    empty = np.zeros(0, dtype=np.int64)
    add("no-couplings-biases-only", g, IsingProblem(13, empty, empty, empty, rng.integers(-9, 10, size=13)),
        RunConfig(seed=3, gain_log=gain(0.5), schedule=Schedule.LINEAR, barrier_end_q4=64, rate=1 << 15), [4])
    add("all-zero-couplings", g, random_maxcut(20, 40, seed=5, weights=(0,)),
        RunConfig(seed=4, gain_log=gain(1), schedule=Schedule.CONSTANT, barrier_start_q4=8), [3])
    dense = random_maxcut(16, 120, seed=6, weights=(-g.weight_max, -g.weight_min))  # J = -w
    add("max-weights-max-gain", g, with_biases(dense, [g.weight_max] * 8 + [g.weight_min] * 8),
        RunConfig(seed=5, gain_log=GAIN_TOP, schedule=Schedule.LOGARITHMIC, barrier_end_q4=4095, rate=1), [2, 1])
    add("complete-graph-k9", g, random_maxcut(9, 36, seed=8, weights=(-2, 3)),
        RunConfig(seed=6, gain_log=gain(0.75), schedule=Schedule.EXPONENTIAL, barrier_start_q4=3,
                  barrier_end_q4=200, rate=65535), [5])
    add("single-spin", g, IsingProblem(1, empty, empty, empty, np.array([3])),
        RunConfig(seed=0, gain_log=gain(0.25), schedule=Schedule.CONSTANT), [6])
    add("n-not-multiple-of-lanes", g, random_maxcut(37, 80, seed=9, weights=(-1, 1)),
        RunConfig(seed=9, gain_log=gain(1.5), schedule=Schedule.LINEAR, barrier_end_q4=300, rate=1 << 16), [3, 4])
    add("barrier-at-maximum", g, random_maxcut(24, 50, seed=10),
        RunConfig(seed=10, gain_log=gain(1), schedule=Schedule.CONSTANT, barrier_start_q4=4095,
                  barrier_end_q4=4095), [2])
    add("checkpoints-3-2-5", g, random_maxcut(48, 150, seed=11, weights=(-1, 1)),
        RunConfig(seed=11, gain_log=gain(1.25), schedule=Schedule.LOGARITHMIC, barrier_end_q4=120, rate=3), [3, 2, 5])
    add("full-array", g, random_maxcut(200, 300, seed=12, weights=(-1, 1)),
        RunConfig(seed=12, gain_log=gain(1), schedule=Schedule.LINEAR, barrier_end_q4=160, rate=1 << 15), [2])
    add("anneal-then-consolidate", g, random_maxcut(40, 120, seed=15, weights=(-2, 1, 3)),
        RunConfig(seed=15, gain_log=gain(0.125), gain_schedule=Schedule.EXPONENTIAL, gain_end_log=gain(12.5), gain_rate=round(0.69 * 2 ** 28),
                  schedule=Schedule.LINEAR, barrier_start_q4=0, barrier_end_q4=900, rate=300 << 16,
                  barrier_hold=5), [4, 3])
    add("gain-geometric-barrier-log", g, random_maxcut(30, 70, seed=16, weights=(-1, 1)),
        RunConfig(seed=16, gain_log=gain(0.1875), gain_schedule=Schedule.EXPONENTIAL, gain_end_log=gain(5.625),
                  gain_rate=5 << 26,
                  schedule=Schedule.LOGARITHMIC, barrier_end_q4=40, rate=1, barrier_hold=2), [3, 3])
    # the shortest sweep (one group, nothing hops at the top barrier: 6 cycles) with the gain raised
    # by the most a step can (the rate register's top bits set: it keeps 30, just under 4 octaves
    # per sweep) from 0.01 kT per unit to its largest: the work pipeline must finish within the
    # sweep, and a step's D crosses 4 octaves
    add("one-group-steep-gain", g, IsingProblem(4, empty, empty, empty, np.array([3, -2, 5, 1])),
        RunConfig(seed=17, gain_log=gain(0.01), gain_schedule=Schedule.EXPONENTIAL, gain_end_log=GAIN_TOP, gain_rate=0xFFFFFFFF,
                  schedule=Schedule.CONSTANT, barrier_start_q4=4095, barrier_end_q4=4095), [3, 2])
    add("star-forwarding", g, star(13),
        RunConfig(seed=18, gain_log=0, gain_schedule=Schedule.LINEAR, gain_end_log=gain(2.5), gain_rate=3 << 16,
                  schedule=Schedule.CONSTANT), [3, 5])
    # a build without the barrier's logarithmic kind (the iCEBreaker's) holds the barrier under it
    add("no-logarithmic-barrier", replace(g, logarithmic_barrier=False), random_maxcut(20, 40, seed=19, weights=(-1, 1)),
        RunConfig(seed=19, gain_log=gain(0.5), schedule=Schedule.LOGARITHMIC, barrier_start_q4=5, barrier_end_q4=90,
                  rate=1), [2, 3])
    t = TINY
    add("saturating-counters", t, random_maxcut(20, 60, seed=13, weights=(-7, 7)),
        RunConfig(seed=13, gain_log=gain(2.5), schedule=Schedule.LINEAR, barrier_end_q4=400, rate=1 << 17), [6, 200])
    add("three-lanes", t, random_maxcut(10, 15, seed=14, weights=(-1, 2)),
        RunConfig(seed=14, gain_log=gain(1), schedule=Schedule.LOGARITHMIC, barrier_end_q4=60, rate=1), [4])
    # banked fields: every leaf's hop updates the centre's field in one bank, row after row (the
    # bank forwards its write), while a dense problem's rows update several banks of a lane at once
    add("star-forwarding-banked", t, star(13),
        RunConfig(seed=20, gain_log=0, gain_schedule=Schedule.LINEAR, gain_end_log=gain(2.5), gain_rate=3 << 16,
                  schedule=Schedule.CONSTANT), [3, 5], bits=np.ones(13, dtype=np.int64))   # the leaves' changes add up
    add("dense-banked", t, with_biases(random_maxcut(40, 300, seed=21, weights=(-3, -1, 2, 5)), rng.integers(-4, 5, size=40)),
        RunConfig(seed=21, gain_log=gain(0.3), gain_schedule=Schedule.EXPONENTIAL, gain_end_log=gain(3), gain_rate=3 << 26,
                  schedule=Schedule.LINEAR, barrier_end_q4=200, rate=1 << 15), [2, 3])
    # a build whose groups do not stream (the iCEBreaker's): a group loads after the one before
    # commits, with two source buffers, its banks still skipping the hops with no entry there
    add("dense-banked-not-streaming", replace(t, streaming=False),
        with_biases(random_maxcut(40, 300, seed=21, weights=(-3, -1, 2, 5)), rng.integers(-4, 5, size=40)),
        RunConfig(seed=22, gain_log=gain(0.3), gain_schedule=Schedule.EXPONENTIAL, gain_end_log=gain(3), gain_rate=3 << 26,
                  schedule=Schedule.LINEAR, barrier_end_q4=200, rate=1 << 15), [2, 3])
    # 8 banks a lane (`lim build --field-banks 8`): a bank's fields are every 8th group's
    add("dense-8-banks", t.with_field_banks(8),
        with_biases(random_maxcut(40, 300, seed=23, weights=(-3, -1, 2, 5)), rng.integers(-4, 5, size=40)),
        RunConfig(seed=23, gain_log=gain(0.3), gain_schedule=Schedule.EXPONENTIAL, gain_end_log=gain(3), gain_rate=3 << 26,
                  schedule=Schedule.LINEAR, barrier_end_q4=200, rate=1 << 15), [2, 3])
    return cases


def qp_geometry(bits, lanes=4, field_banks=1):
    return ArrayGeometry(lanes=lanes, groups=64, edge_depth=1024, cell_bits=bits, field_banks=field_banks)


def qp_cases(seed=99):
    """QP cells at 1, 3 (on 3 lanes, fields in 2 banks), 5 and 8 bits: random definite and
    indefinite problems, boxes, and the extremes (levels at the box edges, largest weights,
    biases and gain)."""
    rng = np.random.default_rng(seed)
    cases = []
    for k, bits in enumerate((1, 1, 3, 3, 5, 5, 8, 8)):
        n = int(rng.integers(4, 40))
        box = None if k % 3 or bits < 3 else (int(rng.integers(0, 2)), (1 << bits) - 1 - int(rng.integers(0, 2)))
        problem = random_qp(n, bits, seed=int(rng.integers(1 << 30)), density=float(rng.uniform(0.05, 0.4)),
                            definite=bool(k % 2), box=box)
        kind = Schedule(k % 4)
        start = int(rng.integers(0, 32)) if kind != Schedule.EXPONENTIAL else int(rng.integers(4, 32))
        config = RunConfig(seed=int(rng.integers(1 << 32)), **random_gain(rng, GAIN_KINDS[(k + 1) % 3]),
                           schedule=kind, barrier_start_q4=start, barrier_end_q4=start + int(rng.integers(0, 100)),
                           rate=RATES[kind])
        g = qp_geometry(bits, *((3, 2) if bits == 3 else (4, 1)))   # one build per precision
        levels = rng.integers(problem.low, problem.high + 1)
        cases.append((f"qp{k}-p{bits}-n{n}-{kind.name.lower()}", g,
                      Job(problem.name, map_problem(problem, g), levels, config,
                          [int(c) for c in rng.integers(1, 5, size=2)])))
    g = qp_geometry(8)
    Q = np.diag([g.weight_max, g.weight_min, 5]) + np.array([[0, g.weight_min, 0], [g.weight_min, 0, 3], [0, 3, 0]])
    extreme = QpProblem.from_dense(Q, [g.bias_max, g.bias_min, 0], 8, name="qp-extremes")
    cases.append(("qp-extremes-p8", g, Job("qp-extremes", map_problem(extreme, g), np.array([255, 0, 128]),
                                           RunConfig(seed=3, gain_log=GAIN_TOP, schedule=Schedule.CONSTANT), [3])))
    return cases


def all_cases():
    return random_cases() + edge_cases()


def write_gset(path, problem):
    """``problem`` (a MaxCut problem) as a Gset file at ``path``."""
    lines = [f"{problem.n} {problem.m}"]
    lines += [f"{i + 1} {j + 1} {w}" for i, j, w in zip(problem.rows, problem.cols, problem.maxcut_weights)]
    path.write_text("\n".join(lines) + "\n")
    return path
