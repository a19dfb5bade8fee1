# dbm-workbench — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KERNEL := dbm-workbench
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
ARGS ?=

.PHONY: help venv report test lab bench lint clean

help: ## show this help
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(PY):
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (dbm-workbench)" >/dev/null
	rm -f $(VENV)/.installed-* && touch $(STAMP)

venv: $(STAMP) ## create .venv and install the project (done by report/test too)

report: $(STAMP) ## build the marketing database and run every notebook into reports/<run>/ (ARGS="--source cdnow")
	$(VENV)/bin/dbm run $(ARGS)

test: $(STAMP) ## run the test suite (unit tests, bad-input corpus, notebook runs; Spark tests when CI=true or pyspark is installed)
	@if [ "$$CI" = "true" ] && ! $(PY) -c "import pyspark" 2>/dev/null; then $(PY) -m pip install -q -e '.[spark]'; fi
	$(PY) -m pytest $(ARGS); status=$$?; if [ $$status -eq 5 ]; then echo "no tests collected"; exit 1; fi; exit $$status

lab: $(STAMP) ## open JupyterLab on the notebooks with the project kernel
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

bench: $(STAMP) ## run the speed/memory benchmarks against the peer libraries
	$(PY) benchmarks/run_all.py $(ARGS)

lint: $(STAMP) ## ruff check
	$(VENV)/bin/ruff check dbmlib tests benchmarks

clean: ## remove generated data, reports and the venv
	rm -rf $(VENV) data/processed/* reports/* data/raw/retail-demo*
	touch data/processed/.gitkeep reports/.gitkeep
