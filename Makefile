# OpenIOP: `make run` and `make test` are the two commands (README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_PATIENTS ?= 120
export DJANGO_SETTINGS_MODULE ?= config.settings.base

.PHONY: run test install install-dev lint typecheck check bench browser-test clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	DEMO_MODE=$${DEMO_MODE:-true} $(PY) manage.py migrate --noinput
	DEMO_MODE=$${DEMO_MODE:-true} $(PY) manage.py collectstatic --noinput --verbosity 0
	DEMO_MODE=$${DEMO_MODE:-true} $(PY) manage.py demo_data --if-empty --patients $(DEMO_PATIENTS) --seed 1
	DEMO_MODE=$${DEMO_MODE:-true} $(PY) manage.py demo_logins
	@echo "OpenIOP is serving on http://$(HOST):$(PORT) with a background worker  (Ctrl-C to stop)"
	DEMO_MODE=$${DEMO_MODE:-true} VENV=$(VENV) $(PY) scripts/serve.py --interface wsgi --host $(HOST) --port $(PORT) \
		--workers 2 --blocking-threads 2 --log-level warning config.wsgi:application

# Tests use the test settings (pyproject.toml), not the exported run-time default.
test: install-dev
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) -m pytest -q

browser-test: install-dev
	DJANGO_SETTINGS_MODULE=config.settings.test DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest -q -m browser -p no:randomly

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install-dev
	$(VENV)/bin/mypy openiop config

check: lint typecheck
	DJANGO_SETTINGS_MODULE=config.settings.test $(PY) manage.py makemigrations --check --dry-run

bench: install-dev
	$(PY) bench/run.py
	$(PY) bench/intake_board.py
	$(PY) bench/scheduling.py
	$(PY) bench/notes.py

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .mypy_cache .ruff_cache
