"""The arithmetic contract shared by the RTL and the golden model.

Every constant and table here is cited by ``docs/architecture.md``; the RTL is elaborated from
them and the golden model computes with them, so the two cannot drift apart.
"""
from dataclasses import dataclass, replace
from enum import IntEnum
import math

import numpy as np

__all__ = [
    "ARG_FRAC_BITS", "PROB_BITS", "RUN_BITS", "TABLE_DEPTH", "BARRIER_BITS", "GAIN_BITS", "GAIN_FRAC_BITS",
    "GAIN_MANTISSA_BITS", "GAIN_SHIFT_MAX", "QP_GAIN_SHIFT", "GAIN_ACC_EXTRA_BITS", "GAIN_RATE_BITS", "GAIN_RATE_MAX_OCTAVES", "GAIN_STEP_SHIFT_BITS", "gain_step", "GAIN_STEP_BITS",
    "ACC_FRAC_BITS", "gain_mantissa_table", "gain_operands", "gain_product", "gain_register",
    "LOG_STEP_MULT", "DECIDE_CYCLES", "SOURCE_BUFFERS", "DRAIN_CYCLES", "COMPILED_READ_DISTANCE", "COMPILED_DRAIN_CYCLES", "PRNG_WARMUP_STEPS", "Schedule", "Counter", "Reg", "Region", "REGION_BITS",
    "ArrayGeometry", "hop_probability_table", "table_word", "decision_draws", "hop_decision", "run_of_zeros",
    "implemented_hop_probability", "detailed_balance_reach",
    "hop_exponent", "lane_prng_state", "xoshiro_next",
    "xoshiro_output", "gain_kt",
]

