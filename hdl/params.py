"""The arithmetic contract shared by the RTL and the golden model.

Every constant and table here is cited by ``docs/architecture.md``; the RTL is elaborated from
them and the golden model computes with them, so the two cannot drift apart.
"""
from dataclasses import dataclass
from enum import IntEnum
import math

import numpy as np

__all__ = [
    "ARG_FRAC_BITS", "PROB_BITS", "TABLE_DEPTH", "BARRIER_BITS", "GAIN_BITS", "ACC_FRAC_BITS",
    "LOG_STEP_MULT", "DECIDE_CYCLES", "DRAIN_CYCLES", "PRNG_WARMUP_STEPS", "Schedule", "Counter", "Reg", "Region",
    "ArrayGeometry", "hop_probability_table", "implemented_hop_probability", "detailed_balance_reach",
    "hop_exponent", "lane_prng_state", "xoshiro_next",
    "xoshiro_output", "gain_kt",
]

#: Barrier, gain and the hop argument ``x`` are fixed point with 4 fractional bits (1/16 kT).
ARG_FRAC_BITS = 4
#: Hop probabilities and the uniform random numbers they are compared with: 16 bits.
PROB_BITS = 16
#: Entries of the ``exp(-x)`` table, indexed by ``x`` in 1/16 kT; beyond it p rounds to 0.
TABLE_DEPTH = 256
#: Barrier register: unsigned Q8.4 kT (0 .. 255.9375 kT).
BARRIER_BITS = 12
#: Gain register: unsigned Q4.4 kT per unit of the objective.
GAIN_BITS = 8
#: The schedule accumulator holds the barrier in Q8.16 kT; the barrier is its top 12 bits.
ACC_FRAC_BITS = 16
#: One logarithmic-schedule step (1/16 kT) is taken when time grows by a factor exp(1/16).
LOG_STEP_MULT = round(math.exp(1 / 2 ** ARG_FRAC_BITS) * 2 ** 16)
#: Width of the logarithmic schedule's threshold register (Q.16 sweeps); it saturates.
LOG_THRESHOLD_BITS = 56
#: Cycles a group's decision takes: load, decide, commit (the next group's fetch overlaps the commit
#: unless hops changed fields in between; docs/architecture.md, Sweep sequencer).
DECIDE_CYCLES = 3
#: Cycles after a group's last field update before any field is read again: the read-modify-write
#: pipeline's two stages.
DRAIN_CYCLES = 2
#: A lane's generator starts from (seed, LANE_KEY * (lane + 1), PRNG_INIT_WORDS) ...
LANE_KEY = 0x9E3779B9
PRNG_INIT_WORDS = (0x243F6A88, 0x85A308D3)
#: ... and then takes this many warm-up steps, each folding its (non-linear) output back into the
#: state, so that the lanes' states are non-linear functions of (seed, lane).
PRNG_WARMUP_STEPS = 16


class Schedule(IntEnum):
    """Schedule kinds, for the barrier (``Reg.BARRIER_KIND``) and the gain (``Reg.GAIN_KIND``)."""
    CONSTANT = 0
    LINEAR = 1
    EXPONENTIAL = 2
    LOGARITHMIC = 3


class Counter(IntEnum):
    """Hardware event and energy counters, in read-out order."""
    CYCLES = 0        # clock cycles spent running
    SWEEPS = 1        # completed sweeps over all groups
    ATTEMPTS = 2      # update attempts on real (non-padding) cells
    HOPS = 3          # accepted hops (spin flips)
    UPHILL_HOPS = 4   # hops with a negative objective drop
    READS = 5         # neighbour-state reads a compute-in-memory cell makes per attempt (its degree)
    DROP_Q4 = 6       # sum of objective drops over downhill hops, kT in Q.4 (dissipated)
    CLIMB_Q4 = 7      # sum of objective climbs over uphill hops, kT in Q.4 (drawn from the bath)
    BARRIER_Q4 = 8    # sum over cells of barrier raises, kT in Q.4 (consolidation work)
    WORK_IN_Q4 = 9    # work the gain driver does on the array: sum of dg * U over gain steps with U > 0
    WORK_OUT_Q4 = 10  # work the array returns to the gain driver: sum of dg * |U| with U < 0


