# Every target sets itself up: a virtualenv in .venv with the package and its dev tools.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install test lint demo bench sandbox clean

install: $(STAMP)

$(STAMP): pyproject.toml sandbox/pyproject.toml
	@echo "Setting up $(VENV) (first run installs Airflow: about two minutes)..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip > $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@$(BIN)/pip install --quiet -e ./sandbox -e '.[dev]' >> $(VENV)/install.log 2>&1 || (cat $(VENV)/install.log; exit 1)
	@touch $(STAMP)

test: install
	$(BIN)/pytest -n 2 --maxschedchunk 1 --durations=15

lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy

demo: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/demo.py

bench: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/bench.py

sandbox: install
	$(BIN)/ml-connector-sandbox up

clean:
	rm -rf $(VENV) .demo .pytest_cache .ruff_cache build provider/*.egg-info sandbox/*.egg-info
