# Slotpool: `make run` serves the API with demo data; `make test` runs lint, types and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export SLOTPOOL_DATABASE_URL ?= sqlite+aiosqlite:///./var/slotpool.db

.PHONY: run test lint typecheck pytest bench worker clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/.installed-dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/.installed $@

run: $(BIN)/.installed
	$(BIN)/alembic upgrade head
	$(BIN)/slotpool seed-demo
	$(BIN)/slotpool run --host $(HOST) --port $(PORT)

test: $(BIN)/.installed-dev lint typecheck pytest

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(BIN)/.installed-dev
	$(BIN)/mypy app carriers

pytest: $(BIN)/.installed-dev
	$(BIN)/pytest

# Scheduled jobs alone, next to API replicas run with SLOTPOOL_SCHEDULER_ENABLED=false.
worker: $(BIN)/.installed
	$(BIN)/alembic upgrade head
	$(BIN)/slotpool worker

bench: $(BIN)/.installed-dev
	$(BIN)/python bench/holds.py

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
