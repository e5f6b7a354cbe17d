# o16n: `make lab` runs JupyterLab with o16n; `make test` runs every suite; both install what is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LABEXT := python_bridge/o16n/labextension/package.json
LAB_SOURCES := $(shell find src style schema -type f 2>/dev/null) package.json tsconfig.json
# npm scripts call `jupyter labextension build`: the venv's tools come first on PATH.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: install lab serve test check test-python test-js test-ui bench clean

install: $(STAMP) $(LABEXT)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# The lab extension is built below with this repo's own node_modules, not by the install hook.
	HATCH_JUPYTER_BUILDER_SKIP_NPM=1 $(BIN)/python -m pip install --quiet -e '.[test,postgres,s3,realtime,lab]'
	# Microsoft's SDK for the original server, for the compatibility suite. --no-deps: its adal
	# pin would downgrade python-dateutil, and adal (Azure AD login) is not used against o16n.
	$(BIN)/python -m pip install --quiet --no-deps 'azureml-model-management-sdk==1.0.1b6.post1'
	touch $(STAMP)

node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund

$(LABEXT): $(STAMP) node_modules/.package-lock.json $(LAB_SOURCES)
	npm run build
	$(BIN)/jupyter labextension develop --overwrite .
	touch $(LABEXT)

# Root (as in containers and CI) must say so to Jupyter.
lab: install
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root)

serve: install
	$(BIN)/o16n serve

test: check test-python test-js test-ui

# Linters and the type checker (configured in pyproject.toml).
check: install
	$(BIN)/ruff check python_bridge bench
	$(BIN)/mypy

# The OpenID provider that the sign-in tests start (node-oidc-provider).
OIDC_TEST_PROVIDER := python_bridge/tests/oidc/node_modules/.package-lock.json
$(OIDC_TEST_PROVIDER): python_bridge/tests/oidc/package-lock.json
	cd python_bridge/tests/oidc && npm ci --no-audit --no-fund

# Workers run in bubblewrap sandboxes (Debian's `bubblewrap`): installed when missing, as root.
test-python: install $(OIDC_TEST_PROVIDER)
	command -v bwrap >/dev/null || [ "$$(id -u)" != 0 ] || (apt-get update -qq && apt-get install -y -qq bubblewrap)
	O16N_REQUIRE_SDK=1 $(BIN)/python -m pytest

test-js: node_modules/.package-lock.json
	npm run lint && npm test

# Browser tests: Debian's chromium (Playwright may not download one), a fresh JupyterLab on :8888.
test-ui: install $(OIDC_TEST_PROVIDER)
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	cd ui-tests && npm ci --no-audit --no-fund
	cd ui-tests && CI=1 npx playwright test

bench: install
	$(BIN)/python bench/consume.py

clean:
	rm -rf $(VENV) node_modules ui-tests/node_modules python_bridge/o16n/labextension lib .pytest_cache
