# Quartermaster: the two commands a new colleague needs are `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
PYTEST_ARGS ?= -n auto --durations=30  # the 30 slowest tests, so a slower suite says where its time went

.PHONY: run stack load test lint format migrate bench browser system-tools clean-venv

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/activate
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

# scikit-learn and skl2onnx: only to train models (make run trains the first one); predicting needs neither.
$(VENV)/.train-installed: requirements-train.txt $(VENV)/.runtime-installed
	$(BIN)/pip install --quiet -r requirements-train.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.train-installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

## run: install, migrate, seed categories, make sure an admin and a model exist, start web + worker (Ctrl-C stops both)
run: $(VENV)/.train-installed
	$(FLASK) db upgrade
	$(FLASK) users ensure-admin
	$(FLASK) categories seed
	$(FLASK) model train --if-missing
	@echo "Quartermaster on http://127.0.0.1:$${PORT:-8000} (Ctrl-C stops web and worker)"
	@# honcho gives the first process PORT=--port, so gunicorn binds where we said.
	exec $(BIN)/honcho start --procfile Procfile --port $${PORT:-8000}

## stack: the production shape on this machine: nginx (TLS, 127.0.0.1:8443) -> gunicorn, two Huey consumers,
## on DATABASE_URL / REDIS_URL (default: the local PostgreSQL and Redis); Ctrl-C stops all of it
stack: $(VENV)/.runtime-installed system-tools
	$(BIN)/python tools/stack.py

## test: install test tools, Chromium, nginx and docker-compose if missing, check PostgreSQL and Redis, run every test
test: $(VENV)/.dev-installed browser system-tools
	$(BIN)/pytest $(PYTEST_ARGS)

## browser: Debian's Chromium for the end-to-end tests (Playwright cannot download its own here)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

## system-tools: Debian's nginx (the TLS proxy of `make stack` and its test) and docker-compose (validates the compose file)
system-tools:
	@missing=""; \
	  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	  command -v docker-compose >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	  command -v openssl >/dev/null 2>&1 || missing="$$missing openssl"; \
	  if [ -n "$$missing" ]; then \
	    echo "Installing Debian's$$missing..."; \
	    SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  fi

## lint: style (ruff) and the import rules of pyproject.toml (import-linter)
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	PYTHONPATH=. $(BIN)/lint-imports --no-cache

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# locust (the load benchmark) lives in its own venv: its pins differ from the app's.
.venv-bench/.installed: requirements-bench.txt
	$(PYTHON) -m venv .venv-bench
	.venv-bench/bin/pip install --quiet --upgrade pip
	.venv-bench/bin/pip install --quiet -r requirements-bench.txt
	touch $@

## load: locust through nginx TLS against `make stack`'s shape (bench/load.py starts its own stack)
load: $(VENV)/.dev-installed .venv-bench/.installed system-tools
	$(BIN)/python bench/load.py $(BENCH_ARGS)

## bench: print performance figures (stock needs PostgreSQL: BENCH_DATABASE_URL; BENCH_ARGS=--quick for a short run)
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/stock.py $(BENCH_ARGS)
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)
	$(BIN)/python bench/classify.py $(BENCH_ARGS)
	$(BIN)/python bench/alerts.py $(BENCH_ARGS)

migrate: $(VENV)/.runtime-installed
	$(FLASK) db upgrade

clean-venv:
	rm -rf $(VENV)
