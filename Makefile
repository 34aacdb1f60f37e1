# Two entry points for a fresh machine with nothing but Python 3.11+:
#   make demo   set up, then run the main job over samples/
#   make test   set up, then run the whole check sequence (the same as CI)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint setup

# An editable install leaves the bytecode to the first import, which does not write it where
# PYTHONDONTWRITEBYTECODE is set: every command would then compile the package again.
$(BIN)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	$(BIN)/python -m compileall -q migrate
	touch $@

setup: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/iredmigrate import samples/onboarding.xlsx samples/*.csv samples/*.ldif \
		--sandbox demo/sandbox.db --log demo/result --rejects demo/rejects.csv \
		--generate-passwords --credentials demo/credentials.csv

lint: $(BIN)/.installed
	$(BIN)/ruff format --check migrate tests bench
	$(BIN)/ruff check migrate tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q
