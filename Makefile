# The README's two commands: `make demo` and `make test` (lint, then the tests). Each creates .venv when missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# torch and torchvision that import together on this kind of machine (x86_64, Python 3.11);
# override with `make TORCH_SPEC="torch torchvision" test` elsewhere.
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1

.PHONY: install browser demo lint test test-all clean

$(BIN)/mouse-rsa: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip<26" "setuptools<80" wheel
	$(BIN)/pip install -q $(TORCH_SPEC)
	$(BIN)/pip install -q -e ".[dev]"
	touch $(BIN)/mouse-rsa

install: $(BIN)/mouse-rsa

demo: install
	$(BIN)/mouse-rsa dataset info demo
	$(BIN)/mouse-rsa benchmark --model mobilenet_v2 --dataset demo --method rsa encoding
	$(BIN)/mouse-rsa leaderboard results

lint: install
	$(BIN)/ruff check mouse_rsa model_zoo tests benchmarks
	$(BIN)/mypy

# the browser tests (marked `browser`) drive Debian's Chromium headless through Playwright (a dev extra);
# Playwright's own browser download is never used
browser: install
	command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq chromium; } || { echo "install Debian's chromium (apt-get install chromium)"; exit 1; }

test: lint browser
	$(BIN)/python -m pytest -q

test-all: install browser
	$(BIN)/python -m pytest -q -m "slow or not slow"

clean:
	rm -rf $(VENV) build *.egg-info
