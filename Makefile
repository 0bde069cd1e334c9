# The two commands: `make demo` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
MANAGE := $(BIN)/python manage.py

.PHONY: demo test fuzz install lint fmt lock migrate serve clean

$(STAMP): requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	@touch $(STAMP)

install: $(STAMP) .env

.env:
	cp .env.example .env

migrate: install
	$(MANAGE) migrate --noinput

## Set up everything, load the demo data, run the web server and one worker (Ctrl-C stops both).
demo: migrate
	LOG_LEVEL=WARNING $(MANAGE) load_demo
	$(MANAGE) setup_schedules
	@bash scripts/serve.sh

## Run the whole test suite over the machine's cores (TEST_WORKERS=0: one process; PYTEST_ARGS for more options).
TEST_WORKERS ?= auto
test: install
	Q_SYNC=1 $(BIN)/pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

## Fuzz the whole API (schemathesis over /api/schema/, in-process, demo data, OWNER and VIEWER side by side).
fuzz: install
	Q_SYNC=1 LOG_LEVEL=WARNING $(BIN)/pytest tests/fuzz -m fuzz -n 2 -p no:cacheprovider $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Re-resolve pinned dependencies from pyproject.toml into requirements.lock.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* media staticfiles .pytest_cache .ruff_cache
