# The two commands a new user needs: `make run` and `make test`. Each makes .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The Python that makes .venv ("3.12"); a .venv made by another one is rebuilt, never reused.
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
MADE_BY := $(VENV)/.python-$(PYTHON_VERSION)
RUN_STAMP := $(VENV)/.installed-run
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck bench lock clean

# .venv, made by $(PYTHON): bridge needs 3.11 or newer.
$(MADE_BY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "bridge needs Python 3.11 or newer; $(PYTHON) is $(or $(PYTHON_VERSION),missing): run make PYTHON=python3.12 …"; exit 1; }
	@if [ -d $(VENV) ] && [ "$$($(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" != "$(PYTHON_VERSION)" ]; then \
	  echo "$(VENV) was made by another Python: rebuilding it with $(PYTHON) ($(PYTHON_VERSION))"; rm -rf $(VENV); fi
	$(PYTHON) -m venv $(VENV)
	touch $@

# What running needs (make run); the test and lint tools only for make test / make install.
$(RUN_STAMP): pyproject.toml $(MADE_BY)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml $(MADE_BY)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(RUN_STAMP)

install: $(STAMP)

# Local service on SQLite with the example routes.yaml, in dry-run mode: deliveries are recorded
# as would-be requests (see `bridge events`), nothing is sent, even with a GITHUB_TOKEN in the
# shell. `make run LIVE=1` sends real dispatches (with GITHUB_TOKEN and your repositories set).
run: export ASC_WEBHOOK_SECRET ?= local-asc-secret
run: export PGYER_WEBHOOK_TOKEN ?= local-pgyer-token
run: export BRIDGE_ADMIN_TOKEN ?= local-admin-token
run: export BRIDGE_DRY_RUN = $(if $(filter 1,$(LIVE)),0,1)
run: export WEB_CONCURRENCY ?= 1
run: $(RUN_STAMP)
	@echo "bridge on http://127.0.0.1:$${PORT:-8000}  ($(if $(filter 1,$(LIVE)),LIVE: dispatches are sent to GitHub,dry run: nothing is sent; make run LIVE=1 to send))"
	@echo "delivery log: http://127.0.0.1:$${PORT:-8000}/  (token: $$BRIDGE_ADMIN_TOKEN)"
	@echo "try, in another terminal:"
	@echo "  ASC_WEBHOOK_SECRET=$$ASC_WEBHOOK_SECRET PGYER_WEBHOOK_TOKEN=$$PGYER_WEBHOOK_TOKEN $(BIN)/bridge send ios-app tests/samples/appstoreconnect/build-upload-complete.json --url http://127.0.0.1:$${PORT:-8000}"
	$(BIN)/bridge serve --host 127.0.0.1

lint: $(STAMP)
	$(BIN)/python tools/check_layout.py bridge
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows workflows-examples/*.yml
	$(BIN)/check-jsonschema --schemafile routes.schema.json routes.yaml
	$(BIN)/zizmor --offline workflows-examples/*.yml

typecheck: $(STAMP)
	$(BIN)/mypy

# Coverage of bridge/, the `bridge serve` and `bridge worker` processes the tests start included
# ([tool.coverage.run] in pyproject.toml); the report lists the lines no test runs.
test: lint typecheck
	$(BIN)/pytest --cov --cov-report=term-missing:skip-covered

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py
	$(BIN)/python bench/notify_latency.py

# requirements.txt: pyproject.toml's runtime dependencies pinned with their PyPI hashes, what
# Heroku and Render install. Run after changing a dependency, and to take security releases.
lock: $(STAMP)
	$(BIN)/python -m pip install --quiet pip-tools
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --generate-hashes \
		--strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links \
		--output-file requirements.lock pyproject.toml
	{ sed -n '1,/^# Development/p' requirements.txt; cat requirements.lock; } > requirements.txt.new
	mv requirements.txt.new requirements.txt && rm requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info .coverage .coverage.*