class Reg(IntEnum):
    """Register indices in ``Region.REGS``."""
    CONTROL = 0        # write: bit 0 init (reset counters, schedules, PRNGs), bit 1 start
    STATUS = 1         # read: bit 0 busy (running, seeding the PRNGs, or a start pending)
    N_GROUPS = 2       # groups per sweep (1 .. geometry.groups)
    SEED = 3           # 32-bit PRNG seed
    GAIN_START = 4     # Q4.4 (kT per objective unit) / gain_kt scale, the inverse temperature at init
    BARRIER_KIND = 5   # a Schedule
    BARRIER_START = 6  # Q8.4 kT
    BARRIER_END = 7    # Q8.4 kT, >= start
    BARRIER_RATE = 8   # linear: Q8.16 kT per sweep; exponential: Q0.16 growth; log: tau in sweeps
    SWEEPS = 9         # sweeps to run on the next start
    BARRIER = 10       # read: the barrier now, Q8.4 kT
    SATURATED = 11     # read: bit k set when Counter k saturated
    GEOMETRY = 12      # read: lanes | groups << 8
    GAIN_KIND = 13     # a Schedule
    GAIN_END = 14      # Q4.4, >= start
    GAIN_RATE = 15     # as BARRIER_RATE, in gain units (linear: Q4.16 per sweep)
    GAIN = 16          # read: the gain now, Q4.4
    BARRIER_HOLD = 17  # sweeps the barrier stays at its start before its schedule begins
    OBJECTIVE = 18     # the objective of the state in gain units (docs/architecture.md), low word:
    OBJECTIVE_HIGH = 19  # written with the state, then kept by the hops; high word, sign-extended


class Region(IntEnum):
    """Top bits of a bus address."""
    REGS = 0
    COUNTERS = 1   # index 2k: low 32 bits of Counter k, 2k+1: high bits
    STATE = 2      # index g: the spins of group g, bit l = lane l (read and write)
    LINKS = 3      # lane, index g: {base, rows} of the cell's update rows in every lane's EDGES (write)
    CELLS = 4      # lane, index g: {valid, bias, box} (write)
    EDGES = 5      # lane, index r: update row r's entry for this lane, {group, weight} (write)
    DEGREES = 6    # lane, index g: {reads per attempt, Q_ii} (write)


def _bits_for(n):
    """Bits needed to hold the values 0 .. n."""
    return max(1, int(n).bit_length())


