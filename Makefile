# The README's two commands: `make dev` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# checkov pins many libraries of its own, so it lives in a venv apart from the app's.
CHECKOV_VERSION := 3.3.30
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed-$(CHECKOV_VERSION)

.PHONY: dev test stop lint bench clean infra-check translations screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

# `make dev PORT=5001` when 5000 is taken.
PORT ?= 5000

dev: $(STAMP)
	SAAS_ENV=$${SAAS_ENV:-development} $(BIN)/saas dev --port $(PORT)

# Stops the embedded PostgreSQL and Redis of every instance folder (./instance and the folders in it).
stop: $(STAMP)
	$(BIN)/saas stop-embedded instance

# One pytest worker more than the cores (PYTEST_WORKERS to change it): many tests spend their time
# waiting on a worker process they killed, a browser or a restarted server, and the extra worker fills
# those waits (2 cores, clean clone: pytest 14 min 38 s with 3 workers, 16 min 38 s to 17 min 44 s with 2).
# Whole files per worker so a file's
# module fixtures start once; the slowest tests are printed at the end. The embedded PostgreSQL and
# Redis the tests started (instance/test*) are stopped afterwards, pass or fail.
PYTEST_WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))

test: $(STAMP) infra-check
	$(BIN)/ruff check saas tests bench
	$(BIN)/ruff format --check saas tests bench
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25; status=$$?; \
		$(BIN)/saas stop-embedded instance/test*; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check saas tests bench
	$(BIN)/ruff format --check saas tests bench

# Extracts every marked string into saas/translations/messages.pot and merges it into each locale's
# .po (new strings arrive empty: tests/i18n/test_catalogs.py fails until they are translated). The .mo
# files are compiled by the app at start (saas.i18n.compile_catalogs) and never committed.
translations: $(STAMP)
	$(BIN)/pybabel --quiet extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k N_ \
		--no-location --sort-output --add-comments=Translators: --project="Open CRM" \
		-o saas/translations/messages.pot .
	$(BIN)/pybabel --quiet update -i saas/translations/messages.pot -d saas/translations \
		--no-fuzzy-matching --ignore-obsolete

# The main pages at desktop and phone width into docs/screenshots/ (Debian's /usr/bin/chromium, the demo
# workspace on an embedded PostgreSQL and Redis of its own under instance/screenshots).
screenshots: $(STAMP)
	$(BIN)/python -m tests.e2e.screenshots

# Every bench at sizes that fit ~15 minutes here, then one table (figure, goal, measured, baseline,
# ratio); `make bench BENCH=provision,load` for some. django-tenants' side of the provisioning bench
# runs when installed for the bench only (see bench/django_tenants_side.py).
BENCH ?=
bench: $(STAMP)
	$(BIN)/python bench/all.py $(if $(BENCH),--only $(BENCH))

$(INFRA_STAMP):
	$(PYTHON) -m venv $(INFRA_VENV)
	echo '*' > $(INFRA_VENV)/.gitignore
	$(INFRA_VENV)/bin/pip install --quiet checkov==$(CHECKOV_VERSION)
	touch $(INFRA_STAMP)

# Static checks of infra/terraform (Terraform itself cannot run here); fails on any failed check.
# Skips are written inline next to the resource, each with its reason.
infra-check: $(INFRA_STAMP)
	$(INFRA_VENV)/bin/checkov --directory infra/terraform --framework terraform \
		--quiet --compact --skip-download

clean:
	rm -rf $(VENV) instance/test
