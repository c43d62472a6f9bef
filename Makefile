# Two commands on a fresh machine with Python 3.11+:
#   make plan   evaluate the dev stack offline and write what it would apply to build/plan/
#   make test   create .venv from the pinned dependencies when missing, then run every check
# and, with the Pulumi CLI after `pulumi up`: make verify (is the traffic traced?)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
SCAN   := .venv-scan
SCAN_STAMP := $(SCAN)/.installed-$(shell cksum < requirements-scan.txt | cut -d' ' -f1)
STACK  ?= dev
VERIFY_ARGS ?=

.PHONY: venv test lint typecheck unit plan bench verify schemas lock clean distclean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@rm -f $(VENV)/.installed-* && touch $@

$(SCAN_STAMP): requirements-scan.txt
	@test -x $(SCAN)/bin/python || $(PYTHON) -m venv $(SCAN)
	$(SCAN)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-scan.txt
	@rm -f $(SCAN)/.installed-* && touch $@

# The two virtual environments are built side by side (a fresh clone spends most of its time there).
test:
	@$(MAKE) --no-print-directory -j2 $(STAMP) $(SCAN_STAMP)
	@$(MAKE) --no-print-directory lint typecheck unit

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/mypy examples/consumer

unit: $(STAMP) $(SCAN_STAMP)
	$(BIN)/pytest

plan: $(STAMP)
	$(BIN)/python -m tools.plan --stack $(STACK)

verify: $(STAMP)
	$(BIN)/python -m tools.verify --stack $(STACK) $(VERIFY_ARGS)

bench: $(STAMP)
	$(BIN)/python -m tools.bench

schemas: $(STAMP)
	$(BIN)/python -m tools.sync_schemas

lock:
	rm -rf /tmp/ossm-lock && $(PYTHON) -m venv /tmp/ossm-lock
	/tmp/ossm-lock/bin/pip install --quiet pulumi pulumi-kubernetes pulumi-aws pulumi-command PyYAML kubernetes
	@echo "compare with requirements.txt:" && /tmp/ossm-lock/bin/pip freeze

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache

distclean: clean
	rm -rf $(VENV) $(SCAN)
