"""Energy model: counters to energy by wall, the analytic LIM lower bound, Landauer, conventional.

The derivation is in docs/energy.md. Units: kT throughout, joules through ``kt_joules``.

Walls of a run on the LIM array (per event, from the hardware counters):
- read: one neighbour-state read to form a local field (``READS``), at the technology's cost;
- update: a thermally assisted hop dissipates its objective drop (``DROP_Q4``); an uphill hop
  borrows its climb from the bath and returns it (``CLIMB_Q4``, not a cost);
- consolidation: the barrier work counted by the hardware (``BARRIER_Q4``), plus raising every
  cell to the retention barrier if the schedule ended below it, plus committing the state
  (``ln 2 - H(eps)`` per bit, the Landauer cost of making it definite to error ``eps``).
"""
import math
from dataclasses import asdict, dataclass

from ..hdl.params import ARG_FRAC_BITS, Counter

__all__ = [
    "BOLTZMANN_J_PER_K", "LN2", "kt_joules", "binary_entropy", "Retention", "Technology",
    "TECHNOLOGIES", "WallEnergy", "WorkloadBounds", "workload_bounds", "run_energy", "technology_energy",
]

BOLTZMANN_J_PER_K = 1.380649e-23
LN2 = math.log(2)
SECONDS_PER_YEAR = 365.25 * 24 * 3600
_Q = 2 ** ARG_FRAC_BITS


def kt_joules(temperature_k=300.0):
    """One kT in joules (4.14e-21 J at 300 K)."""
    if not temperature_k > 0:
        raise ValueError(f"temperature must be positive, not {temperature_k}")
    return BOLTZMANN_J_PER_K * temperature_k


def binary_entropy(eps):
    """H(eps) in nats: what a bit still holds when it is wrong with probability eps."""
    if eps <= 0:
        return 0.0
    return -(eps * math.log(eps) + (1 - eps) * math.log(1 - eps))


@dataclass(frozen=True)
class Retention:
    """How long, and how reliably, the final state must be held (at least one step).

    ``step_time_s`` is the attempt time tau0 of one update step (one sweep of the array): the
    escape probability per step is exp(-Eb), so holding a bit for ``time_s`` with error at most
    ``error`` needs Eb_ret = ln(time_s / (step_time_s * error)).
    """
    time_s: float = 10 * SECONDS_PER_YEAR
    error: float = 1e-6
    step_time_s: float = 1e-9

    def __post_init__(self):
        if not 0 < self.error < 0.5:
            raise ValueError(f"retention error must be in (0, 0.5), not {self.error}")
        if not self.time_s > 0 or not self.step_time_s > 0:
            raise ValueError("retention time and step time must be positive")
        if self.time_s < self.step_time_s:
            raise ValueError("the retention time must be at least one step time")

    @property
    def barrier_kt(self):
        return math.log(self.time_s / (self.step_time_s * self.error))

    @property
    def commit_kt(self):
        """Landauer cost of making one bit definite to error ``error``: ln 2 - H(eps)."""
        return LN2 - binary_entropy(self.error)


@dataclass(frozen=True)
class Technology:
    """Per-event costs of a memory technology, in joules (``None``: use the kT physics).

    ``read_j``: one bit read; ``update_j``: one update operation of one parameter (all its bits);
    ``write_bit_j``: one bit written in short-term memory; ``copy_bit_j``: one bit copied into
    long-term memory at a checkpoint; ``max_bits``: the precision it can hold.
    """
    name: str
    description: str
    read_j: float = None
    update_j: float = None
    write_bit_j: float = None
    copy_bit_j: float = None
    max_bits: int = 64
    source: str = ""


