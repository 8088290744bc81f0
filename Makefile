# One entry point for people and CI. `make serve` and `make test` bootstrap everything they
# need (virtualenv, dependencies, generated gRPC code) on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
GEN    := gen/python/.stamp
PROTOS := $(shell find protos -name '*.proto')
# `make serve PORT=6000` wins, then MASSAGE_ESTIMATOR_PORT from the environment, then 50051.
PORT   ?= $(or $(MASSAGE_ESTIMATOR_PORT),50051)

.PHONY: serve test lint typecheck precommit check gen clean

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

## Start the service on the built-in sample data (payer_rules/), on port $(PORT)
## (MASSAGE_ESTIMATOR_PORT, or `make serve PORT=...`).
serve: $(GEN)
	$(BIN)/massage-estimator serve --port $(PORT)

## Run every test.
test: $(GEN)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## ruff, ruff format and the import contracts (pyproject.toml [tool.importlinter]).
lint: $(GEN)
	$(BIN)/ruff check service tests scripts setup.py
	$(BIN)/ruff format --check service tests scripts setup.py
	$(BIN)/lint-imports --no-logo

typecheck: $(GEN)
	$(BIN)/mypy service tests scripts

## Every pre-commit hook on every file, as CI runs them (.pre-commit-config.yaml).
precommit: $(GEN)
	$(BIN)/pre-commit run --all-files --show-diff-on-failure

check: lint typecheck test

clean:
	rm -rf $(VENV) .venv-checkov gen build var .pytest_cache .mypy_cache .ruff_cache
