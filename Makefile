# Huiyuan: `make run` brings the whole system up; `make test` runs the whole suite.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# eventlet warns on every import that it is in maintenance mode; nameko needs it
export PYTHONWARNINGS := ignore::DeprecationWarning
export PYTHONPATH := $(CURDIR)

.PHONY: run test fuzz unit integration demo bench audit lint provision servers browser pgbouncer env clean-test help chaos chaos-short backup restore k8s

help:
	@echo "make run    - set everything up and run all services and the gateway (Ctrl-C stops)"
	@echo "make test   - the whole suite against real PostgreSQL and RabbitMQ (isolated db and vhost)"
	@echo "make demo   - seed a demo chain into the running system's database"
	@echo "make fuzz   - Schemathesis for FUZZ_MINUTES (15) per role against the real gateway"
	@echo "make bench  - the money path against pgbench and the transport floor (README: Performance)"
	@echo "make audit  - check the books across services (exit 1 with a report if anything is off)"
	@echo "make backup - pg_dump of the whole database (every schema, one snapshot) to var/backups/"
	@echo "make restore BACKUP=<file> HUIYUAN_RESTORE_DB_NAME=<new db> - restore into a fresh database"
	@echo "make k8s    - render the Kubernetes overlays and validate them offline"
	@echo "make lint   - ruff"

$(STAMP): requirements.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) (apt-get install -y python3.11 python3.11-venv)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements.lock
	touch $(STAMP)

servers:
	@bash deploy/ensure_servers.sh

# Debian's chromium, chromium-driver and a Chinese font for the console's browser tests (apt-get when missing)
browser:
	@bash deploy/ensure_browser.sh

# Debian's pgbouncer, which tests/integration/test_pgbouncer.py starts in transaction mode (apt-get when missing)
pgbouncer:
	@bash deploy/ensure_pgbouncer.sh

env: $(STAMP)
	@$(PY) deploy/ensure_env.py

provision: $(STAMP) servers env
	@set -a; source var/huiyuan.env; set +a; $(PY) -m services.kit.provision

run: provision
	@set -a; source var/huiyuan.env; set +a; exec $(PY) deploy/run_all.py

demo: provision
	@set -a; source var/huiyuan.env; set +a; $(PY) -m deploy.demo

test: $(STAMP) servers browser pgbouncer
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m pytest

# the fuzz test of `make test`, with a long budget per role (HQ admin, cashier); its seed is printed
FUZZ_MINUTES ?= 15
fuzz: $(STAMP) servers
	HUIYUAN_FUZZ_SECONDS=$$(( $(FUZZ_MINUTES) * 60 )) HUIYUAN_TEST_DB_NAME=$${HUIYUAN_TEST_DB_NAME:-huiyuan_fuzz} \
		$(PY) -m pytest tests/e2e/test_fuzz.py -s

unit: $(STAMP)
	$(PY) -m pytest tests/unit

# its own database and vhost (huiyuan_bench) unless HUIYUAN_BENCH_DB_NAME / HUIYUAN_DB_NAME and
# HUIYUAN_AMQP_URI name others; never make run's; the keys and role passwords from var/huiyuan.env
bench: $(STAMP) servers env
	$(PY) -m bench

# the books across services (ledger, spend, outboxes, parked work) of the database in var/huiyuan.env
audit: $(STAMP) servers env
	@set -a; source var/huiyuan.env; set +a; $(PY) -m deploy.audit

# one pg_dump of the database in var/huiyuan.env (custom format, every schema in one snapshot);
# the personal-data keys are not in it: keep var/huiyuan.env apart from the backup (README, "Deploying")
backup: $(STAMP) servers env
	@set -a; source var/huiyuan.env; set +a; $(PY) -m deploy.backup backup $(if $(OUT),--out $(OUT))

# into a fresh database only: make restore BACKUP=var/backups/<file>.dump HUIYUAN_RESTORE_DB_NAME=huiyuan_restored
restore: $(STAMP) servers env
	@test -n "$(BACKUP)" || { echo "name the backup: make restore BACKUP=var/backups/<file>.dump HUIYUAN_RESTORE_DB_NAME=<new database>"; exit 1; }
	@set -a; source var/huiyuan.env; set +a; $(PY) -m deploy.backup restore $(BACKUP)

# the Kubernetes overlays rendered by the pinned kubectl and checked offline (also part of make test)
k8s: $(STAMP)
	$(PY) -m deploy.k8s_check

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# The fault suite: its own PostgreSQL and RabbitMQ on other ports, kills and outages, then the books
# must balance (README, "Faults"). Not part of `make test`. CHAOS_SEED and CHAOS_MINUTES are read.
chaos: $(STAMP)
	$(PY) -m tests.chaos

chaos-short: $(STAMP)
	$(PY) -m tests.chaos --short
