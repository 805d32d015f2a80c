# Two commands: `make run` (Mira on http://localhost:8000, embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export FLASK_APP := wsgi

.PHONY: run test lint format migrate bench clean

$(BIN)/.installed: requirements.txt requirements-dev.txt requirements-nodeps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

migrate: $(BIN)/.installed
	$(BIN)/flask db upgrade

run: migrate
	$(BIN)/gunicorn --config gunicorn.conf.py --bind 0.0.0.0:$(PORT) wsgi:app

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m tests.system_check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/.installed
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/api_load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
