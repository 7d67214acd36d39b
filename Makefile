# Two commands matter: `make demo` (the main job) and `make test` (lint, types, docs, tests).
# Both create .venv on first use; nothing else needs to be installed beforehand.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint types unit docs bench clean venv browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,all,docs]'
	touch $(STAMP)

venv: $(STAMP)

# The main job: every Debian changelog on this machine -> entities and trends -> report.html
demo: $(STAMP)
	$(BIN)/wiseflow run examples/debian-security.toml --report report.html
	@echo "open report.html in a browser (the data is in .wiseflow/wiseflow.db)"

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

types: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q

# The docs site (mkdocs-material + mkdocstrings); --strict: any warning fails the build
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir build/site

# The dashboard's browser tests drive Debian's chromium through Debian's chromedriver:
# installed when missing (as root, with apt), otherwise those tests skip and say why.
browser:
	@if ! command -v chromedriver >/dev/null 2>&1 || ! test -x /usr/bin/chromium; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq chromium chromium-driver >/dev/null; \
	  else \
	    echo "chromium/chromedriver missing: the dashboard's browser tests will skip"; \
	  fi; \
	fi

test: lint types docs browser unit

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .wiseflow .mypy_cache .ruff_cache .pytest_cache