#: Barrier, gain and the hop argument ``x`` are fixed point with 4 fractional bits (1/16 kT).
ARG_FRAC_BITS = 4
#: A hop probability is m 2^-(16 + e): its 16-bit mantissa m (2^15 .. 2^16) is compared with 16
#: random bits, and its e halvings with a run of e zeros among RUN_BITS more (two-stage Bernoulli).
PROB_BITS = 16
RUN_BITS = (32 - 1) + (32 - PROB_BITS)   # the first output's bits 31 .. 1, the second's 15 .. 0
#: Entries of the ``exp(-x)`` table, indexed by ``x`` in 1/16 kT (to 31.9 kT); beyond it p = 0.
TABLE_DEPTH = 512
#: Barrier register: unsigned Q8.4 kT (0 .. 255.9375 kT).
BARRIER_BITS = 12
#: Gain register: the gain's base-2 logarithm L, unsigned with 8 fractional bits (steps of 1/256
#: octave, 0.27%), 5 integer bits: gain = M(L mod 256) * 2^(L div 256 - 35) kT per unit of the
#: objective (x4 for QP cells), 1.5e-8 .. 63.8 (docs/architecture.md, Number formats).
GAIN_BITS = 13
GAIN_FRAC_BITS = 8
#: M(f) = round(2^(9 + f/256)): the gain's 10-bit mantissa (512 .. 1021), within 0.05% of 2^(f/256).
GAIN_MANTISSA_BITS = 10
#: The lanes form y = round(M * t / 2^s), s = GAIN_SHIFT_MAX - (L div 256) (+ QP_GAIN_SHIFT).
GAIN_SHIFT_MAX = 31
#: QP cells shift three places more. Two because their tilt t = 2 dU is 4x a spin's (t = dU / 2)
#: per unit of the objective; one because a QP hot end lies lower than a spin's (its largest move
#: carries a row of couplings times up to 2^p - 1 levels) while its cold end, ln(100 N) / dU_min
#: with dU_min >= 1/2, stays below the range's top of 31.9 kT per unit up to 85,000 cells. The
#: range for QP cells is 7.5e-9 to 31.9 kT per unit; the digits classifier at 8 bits, at full
#: weight width, starts at 6e-9.
QP_GAIN_SHIFT = 3
#: The gain schedule's accumulator holds L with this many more fractional bits (Q5.28); its rate
#: is octaves per sweep in Q.28, so a geometric schedule of 10^6 sweeps ends within 0.3%.
GAIN_ACC_EXTRA_BITS = 20
#: The gain's rate register keeps 30 bits (Q2.28): the gain rises by less than 2^4 per sweep, so a
#: step's increment in units of the old gain's last place, D = M' 2^(s - s') - M, fits
#: GAIN_STEP_BITS (the work counter's multiplier operand).
GAIN_RATE_BITS = 30
GAIN_RATE_MAX_OCTAVES = 4
GAIN_STEP_BITS = GAIN_MANTISSA_BITS + GAIN_RATE_MAX_OCTAVES
#: ... and the octaves it crosses, s - s' (0 .. 4), fit this many bits. A falling step (which the
#: host never programs: the gain only rises) wraps both, modulo 2^3 and 2^GAIN_STEP_BITS.
GAIN_STEP_SHIFT_BITS = 3
#: The schedule accumulator holds the barrier in Q8.16 kT; the barrier is its top 12 bits.
ACC_FRAC_BITS = 16
#: One logarithmic-schedule step (1/16 kT) is taken when time grows by a factor exp(1/16).
LOG_STEP_MULT = round(math.exp(1 / 2 ** ARG_FRAC_BITS) * 2 ** 16)
#: Width of the logarithmic schedule's threshold register (Q.16 sweeps); it saturates.
LOG_THRESHOLD_BITS = 56
#: Cycles from a group's load to its commit: load, decide, commit. The stages are pipelined: a
#: colour's next group loads in the cycle after (docs/architecture.md, Field updates).
DECIDE_CYCLES = 3
#: Source buffers the commits fill in turn, one per group with sources. A group loads only if the
#: buffer it would fill is free, counting the three groups in flight as groups with sources: with
#: four buffers a group can load every cycle while the banks are less than a group behind.
SOURCE_BUFFERS = 4
#: Cycles from a field bank's last entry read to the first in which the fields may be read again
#: for a decision: the entry's read, the field's read and its write (hdl/lane.py, FieldBank).
DRAIN_CYCLES = 3
#: The fewest cycles between a compiled array's issue of a group and of a group coupled to it
#: (hdl/compiled.py): the first's select, sum, load and decide; its commit overlaps the second's
#: select, and the second's sum reads its hops from the commit's register. The sequencer waits
#: before a group only as long as this asks (Program.compiled_issue): at most 3 cycles, where a
#: colour follows another. (At 3, a decision's comparison reached other lanes' multiplexers in
#: its cycle: the compiled 32 x 32 lattice's critical path.)
COMPILED_READ_DISTANCE = 4
#: Cycles after a sweep's last group, before the schedules step: its sum, load and decide (its
#: commit counts the barrier it was decided under).
COMPILED_DRAIN_CYCLES = 3
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
    CELLS = 4      # lane, index g: {valid, bias} (write)
    EDGES = 5      # lane, index r * W + k: update row r's entries for this lane's banks k E .. k E + E - 1 (write; ArrayGeometry.edge_word_entries)
    DEGREES = 6    # lane, index g: {reads per attempt, Q_ii} (write)
    BOXES = 7      # lane, index g: a QP cell's box {low, high} (write; QP cells only)
    OWN = 8        # lane, index g * B + b: bit l set if source (g, l) has entries in bank b (write; ArrayGeometry.skips_sources)


