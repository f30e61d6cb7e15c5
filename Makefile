# Two commands on a fresh machine with Python 3.11+:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
TESTAGENT_VENV := .venv-testagent
TYPECHECK := .typecheck

.PHONY: demo test lint typecheck install testagent wiring wiring-openlit wiring-traceloop wiring-js clean

# The venv with a current pip; `make demo` installs only what the demo needs, `make install` (lint, typecheck,
# test) everything for development, so either order works in one clone. setuptools says "Editable installation."
# on every editable install (a notice, not a problem): filtered in that one pip process.
PIP := $(VENV)/bin/pip --disable-pip-version-check --quiet
EDITABLE := PYTHONWARNINGS='ignore:Editable installation' $(PIP) install -e

$(VENV)/bin/pip:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/pip
	$(EDITABLE) '.[dev]'
	touch $@

$(VENV)/.installed-demo: pyproject.toml | $(VENV)/bin/pip
	$(EDITABLE) '.[relay,demo]'
	touch $@

# Datadog's APM test agent pins an older opentelemetry-proto, so it gets its own venv.
$(TESTAGENT_VENV)/.installed:
	$(PYTHON) -m venv $(TESTAGENT_VENV)
	$(TESTAGENT_VENV)/bin/pip install --quiet ddapm-test-agent==1.69.1
	touch $@

install: $(VENV)/.installed
testagent: $(TESTAGENT_VENV)/.installed

# The README's "Wire your app" snippets run where they say (tests/wiring): OpenLIT and the Traceloop SDK pin
# OpenTelemetry versions the dev venv does not have, so each gets its own venv; the JavaScript one its node_modules.
WIRING := tests/wiring
.venv-%/.installed: $(WIRING)/requirements-%.txt
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/pip install --quiet -r $<
	touch $@

$(WIRING)/js/node_modules/.installed: $(WIRING)/js/package-lock.json
	cd $(WIRING)/js && npm ci --no-audit --no-fund --silent
	touch $@

wiring-openlit: .venv-openlit/.installed
wiring-traceloop: .venv-traceloop/.installed
wiring-js: $(WIRING)/js/node_modules/.installed
wiring: wiring-openlit wiring-traceloop wiring-js

demo: $(VENV)/.installed-demo
	$(VENV)/bin/glassbox demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# mypy cannot follow setuptools' package-dir mapping (collector/ is glassbox.collector), so it checks a tree of
# symlinks laid out as the packages import each other.
typecheck: install
	rm -rf $(TYPECHECK) && mkdir -p $(TYPECHECK)/glassbox
	for package in collector processors instrumentation config; do ln -s ../../$$package $(TYPECHECK)/glassbox/$$package; done
	ln -s ../bench $(TYPECHECK)/bench && ln -s ../tests $(TYPECHECK)/tests
	cd $(TYPECHECK) && ../$(VENV)/bin/mypy --config-file ../pyproject.toml -p glassbox -p bench

test: install testagent wiring lint typecheck
	$(VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV) $(TESTAGENT_VENV) .venv-openlit .venv-traceloop $(WIRING)/js/node_modules $(TYPECHECK) .glassbox glassbox.db
