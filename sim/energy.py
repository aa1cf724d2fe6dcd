"""Energy accounting: from hardware counters to energy per wall, in kT and in joules.

Per event (docs/energy.md):
- read: one neighbour-state read to form a local field; an irreversible read-out costs at
  least kT ln 2 (erasing the read register), the ideal-LIM default;
- update: a thermally assisted hop releases its objective drop into the bath (``DROP_Q4``) and
  draws its climb from it (``CLIMB_Q4``); the update wall is the heat released;
- consolidation: raising a cell's barrier by dEb is work dEb on it (``BARRIER_Q4``).
"""
import math
from dataclasses import asdict, dataclass

from ..hdl.params import ARG_FRAC_BITS, Counter

__all__ = ["BOLTZMANN_J_PER_K", "kt_joules", "WallEnergy", "measured_energy"]

BOLTZMANN_J_PER_K = 1.380649e-23
LN2 = math.log(2)
_Q = 2 ** ARG_FRAC_BITS


def kt_joules(temperature_k=300.0):
    """One kT in joules (4.14e-21 J at 300 K)."""
    if not temperature_k > 0:
        raise ValueError(f"temperature must be positive, not {temperature_k}")
    return BOLTZMANN_J_PER_K * temperature_k


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


def measured_energy(counters, read_cost_kt=LN2):
    """Energy by wall from a counter snapshot ({Counter: value})."""
    return WallEnergy(
        read_kt=counters[Counter.READS] * read_cost_kt,
        update_kt=counters[Counter.DROP_Q4] / _Q,
        consolidation_kt=counters[Counter.BARRIER_Q4] / _Q,
    )
