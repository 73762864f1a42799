# Madoguchi: `make run` starts the service, `make test` runs every test. `make help` lists all.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
# Two workers: this machine has two cores; each browser test module keeps one browser.
PYTEST_WORKERS ?= 2

WIDGET_SOURCES := $(wildcard widget/src/* widget/src/i18n/*) widget/build.mjs

# What running needs: the service's own dependencies, and the widget's build (esbuild and the
# Socket.IO client it bundles). Tests and linters add their tools on top (the -dev stamps).
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

widget/node_modules/.installed: widget/package.json widget/package-lock.json
	cd widget && npm ci --omit=dev --no-audit --no-fund --loglevel=error
	touch $@

# ESLint, its rules and axe-core as well. npm ci starts from an empty node_modules (stamps
# included), and a full install also holds what the build needs: it marks both done.
widget/node_modules/.installed-dev: widget/package.json widget/package-lock.json
	cd widget && npm ci --no-audit --no-fund --loglevel=error
	touch widget/node_modules/.installed $@

widget/dist/.built: widget/node_modules/.installed $(WIDGET_SOURCES)
	cd widget && node build.mjs
	touch $@

.PHONY: setup
setup: $(VENV)/.installed widget/dist/.built ## Install what running needs and build the widget

# The full installs come first, so that the build's own install is already done.
.PHONY: setup-dev
setup-dev: $(VENV)/.installed-dev widget/node_modules/.installed-dev widget/dist/.built ## setup, plus the test and lint tools

# Browser layout needs a Japanese font: without one, Chromium draws the UI in tofu boxes.
.PHONY: chromium
chromium: ## Install Debian's Chromium and a Japanese font for the browser tests (needs root)
	@missing=""; \
	test -x $(CHROMIUM) || missing="chromium"; \
	dpkg-query -W -f='$${Status}' fonts-noto-cjk 2>/dev/null | grep -q 'ok installed' || missing="$$missing fonts-noto-cjk"; \
	if [ -n "$$missing" ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

# The demo should work at any hour: on a new database, `make run` opens the default desk around
# the clock. `madoguchi serve` on its own gives it the ward's hours.
.PHONY: run
run: setup ## Start Madoguchi on http://127.0.0.1:8000 with SQLite and the demo page at /demo
	MADOGUCHI_DEFAULT_DESK_HOURS="$${MADOGUCHI_DEFAULT_DESK_HOURS:-24/7}" $(BIN)/madoguchi serve

# The multi-node tests start their own PostgreSQL and Redis (own folders, free loopback ports);
# a cluster or server that the packages may start by themselves is never used.
.PHONY: backends
backends: ## Install Debian's PostgreSQL and Redis for the multi-node tests (needs root)
	@missing=""; \
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing="postgresql"; \
	command -v redis-server >/dev/null || missing="$$missing redis-server"; \
	if [ -n "$$missing" ]; then \
	  for package in $$missing; do \
	    apt-cache show $$package >/dev/null 2>&1 || { apt-get update -qq; break; }; \
	  done; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

.PHONY: test
test: setup-dev chromium backends ## Run every test, browser tests included
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The same tests, browsers aside, with every test server on a fresh database of the private
# PostgreSQL and a Redis database of its own; tests about SQLite itself are skipped.
.PHONY: test-postgres
test-postgres: setup-dev backends ## Run the tests (not the browser ones) on PostgreSQL and Redis
	MADOGUCHI_TEST_BACKEND=postgres $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile \
	  -m "not browser" $(PYTEST_ARGS)

.PHONY: lint
lint: setup-dev ## ruff, ruff format --check, mypy and ESLint (Standard style) on the widget
	$(BIN)/ruff check service tests bench
	$(BIN)/ruff format --check service tests bench
	$(BIN)/mypy
	cd widget && npx eslint .

.PHONY: fmt
fmt: setup-dev ## Format the Python code
	$(BIN)/ruff format service tests bench
	$(BIN)/ruff check --fix service tests bench

# BENCH_ARGS passes options on: "--quick", "--database-url URL" (the service on PostgreSQL),
# "--compare-postgres" (SQLite and PostgreSQL side by side; needs `make backends`), see --help.
.PHONY: bench
bench: setup-dev ## Measure the whole path against a bare Socket.IO relay (BENCH_ARGS=...)
	$(BIN)/python -m bench $(BENCH_ARGS)

# Lighthouse (a devDependency of the widget) drives Debian's Chromium; the server is private
# to the run (temporary database, free port on 127.0.0.1) and stopped at the end.
.PHONY: lighthouse
lighthouse: setup-dev chromium ## Lighthouse mobile scores (performance, accessibility) of /chat and /demo
	cd widget && CHROME_PATH="$${CHROME_PATH:-$(CHROMIUM)}" node lighthouse.mjs

.PHONY: clean
clean: ## Remove the virtual environment, node modules and builds (keeps var/)
	rm -rf $(VENV) widget/node_modules widget/dist

.PHONY: help
help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'
