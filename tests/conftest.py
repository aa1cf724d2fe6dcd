import os

import pytest


def pytest_addoption(parser):
    parser.addoption("--waves", action="store_true", default=False,
                     help="dump waveforms (FST/VCD) from the co-simulations into their build directories")


@pytest.fixture(scope="session")
def waves(request):
    return request.config.getoption("--waves") or os.environ.get("LIM_WAVES") == "1"