@dataclass(frozen=True)
class ArrayGeometry:
    """The elaboration-time shape of an array: what changes the hardware."""
    lanes: int = 8
    groups: int = 256
    edge_depth: int = 8192
    weight_bits: int = 8
    counter_bits: int = 48
    #: 0: Ising spins. p = 1..8: quadratic-programming cells, each holding a level 0 .. 2^p - 1.
    cell_bits: int = 0

    def __post_init__(self):
        checks = [
            ("lanes", 1, 32), ("groups", 1, 1 << 16), ("edge_depth", 1, 1 << 20),
            ("weight_bits", 2, 16), ("counter_bits", 8, 64), ("cell_bits", 0, 8),
        ]
        for name, lo, hi in checks:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in {lo} .. {hi}, not {value}")
        if self.qp and 1 + self.weight_bits + 2 * self.cell_bits > 32:
            raise ValueError(f"a cell entry (valid, {self.weight_bits}-bit bias, two {self.cell_bits}-bit "
                             "box limits) must fit one 32-bit bus word")

    @property
    def qp(self):
        """Quadratic-programming cells (levels) rather than Ising spins."""
        return self.cell_bits > 0

    @property
    def level_bits(self):
        """Bits a cell holds in the state RAM: 1 for a spin, p for a level."""
        return max(1, self.cell_bits)

    @property
    def level_max(self):
        return (1 << self.level_bits) - 1

    @property
    def cells(self):
        return self.lanes * self.groups

    @property
    def row_bits(self):
        return _bits_for(self.groups - 1)

    @property
    def col_bits(self):
        return _bits_for(self.lanes - 1)

    @property
    def length_bits(self):
        return _bits_for(self.edge_depth)

    @property
    def rows_bits(self):
        """Width of a cell's update-row count (LINKS word: base | rows, 32 bits)."""
        return min(self.length_bits, 32 - self.edge_addr_bits)

    @property
    def reads_bits(self):
        """Width of a cell's reads per attempt (DEGREES word: reads | Q_ii << 16)."""
        return 16

    @property
    def edge_addr_bits(self):
        return _bits_for(self.edge_depth - 1)

    @property
    def field_bits(self):
        """Signed width that holds bias + any edge list's sum (of weight x level) without overflow."""
        return self.weight_bits + self.cell_bits + _bits_for(self.edge_depth + 1) + 1

    @property
    def objective_bits(self):
        """Signed width of the objective in gain units (U for spins, 4U for QP cells): bounded by
        the cells' count times the largest |2 t| a cell can see."""
        return self.field_bits + self.cell_bits + _bits_for(self.cells) + 3

    @property
    def weight_max(self):
        return (1 << (self.weight_bits - 1)) - 1

    @property
    def weight_min(self):
        return -(1 << (self.weight_bits - 1))

    @property
    def counter_max(self):
        return (1 << self.counter_bits) - 1

    @property
    def index_bits(self):
        return max(self.row_bits, self.edge_addr_bits, _bits_for(2 * len(Counter)), 4)

    @property
    def lane_addr_bits(self):
        return self.col_bits

    @property
    def addr_bits(self):
        return 3 + self.lane_addr_bits + self.index_bits

    def address(self, region, index, lane=0):
        """The bus address of ``index`` in ``region`` (of ``lane`` for per-lane regions)."""
        if not 0 <= index < (1 << self.index_bits):
            raise ValueError(f"index {index} out of range for region {Region(region).name}")
        if not 0 <= lane < self.lanes:
            raise ValueError(f"lane {lane} out of range")
        return (int(region) << (self.lane_addr_bits + self.index_bits)) | (lane << self.index_bits) | index

    def write_window(self, region):
        """``(per_lane, depth)`` of the bus locations a write to ``region`` may reach, or None.

        The command block refuses a WRITE that leaves one window (docs/protocol.md), so no
        write aliases onto another location through a truncated address.
        """
        region = Region(region)
        if region == Region.COUNTERS:
            return None
        per_lane = (region in (Region.CELLS, Region.LINKS, Region.DEGREES, Region.EDGES)
                    or (region == Region.STATE and self.qp))
        depth = {Region.REGS: len(Reg), Region.EDGES: self.edge_depth}.get(region, self.groups)
        return per_lane, depth

    def writable(self, address):
        """Whether a bus write at ``address`` (the protocol's 32-bit address) reaches a location."""
        index = address & ((1 << self.index_bits) - 1)
        lane = (address >> self.index_bits) & ((1 << self.lane_addr_bits) - 1)
        region = address >> (self.index_bits + self.lane_addr_bits)
        if region not in Region._value2member_map_ or (window := self.write_window(region)) is None:
            return False
        per_lane, depth = window
        return index < depth and (lane < self.lanes if per_lane else lane == 0)

    def state_addresses(self, n_groups):
        """Where the state of groups 0 .. n_groups - 1 is read: a row of spins per word, or one QP
        level per word, lane by lane (Snapshot.from_bus decodes this order)."""
        if self.qp:
            return [self.address(Region.STATE, g, lane) for lane in range(self.lanes) for g in range(n_groups)]
        return [self.address(Region.STATE, g) for g in range(n_groups)]

    def edge_word(self, group, weight):
        """Pack an update entry as the bus writes it: the target's group | weight (two's complement)."""
        return group | ((weight & ((1 << self.weight_bits) - 1)) << self.row_bits)

    def links_word(self, base, rows):
        """Pack a cell's update rows as the bus writes them: base | rows."""
        return base | (rows << self.edge_addr_bits)

    def degrees_word(self, reads, diagonal=0):
        """Pack a cell's reads per attempt and its own coupling Q_ii (QP cells) as the bus writes them."""
        return reads | ((diagonal & ((1 << self.weight_bits) - 1)) << 16)

    def cell_word(self, valid, bias, low=0, high=0):
        """Pack a cell entry as the bus writes it: valid | bias (two's complement) | box low | box high.

        The box limits exist for QP cells only (``cell_bits`` > 0).
        """
        word = int(bool(valid)) | ((bias & ((1 << self.weight_bits) - 1)) << 1)
        if self.qp:
            word |= (low << (1 + self.weight_bits)) | (high << (1 + self.weight_bits + self.cell_bits))
        return word


def gain_kt(gain_q4, qp=False):
    """kT per unit of the objective for a GAIN register value.

    A spin's hop argument is Eb + gain * s * f = Eb + gain * dU / 2; a QP cell's is
    Eb + gain * (2 d g + Q_ii) = Eb + gain * 2 dU, four times as steep per unit: its gain is
    4 / 16 kT per unit of U per register step (docs/architecture.md, QP cells).
    """
    return gain_q4 / (4 if qp else 16)


