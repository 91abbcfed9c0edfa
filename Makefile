# Chorus — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON := $(shell scripts/find-python)
VENV := .venv
TOOLS := .tools
UV := $(TOOLS)/bin/uv
UV_VERSION := 0.13.9
RUN := $(VENV)/bin/python
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

# PostgreSQL and Redis on localhost for the test suite (started by scripts/services if installed).
TEST_ENV := DATABASE_URL=postgres://postgres@127.0.0.1:5432/chorus REDIS_URL=redis://127.0.0.1:6379/15

.PHONY: help demo demo-reset test lint typecheck migrations security shell bench resilience install services browser static clean

help:
	@echo "make demo   - install, migrate, seed a demo organization and serve http://127.0.0.1:8000"
	@echo "make test   - install, lint, type-check and run the whole suite on PostgreSQL + Redis"
	@echo "make bench  - scale benchmarks (prints ratios)"
	@echo "make resilience - kill, restart and starve every moving part; prints the table (README: Reliability)"
	@echo "make lint | typecheck | migrations | security | shell"

$(UV):
	@test -n "$(PYTHON)" || exit 1
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python $(PYTHON)
	@touch $@

install: $(VENV)/.installed

# The demo's platform API doubles listen on loopback; the real connectors are pointed at them.
DEMO_PLATFORMS := CHORUS_X_API_BASE=http://127.0.0.1:8101 CHORUS_FACEBOOK_API_BASE=http://127.0.0.1:8102 \
	CHORUS_BLUESKY_API_BASE=http://127.0.0.1:8103 CHORUS_DEMO_MASTODON_URL=http://127.0.0.1:8104 \
	CHORUS_OUTBOUND_ALLOWLIST=http://127.0.0.1:8104,http://127.0.0.1:8105 \
	CHORUS_X_BEARER_TOKEN=demo-x-app-bearer CHORUS_POLL_INTERVAL=60 CHORUS_POLL_INTERVAL_CORPORATE=30

# Single sign-on: a local OpenID Connect provider on loopback signs in as the demo officer ("Sign in with Demo SSO").
DEMO_SSO := CHORUS_OIDC_ISSUER=http://127.0.0.1:8105 CHORUS_OIDC_CLIENT_ID=chorus-demo \
	CHORUS_OIDC_CLIENT_SECRET=demo-sso-client-secret CHORUS_OIDC_NAME="Demo SSO"

# The demo's mail (alerts, digests, feedback) is written to var/outbox/, one file per email.
DEMO_MAIL := CHORUS_EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend CHORUS_EMAIL_FILE_PATH=var/outbox \
	CHORUS_SITE_URL=http://127.0.0.1:8000

# The demo keeps its own Fernet key under var/ (created once), so its encrypted credentials survive restarts.
demo: install
	@mkdir -p var
	@test -s var/demo-fernet.key || (umask 077; $(RUN) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' > var/demo-fernet.key)
	DEBUG=true CHORUS_HTTPS=false CHORUS_FERNET_KEYS_FILE=var/demo-fernet.key $(DEMO_PLATFORMS) $(DEMO_SSO) $(DEMO_MAIL) $(RUN) manage.py demo

# Start the demo over from an empty organization (removes only the demo's SQLite database).
demo-reset:
	rm -f var/chorus.sqlite3 var/chorus.sqlite3-wal var/chorus.sqlite3-shm

services:
	@scripts/services

# Tests run with the production static pipeline (WhiteNoise manifest), as the image does.
static: install
	@SECRET_KEY=collectstatic $(RUN) manage.py collectstatic --noinput -v 0

browser:
	@scripts/browser

# The import contracts (pyproject.toml [tool.importlinter], docs/architecture.md) fail on a wrong-way import.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/codespell
	$(VENV)/bin/lint-imports --no-logo

typecheck: install
	SECRET_KEY=typecheck-only $(VENV)/bin/mypy .

migrations: install
	@mkdir -p var
	DEBUG=true $(RUN) manage.py makemigrations --check --dry-run

# Static security checks beyond `lint` (whose ruff rules include flake8-bandit "S"): the known-vulnerability
# audit of the locked dependencies. The suite itself holds the access matrix, the browser corpus, the API fuzzing
# and the template scan (tests/security/, tests/e2e/test_hostile_text.py).
security: install
	scripts/audit

# Bytecode caching on for the suite even where the environment turns it off: the run, its Celery workers and
# its subprocesses each import the whole project, and recompiling it costs seconds of CPU every time.
test: install services browser lint typecheck migrations security static
	$(TEST_ENV) PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/chorus REDIS_URL=redis://:example-password@127.0.0.1:6379/0 DEBUG=false CHORUS_HTTPS=true SECRET_KEY=$$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=') \
		CHORUS_FERNET_KEYS=$$($(RUN) -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
		ALLOWED_HOSTS=chorus.example.org \
		$(RUN) manage.py check --deploy --fail-level WARNING

# Benchmarks use their own scratch databases and Redis db 14 (the tests use 15), so both can run at once.
bench: install services
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/chorus REDIS_URL=redis://127.0.0.1:6379/14 $(RUN) -m benchmarks

# The resilience suite (README "Reliability"): the full cases start their OWN PostgreSQL (initdb in a temporary
# directory) and Redis on free loopback ports and kill/restart only those, never the machine's services. The fast
# subset (also in `make test`) runs on the test database with a Redis of its own, so it gets the test settings.
# About 20 minutes on two cores; the table is kept in var/resilience-report.txt.
resilience: install services static
	$(TEST_ENV) PYTHONDONTWRITEBYTECODE= $(VENV)/bin/pytest tests/resilience -m 'resilience or resilience_fast' -p no:cacheprovider -q -s

shell: install
	DEBUG=true $(RUN) manage.py shell

clean:
	rm -rf $(VENV) $(TOOLS) var/static
