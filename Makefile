# The two commands a new user needs; each sets itself up on a fresh machine.
#   make report   - build the report (results/report/report.html)
#   make test     - run the test suite
# Options: CORES=4 SCALE=smoke|quick|full DATA_MIRROR=/path/to/mirror
# Maintainers: make lock   - regenerate the lock file (needs the network to PyPI)

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
CORES ?= 4
SCALE ?=
DATA_MIRROR ?=
# The environment the project is tested with (Linux x86-64, Python 3.11): every package
# pinned with its hashes. Elsewhere pyproject.toml's ranges are installed instead, and
# each workflow start says so in one line.
LOCK := locks/linux-x86_64-py311.txt
LOCKED_PLATFORM := $(shell $(PYTHON) -c 'import platform, sys; print(sys.platform == "linux" and platform.machine() == "x86_64" and sys.version_info[:2] == (3, 11))')

CONFIG := $(if $(SCALE),scale=$(SCALE)) $(if $(DATA_MIRROR),data_mirror=$(DATA_MIRROR))

.PHONY: report test clean lock

# Reinstalls when the dependencies change. torch and torchvision are pinned in
# pyproject.toml so that pip never resolves a newer (multi-gigabyte) torch.
$(VENV)/.installed: pyproject.toml $(LOCK)
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
ifeq ($(LOCKED_PLATFORM),True)
	$(VENV)/bin/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(VENV)/bin/python -m pip install --quiet --no-deps -e .
else
	@echo "No lock file for this platform: installing pyproject.toml's version ranges."
	$(VENV)/bin/python -m pip install --quiet -e '.[test,tracking]'
endif
	touch $@

report: $(VENV)/.installed
	$(VENV)/bin/snakemake --cores $(CORES) report $(if $(strip $(CONFIG)),--config $(CONFIG))

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest

# Every package pyproject.toml asks for (with the test and tracking extras), resolved for Linux x86-64
# and Python 3.11 with uv, each with its hashes; versions already in the lock are kept
# unless pyproject.toml's ranges exclude them (uv prefers the output file's pins).
lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra test --extra tracking --generate-hashes \
	    --python-version 3.11 --python-platform x86_64-manylinux_2_28 \
	    --custom-compile-command "make lock" -o $(LOCK)

clean:
	rm -rf results .snakemake
