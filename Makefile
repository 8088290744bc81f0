# One entry point for people and CI. `make serve` and `make test` bootstrap everything they
# need (virtualenv, dependencies, generated gRPC code) on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
GEN    := gen/python/.stamp
PROTOS := $(shell find protos -name '*.proto')
PORT   ?= 50051

.PHONY: serve test lint typecheck check gen clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

$(GEN): $(STAMP) $(PROTOS) scripts/gen_protos.py
	$(BIN)/python scripts/gen_protos.py
	# re-run the editable install so the freshly generated package is mapped in
	$(BIN)/pip install -q --no-deps -e .
	touch $@

gen: $(GEN)

## Start the service on the built-in sample data (payer_rules/), on port $(PORT).
serve: $(GEN)
	$(BIN)/massage-estimator serve --port $(PORT)

## Run every test.
test: $(GEN)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(GEN)
	$(BIN)/ruff check service tests scripts
	$(BIN)/ruff format --check service tests scripts

typecheck: $(GEN)
	$(BIN)/mypy service
	$(BIN)/mypy --explicit-package-bases scripts/bench

check: lint typecheck test

clean:
	rm -rf $(VENV) gen build var .pytest_cache .mypy_cache .ruff_cache