TECHNOLOGIES = {
    "ideal-lim": Technology(
        "ideal-lim", "ideal LIM cell: kT physics; an irreversible one-bit read costs kT ln 2",
        read_j=None, max_bits=64,
        source="this model (docs/energy.md)"),
    "fn-synapse": Technology(
        "fn-synapse", "Fowler-Nordheim floating-gate analog memory: ~5 fJ per update, up to 14 bits; "
        "consolidation is its own tunnelling dynamics (no extra cost); read counted as kT ln 2 per bit",
        update_j=5e-15, max_bits=14,
        source="Nature Communications 2022 'An adaptive synaptic array using Fowler-Nordheim dynamic "
               "analog memory'; Frontiers in Neuroscience 2023 (femtojoules per synaptic update)"),
    "sram-dram": Technology(
        "sram-dram", "von Neumann baseline: SRAM short-term memory (~10 pJ per 64-bit access), "
        "DRAM long-term memory (~2 nJ per 64-bit access), 45 nm",
        read_j=10e-12 / 64, write_bit_j=10e-12 / 64, copy_bit_j=2e-9 / 64, max_bits=64,
        source="M. Horowitz, 'Computing's energy problem', ISSCC 2014 (45 nm access energies)"),
}


@dataclass(frozen=True)
class WallEnergy:
    """Energy by wall, in kT."""
    read_kt: float
    update_kt: float
    consolidation_kt: float

    @property
    def total_kt(self):
        return self.read_kt + self.update_kt + self.consolidation_kt

    def to_dict(self, temperature_k=300.0):
        kt = kt_joules(temperature_k)
        d = asdict(self)
        d["total_kt"] = self.total_kt
        d.update({k.replace("_kt", "_j"): v * kt for k, v in list(d.items())})
        d["temperature_k"] = temperature_k
        return d


@dataclass(frozen=True)
class WorkloadBounds:
    """Energy-to-solution of one workload, in kT (see docs/energy.md for each line)."""
    parameters: float
    update_ops: float
    bits: int
    retention: Retention
    checkpoints: float
    reads_per_update: float
    landauer_kt: float
    lim_bound_kt: float
    lim_read_kt: float
    conventional_kt: float

    @property
    def sweeps(self):
        return self.update_ops / self.parameters

    def to_dict(self, temperature_k=300.0):
        kt = kt_joules(temperature_k)
        d = {k: v for k, v in asdict(self).items() if k != "retention"}
        d["retention"] = asdict(self.retention)
        d["retention_barrier_kt"] = self.retention.barrier_kt
        for name in ("landauer", "lim_bound", "lim_read", "conventional"):
            d[f"{name}_j"] = d[f"{name}_kt"] * kt
        d["conventional_over_lim"] = self.conventional_kt / self.lim_bound_kt
        d["lim_over_landauer"] = self.lim_bound_kt / self.landauer_kt
        d["temperature_k"] = temperature_k
        return d


def workload_bounds(parameters, update_ops, bits, convergence_time_s=None, retention=Retention(),
                    checkpoints=1, reads_per_update=0.0, read_cost_kt=LN2):
    """The bounds for N parameters of ``bits`` bits, updated ``update_ops`` times in total.

    ``convergence_time_s`` (optional) fixes the step time: tau0 = T / (update_ops / N), so a
    faster convergence needs a higher retention barrier. Reads (``reads_per_update`` bits read
    per update, at ``read_cost_kt`` each) are the read wall a compute-in-memory array pays.
    """
    if parameters < 1 or update_ops < parameters or bits < 1:
        raise ValueError("need parameters >= 1, update_ops >= parameters and bits >= 1")
    if convergence_time_s is not None:
        if not convergence_time_s > 0:
            raise ValueError("the convergence time must be positive")
        retention = Retention(retention.time_s, retention.error,
                              convergence_time_s / (update_ops / parameters))
    eb = retention.barrier_kt
    nb = parameters * bits
    reads = update_ops * reads_per_update * read_cost_kt
    lim = nb * (retention.commit_kt + eb)
    forced_write = eb + LN2  # over the full barrier, erasing the old value
    conventional = update_ops * bits * forced_write + checkpoints * nb * forced_write + reads
    return WorkloadBounds(parameters, update_ops, bits, retention, checkpoints, reads_per_update,
                          landauer_kt=nb * LN2, lim_bound_kt=lim + reads, lim_read_kt=reads,
                          conventional_kt=conventional)


