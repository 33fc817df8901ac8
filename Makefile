# RunInfoDiffer: `make demo` shows the tool on the embedded sample database,
# `make test` runs the test suite, `make bench` prints the benchmark tables.

PYTHON ?= python3
VENV ?= .venv
VPY := $(VENV)/bin/python

.PHONY: demo test test-unit bench clean docs

$(VENV)/.installed: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install --quiet --upgrade pip
	$(VPY) -m pip install --quiet -e '.[bot,test]'
	touch $@

# DEMO_PORT sets the web interface's port (default 8000).
demo: $(VENV)/.installed
	$(VPY) -m runinfodiffer.demo $(if $(DEMO_PORT),--port $(DEMO_PORT))

test: $(VENV)/.installed
	$(VPY) -m pytest -q

# The unit tests alone: no Apache, sshd or Chromium needed.
test-unit: $(VENV)/.installed
	$(VPY) -m pytest -q -m "not e2e"

bench: $(VENV)/.installed
	$(VPY) -m bench.run

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis

# Regenerate the CLI reference after changing an option (a test compares it).
docs:
	$(PYTHON) -m runinfodiffer.clidoc > docs/cli.md
