# inferq developer commands. Needs only make and Python 3.11+; everything else goes into .venv.
# `make` alone lists the targets.

.DEFAULT_GOAL := help
.PHONY: help venv venv-dev mlflow-venv kserve-venv browser run test lint bench clean

# The first of these that runs and is 3.11 or newer; override with `make PYTHON=/path/to/python`.
PYTHON_CANDIDATES := python3.13 python3.12 python3.11 python3
ifndef PYTHON
PYTHON := $(shell for p in $(PYTHON_CANDIDATES); do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; \
	done)
endif

VENV := .venv
VENV_PYTHON := $(VENV)/bin/python
STAMP := $(VENV)/.inferq-requirements.stamp
DEV_STAMP := $(VENV)/.inferq-requirements-dev.stamp
# MLflow's server (for the MLflow import tests) pins an older pyarrow than inferq: its own venv.
MLFLOW_VENV := .venv-mlflow
MLFLOW_STAMP := $(MLFLOW_VENV)/.inferq-requirements-mlflow.stamp
# KServe's client (for the protocol tests) pins pandas<3: its own venv too.
KSERVE_VENV := .venv-kserve
KSERVE_STAMP := $(KSERVE_VENV)/.inferq-requirements-kserve.stamp
PYTEST_ARGS ?=
BENCH_ARGS ?=
BENCH ?= small_jobs

help:  ## List the targets.
	@echo "inferq make targets:"
	@echo "  make run        start Redis, the demo models, a worker and the API on http://127.0.0.1:8000"
	@echo "  make test       run the test suite (PYTEST_ARGS='-k name' to pick tests)"
	@echo "  make lint       ruff check, ruff format --check and mypy"
	@echo "  make bench      run a benchmark: BENCH=small_jobs|peers|bulk_csv|chaos|chaos_hosts|redis_memory|capacity|shadow_cost|commits_ab, BENCH_ARGS=..."
	@echo "  make venv       create .venv with the runtime requirements (done by run)"
	@echo "  make venv-dev   add the test and lint tools (done by test and lint)"
	@echo "  make mlflow-venv  create .venv-mlflow with MLflow's server for the import tests (done by test)"
	@echo "  make kserve-venv  create .venv-kserve with KServe's client for the protocol tests (done by test)"
	@echo "  make browser    install chromium for the dashboard tests (done by test; root only)"
	@echo "  make clean      remove var/ and the install stamps (keeps .venv)"
	@echo "Python used to create .venv: $(if $(PYTHON),$(PYTHON),none found)"

$(VENV_PYTHON):
	@if [ -z "$(PYTHON)" ]; then \
		echo "error: inferq needs Python 3.11 or newer; none of $(PYTHON_CANDIDATES) is." >&2; \
		echo "       Install one, or point to it: make PYTHON=/path/to/python3.11" >&2; \
		exit 1; \
	fi
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: $(PYTHON) is Python %d.%d; inferq needs 3.11 or newer" % sys.version_info[:2])'
	@$(PYTHON) -c 'import venv, ensurepip' 2>/dev/null || { \
		echo "error: $(PYTHON) cannot create virtual environments; install its venv module" >&2; \
		echo "       (on Debian/Ubuntu: apt install python3-venv)" >&2; \
		exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install -r requirements.txt
	$(VENV_PYTHON) -m pip install --no-deps -e .
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(STAMP)
	$(VENV_PYTHON) -m pip install -r requirements-dev.txt
	@touch $@

$(MLFLOW_STAMP): requirements-mlflow.txt | $(VENV_PYTHON)
	$(PYTHON) -m venv $(MLFLOW_VENV)
	$(MLFLOW_VENV)/bin/python -m pip install -r requirements-mlflow.txt
	@touch $@

$(KSERVE_STAMP): requirements-kserve.txt | $(VENV_PYTHON)
	$(PYTHON) -m venv $(KSERVE_VENV)
	$(KSERVE_VENV)/bin/python -m pip install -r requirements-kserve.txt
	@touch $@

venv: $(STAMP)  ## Create .venv with the runtime requirements.

venv-dev: $(DEV_STAMP)  ## Add the test and lint tools.

mlflow-venv: $(MLFLOW_STAMP)  ## MLflow's server and client for the import tests.

kserve-venv: $(KSERVE_STAMP)  ## KServe's InferenceRESTClient for the protocol tests.

run: venv  ## Run the whole service in the foreground.
	$(VENV_PYTHON) -m inferq.launcher

# The dashboard tests drive Debian's chromium (never a downloaded browser). Installed when missing
# and we are root; otherwise those tests skip and say why.
browser:  ## Install chromium for the dashboard tests when missing (root only).
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium (apt-get) for the dashboard tests"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
			|| echo "warning: chromium could not be installed; the dashboard tests will skip" >&2; \
	else \
		echo "note: no chromium and not root; the dashboard tests will skip" >&2; \
	fi

test: venv-dev mlflow-venv kserve-venv browser  ## Run the tests.
	$(VENV_PYTHON) -m pytest $(PYTEST_ARGS)

lint: venv-dev  ## Check style.
	$(VENV_PYTHON) -m ruff check .
	$(VENV_PYTHON) -m ruff format --check .
	$(VENV_PYTHON) -m mypy

bench: venv  ## Run a benchmark: BENCH=small_jobs|peers|bulk_csv|chaos|chaos_hosts|redis_memory|capacity|shadow_cost|commits_ab (BENCH_ARGS passed through).
	$(VENV_PYTHON) -m bench.$(BENCH) $(BENCH_ARGS)

clean:  ## Remove local state and install stamps (not .venv).
	rm -rf var
	rm -f $(STAMP) $(DEV_STAMP)
