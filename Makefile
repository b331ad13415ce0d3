# The two commands a user needs: `make run` (full conformance plan) and `make test`.
# Both do all set-up first (scripts/setup.sh is idempotent and quiet when nothing is missing).
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=
# Compiled bytecode (and pytest's rewritten test modules) is kept under build/pycache, never
# beside the sources, even where the shell sets PYTHONDONTWRITEBYTECODE: every rig process
# (rig run's controller and workers, stand-alone parties, tests' subprocesses) then starts
# 1-3 s sooner than when it compiles the rig from source (docs/performance.md).
export PYTHONPYCACHEPREFIX := $(CURDIR)/build/pycache
unexport PYTHONDONTWRITEBYTECODE

.PHONY: setup run test lint typecheck unit smoke bench fuzz soak doctor clean

setup:
	@scripts/setup.sh

run: setup
	$(BIN)/rig run --plan full --workers 2

test: setup lint typecheck unit smoke

PY_SOURCES := rig emulators scenarios reports tests conftest.py

lint:
	$(BIN)/ruff check $(PY_SOURCES)
	$(BIN)/ruff format --check $(PY_SOURCES)
	$(BIN)/lint-imports

typecheck:
	$(BIN)/mypy

unit:
	scripts/check-strays.sh $(BIN)/pytest -n 2 -m "not slow" $(PYTEST_ARGS)

# the smoke plan through the real harness (rig run), as the nightly run would
smoke:
	$(BIN)/rig run --plan smoke --workers 2 --report-dir build/reports/smoke

bench: setup
	$(BIN)/python -m rig.harness.bench

fuzz: setup
	RIG_FUZZ_SCALE=20 $(BIN)/pytest -m fuzz -n 2 $(PYTEST_ARGS)

# a simulated week of 1,000 customers, the whole defect pack (docs/selftest.md), then every
# long-running test (marked slow)
soak: setup
	$(BIN)/rig soak --transactions 1000
	$(BIN)/rig selftest --workers 2
	$(BIN)/pytest -m slow --deselect tests/test_soak.py::test_full_soak_a_week_of_traffic $(PYTEST_ARGS)

doctor: setup
	$(BIN)/rig doctor

clean:
	rm -rf build .mypy_cache .ruff_cache .hypothesis .import_linter_cache
