"""Energy model: lower bounds that physics guarantees, and cost models of implementations.

The derivation is docs/energy.md. Two kinds of figure are kept apart, and every entry says which
it is and what it assumes:

- a **lower bound** holds for any implementation that satisfies its stated assumption (the
  second law, Landauer, the reliability of an update done in finite time);
- a **cost model** prices one implementation (this array under its schedules, a Fowler-Nordheim
  synapse, a forced-write memory, SRAM/DRAM, an accelerator) from published per-event figures.

An **estimate** is neither: a figure that holds only if its stated premise does (Landauer per
operation, which assumes every update erases b full bits).

Units are kT throughout, joules through ``Device.kt_j``. A workload is N parameters of b bits,
OPS update operations, a time to solution and a number of FLOPs; ``workload_energy`` gives every
bound, estimate and cost model for it, and ``run_energy`` places a run's measured counters next to the
same figures for the run's own workload.
"""
import math
from dataclasses import asdict, dataclass

from fractions import Fraction

from ..hdl.params import ARG_FRAC_BITS, Counter, gain_operands

__all__ = [
    "BOLTZMANN_J_PER_K", "LN2", "SECONDS_PER_YEAR", "Device", "binary_entropy", "reliability_tilt_kt",
    "update_floor_kt", "shortest_step_attempts", "workload_energy", "run_energy", "PRICES",
    "RELIABILITY_PROTOCOL", "first_law",
]

BOLTZMANN_J_PER_K = 1.380649e-23
LN2 = math.log(2)
SECONDS_PER_YEAR = 365.25 * 24 * 3600
_Q = 2 ** ARG_FRAC_BITS


def binary_entropy(eps):
    """H(eps) in nats: what a bit still holds when it is wrong with probability eps."""
    if eps <= 0:
        return 0.0
    return -(eps * math.log(eps) + (1 - eps) * math.log(1 - eps))


@dataclass(frozen=True)
class Device:
    """The physical memory being emulated.

    ``attempt_time_s`` is tau0 = 1 / k0, the Arrhenius attempt time: a cell escapes its well at
    rate k0 exp(-Eb), and no thermally driven hop is faster than k0. ``step_time_s`` is the time
    one update step (one sweep of the array) takes on the device. The final state must be held
    for ``retention_time_s`` with error at most ``retention_error``. ``write_error`` is the
    reliability an update must reach: the probability that the cell is not in its target well at
    the end of its step. It is a requirement of its own, not the precision: a 1-bit write that
    fails half the time writes nothing, whatever the bits. Its default, 1e-6, is the same
    reliability the final state is held to.
    """
    attempt_time_s: float = 1e-9
    step_time_s: float = 1e-6
    retention_time_s: float = 10 * SECONDS_PER_YEAR
    retention_error: float = 1e-6
    temperature_k: float = 300.0
    write_error: float = 1e-6

    def __post_init__(self):
        if not 0 < self.retention_error < 0.5:
            raise ValueError(f"retention error must be in (0, 0.5), not {self.retention_error:g}")
        if not 0 < self.write_error < 0.5:
            raise ValueError(f"write error must be in (0, 0.5), not {self.write_error:g}")
        if not self.temperature_k > 0:
            raise ValueError(f"temperature must be above 0 K, not {self.temperature_k:g}")
        for what, value in (("attempt time", self.attempt_time_s), ("step time", self.step_time_s),
                            ("retention time", self.retention_time_s)):
            if not value > 0:
                raise ValueError(f"{what} must be positive, not {value:g} s")
        if self.step_time_s < self.attempt_time_s:
            raise ValueError(f"a step ({self.step_time_s:g} s) cannot be shorter than one attempt time "
                             f"({self.attempt_time_s:g} s)")

    @property
    def kt_j(self):
        """One kT in joules (4.14e-21 J at 300 K)."""
        return BOLTZMANN_J_PER_K * self.temperature_k

    @property
    def retention_barrier_kt(self):
        """Eb_ret = ln(t_ret / (tau0 eps)): escape probability k0 exp(-Eb) t_ret at most eps; 0 when
        t_ret <= tau0 eps, a retention so short that a cell without a barrier already meets it."""
        return max(0.0, math.log(self.retention_time_s / (self.attempt_time_s * self.retention_error)))

    @property
    def commit_kt(self):
        """Landauer cost of making one unknown bit definite to error eps: ln 2 - H(eps)."""
        return LN2 - binary_entropy(self.retention_error)

    def attempts_in(self, seconds):
        """k0 t: how many attempt times fit in ``seconds``."""
        return seconds / self.attempt_time_s