def hop_probability_table():
    """``round(2**16 * exp(-k/16))`` for k = 0 .. 255; entry 0 is never used (x <= 0 always hops)."""
    table = [min(round(math.exp(-k / 2 ** ARG_FRAC_BITS) * 2 ** PROB_BITS), 2 ** PROB_BITS - 1)
             for k in range(TABLE_DEPTH)]
    return table


def implemented_hop_probability(exponent_q4):
    """The probability the datapath hops with at exponent ``a`` (Q.4 kT; works on arrays): 1 for
    a <= 0, TABLE[a] / 2^16 for 0 < a < TABLE_DEPTH (a 16-bit draw r hops iff r < TABLE[a]), else 0."""
    table = np.array(hop_probability_table(), dtype=np.float64) / 2 ** PROB_BITS
    a = np.asarray(exponent_q4)
    inside = table[np.clip(a, 0, TABLE_DEPTH - 1)]
    return np.where(a <= 0, 1.0, np.where(a < TABLE_DEPTH, inside, 0.0))


def detailed_balance_reach(tolerance, max_barrier_q4=(1 << BARRIER_BITS) - 1):
    """The largest uphill exponent (kT) below which every pair of opposite moves keeps detailed
    balance within ``tolerance``: |P(up) / P(down) / exp(-2 y) - 1| <= tolerance, exhaustively
    over every barrier the register holds and every half tilt y (Q.4 kT) a gain and field can
    make, with the probabilities the table and the 16-bit comparison implement."""
    barrier = np.arange(max_barrier_q4 + 1)[:, None]
    y = np.arange(1, 2 * TABLE_DEPTH)[None, :]   # beyond, P(up) = 0 as it is from 2y >= TABLE_DEPTH
    up = np.maximum(barrier + y, 2 * y)
    p_up, p_down = implemented_hop_probability(up), implemented_hop_probability(barrier - y)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.abs(p_up / p_down / np.exp(-2 * y / 2 ** ARG_FRAC_BITS) - 1)
    failing = (p_down > 0) & (error > tolerance)
    return float(up[failing].min()) / 2 ** ARG_FRAC_BITS


def hop_exponent(barrier_q4, half_tilt_q4):
    """The exponent ``a`` (Q.4 kT) of a hop's probability ``min(1, exp(-a))``; works on arrays.

    ``half_tilt_q4`` is ``y = gain * t = -D/2``, half the climb of the hop. Measured from the
    barrier top (Kramers): downhill (y <= 0) ``a = Eb + y``; uphill ``a = max(Eb + y, 2 y)``: once
    the tilt exceeds twice the barrier the upper well has no barrier left and climbing out of the
    lower one costs the whole height difference. Forward and backward rates then differ by exactly
    ``exp(D)`` at every barrier (detailed balance at inverse temperature ``gain``).
    """
    x = barrier_q4 + half_tilt_q4
    return np.where(half_tilt_q4 > 0, np.maximum(x, 2 * half_tilt_q4), x)


_MASK32 = 0xFFFFFFFF


def _rotl(v, k):
    return ((v << k) & _MASK32) | (v >> (32 - k))


def xoshiro_output(state):
    """xoshiro128++ output of ``state`` (s0, s1, s2, s3): rotl(s0 + s3, 7) + s0; ints or uint32 arrays."""
    s0, _, _, s3 = state
    return (_rotl((s0 + s3) & _MASK32, 7) + s0) & _MASK32


def xoshiro_next(state):
    """One step of the xoshiro128 engine (Blackman and Vigna): linear over GF(2), period 2^128 - 1."""
    s0, s1, s2, s3 = state
    t = (s1 << 9) & _MASK32
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 11)
    return (s0, s1, s2, s3)


def lane_prng_state(seed, lane):
    """The xoshiro128++ state of lane ``lane`` after CONTROL.init with ``seed``.

    The engine is linear, so lanes seeded by XORing a key into the seed would keep a fixed,
    seed-independent XOR between their streams. The warm-up folds each output (non-linear: it
    adds) back into s0, so the states are non-linear functions of (seed, lane).
    """
    state = (seed & _MASK32, (LANE_KEY * (lane + 1)) & _MASK32, *PRNG_INIT_WORDS)
    for _ in range(PRNG_WARMUP_STEPS):
        out = xoshiro_output(state)
        s0, s1, s2, s3 = xoshiro_next(state)
        state = (s0 ^ out, s1, s2, s3)
    return state
