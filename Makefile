# Manual Trigger Invocation: `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
CLI := $(BIN)/manual-trigger
# The panel (ui/): npm ci when the lock file changes, a build when any source changes;
# ui/dist/index.html is the stamp of the last build.
UI_DEPS := ui/node_modules/.package-lock.json
UI_BUILT := ui/dist/index.html
UI_SOURCES := $(shell find ui/src ui/scripts/compress.mjs ui/index.html ui/vite.config.ts ui/tsconfig.json ui/package.json -type f 2>/dev/null)

.PHONY: help install services browsers migrate topology demo run teardown test test-unit test-faults lint format schemas ui-types screenshots bench bench-smoke clean

help: ## Show the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-12s\033[0m %s\n", $$1, $$2}'

install: $(INSTALLED) $(UI_BUILT) ## Create .venv and install the project with its dev tools; build the panel

$(INSTALLED): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --editable '.[dev]'
	touch $@

$(UI_DEPS): ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund
	touch $@

$(UI_BUILT): $(UI_DEPS) $(UI_SOURCES)
	cd ui && npm run --silent build

services: ## Start local RabbitMQ, PostgreSQL and Redis if they are not running
	@scripts/services.sh

browsers: ## Install the browsers the panel's end-to-end test drives (Debian's chromium, firefox-esr)
	@scripts/browsers.sh

migrate: install services ## Create the database and apply migrations
	$(CLI) migrate

topology: install services ## Declare exchanges, queues and bindings
	$(CLI) topology

demo: migrate ## Seed the demo workflow wf_demo
	$(CLI) demo

run: demo topology ## Install, migrate, declare topology, seed the demo, print a token, start everything
	@echo
	@echo "Bearer token for demo-user (operator on wf_demo):"
	@echo "  $$($(CLI) token --user demo-user 2>/dev/null)"
	@echo "Mint another: TOKEN=\$$($(CLI) token --user demo-user)"
	@echo "API on http://127.0.0.1:$${MTI_HTTP_PORT:-8000} (docs at /docs); Ctrl-C stops."
	@echo "The panel, signed in as demo-user:"
	@echo "  http://127.0.0.1:$${MTI_HTTP_PORT:-8000}/#token=$$($(CLI) token --user demo-user 2>/dev/null)"
	@echo
	exec $(CLI) run

teardown: install ## Remove what `make run` left: this namespace's queues, exchanges, Redis keys, database (asks)
	$(CLI) teardown

test: install services browsers ## Run the whole test suite against the local services
	$(BIN)/pytest

test-unit: install ## Run the unit tests only (no services needed)
	$(BIN)/pytest tests/unit

test-faults: install services ## Fault suite on its own 3-node RabbitMQ clusters (root), partitions included; writes docs/RELIABILITY.md
	$(BIN)/pytest tests/faults -m 'faults or partitions'

lint: install ## ruff, formatting and mypy; the panel's TypeScript and ESLint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	cd ui && npm run --silent typecheck
	cd ui && npm run --silent lint

format: install ## Apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install services ## Benchmarks, the worst requests' checks, a 10-minute soak; *-results.json
	$(BIN)/python -m tests.benchmarks.bench
	$(BIN)/python -m tests.benchmarks.worst
	$(BIN)/python -m tests.benchmarks.soak

bench-smoke: install services ## Every benchmark figure on a few messages (seconds)
	$(BIN)/python -m tests.benchmarks.bench --smoke --output /tmp/bench-smoke.json
	$(BIN)/python -m tests.benchmarks.worst --smoke --output /tmp/worst-smoke.json

ui-types: install ## Regenerate the panel's API types from the shim's OpenAPI document
	$(BIN)/python scripts/openapi.py > ui/node_modules/.openapi.json
	cd ui && npx openapi-typescript node_modules/.openapi.json -o src/api/schema.d.ts

# The panel's main states as the browser tests shot them in Chromium (ui/e2e/screenshots/),
# each as shot:name-in-docs.
DOC_SHOTS := webhook-result:panel execution-view:panel-execution execution-view-375:panel-375 \
	github-push:ui-github-push format-error:ui-format-error reproduce-real:ui-reproduce \
	session-expired:ui-session-expired execution-failed:ui-execution-failed viewer:ui-viewer \
	narrow-375:ui-narrow-375

screenshots: ## Copy the screenshots the browser tests took (make test) into docs/
	@for pair in $(DOC_SHOTS); do \
		cp ui/e2e/screenshots/chrome/$${pair%%:*}.png docs/$${pair##*:}.png || exit 1; done
	@echo "docs/: $(words $(DOC_SHOTS)) screenshots from ui/e2e/screenshots/chrome/"

schemas: install ## Rewrite the exported JSON Schemas under contracts/schemas/
	$(BIN)/python -m contracts.export

clean: ## Remove the virtualenv and caches
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis ui/node_modules ui/dist