def shortest_step_attempts(error):
    """k0 tau below which no constant tilt lands an update with ``error``: ln(1 / error)."""
    return math.log(1 / error)


def reliability_tilt_kt(error, attempts=math.inf):
    """The smallest constant tilt D (kT) that brings a cell into its target well within
    ``attempts`` attempt times (k0 tau) with error at most ``error``, and keeps it there.

    Two-state relaxation with forward rate k_f <= k0 and backward rate k_f exp(-D) (detailed
    balance): starting in the wrong well, P_wrong(tau) = p_eq + (1 - p_eq) exp(-k_f (1 + e^-D) tau)
    with p_eq = 1 / (1 + e^D). The best barrier gives k_f = k0. In the slow limit this is
    D = ln((1 - eps) / eps); it diverges as k0 tau falls to ln(1 / eps), below which no tilt makes
    the update reliable (returns inf).
    """
    if not 0 < error < 0.5:
        return 0.0 if error >= 0.5 else math.inf
    logit = math.log((1 - error) / error)
    if math.isinf(attempts):
        return logit
    if attempts <= math.log(1 / error):
        return math.inf

    def wrong(d):
        return 1 / (1 + math.exp(d)) + math.exp(-attempts * (1 + math.exp(-d))) / (1 + math.exp(-d))

    lo, hi = logit, logit + 1.0
    while wrong(hi) > error:
        lo, hi = hi, 2 * hi
        if hi > 700:
            return math.inf
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if wrong(mid) <= error else (mid, hi)
    return hi


def update_floor_kt(error, attempts=math.inf):
    """Heat one reliable update releases at least, in the protocol class RELIABILITY_PROTOCOL: the
    hop moves probability 1 - eps down the tilt D of ``reliability_tilt_kt``, releasing D (1 - eps).
    It does not depend on the precision: an update moves a cell into one new well, whatever b."""
    return reliability_tilt_kt(error, attempts) * (1 - error)


#: The protocol class the reliability floor holds for, stated wherever the floor is printed.
RELIABILITY_PROTOCOL = (
    "holds for updates that each move a cell into a new well (an update below one level of the "
    "cell moves nothing and is not covered), starting in the wrong well, driven by a tilt held "
    "constant during the step, with Arrhenius rates whose forward rate is at most the attempt rate "
    "k0 (any barrier); computing the gradient that sets the tilt is not charged")


@dataclass(frozen=True)
class Price:
    """A published per-event energy, with its source."""
    joules: float
    per: str
    source: str


