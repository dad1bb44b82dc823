# Everything a fresh machine with python3, git and make needs: `make demo`, `make test`.
# Each target installs what it needs on first use (uv into .tools/, the project into .venv/).

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
# Use the machine's Python; never download one.
export UV_PYTHON_DOWNLOADS := never

.PHONY: install demo run test test-fast lint format i18n clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet "uv==$(UV_VERSION)"

# Bytecode is compiled at install: aiogram takes seconds to import without it.
$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --python $(PYTHON)
	$(BIN)/python -c "from bot.i18n import compile_catalogs; compile_catalogs()"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/wardbot demo

run: install
	$(BIN)/wardbot run

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole suite (SQLite, and PostgreSQL where it answers), then the end-to-end journeys
# again in the province shape: PostgreSQL, Redis, two webhook workers and a worker.
test: lint
	scripts/ensure-debian-package /usr/bin/chromium "chromium chromium-driver" "the browser test"
	scripts/ensure-debian-package /usr/bin/libreoffice libreoffice-calc-nogui "the test that opens a report in LibreOffice"
	$(BIN)/pytest
	WARDBOT_E2E_MODE=production $(BIN)/pytest -q tests/e2e \
		--ignore=tests/e2e/test_demo.py --ignore=tests/e2e/test_browser.py

# While developing: everything but the end-to-end journeys and the browser, on SQLite
# only (no PostgreSQL, Redis or chromium needed); a few minutes. `make test` before
# submitting runs it all.
test-fast: install
	$(BIN)/pytest -q -m "not e2e and not browser and not postgres and not redis"

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

i18n: install
	$(BIN)/python scripts/i18n.py update

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
	find locales -name '*.mo' -delete
