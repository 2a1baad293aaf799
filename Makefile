# Every target bootstraps .venv itself; a fresh clone needs only Python >= 3.11, Node.js and npm.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFORMANCE := tests/conformance
NODE_STAMP := $(CONFORMANCE)/node_modules/.installed

.PHONY: install serve test test-load fuzz lint bench bench-enumeration soak wrk fmt clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): $(CONFORMANCE)/package.json $(CONFORMANCE)/package-lock.json
	cd $(CONFORMANCE) && npm ci --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

serve: install
	$(BIN)/ticketbooth serve --demo --host $${HOST:-127.0.0.1} --port $${PORT:-8080}

test: install $(NODE_STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-load: install
	$(BIN)/python -m pytest -q -m load $(PYTEST_ARGS)

# The long fuzzing: Schemathesis against a live server from its /openapi.json, many cases per operation
# (FUZZ_CASES, default 60) with a new seed each run (printed; FUZZ_SEED=n replays one), then the Hypothesis
# property tests with the `fuzz` profile (50 times the examples, drawn anew; failures kept in .hypothesis/).
# PostgreSQL too when TICKETBOOTH_TEST_POSTGRES_URL is set.
PROPERTY_TESTS := $(wildcard tests/*/test_properties_*.py)
fuzz: install
	$(BIN)/python -m pytest -q -s -m fuzz tests/test_schema_fuzz.py $(PYTEST_ARGS)
	HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -q $(PROPERTY_TESTS) $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	PYTHONPATH=tools $(BIN)/lint-imports

# wrk is the load generator (Debian's package; installing it needs root, as on the CI machines)
wrk:
	@command -v wrk >/dev/null || apt-get install -y wrk || (apt-get update && apt-get install -y wrk)

bench: install wrk
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Login, reset and OTP timing for known vs unknown accounts (goal < 5%); ENUM_ARGS e.g.
# "--database-url postgresql://... --rounds 300". Writes bench/results/.
bench-enumeration: install
	$(BIN)/python bench/enumeration.py --save $(ENUM_ARGS)

# The long runs: SIGKILL crash cycles under load, races, database/Redis outages (pytest -m soak, on PostgreSQL
# too when TICKETBOOTH_TEST_POSTGRES_URL is set; -s prints the counts), then the memory soak: the storefront
# mix against one server for 10 minutes, RSS every 10 s (goal: flat within 10% after the warm-up);
# SOAK_ARGS e.g. "--minutes 30 --database-url postgresql://...". Writes bench/results/.
soak: install wrk
	$(BIN)/python -m pytest -q -s -m soak tests/test_crash_durability.py tests/test_races.py tests/test_faults.py $(PYTEST_ARGS)
	$(BIN)/python bench/soak.py --save $(SOAK_ARGS)

fmt: install
	$(BIN)/ruff check --fix src tests bench tools

clean:
	rm -rf $(VENV) var $(CONFORMANCE)/node_modules .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