PRICES = {
    "fn_synapse_update": Price(
        5e-15, "update operation (up to 14 bits)",
        "Fowler-Nordheim dynamic analog memory, Nature Communications 13, 2022 ('An adaptive synaptic "
        "array using Fowler-Nordheim dynamic analog memory'): femtojoule-scale updates"),
    "sram_bit": Price(
        10e-12 / 64, "bit read or written (8 KB SRAM, 64-bit access: 10 pJ)",
        "M. Horowitz, 'Computing's energy problem', ISSCC 2014, 45 nm"),
    "dram_bit": Price(
        2e-9 / 64, "bit copied to DRAM (64-bit access: 1.3-2.6 nJ)",
        "M. Horowitz, 'Computing's energy problem', ISSCC 2014, 45 nm"),
    "accelerator_flop": Price(
        700 / 989e12, "FLOP (NVIDIA H100 SXM: 989 TFLOPS dense BF16 at 700 W board power)",
        "NVIDIA H100 Tensor Core GPU datasheet, 2022; assumes full utilisation at board power"),
    "accelerator_flop_measured": Price(
        700 / (0.40 * 989e12), "FLOP (H100 SXM at 700 W and 40% model FLOPs utilisation)",
        "measured utilisation of 38-43% BF16 MFU training Llama 3 405B on 8,192-16,384 H100s "
        "(Dubey et al., 'The Llama 3 herd of models', arXiv 2407.21783, 2024, Table 4); 40% used"),
}
FN_MAX_BITS = 14
#: FLOPs of training per parameter per sample in a dense network, when a workload's paper gives
#: none: 2 forward, 4 backward (Kaplan et al., 'Scaling laws for neural language models', 2020).
#: A convolution reuses each weight at every position, so a CNN's figure is far larger
#: (ResNet-50: about 890), and those workloads give their FLOPs.
FLOPS_PER_UPDATE = 6


def _entry(kind, kt, device, formula, assumption):
    return {"kind": kind, "kt": kt, "j": kt * device.kt_j if kt is not None else None,
            "formula": formula, "assumption": assumption}


def _priced(joules, device, formula, assumption):
    kt = joules / device.kt_j if joules is not None else None
    return _entry("cost model", kt, device, formula, assumption)


