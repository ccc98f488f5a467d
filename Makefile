# Two commands do all the set-up on a fresh machine (Python 3.11+, no Docker, no AWS account):
#   make demo   – start the embedded stack and run a full inventory sync, printing the run report
#   make test   – run the whole test suite (what .ci/run calls)
# and three keep the deployment honest:
#   make lock   – re-resolve shared/requirements.txt (the layer's lock) from pyproject.toml
#   make layer  – build the SharedLayer for Lambda (Python 3.13, arm64) with pip alone, no Docker
#   make build  – `sam build` the whole template for Lambda (needs python3.13, no Docker)
#   make coldstart – measure each function's cold start (docs/performance.md)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# What runs in Lambda: [project].dependencies resolved for the Lambda target, exact versions and
# hashes. The dev environment installs the same versions (constrained by this file).
LOCK := shared/requirements.txt
LAMBDA_PYTHON := 3.13
LAMBDA_PLATFORM := aarch64-manylinux2014
LAMBDA_WHEEL_PLATFORM := manylinux2014_aarch64
LAYER_DIR := build/layer

# aws-sam-cli pins its own boto3, click, cfn-lint...: it lives in a venv of its own so the dev
# environment keeps the lock's versions.
SAM_CLI_VERSION := 1.170.0
SAM_VENV := $(VENV)/tools/sam
SAM := $(SAM_VENV)/bin/sam
# sam needs a region even offline; validation and build make no AWS call.
SAM_ENV := AWS_DEFAULT_REGION=us-east-1 SAM_CLI_TELEMETRY=0
# `sam build` (BuildMethod python3.13) runs the python3.13 on PATH: pyenv's when there is one.
PYTHON_LAMBDA_DIR ?= $(lastword $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/$(LAMBDA_PYTHON)*/bin))
# The cold-start benchmark's children: Lambda's Python with exactly the lock, nothing else.
LAMBDA_VENV := $(VENV)/tools/lambda-python

.PHONY: demo test lint lock layer build sam-validate bench coldstart clean

$(BIN)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	sed -e '/--hash=/d' -e 's/ \\$$//' $(LOCK) > $(VENV)/lock-constraints.txt  # pip: no hashes in -c with -e
	$(BIN)/pip install --quiet -c $(VENV)/lock-constraints.txt -e '.[dev]'
	touch $@

$(SAM):
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet aws-sam-cli==$(SAM_CLI_VERSION)

lock: $(BIN)/.installed
	$(BIN)/uv pip compile pyproject.toml --quiet --generate-hashes --python-version $(LAMBDA_PYTHON) \
	  --python-platform $(LAMBDA_PLATFORM) --custom-compile-command "make lock" --output-file $(LOCK) $(ARGS)

# The layer as Lambda unpacks it under /opt: python/ = the package + the lock, wheels for the
# target only (--only-binary: a dependency without an arm64 / cp313 wheel fails the build).
layer: $(BIN)/.installed
	rm -rf $(LAYER_DIR)
	$(BIN)/pip install --quiet --no-deps --require-hashes --only-binary=:all: --implementation cp \
	  --python-version $(LAMBDA_PYTHON) --platform $(LAMBDA_WHEEL_PLATFORM) \
	  --target $(LAYER_DIR)/python -r $(LOCK)
	cp -r shared/sos_wiz_sync $(LAYER_DIR)/python/
	find $(LAYER_DIR) -name __pycache__ -prune -exec rm -rf {} +

# The real build: SharedLayer from the lock (arm64 wheels chosen by aws-lambda-builders) and every
# function, into .aws-sam/build where `sam deploy` takes them (samconfig.toml: cached, parallel).
build: $(SAM)
	PATH="$(PYTHON_LAMBDA_DIR):$$PATH" $(SAM_ENV) $(SAM) build --template template.yaml

sam-validate: $(SAM)
	$(SAM_ENV) $(SAM) validate --lint --template template.yaml

demo: $(BIN)/.installed
	$(BIN)/python -m local.cli demo $(ARGS)

# tests/template runs sam validate --lint, cfn-lint, `make build` and `make layer` itself.
test: $(BIN)/.installed $(SAM)
	$(BIN)/python -m pytest $(ARGS)

bench: $(BIN)/.installed
	$(BIN)/python -m benchmarks.inventory_pull $(ARGS)

$(LAMBDA_VENV)/.installed: $(LOCK)
	$(if $(PYTHON_LAMBDA_DIR),$(PYTHON_LAMBDA_DIR)/,)python$(LAMBDA_PYTHON) -m venv --clear $(LAMBDA_VENV)
	$(LAMBDA_VENV)/bin/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	touch $@

coldstart: $(BIN)/.installed $(LAMBDA_VENV)/.installed
	$(BIN)/python -m benchmarks.cold_start --python $(LAMBDA_VENV)/bin/python $(ARGS)

clean:
	rm -rf $(VENV) build .aws-sam .pytest_cache .hypothesis
