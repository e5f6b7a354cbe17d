# o16n: `make install` builds .venv; `make serve` runs a standalone server; `make test` runs every suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install serve test test-python bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	# Microsoft's SDK for the original server, for the compatibility suite. --no-deps: its adal
	# pin would downgrade python-dateutil, and adal (Azure AD login) is not used against o16n.
	$(BIN)/python -m pip install --quiet --no-deps 'azureml-model-management-sdk==1.0.1b6.post1'
	touch $(STAMP)

serve: install
	$(BIN)/o16n serve

test: test-python

test-python: install
	O16N_REQUIRE_SDK=1 $(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/consume.py

clean:
	rm -rf $(VENV) .pytest_cache
