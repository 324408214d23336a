# brulee: every target sets itself up (virtualenv, locked Python packages, Debian packages).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TARGETS ?= 127.0.0.1
FORMATS ?= json,html
SCAN_ARGS ?=

SCAN_PACKAGES := nmap
TEST_PACKAGES := nmap iproute2 latexmk texlive-latex-base texlive-latex-recommended \
	texlive-latex-extra lmodern poppler-utils chromium podman buildah debootstrap runc postgresql
PDF_PACKAGES := latexmk texlive-latex-base texlive-latex-recommended texlive-latex-extra lmodern

.PHONY: scan demo test lint bench clean

$(VENV)/.runtime: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

$(VENV)/.dev: requirements-dev.lock pyproject.toml $(VENV)/.runtime
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps -e .
	touch $@

## make scan [TARGETS="10.0.0.0/24 db.example.com"] [FORMATS=json,html,pdf] [SCAN_ARGS="..."]
scan: $(VENV)/.runtime
	@scripts/ensure-packages $(SCAN_PACKAGES) $(if $(findstring pdf,$(FORMATS)),$(PDF_PACKAGES))
	$(BIN)/brulee scan $(TARGETS) -f $(FORMATS) $(SCAN_ARGS)

## make demo: a lab of network-namespace hosts with old banners, scanned, then torn down (root)
demo: $(VENV)/.runtime
	@[ "$$(id -u)" -eq 0 ] || { echo "make demo needs root (it creates network namespaces)" >&2; exit 2; }
	@scripts/ensure-packages $(SCAN_PACKAGES) iproute2
	$(BIN)/python -m tests.lab.demo

test: $(VENV)/.dev
	@scripts/ensure-packages $(TEST_PACKAGES)
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(VENV)/.runtime
	$(BIN)/python bench/run.py
	$(BIN)/python bench/bench_vulndb.py
	$(BIN)/python bench/bench_matching.py
	$(BIN)/python bench/bench_merge.py
	$(BIN)/python bench/bench_rules.py --baseline 24f942f
	$(BIN)/python bench/bench_coverage.py --baseline 24f942f

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
