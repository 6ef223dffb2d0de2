# The two commands the README shows first: `make run` and `make test` (CONTRACT.md, Commands).
# Each bootstraps .venv from requirements.lock by itself on a machine with only python3 and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench lint fmt schema lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when the lock or the project's metadata changes.
$(STAMP): requirements.lock pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/paygate migrate
	$(BIN)/paygate demo
	$(BIN)/paygate serve

# Two workers by default (pytest-xdist; CI has two cores). Each worker has its own PostgreSQL
# database, Redis database and SQLite files (tests/workers.py). `make test TEST_WORKERS=0` runs
# serially; PYTEST_ARGS come last, so they can override either. worksteal, measured against
# loadscope on a loaded machine (684 s against 985 s): with loadscope one worker was left alone
# with the last long modules for minutes.
TEST_WORKERS ?= 2
TEST_DIST ?= worksteal

test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist $(TEST_DIST) $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench

# CI runs `make lint` before `make test` (.ci/run). Configuration: [tool.ruff] and [tool.mypy] in
# pyproject.toml.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff check --fix .

schema: $(STAMP)
	$(BIN)/paygate export-schema > schema.graphql

# Regenerate the lock after changing pyproject.toml's dependencies (needs uv on the PATH).
lock:
	uv pip compile pyproject.toml --extra test --generate-hashes --python-version 3.11 --no-header -o requirements.lock

clean:
	rm -rf $(VENV) var/*.db var/*.db-wal var/*.db-shm