def workload_energy(parameters, update_ops, bits, time_s=None, flops=None, reads_per_update=None,
                    device=Device()):
    """Every lower bound, estimate and cost model for N = ``parameters`` parameters of ``bits`` bits
    updated ``update_ops`` times in ``time_s`` seconds (None: no time limit, the slow limit).

    ``reads_per_update`` bits are read per update (default: the parameter's own b bits, as a
    read-modify-write does); ``flops`` of training in all (default 6 per update). Returns a
    JSON-ready dict: ``workload`` (the inputs and what follows from them, with ``min_time_s``, the
    shortest time in which the updates can reach the write error, and ``time_allows``),
    ``lower_bounds``, ``estimates`` and ``cost_models``; each entry holds kind, kt, j, formula and
    assumption. When ``time_s`` is below ``min_time_s`` the entries that need a reliable update
    in that time are None (no implementation of the protocol class meets it).
    """
    n, ops, b = float(parameters), float(update_ops), int(bits)
    if not n >= 1:
        raise ValueError(f"parameters must be at least 1, not {n:g}")
    if not ops >= 1:
        raise ValueError(f"update operations must be at least 1, not {ops:g}")
    if not 1 <= b <= 64:
        raise ValueError(f"bits must be from 1 to 64, not {b}")
    if time_s is not None and not time_s > 0:
        raise ValueError(f"the time to solution must be positive, not {time_s:g} s")
    reads = float(b if reads_per_update is None else reads_per_update)
    flops = FLOPS_PER_UPDATE * ops if flops is None else float(flops)
    eps = device.write_error
    steps = ops / n                                        # updates per parameter
    step_s = None if time_s is None else time_s / steps    # time each update has
    attempts = math.inf if step_s is None else device.attempts_in(step_s)
    min_time_s = steps * shortest_step_attempts(eps) * device.attempt_time_s
    tilt = reliability_tilt_kt(eps, attempts)
    feasible = math.isfinite(tilt)
    per_update = update_floor_kt(eps, attempts) if feasible else None
    eb_ret = device.retention_barrier_kt
    commit = n * b * device.commit_kt
    floor = ops * per_update if feasible else None
    speed = ("no time limit (the slow limit)" if step_s is None
             else f"{step_s:.3g} s per update = {attempts:.3g} attempt times")
    lower = {
        "landauer_final_state": _entry(
            "lower bound", commit, device, "N b (ln 2 - H(eps_ret))",
            "second law: the start state is uniformly random (it carries no information) and the "
            "final state is held to error eps_ret; any protocol, reached only quasi-statically"),
        "reliability_floor": _entry(
            "lower bound", floor, device, "OPS D(eps_w, k0 tau) (1 - eps_w)",
            f"every update lands in its target well with error at most eps_w = {eps:.3g} within its "
            f"step ({speed}); {RELIABILITY_PROTOCOL}"),
    }
    lower["lim"] = _entry("lower bound", None if floor is None else max(commit, floor), device,
                          "max(Landauer final state, reliability floor)",
                          "the LIM lower bound: the larger of two bounds that both hold, each under its own "
                          "assumption (a random start; the reliability floor's protocol class)")
    estimates = {
        "landauer_per_operation": _entry(
            "estimate", ops * b * LN2, device, "OPS b ln 2",
            "not a lower bound: Landauer charges the entropy actually erased, and a small update erases "
            "far less than b bits. It is the cost if every update erased b full bits (overwriting its "
            "parameter with no memory of the old value), the 'Landauer's adiabatic bound' the reference "
            "paper compares with"),
    }
    fn = PRICES["fn_synapse_update"]
    sram, dram = PRICES["sram_bit"], PRICES["dram_bit"]
    acc, acc_measured = PRICES["accelerator_flop"], PRICES["accelerator_flop_measured"]
    cost = {
        "lim_array": _entry(
            "cost model", None if floor is None else floor + ops * reads * LN2 + n * b * (eb_ret + device.commit_kt),
            device, "OPS D (1 - eps_w) + OPS r ln 2 + N b (Eb_ret + ln 2 - H(eps_ret))",
            "this array's physics: updates at the reliability tilt, each read an irreversible sense "
            "(kT ln 2 per bit), every barrier raised to retention at full cost"),
        "fn_synapse": _priced(
            ops * fn.joules if b <= FN_MAX_BITS else None, device, "OPS x 5 fJ",
            f"{fn.source}; reads not counted; holds at most {FN_MAX_BITS} bits, so no figure beyond that"),
        "forced_write_memory": _entry(
            "cost model", ops * b * (eb_ret + LN2) + ops * reads * LN2, device,
            "OPS b (Eb_ret + ln 2) + OPS r ln 2",
            "a memory whose barrier stays at retention: every bit written is pushed over it and the "
            "old value erased"),
        "sram_dram": _priced(ops * (reads + b) * sram.joules + n * b * dram.joules, device,
                             "OPS (r + b) e_SRAM + N b e_DRAM",
                             f"von Neumann: every update reads and writes SRAM, the result is copied to DRAM once; {sram.source}"),
        "accelerator": _priced(flops * acc.joules, device, f"FLOPs x {acc.joules * 1e12:.2f} pJ", acc.source),
        "accelerator_measured": _priced(flops * acc_measured.joules, device,
                                        f"FLOPs x {acc_measured.joules * 1e12:.2f} pJ",
                                        acc_measured.source),
    }
    workload = {
        "parameters": n, "update_ops": ops, "bits": b, "updates_per_parameter": steps, "time_s": time_s,
        "step_time_s": step_s, "attempts_per_step": attempts if math.isfinite(attempts) else None,
        "min_time_s": min_time_s, "time_allows": feasible,
        "write_error": eps, "reliability_tilt_kt": tilt if feasible else None, "update_floor_kt": per_update,
        "reads_per_update": reads, "flops": flops, "retention_barrier_kt": eb_ret,
        "device": asdict(device), "kt_j": device.kt_j,
    }
    return {"workload": workload, "lower_bounds": lower, "estimates": estimates, "cost_models": cost}


