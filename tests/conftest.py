import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--waves", action="store_true", default=False,
                     help="dump waveforms (FST/VCD) from the co-simulations into their build directories")


@pytest.fixture(scope="session")
def waves(request):
    return request.config.getoption("--waves") or os.environ.get("LIM_WAVES") == "1"


#: Tests that start long external work (place and route of both boards, several minutes on one
#: core each): collected first, so that under pytest-xdist (make test: --dist loadscope
#: --no-loadscope-reorder, which hands out modules and classes in collection order; without it
#: the largest scopes go first and the builds started ten minutes in) their worker starts them at
#: once and the rest of the suite overlaps them.
FIRST = ("tests/test_boards.py::test_bitstream_builds_and_meets_timing",)


def pytest_collection_modifyitems(config, items):
    # sorted is stable: the long builds move to the front, everything else keeps its order
    items[:] = sorted(items, key=lambda item: not item.nodeid.startswith(FIRST))
