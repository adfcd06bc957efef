# mailtickets — `make run` starts the daemon on the embedded default, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench faults clean

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit("mailtickets needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/mailtickets db upgrade
	$(BIN)/mailtickets run

# lint-imports checks the layer order written in pyproject.toml's [tool.importlinter].
lint: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check mailtickets tests migrations bench
	$(BIN)/ruff format --check mailtickets tests migrations bench

typecheck: $(STAMP)
	$(BIN)/mypy

# The fault suite's heavy tests run at this fraction of their full scale inside `make test`
# (CI's time limit); `make faults` runs them at full scale.
FAULTS_TEST_SCALE ?= 0.3
FAULTS_FIGURES := $(VENV)/faults-figures.json

test: lint typecheck
	MAILTICKETS_FAULTS_SCALE=$(FAULTS_TEST_SCALE) $(BIN)/pytest

# Runs tests/faults at full scale and refreshes the figures in tests/faults/README.md, also
# when a test fails (its figures say what was lost); the exit status is the suite's.
faults: $(STAMP)
	rm -f $(FAULTS_FIGURES)
	MAILTICKETS_FAULTS_SCALE=1 MAILTICKETS_FAULTS_FIGURES=$(CURDIR)/$(FAULTS_FIGURES) \
		$(BIN)/pytest tests/faults -q; status=$$?; \
	$(BIN)/python -m tests.faults.report $(FAULTS_FIGURES) tests/faults/README.md 1 && exit $$status

unit: $(STAMP)
	$(BIN)/pytest tests/unit

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache

bench: $(STAMP)
	$(BIN)/python -m bench.run
