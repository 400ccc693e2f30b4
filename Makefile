# The README's two commands: `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

dev: $(STAMP)
	SAAS_ENV=$${SAAS_ENV:-development} $(BIN)/saas dev

test: $(STAMP)
	$(BIN)/ruff check saas tests bench
	$(BIN)/ruff format --check saas tests bench
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check saas tests bench
	$(BIN)/ruff format --check saas tests bench

bench: $(STAMP)
	$(BIN)/python bench/provision.py

clean:
	rm -rf $(VENV) instance/test
