# The two commands a new user needs; each sets itself up on a fresh machine.
#   make report   - build the report (results/report/report.html)
#   make test     - run the test suite
# Options: CORES=4 SCALE=smoke|quick|full DATA_MIRROR=/path/to/mirror

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
CORES ?= 4
SCALE ?=
DATA_MIRROR ?=

CONFIG := $(if $(SCALE),scale=$(SCALE)) $(if $(DATA_MIRROR),data_mirror=$(DATA_MIRROR))

.PHONY: report test clean

# Reinstalls when the dependencies change. torch and torchvision are pinned in
# pyproject.toml so that pip never resolves a newer (multi-gigabyte) torch.
$(VENV)/.installed: pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test,tracking]'
	touch $@

report: $(VENV)/.installed
	$(VENV)/bin/snakemake --cores $(CORES) report $(if $(strip $(CONFIG)),--config $(CONFIG))

test: $(VENV)/.installed
	$(VENV)/bin/python -m pytest

clean:
	rm -rf results .snakemake
