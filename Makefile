# Two commands: `make run` (Mira on http://localhost:8000, embedded default) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
export FLASK_APP := wsgi

.PHONY: run test lint format migrate bench clean

# Linux without an NVIDIA driver: the CPU build of torch (~200 MB instead of several GB of CUDA),
# from PyTorch's own index. Where only PyPI is reachable, that first try fails fast and the
# normal install takes torch from PyPI. `make run TORCH_INDEX=` skips the try.
TORCH_INDEX ?= $(shell [ "$$(uname -s)" = Linux ] && ! command -v nvidia-smi >/dev/null && echo https://download.pytorch.org/whl/cpu)
TORCH_PIN := $(shell grep -E '^torch==' requirements.txt)

# What running needs (make run): the runtime only.
$(BIN)/.installed: requirements.txt requirements-nodeps.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@echo "== Installing Mira's runtime (torch and the speech models take a few minutes)"
	$(if $(TORCH_INDEX),-$(BIN)/pip install --progress-bar on --retries 0 --timeout 10 --no-deps --index-url $(TORCH_INDEX) "$(TORCH_PIN)")
	$(BIN)/pip install --progress-bar on -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-nodeps.txt
	touch $@

# Tests, lint, benchmarks and deployment tools (make test, make lint, make bench). Resemblyzer
# is installed without its dependencies on purpose (requirements-nodeps.txt): no conflict report.
$(BIN)/.dev-installed: $(BIN)/.installed requirements-dev.txt
	@echo "== Installing the test, lint and deployment tools"
	$(BIN)/pip install --progress-bar on --no-warn-conflicts -r requirements-dev.txt
	touch $@

migrate: $(BIN)/.installed
	$(BIN)/flask db upgrade

run: migrate
	$(BIN)/gunicorn --config gunicorn.conf.py --bind 0.0.0.0:$(PORT) wsgi:app

lint: $(BIN)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: lint
	$(BIN)/python -m tests.system_check
	$(BIN)/python -m pytest $(PYTEST_ARGS)

format: $(BIN)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(BIN)/.dev-installed
	$(BIN)/python bench/cold_start.py
	$(BIN)/python bench/api_load.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