def run_energy(counters, cells, bits, sweeps, final_barrier_q4, device=Device()):
    """A run's measured energy from its counters, next to the bounds for its own workload.

    The workload of a run: N = ``cells`` of ``bits`` bits, OPS = ATTEMPTS, time = sweeps x the
    device's step time, reads per update = READS / ATTEMPTS. Its reliability floor is that of a
    device making every attempt a reliable write; an annealer's attempts are samples, most of
    which move nothing, so the floor describes the workload, not a bound on this run's heat. The measured figure is the array's
    cost model evaluated on its counted events:

    - read: READS x b x kT ln 2 (an irreversible sense of each bit of the neighbour read);
    - update: the net heat the hops released, (DROP - CLIMB), in kT;
    - consolidation: the barrier work the array counted (BARRIER), plus raising every cell to
      Eb_ret when the schedule ended below it, plus committing the state (ln 2 - H(eps) per bit).
    """
    attempts = counters[Counter.ATTEMPTS]
    eb_ret = device.retention_barrier_kt
    eb_last = final_barrier_q4 / _Q
    nb = cells * bits
    heat = (counters[Counter.DROP_Q4] - counters[Counter.CLIMB_Q4]) / _Q
    measured = {
        "read_kt": counters[Counter.READS] * bits * LN2,
        "update_kt": heat,
        "update_gross_kt": counters[Counter.DROP_Q4] / _Q,
        "consolidation_kt": (counters[Counter.BARRIER_Q4] / _Q + nb * max(0.0, eb_ret - eb_last)
                             + nb * device.commit_kt),
    }
    measured["total_kt"] = measured["read_kt"] + measured["update_kt"] + measured["consolidation_kt"]
    measured.update({k.replace("_kt", "_j"): v * device.kt_j for k, v in list(measured.items())})
    workload = workload_energy(cells, max(attempts, 1), bits, time_s=sweeps * device.step_time_s,
                               reads_per_update=counters[Counter.READS] * bits / max(attempts, 1), device=device)
    lim = workload["lower_bounds"]["lim"]["kt"]
    floor = workload["lower_bounds"]["reliability_floor"]["kt"]
    return {
        "measured": measured,
        **workload,
        "final_barrier_kt": eb_last,
        "measured_over_lim_bound": measured["total_kt"] / lim if lim else None,
        "heat_over_reliability_floor": heat / floor if floor else None,
    }


def _stored_q4(gain_log, objective, qp):
    """The array's energy g U in Q.4 kT, exactly: 16 g = M / 2^s (params.gain_operands)."""
    mantissa, shift = (int(v) for v in gain_operands(gain_log, qp))
    return Fraction(mantissa * int(objective), 2 ** shift)


def first_law(counters, gain_start_log, gain_end_log, u_start, u_end, qp=False):
    """The gain driver's work against the heat the hops released plus the change of the stored
    energy g U (kT), with U (in gain units) from the start and final states, not the counters.

    The counters hold each hop's heat and each gain step's work rounded to 1/16 kT (the tilt y
    and the step's work, params.gain_product), so the balance closes to within half a unit per
    hop's y (twice: the heat is 2 y) and half a unit per step: ``closes`` when the residual is
    within that bound. It is bookkeeping (work and heat both follow the objective register); the
    second law is tested over ensembles (tests/test_thermodynamics.py).
    """
    work = counters[Counter.WORK_IN_Q4] - counters[Counter.WORK_OUT_Q4]
    heat = counters[Counter.DROP_Q4] - counters[Counter.CLIMB_Q4]
    stored = _stored_q4(gain_end_log, u_end, qp) - _stored_q4(gain_start_log, u_start, qp)
    residual = work - heat - stored
    bound = counters[Counter.HOPS] + Fraction(counters[Counter.SWEEPS], 2)
    return {"work_kt": work / _Q, "heat_kt": heat / _Q, "stored_energy_change_kt": float(stored) / _Q,
            "residual_kt": float(residual) / _Q, "rounding_bound_kt": float(bound) / _Q,
            "closes": abs(residual) <= bound}
