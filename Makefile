# The two commands: `make run` and `make test`. Each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck install system-deps bench clean screenshots

# What running needs (make run) and what testing needs (make test) are installed separately.
$(RUN_STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(RUN_STAMP)

$(STAMP): $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Start the server with the embedded default: SQLite, built-in workers, demo users and import targets.
## `make run PORT=8080 HOST=0.0.0.0` to listen elsewhere.
run: $(RUN_STAMP)
	@echo "jobdeck: the page will be at http://$(HOST):$(PORT)/ ; other commands: $(BIN)/jobdeck --help"
	$(BIN)/jobdeck serve --demo --host $(HOST) --port $(PORT)

## Install everything (Python packages, PostgreSQL, Chromium) and run every test, lint and type check.
test: install system-deps lint typecheck
	$(BIN)/pytest

## Refresh the README's screenshots in docs/screenshots (the browser tests otherwise write to a temporary folder).
screenshots: install system-deps
	JOBDECK_SCREENSHOTS_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest tests/browser -k screenshots

system-deps:
	bash scripts/system-deps.sh

lint: install
	$(BIN)/ruff check jobdeck tests bench examples
	$(BIN)/ruff format --check jobdeck tests bench examples
	$(BIN)/bandit --quiet --recursive jobdeck --severity-level medium 2>/dev/null

typecheck: install
	$(BIN)/mypy jobdeck examples

bench: install
	$(BIN)/python bench/throughput.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache

## The worked example: a small shop application with jobdeck mounted at /admin/jobs (docs/embedding.md).
## Sign in as clerk / clerk-password or boss / boss-password. `make example PORT=8080` to listen elsewhere.
.PHONY: example
example: $(RUN_STAMP)
	@echo "orders example: http://$(HOST):$(PORT)/ , jobs at http://$(HOST):$(PORT)/admin/jobs/"
	$(BIN)/python -m examples.orders --host $(HOST) --port $(PORT)