def run_energy(counters, cells, gain_kt, objective_drop, final_barrier_q4, retention=Retention(),
               bits=1, checkpoints=1, read_cost_kt=LN2):
    """Energy of one run on the array, from its counters: measured, bound and baselines (kT).

    ``objective_drop`` = U_start - U_end in objective units, ``gain_kt`` kT per unit
    (``params.gain_kt``); ``cells`` = parameters; ``bits`` the cell precision. Returns a dict with per-wall ``measured``, ``bound`` and ``conventional``
    (WallEnergy), the Landauer floor and the ratios.
    """
    eb_ret = retention.barrier_kt
    eb_last = final_barrier_q4 / _Q
    hold = max(eb_ret, eb_last)
    nb = cells * bits
    reads = counters[Counter.READS]
    measured = WallEnergy(
        read_kt=reads * read_cost_kt,
        update_kt=counters[Counter.DROP_Q4] / _Q,
        consolidation_kt=(counters[Counter.BARRIER_Q4] / _Q + nb * max(0.0, eb_ret - eb_last)
                          + nb * retention.commit_kt),
    )
    bound = WallEnergy(
        read_kt=reads * read_cost_kt,
        update_kt=max(0.0, gain_kt * objective_drop),
        consolidation_kt=nb * (eb_ret + retention.commit_kt),
    )
    forced_write = hold + LN2
    conventional = WallEnergy(
        read_kt=reads * read_cost_kt,
        update_kt=counters[Counter.ATTEMPTS] * bits * forced_write,
        consolidation_kt=checkpoints * nb * forced_write,
    )
    return {
        "measured": measured, "bound": bound, "conventional": conventional,
        "landauer_kt": nb * LN2, "retention_barrier_kt": eb_ret, "hold_barrier_kt": hold,
        "ratios": {
            "measured_over_bound": measured.total_kt / bound.total_kt,
            "conventional_over_measured": conventional.total_kt / measured.total_kt,
            "measured_over_landauer": measured.total_kt / (nb * LN2),
            "update_measured_over_bound": (measured.update_kt / bound.update_kt) if bound.update_kt else None,
        },
    }


def technology_energy(tech, counters, cells, bits=1, checkpoints=1, measured_kt=None, temperature_k=300.0):
    """The run's events priced in one technology, in joules by wall.

    ``ideal-lim`` prices with the kT physics (``measured_kt``, a WallEnergy); a technology with
    ``update_j`` charges every update attempt; one with ``write_bit_j`` is a von Neumann memory:
    every attempt reads its neighbours and writes the parameter, every checkpoint copies it out.
    """
    kt = kt_joules(temperature_k)
    if bits > tech.max_bits:
        raise ValueError(f"{tech.name} holds at most {tech.max_bits} bits per parameter, not {bits}")
    reads = counters[Counter.READS]
    read_j = reads * (tech.read_j if tech.read_j is not None else LN2 * kt)
    if tech.update_j is not None:
        update_j, consolidation_j = counters[Counter.ATTEMPTS] * tech.update_j, 0.0
    elif tech.write_bit_j is not None:
        update_j = counters[Counter.ATTEMPTS] * bits * tech.write_bit_j
        consolidation_j = checkpoints * cells * bits * tech.copy_bit_j
    else:
        if measured_kt is None:
            raise ValueError(f"{tech.name} is priced from the kT physics: pass measured_kt")
        return {"read_j": measured_kt.read_kt * kt, "update_j": measured_kt.update_kt * kt,
                "consolidation_j": measured_kt.consolidation_kt * kt, "total_j": measured_kt.total_kt * kt}
    return {"read_j": read_j, "update_j": update_j, "consolidation_j": consolidation_j,
            "total_j": read_j + update_j + consolidation_j}
