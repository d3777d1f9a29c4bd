# sureapp: `make run` serves the app on http://127.0.0.1:5000, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
FLASK := $(BIN)/flask --app app

.PHONY: setup run test migrate migration chromium node clean serve bench

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $@

setup: $(STAMP)

migrate: setup
	$(FLASK) db upgrade

run: migrate
	$(FLASK) run --host 127.0.0.1 --port 5000

# Production serving: gunicorn with gunicorn.conf.py (BIND, WEB_CONCURRENCY… from the environment).
serve: migrate
	$(BIN)/gunicorn -c gunicorn.conf.py

# Benchmark (bench/RESULTS.md): gunicorn + wrk on 127.0.0.1; PostgreSQL + Redis too when
# TEST_DATABASE_URL / TEST_REDIS_URL are set. wrk comes from Debian's packages if missing.
bench: setup
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq wrk >/dev/null; fi; }
	$(BIN)/python -m bench $(BENCH_ARGS)

# Browser tests drive Debian's Chromium; install it if it is missing (never a downloaded browser).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null; fi; }

# Node tools for the tests only (axe-core for the accessibility test; Redocly and Spectral for
# tests/api/test_openapi_lint.py; the MCP Inspector's CLI for tests/mcp/test_inspector_cli.py),
# pinned in package-lock.json;
# `make run` never needs node. npm comes from Debian's packages if missing.
NODE_STAMP := node_modules/.installed-$(shell sha1sum package-lock.json | cut -c1-12)
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq npm >/dev/null; \
	  else sudo apt-get update -qq && sudo apt-get install -y -qq npm >/dev/null; fi; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_STAMP)

test: setup chromium node
	$(BIN)/python -m pytest -q -n auto

# Regenerate the initial migration from the models (only while nothing has been released).
migration: setup
	rm -f migrations/versions/*.py /tmp/sureapp-migration.db
	DATABASE_URL=sqlite:////tmp/sureapp-migration.db $(FLASK) db migrate -m "initial schema" --rev-id 0001_initial
	rm -f /tmp/sureapp-migration.db*

clean:
	rm -rf $(VENV) node_modules instance/sureapp.db*
