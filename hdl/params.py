"""The arithmetic contract shared by the RTL and the golden model.

Every constant and table here is cited by ``docs/architecture.md``; the RTL is elaborated from
them and the golden model computes with them, so the two cannot drift apart.
"""
from dataclasses import dataclass
from enum import IntEnum
import math

__all__ = [
    "ARG_FRAC_BITS", "PROB_BITS", "TABLE_DEPTH", "BARRIER_BITS", "GAIN_BITS", "ACC_FRAC_BITS",
    "LOG_STEP_MULT", "GROUP_OVERHEAD_CYCLES", "Schedule", "Counter", "Reg", "Region",
    "ArrayGeometry", "hop_probability_table", "lane_seed", "xorshift32", "gain_kt",
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
#: Cycles a group costs beyond its edge count: fetch, load, 2 pipeline, decide, commit.
GROUP_OVERHEAD_CYCLES = 6
#: The per-lane PRNG seed is the user seed XOR this odd constant times (lane + 1).
LANE_SEED_KEY = 0x9E3779B9


class Schedule(IntEnum):
    """Barrier schedule kinds (``Reg.SCHEDULE_KIND``)."""
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
    READS = 5         # neighbour-state reads for local fields (one per non-zero coupling)
    DROP_Q4 = 6       # sum of objective drops over downhill hops, kT in Q.4 (dissipated)
    CLIMB_Q4 = 7      # sum of objective climbs over uphill hops, kT in Q.4 (drawn from the bath)
    BARRIER_Q4 = 8    # sum over cells of barrier raises, kT in Q.4 (consolidation work)


class Reg(IntEnum):
    """Register indices in ``Region.REGS``."""
    CONTROL = 0        # write: bit 0 init (reset counters, schedule, PRNGs), bit 1 start
    STATUS = 1         # read: bit 0 busy
    N_GROUPS = 2       # groups per sweep (1 .. geometry.groups)
    SEED = 3           # 32-bit PRNG seed
    GAIN = 4           # Q4.4 kT per objective unit
    SCHEDULE_KIND = 5  # a Schedule
    BARRIER_START = 6  # Q8.4 kT
    BARRIER_END = 7    # Q8.4 kT, >= start
    SCHEDULE_RATE = 8  # linear: Q8.16 kT per sweep; exponential: Q0.16 growth; log: tau in sweeps
    SWEEPS = 9         # sweeps to run on the next start
    BARRIER = 10       # read: the barrier now, Q8.4 kT
    SATURATED = 11     # read: bit k set when Counter k saturated
    GEOMETRY = 12      # read: lanes | groups << 8


class Region(IntEnum):
    """Top bits of a bus address."""
    REGS = 0
    COUNTERS = 1   # index 2k: low 32 bits of Counter k, 2k+1: high bits
    STATE = 2      # index g: the spins of group g, bit l = lane l (read and write)
    GROUPS = 3     # index g: the edge count of group g (write)
    CELLS = 4      # lane, index g: {valid, bias} (write)
    EDGES = 5      # lane, index e: {row, col, weight} (write)


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
    def edge_addr_bits(self):
        return _bits_for(self.edge_depth - 1)

    @property
    def field_bits(self):
        """Signed width that holds bias + any edge list's sum (of weight x level) without overflow."""
        return self.weight_bits + self.cell_bits + _bits_for(self.edge_depth + 1) + 1

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
        return max(_bits_for(self.groups - 1), self.edge_addr_bits, _bits_for(2 * len(Counter)), 4)

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
        per_lane = region in (Region.CELLS, Region.EDGES) or (region == Region.STATE and self.qp)
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

    def edge_word(self, row, col, weight):
        """Pack an edge entry as the bus writes it: row | col | weight (two's complement)."""
        w = weight & ((1 << self.weight_bits) - 1)
        return row | (col << self.row_bits) | (w << (self.row_bits + self.col_bits))

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


def lane_seed(seed, lane):
    """The xorshift32 state a lane starts from; never zero, which would lock the generator."""
    state = (seed ^ (LANE_SEED_KEY * (lane + 1))) & 0xFFFFFFFF
    return state or 1


def xorshift32(state):
    """One step of Marsaglia's xorshift32 (13, 17, 5); works on ints and uint32 arrays."""
    state ^= (state << 13) & 0xFFFFFFFF
    state ^= state >> 17
    state ^= (state << 5) & 0xFFFFFFFF
    return state