#: Bits of a bus address's region (its top bits).
REGION_BITS = (len(Region) - 1).bit_length()


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
    #: The barrier's logarithmic schedule (its 56-bit threshold chain: 694 logic cells of the
    #: iCE40 UP5K, which leaves it out to fit); without it that kind holds the barrier.
    logarithmic_barrier: bool = True
    #: Each lane's fields in this many banks (a power of two), group g in bank g mod B: an update
    #: row holds an entry for every bank of every lane, so a hop's rows are as many as its busiest
    #: bank needs, not its busiest lane (hdl/lane.py).
    field_banks: int = 1
    #: A colour's groups stream through load, decide and commit, a new one every cycle, with
    #: SOURCE_BUFFERS source buffers. Without it (the iCE40 UP5K's build, which leaves it out to
    #: fit: its pipelined decision and buffers take 370 logic cells) a group loads once the one
    #: before has committed, three cycles a group, with two buffers.
    streaming: bool = True

    def __post_init__(self):
        checks = [
            ("lanes", 1, 32), ("groups", 1, 1 << 16), ("edge_depth", 1, 1 << 20),
            ("weight_bits", 2, 16), ("counter_bits", 8, 64), ("cell_bits", 0, 8), ("field_banks", 1, 16),
        ]
        for name, lo, hi in checks:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in {lo} .. {hi}, not {value}")
        if self.field_banks & (self.field_banks - 1):
            raise ValueError(f"field_banks must be a power of two, not {self.field_banks}")
        for name in ("logarithmic_barrier", "streaming"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be a bool, not {type(getattr(self, name)).__name__}")

    def compiled(self):
        """This geometry as a compiled array's (hdl/compiled.py): it keeps no fields in memory, so
        one bank, and a problem's slot order (its pipeline's) does not follow the programmable
        build's banks (sim/mapping.py balances each lane's banks)."""
        return replace(self, field_banks=1)

    def with_field_banks(self, banks):
        """This geometry with its fields in ``banks`` banks and the same update-row memory: a lane's
        EDGES keeps its edge_depth x field_banks entries, in rows of ``banks`` entries."""
        banked = replace(self, field_banks=banks)   # validates ``banks``
        return replace(banked, edge_depth=max(1, self.edge_depth * self.field_banks // banks))

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
    def bank_bits(self):
        """Bits of a group's field bank: its low bits."""
        return (self.field_banks - 1).bit_length()

    @property
    def bank_depth(self):
        """Fields a bank holds: every field_banks-th group's."""
        return -(-self.groups // self.field_banks)

    @property
    def bank_addr_bits(self):
        """Bits of a field's address in its bank: its group's high bits."""
        return _bits_for(self.bank_depth - 1)

    @property
    def edge_entry_bits(self):
        """An update entry: the target's address in its bank, whether it is its source's last
        entry in this bank (hdl/lane.py, FieldBank), and the coupling."""
        return self.bank_addr_bits + 1 + self.weight_bits

    @property
    def edge_word_entries(self):
        """Entries E a bus word of EDGES carries: as many of a row's banks as fit 32 bits (a power
        of two), so that banks do not multiply the words a program sends (G1 at 8 lanes, 2 banks:
        a word holds both 16-bit entries of a row)."""
        fit = min(self.field_banks, 32 // self.edge_entry_bits) if self.edge_entry_bits <= 32 else 1
        return 1 << (max(fit, 1).bit_length() - 1)

    @property
    def edge_words(self):
        """Bus words W of EDGES per update row and lane: field_banks / edge_word_entries."""
        return self.field_banks // self.edge_word_entries

    @property
    def source_buffers(self):
        """Source buffers the commits fill in turn: SOURCE_BUFFERS when the groups stream (three
        groups in flight and the next), two when a group loads after the one before commits."""
        return SOURCE_BUFFERS if self.streaming else 2

    @property
    def columns(self):
        """Entries of an update row: one per bank of every lane, column = lane * field_banks + bank."""
        return self.lanes * self.field_banks

    @property
    def skips_sources(self):
        """Whether each field bank is told which sources have entries in it (Region.OWN), so that
        a sweep marks only those pending: with one bank in all, every source has them all."""
        return self.columns > 1

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
    def bias_bits(self):
        """Signed width of a cell's bias. For spins, the weights' width. A QP cell's linear term
        b_i = s (A low + c)_i holds the box's low corner: a row of couplings times up to 2^p - 1
        levels. Held in the weights' width, the couplings would keep p + 1 bits fewer than the
        bias (the digits QP at 8 bits rounded 5,640 of them to zero); so a QP bias has the
        cells' bits and one more (boxqp.quantize shrinks the common scale where that is short).
        The field (``field_bits``) holds it plus any edge list's sum."""
        return self.weight_bits + (self.cell_bits + 1 if self.qp else 0)

    @property
    def bias_max(self):
        return (1 << (self.bias_bits - 1)) - 1

    @property
    def bias_min(self):
        return -(1 << (self.bias_bits - 1))

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
        return max(self.row_bits, _bits_for(self.edge_depth * self.edge_words - 1),
                   _bits_for(self.groups * self.field_banks - 1), _bits_for(2 * len(Counter)), 4)

    @property
    def lane_addr_bits(self):
        return self.col_bits

    @property
    def addr_bits(self):
        return REGION_BITS + self.lane_addr_bits + self.index_bits

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
        if (region == Region.COUNTERS or (region == Region.BOXES and not self.qp)
                or (region == Region.OWN and not self.skips_sources)):
            return None
        per_lane = (region in (Region.CELLS, Region.LINKS, Region.DEGREES, Region.EDGES, Region.BOXES, Region.OWN)
                    or (region == Region.STATE and self.qp))
        depth = {Region.REGS: len(Reg), Region.EDGES: self.edge_depth * self.edge_words,
                 Region.OWN: self.groups * self.field_banks}.get(region, self.groups)
        return per_lane, depth

    def region_of(self, address):
        """The region a bus address selects."""
        return address >> (self.index_bits + self.lane_addr_bits)

    def writable(self, address):
        """Whether a bus write at ``address`` (the protocol's 32-bit address) reaches a location."""
        index = address & ((1 << self.index_bits) - 1)
        lane = (address >> self.index_bits) & ((1 << self.lane_addr_bits) - 1)
        region = self.region_of(address)
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

    def edge_word(self, group, last, weight):
        """Pack an update entry as the bus writes it: the target's address in its bank (its group
        >> bank_bits) | last | weight (two's complement). Works on ints and NumPy arrays."""
        return ((group >> self.bank_bits) | (last << self.bank_addr_bits)
                | ((weight & ((1 << self.weight_bits) - 1)) << (self.bank_addr_bits + 1)))

    def links_word(self, base, rows):
        """Pack a cell's update rows as the bus writes them: base | rows."""
        return base | (rows << self.edge_addr_bits)

    def degrees_word(self, reads, diagonal=0):
        """Pack a cell's reads per attempt and its own coupling Q_ii (QP cells) as the bus writes them."""
        return reads | ((diagonal & ((1 << self.weight_bits) - 1)) << 16)

    def cell_word(self, valid, bias, colour_end=False):
        """Pack a cell entry as the bus writes it: valid | bias (two's complement, ``bias_bits``) |
        colour_end (its group is its colour's last: the sequencer lets the fields settle after it)."""
        return int(bool(valid)) | ((bias & ((1 << self.bias_bits) - 1)) << 1) | (int(bool(colour_end)) << (self.bias_bits + 1))

    def box_word(self, low, high):
        """Pack a QP cell's box as the bus writes it: low | high, ``cell_bits`` each."""
        return low | (high << self.cell_bits)


def gain_mantissa_table():
    """M(f) = round(2^(9 + f / 256)) for f = 0 .. 255: the mantissa of the gain 2^(L / 256)."""
    return [round(2 ** (GAIN_MANTISSA_BITS - 1 + f / 2 ** GAIN_FRAC_BITS)) for f in range(2 ** GAIN_FRAC_BITS)]


_MANTISSA = np.array(gain_mantissa_table(), dtype=np.int64)


def gain_operands(gain_log, qp=False):
    """(M, s) the lanes multiply and shift by for a GAIN register value L (works on arrays); QP
    cells shift QP_GAIN_SHIFT places more."""
    gain_log = np.asarray(gain_log, dtype=np.int64)
    top = GAIN_SHIFT_MAX + (QP_GAIN_SHIFT if qp else 0)
    return (_MANTISSA[gain_log & (2 ** GAIN_FRAC_BITS - 1)], top - (gain_log >> GAIN_FRAC_BITS))


def gain_product(value, mantissa, shift):
    """round(value * M / 2^s), halves away from zero (works on int64 arrays): y = gain * t in Q.4
    kT from a tilt t, and the work of a gain step from D and U. Odd in ``value``, so a move and
    its reverse see opposite y and the counters charge a round trip nothing."""
    if isinstance(value, int):   # exact for any width (the objective register)
        magnitude = (((abs(value) * int(mantissa)) << 1) >> int(shift)) + 1 >> 1
        return -magnitude if value < 0 else magnitude
    value = np.asarray(value, dtype=np.int64)
    magnitude = (((np.abs(value) * mantissa) << 1) >> shift) + 1 >> 1
    return np.where(value < 0, -magnitude, magnitude)


def gain_step(before, after, qp=False):
    """(D, s): a gain step from L = ``before`` to ``after`` raises 16 gain by D / 2^s exactly (s the
    old gain's shift). The work the gain driver does on an objective U is gain_product(U, D, s)."""
    (m0, s0), (m1, s1) = (tuple(int(v) for v in gain_operands(x, qp)) for x in (before, after))
    rise = (s0 - s1) & (2 ** GAIN_STEP_SHIFT_BITS - 1)
    return ((m1 << rise) - m0) & (2 ** GAIN_STEP_BITS - 1), s0


def gain_kt(gain_log, qp=False):
    """kT per unit of the objective for a GAIN register value L: 16 gain = M 2^-s (y = gain t in
    Q.4 kT). A spin's hop argument is Eb + gain * s * f = Eb + gain * dU / 2; a QP cell's is
    Eb + gain * (2 d g + Q_ii) = Eb + gain * 2 dU, four times as steep per unit, and its lanes
    shift QP_GAIN_SHIFT = 3 places more: one L is half the kT per unit for QP cells that it is
    for spins (docs/architecture.md, QP cells)."""
    mantissa, shift = gain_operands(gain_log, qp)
    value = mantissa / 2.0 ** (shift + ARG_FRAC_BITS) * (4 if qp else 1)
    return float(value) if np.ndim(value) == 0 else value


def gain_register(kt, qp=False):
    """The GAIN register value whose gain is nearest ``kt`` (kT per unit) in ratio, or None when
    ``kt`` lies beyond the register's range by more than half a step."""
    if not kt > 0:
        return None
    top = 2 ** GAIN_BITS - 1
    guess = round(math.log2(kt / gain_kt(0, qp)) * 2 ** GAIN_FRAC_BITS)
    candidates = [v for v in (guess - 1, guess, guess + 1) if 0 <= v <= top]
    if not candidates:
        return None
    best = min(candidates, key=lambda v: abs(math.log(gain_kt(v, qp) / kt)))
    return best if abs(math.log(gain_kt(best, qp) / kt)) <= 2 ** -GAIN_FRAC_BITS * math.log(2) else None


def hop_probability_table():
    """(m, e) with exp(-k/16) = m 2^-(16 + e) to the mantissa's rounding, 2^15 <= m < 2^16, for
    k = 0 .. TABLE_DEPTH - 1; entry 0 is never used (x <= 0 always hops)."""
    table = [(2 ** PROB_BITS - 1, 0)]
    for k in range(1, TABLE_DEPTH):
        p = math.exp(-k / 2 ** ARG_FRAC_BITS)
        halvings = math.floor(-math.log2(p))
        mantissa = round(p * 2 ** (PROB_BITS + halvings))
        if mantissa == 2 ** PROB_BITS:   # p just below a power of two
            mantissa, halvings = 2 ** (PROB_BITS - 1), halvings - 1
        table.append((mantissa, halvings))
    assert max(e for _, e in table) <= RUN_BITS
    return table


def table_word(entry):
    """A table entry as the ROM holds it: m | e << 16."""
    mantissa, halvings = entry
    return mantissa | (halvings << PROB_BITS)


def decision_draws(first, second):
    """(r16, run, direction) a lane decides with, from the two xoshiro outputs of a group (taken at
    load and at decide; ints or arrays): r16, the second's top 16 bits, is compared with m; run,
    the first output's bits 31 .. 1 above the second's bits 15 .. 0, must start with e zeros; the
    first's bit 0 is a QP move's direction (1: up)."""
    first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
    low = 32 - PROB_BITS
    return second >> low, ((first >> 1) << low) | (second & (2 ** low - 1)), first & 1


def hop_decision(exponent_q4, r16, run):
    """Whether a cell hops at exponent ``a`` with draws ``r16`` and ``run`` (arrays): a <= 0, or a in
    the table, ``run`` starts with e zeros and r16 < m."""
    a = np.asarray(exponent_q4)
    mantissa, halvings = (np.array(column, dtype=np.int64)[np.clip(a, 0, TABLE_DEPTH - 1)]
                          for column in zip(*hop_probability_table()))
    return (a <= 0) | ((a < TABLE_DEPTH) & run_of_zeros(run, halvings) & (r16 < mantissa))


def run_of_zeros(draw, halvings):
    """Whether the top ``halvings`` bits of the RUN_BITS-bit ``draw`` are all zero (probability
    2^-halvings); works on arrays."""
    return np.asarray(draw) < (np.int64(1) << (RUN_BITS - np.asarray(halvings, dtype=np.int64)))


def implemented_hop_probability(exponent_q4):
    """The probability the datapath hops with at exponent ``a`` (Q.4 kT; works on arrays): 1 for
    a <= 0, m / 2^16 * 2^-e for 0 < a < TABLE_DEPTH (16 random bits below m, and a run of e zero
    bits), else 0."""
    table = np.array([m / 2 ** PROB_BITS * 2.0 ** -e for m, e in hop_probability_table()])
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
