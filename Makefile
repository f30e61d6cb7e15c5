# Two commands on a fresh machine with Python 3.11+:  `make demo`  and  `make test`.
PYTHON ?= python3
VENV := .venv
TESTAGENT_VENV := .venv-testagent

.PHONY: demo test install testagent clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $@

# Datadog's APM test agent pins an older opentelemetry-proto, so it gets its own venv.
$(TESTAGENT_VENV)/.installed:
	$(PYTHON) -m venv $(TESTAGENT_VENV)
	$(TESTAGENT_VENV)/bin/pip install --quiet ddapm-test-agent==1.69.1
	touch $@

install: $(VENV)/.installed
testagent: $(TESTAGENT_VENV)/.installed

demo: install
	$(VENV)/bin/glassbox demo

test: install testagent
	$(VENV)/bin/python -m pytest -q

clean:
	rm -rf $(VENV) $(TESTAGENT_VENV) .glassbox glassbox.db
