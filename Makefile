# Early Help Platform — every task starts from Python 3.11+ and make alone.
.DEFAULT_GOAL := help
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.8
INSTALLED := $(VENV)/.installed
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2
RUN_ARGS ?=
# e.g. make run RUN_ARGS=--no-seed

.PHONY: help install run test test-spark soak lint typecheck migrate seed bench audit-verify clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required (set PYTHON=python3.11)")'
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(INSTALLED): $(UV) uv.lock pyproject.toml shared/pyproject.toml gateway/pyproject.toml $(wildcard services/*/pyproject.toml)
	$(UV) sync --frozen --all-packages
	@touch $@

# The cohort report test renders HTML in a headless browser: Debian's chromium, installed when missing and we may.
CHROMIUM_STAMP := $(VENV)/.chromium
$(CHROMIUM_STAMP): | $(UV)
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's chromium for the report test"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "warning: could not install chromium; the report test will say so"; \
	else echo "warning: chromium is not installed (apt-get install chromium); the report test will say so"; fi
	@touch $@

# `promtool check metrics` (tests/conformance) comes from Debian's prometheus package: only promtool is unpacked into
# .venv/bin (installing the package would also install, and start, a Prometheus server).
PROMTOOL := $(VENV)/bin/promtool
$(PROMTOOL): | $(UV)
	@if command -v promtool >/dev/null 2>&1; then ln -sf "$$(command -v promtool)" $@; \
	elif command -v apt-get >/dev/null 2>&1 && command -v dpkg-deb >/dev/null 2>&1; then \
		echo "unpacking promtool from Debian's prometheus package for the metrics test"; \
		tmp=$$(mktemp -d); \
		(cd $$tmp && { apt-get download prometheus >/dev/null 2>&1 \
			|| { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get download prometheus >/dev/null 2>&1; }; } \
			&& dpkg-deb -x prometheus_*.deb root) && cp $$tmp/root/usr/bin/promtool $@; \
		rm -rf $$tmp; \
		[ -x $@ ] || echo "warning: could not install promtool; the metrics test will say so"; \
	else echo "warning: promtool is not installed (Debian: prometheus); the metrics test will say so"; fi

# checkov (PyPI) checks the rendered Kubernetes overlays (tests/deploy); in its own environment, since it pins
# versions of libraries the services use.
CHECKOV_VERSION := 3.3.30
CHECKOV := $(VENV)/tools/bin/checkov
$(CHECKOV): | $(UV)
	@echo "installing checkov $(CHECKOV_VERSION) for the Kubernetes test"
	@UV_TOOL_DIR=$(CURDIR)/$(VENV)/tools UV_TOOL_BIN_DIR=$(CURDIR)/$(VENV)/tools/bin \
		$(UV) tool install --quiet --force "checkov==$(CHECKOV_VERSION)" \
		|| echo "warning: could not install checkov; the Kubernetes test will say so"

# Spectral with the OWASP API ruleset (npm) lints the four OpenAPI documents against `.spectral.yaml`
# (tests/conformance/test_spectral.py); installed, at the pinned versions, into its own directory under .venv.
SPECTRAL_VERSION := 6.16.3
SPECTRAL_OWASP_VERSION := 2.0.1
SPECTRAL_DIR := $(VENV)/tools/spectral
SPECTRAL_STAMP := $(SPECTRAL_DIR)/.installed-$(SPECTRAL_VERSION)-$(SPECTRAL_OWASP_VERSION)
$(SPECTRAL_STAMP): | $(UV)
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing Spectral $(SPECTRAL_VERSION) and the OWASP ruleset $(SPECTRAL_OWASP_VERSION) for the OpenAPI test"; \
		mkdir -p $(SPECTRAL_DIR) && npm install --silent --no-audit --no-fund --prefix $(SPECTRAL_DIR) \
			"@stoplight/spectral-cli@$(SPECTRAL_VERSION)" "@stoplight/spectral-owasp-ruleset@$(SPECTRAL_OWASP_VERSION)" \
		&& touch $@ || echo "warning: could not install Spectral; the OpenAPI test will say so"; \
	else echo "warning: npm is not installed (Debian: npm); the Spectral test will say so"; fi

# The graphql-http server audit (npm, tests/conformance/test_graphql_http.py): installed with npm into .venv/tools
# (ignored by git), pinned; needs Node.js 18+ (Debian: nodejs, npm).
GRAPHQL_HTTP_VERSION := 1.22.4
GRAPHQL_JS_VERSION := 16.11.0
GRAPHQL_HTTP_DIR := $(VENV)/tools/graphql-http
GRAPHQL_HTTP := $(GRAPHQL_HTTP_DIR)/.installed-$(GRAPHQL_HTTP_VERSION)
$(GRAPHQL_HTTP): | $(UV)
	@if command -v npm >/dev/null 2>&1; then \
		echo "installing graphql-http $(GRAPHQL_HTTP_VERSION) for the GraphQL over HTTP audit"; \
		mkdir -p $(GRAPHQL_HTTP_DIR) && (cd $(GRAPHQL_HTTP_DIR) && npm install --no-audit --no-fund --silent \
			graphql-http@$(GRAPHQL_HTTP_VERSION) graphql@$(GRAPHQL_JS_VERSION)) && touch $@ \
		|| echo "warning: could not install graphql-http; the GraphQL over HTTP audit will say so"; \
	else echo "warning: npm is not installed (Debian: nodejs npm); the GraphQL over HTTP audit will say so"; fi

TOOLS := $(CHROMIUM_STAMP) $(PROMTOOL) $(CHECKOV) $(SPECTRAL_STAMP) $(GRAPHQL_HTTP)

install: $(INSTALLED) ## Install everything into .venv from the lock file (runs automatically)

run: $(INSTALLED) ## Start PostgreSQL (embedded unless DATABASE_URL), migrate, seed, run all services + gateway
	exec $(VENV)/bin/earlyhelp up --stop-with-parent $(RUN_ARGS)

test: $(INSTALLED) $(TOOLS) ## Run the whole test suite against a real PostgreSQL (embedded unless TEST_DATABASE_URL)
	$(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-spark: $(INSTALLED) ## The Spark linkage test: installs the intelligence service's spark extra (pyspark), needs Java
	$(UV) sync --frozen --all-packages --extra spark
	$(VENV)/bin/pytest -n 0 -m spark $(PYTEST_ARGS) tests/intelligence

soak: $(INSTALLED) ## Long fault and load runs (kill services under load, 500 referrals); not part of make test
	$(VENV)/bin/pytest -m soak $(PYTEST_ARGS)

lint: $(INSTALLED) ## ruff (lint and format check) and the architecture rules (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: $(INSTALLED) ## mypy --strict over every package
	$(VENV)/bin/mypy shared/shared services/referrals/referrals services/cases/cases services/outcomes/outcomes services/intelligence/intelligence gateway/gateway earlyhelp

migrate: $(INSTALLED) ## Create the databases and apply every service's migrations
	$(VENV)/bin/earlyhelp migrate

seed: $(INSTALLED) ## Load the deterministic demo data
	$(VENV)/bin/earlyhelp seed --demo

audit-verify: $(INSTALLED) ## Verify every service's hash-chained access log
	$(VENV)/bin/earlyhelp audit verify

# The intake benchmark drives HTTP load with wrk (Debian's package), installed when missing and we may.
WRK_STAMP := $(VENV)/.wrk
$(WRK_STAMP): | $(UV)
	@if command -v wrk >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's wrk for the intake benchmark"; \
		(DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null 2>&1 \
		 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null)) \
		|| echo "warning: could not install wrk; the intake benchmark will say so"; \
	else echo "warning: wrk is not installed (apt-get install wrk); the intake benchmark will say so"; fi
	@touch $@

BENCH_OUT := $(VENV)/bench-last.txt
bench: $(INSTALLED) $(WRK_STAMP) ## Run the benchmarks (long; not part of make test); print figures and targets met
	@set -o pipefail; : > $(BENCH_OUT); status=0; \
	for b in bench/*.py; do case $$b in *common*|bench/_*) continue;; esac; echo "== $$b"; \
		$(VENV)/bin/python $$b 2>&1 | tee -a $(BENCH_OUT) || status=1; done; \
	echo "== targets of issue 20 (each a ratio or figure of one run; the machine's load is on each line)"; \
	grep '^TARGET ' $(BENCH_OUT) || true; exit $$status

clean: ## Remove the virtual environment and caches (keeps .data/)
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
