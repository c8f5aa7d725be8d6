# The two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck bench lock clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(STAMP)

# Local service on SQLite with the example routes.yaml. Without GITHUB_TOKEN it runs in dry-run
# mode: deliveries are recorded as would-be requests (see `bridge events`), nothing is sent.
run: export ASC_WEBHOOK_SECRET ?= local-asc-secret
run: export PGYER_WEBHOOK_TOKEN ?= local-pgyer-token
run: export BRIDGE_ADMIN_TOKEN ?= local-admin-token
run: export BRIDGE_DRY_RUN ?= $(if $(GITHUB_TOKEN),0,1)
run: export WEB_CONCURRENCY ?= 1
run: $(STAMP)
	@echo "bridge on http://127.0.0.1:$${PORT:-8000}  (dry run: $$BRIDGE_DRY_RUN)"
	@echo "delivery log: http://127.0.0.1:$${PORT:-8000}/  (token: $$BRIDGE_ADMIN_TOKEN)"
	@echo "try, in another terminal:"
	@echo "  ASC_WEBHOOK_SECRET=$$ASC_WEBHOOK_SECRET PGYER_WEBHOOK_TOKEN=$$PGYER_WEBHOOK_TOKEN $(BIN)/bridge send ios-app tests/samples/appstoreconnect/build-upload-complete.json --url http://127.0.0.1:$${PORT:-8000}"
	$(BIN)/bridge serve --host 127.0.0.1

lint: $(STAMP)
	$(BIN)/python tools/check_layout.py bridge
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows workflows-examples/*.yml
	$(BIN)/zizmor --offline workflows-examples/*.yml

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/run.py

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
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
