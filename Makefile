# brulee: every target sets itself up (virtualenv, locked Python packages, Debian packages).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TARGETS ?= 127.0.0.1
FORMATS ?= json,html
SCAN_ARGS ?=

SCAN_PACKAGES := nmap
TEST_PACKAGES := nmap iproute2 bash zsh fish groff-base latexmk texlive-latex-base texlive-latex-recommended \
	texlive-latex-extra lmodern poppler-utils chromium podman buildah debootstrap runc postgresql
# Real Debian daemons of tests/lab/test_real_daemons.py: installed but never started by apt
# (scripts/ensure-lab-daemons); ProFTPD and Postfix conflict with vsftpd and Exim, so their .debs
# are unpacked into .lab-debs/ beside the libraries they need.
LAB_DAEMONS := openssh-server apache2 nginx vsftpd exim4-daemon-light dovecot-imapd bind9 \
	mariadb-server redis-server memcached lighttpd squid samba snmpd tomcat10
LAB_EXTRACTED := proftpd-core postfix
LAB_EXTRACTED_LIBS := libhiredis0.14 libmemcached11 libmemcachedutil2 libpcre2-posix3 libicu72 \
	libdb5.3 libnsl2 libsasl2-2
PDF_PACKAGES := latexmk texlive-latex-base texlive-latex-recommended texlive-latex-extra lmodern

.PHONY: scan demo test lint bench clean docs readme install uninstall

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

## make docs: shell completion (bash, zsh, fish) and the man page, generated from the parser
docs: $(VENV)/.runtime
	$(BIN)/python -m brulee.cli.docs build

## make readme: the README's usage section, regenerated from `brulee --help`
readme: $(VENV)/.runtime
	$(BIN)/python -m brulee.cli.docs --readme README.md

## make install [PREFIX=~/.local]: brulee on PATH (a link to .venv/bin/brulee, as pipx does),
## with its completion and man page; make uninstall removes them
PREFIX ?= $(HOME)/.local
INSTALLED := $(PREFIX)/bin/brulee $(PREFIX)/share/bash-completion/completions/brulee \
	$(PREFIX)/share/zsh/site-functions/_brulee $(PREFIX)/share/fish/vendor_completions.d/brulee.fish \
	$(PREFIX)/share/man/man1/brulee.1
install: docs
	install -d $(PREFIX)/bin
	ln -sfn $(CURDIR)/$(BIN)/brulee $(PREFIX)/bin/brulee
	install -D -m 644 build/completion/brulee.bash $(PREFIX)/share/bash-completion/completions/brulee
	install -D -m 644 build/completion/_brulee $(PREFIX)/share/zsh/site-functions/_brulee
	install -D -m 644 build/completion/brulee.fish $(PREFIX)/share/fish/vendor_completions.d/brulee.fish
	install -D -m 644 build/man/brulee.1 $(PREFIX)/share/man/man1/brulee.1
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; *) echo "note: add $(PREFIX)/bin to PATH" ;; esac

uninstall:
	rm -f $(INSTALLED)

## make demo: a lab of network-namespace hosts with old banners, scanned, then torn down (root)
demo: $(VENV)/.runtime
	@[ "$$(id -u)" -eq 0 ] || { echo "make demo needs root (it creates network namespaces)" >&2; exit 2; }
	@scripts/ensure-packages $(SCAN_PACKAGES) iproute2
	$(BIN)/python -m tests.lab.demo

test: $(VENV)/.dev
	@scripts/ensure-packages $(TEST_PACKAGES)
	@scripts/ensure-lab-daemons $(LAB_DAEMONS) $(LAB_EXTRACTED_LIBS) -- $(LAB_EXTRACTED)
	$(BIN)/pytest

lint: $(VENV)/.dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## bench_scan.py needs root for its lab (it says so and skips otherwise); bench_upload.py the dev extra
bench: $(VENV)/.dev
	$(BIN)/python bench/run.py
	$(BIN)/python bench/bench_vulndb.py
	$(BIN)/python bench/bench_ubuntu.py
	$(BIN)/python bench/bench_matching.py
	$(BIN)/python bench/bench_merge.py
	@[ "$$(id -u)" -ne 0 ] || scripts/ensure-packages $(SCAN_PACKAGES) iproute2
	$(BIN)/python bench/bench_scan.py
	$(BIN)/python bench/bench_upload.py
	$(BIN)/python bench/bench_rules.py --baseline 24f942f
	$(BIN)/python bench/bench_coverage.py --baseline 24f942f

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .lab-debs
