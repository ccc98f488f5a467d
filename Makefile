# Two commands do all the set-up on a fresh machine (Python 3.11+, no Docker, no AWS account):
#   make demo   – start the embedded stack and run a full inventory sync, printing the run report
#   make test   – run the whole test suite (what .ci/run calls)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/python -m local.cli demo $(ARGS)

test: $(BIN)/.installed
	$(BIN)/cfn-lint template.yaml
	$(BIN)/python -m pytest $(ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.inventory_pull $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
