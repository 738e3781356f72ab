# Huiyuan: `make run` brings the whole system up; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# eventlet warns on every import that it is in maintenance mode; nameko needs it
export PYTHONWARNINGS := ignore::DeprecationWarning
export PYTHONPATH := $(CURDIR)

.PHONY: run test unit integration demo bench lint provision servers env clean-test help chaos chaos-short

help:
	@echo "make run    - set everything up and run all services and the gateway (Ctrl-C stops)"
	@echo "make test   - the whole suite against real PostgreSQL and RabbitMQ (isolated db and vhost)"
	@echo "make demo   - seed a demo chain into the running system's database"
	@echo "make bench  - benchmarks"
	@echo "make lint   - ruff"

$(STAMP): requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (apt-get install -y python3.11 python3.11-venv)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

servers:
	@bash deploy/ensure_servers.sh

env: $(STAMP)
	@$(PY) deploy/ensure_env.py

provision: $(STAMP) servers env
	@set -a; source var/huiyuan.env; set +a; $(PY) -m services.kit.provision

run: provision
	@set -a; source var/huiyuan.env; set +a; exec $(PY) deploy/run_all.py

demo: provision
	@set -a; source var/huiyuan.env; set +a; $(PY) -m deploy.demo

test: $(STAMP) servers
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

unit: $(STAMP)
	$(PY) -m pytest tests/unit

bench: $(STAMP) servers
	$(PY) -m bench

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The fault suite: its own PostgreSQL and RabbitMQ on other ports, kills and outages, then the books
# must balance (README, "Faults"). Not part of `make test`. CHAOS_SEED and CHAOS_MINUTES are read.
chaos: $(STAMP)
	$(PY) -m tests.chaos

chaos-short: $(STAMP)
	$(PY) -m tests.chaos --short
