# The two commands the README names: `make demo` and `make test`.
# Each does its own set-up: system packages (when root), a virtualenv and pip.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: all setup system venv demo test bench clean difftest

all: test

system:
	@bash scripts/install-system.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,bench]'
	@touch $(STAMP)

venv: $(STAMP)

setup: system venv

demo: setup
	$(VENV)/bin/shoal demo

test: setup
	$(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

# the long run of the differential/property tests against numpy and pandas
difftest: setup
	SHOAL_DIFF_EXAMPLES=$${SHOAL_DIFF_EXAMPLES:-2000} $(PY) -m pytest -q -p no:cacheprovider \
		tests/array/test_properties.py tests/dataframe/test_differential.py

bench: setup
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info
