# One command to try gre (`make demo`), one to test it (`make test`). Both set everything up.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
EXAMPLE := examples/sign.jpg
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test lint layers typecheck unit bench system-deps system-deps-test clean

demo: system-deps $(VENV)/.demo $(EXAMPLE)
	$(BIN)/gre locate $(EXAMPLE)

test: system-deps-test $(VENV)/.dev lint layers typecheck unit

lint: $(VENV)/.dev
	$(BIN)/ruff check gre tests bench examples scripts
	$(BIN)/ruff format --check gre tests bench examples scripts

layers: $(VENV)/.dev
	$(BIN)/lint-imports

typecheck: $(VENV)/.dev
	$(BIN)/mypy

unit: $(VENV)/.dev
	$(BIN)/pytest -q

bench: system-deps $(VENV)/.dev
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

system-deps:
	@scripts/system-deps.sh

system-deps-test:
	@scripts/system-deps.sh --test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[ocr]'
	touch $@

# torch first, from TORCH_SPEC (a CPU build here), so that `.[hf]` finds it and pulls nothing else.
$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -e '.[ocr,dev,hf]'
	touch $@

$(EXAMPLE): examples/make_sign.py | $(VENV)/.demo
	$(BIN)/python examples/make_sign.py $@

clean:
	rm -rf $(VENV) $(EXAMPLE) .pytest_cache .mypy_cache .ruff_cache
