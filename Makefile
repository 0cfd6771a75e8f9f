# Slotpool: `make run` serves the API with demo data; `make test` runs lint, types and tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export SLOTPOOL_DATABASE_URL ?= sqlite+aiosqlite:///./var/slotpool.db

.PHONY: run test lint typecheck pytest bench worker clean lock

# Dependencies come from the lock files, hash-checked; the project itself is then installed
# without resolving anything. Plain pip is all it takes (no uv, no pip-tools).
$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(BIN)/.installed-dev: requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e '.[dev]'
	touch $(BIN)/.installed $@

# Re-resolve the dependencies of pyproject.toml into the lock files (after changing them, or to
# take newer releases), for every platform and Python >= 3.11, with hashes. uv lives in a
# throwaway venv of its own: installing from the locks never needs it.
LOCK_TOOLS := .lock-tools
UV_COMPILE = $(LOCK_TOOLS)/bin/uv pip compile pyproject.toml --universal --python-version 3.11 \
	--generate-hashes --no-header $(LOCK_FLAGS)
lock:
	$(PYTHON) -m venv $(LOCK_TOOLS)
	$(LOCK_TOOLS)/bin/pip install --quiet 'uv>=0.5'
	$(UV_COMPILE) --extra dev --output-file requirements-dev.lock
	# The runtime set at the versions the tests ran with.
	$(UV_COMPILE) --constraint requirements-dev.lock --output-file requirements.lock

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
	rm -rf $(VENV) $(LOCK_TOOLS) var .mypy_cache .ruff_cache .pytest_cache
