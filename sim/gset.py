"""The Gset instances shipped with the package, loadable by name, with their best known cuts."""
from importlib.resources import as_file, files
from pathlib import Path

from .problem import ProblemError, load_gset

__all__ = ["BEST_KNOWN_CUTS", "gset_names", "load_named", "best_known_cut"]

BEST_KNOWN_CUTS = {"G1": 11624, "G2": 11620, "G6": 2178, "G11": 564, "G14": 3064, "G22": 13359, "G43": 6660}


def gset_names():
    return sorted(BEST_KNOWN_CUTS, key=lambda name: int(name[1:]))


def load_named(name):
    """A shipped instance by its name (``G1``, ``g1`` or ``G1.txt``)."""
    stem = Path(name).name.split(".")[0].upper()
    if stem not in BEST_KNOWN_CUTS:
        raise ProblemError(f"{name}: no such file, and not a shipped Gset instance ({', '.join(gset_names())})")
    with as_file(files(f"{__package__}.data.gset").joinpath(f"{stem}.txt")) as path:
        return load_gset(path)


def best_known_cut(problem):
    """The best known cut of a shipped instance (matched by content), else None."""
    stem = problem.name.split(".")[0].upper()
    if stem in BEST_KNOWN_CUTS and problem.digest() == load_named(stem).digest():
        return BEST_KNOWN_CUTS[stem]
    return None
