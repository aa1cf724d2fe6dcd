import hashlib
import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--waves", action="store_true", default=False,
                     help="dump waveforms (FST/VCD) from the co-simulations into their build directories")


@pytest.fixture(scope="session")
def waves(request):
    return request.config.getoption("--waves") or os.environ.get("LIM_WAVES") == "1"


#: Tests that start long external work (place and route of both boards, about 13 and 7 minutes
#: on one core each): run first, so that the rest of the suite overlaps them.
FIRST = ("test_boards.py::test_bitstream_builds_and_meets_timing",)


def _group(item):
    """The pytest-xdist group of a test (``make test`` runs ``--dist loadgroup``).

    Tests of one module share its module-scoped fixtures and caches, so a module is one group,
    run by one worker. The exception is co-simulation parametrised by simulator and geometry:
    each (simulator, geometry) pair is one simulator process of its own (tests/test_cosim.py
    caches it per pair), so each pair is its own group and the pairs spread over the workers.
    """
    module = item.nodeid.split("::")[0]
    params = getattr(item, "callspec", None) and item.callspec.params
    if params and "simulator" in params and "geometry" in params:
        digest = hashlib.sha256(repr(params["geometry"]).encode()).hexdigest()[:8]
        return f"{module}:{params['simulator']}:{digest}"
    return module


def pytest_collection_modifyitems(config, items):
    for item in items:
        if not item.get_closest_marker("xdist_group"):
            item.add_marker(pytest.mark.xdist_group(_group(item)))
    # sorted is stable: the long builds move to the front, everything else keeps its order
    items[:] = sorted(items, key=lambda item: not any(item.nodeid.endswith(f) or f in item.nodeid for f in FIRST))
