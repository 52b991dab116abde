# The README's two commands: `make run` and `make test`. Each does its own set-up.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
INSTALLED := $(VENV)/.installed
LOCK := requirements.lock
CATALOGUES := $(wildcard translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)
POT := translations/messages.pot
# Header lines that change with the clock or the installed Babel, not with the messages.
POT_NOISE := grep -Ev '^"(POT-Creation-Date|Generated-By):'
EXTRACT := $(BIN)/pybabel --quiet extract -F babel.cfg -k _l -k lazy_gettext --add-location=file --add-comments=Translators: \
	--sort-by-file --msgid-bugs-address="" --project="Call for the Pin" --copyright-holder="Call for the Pin contributors" .

.PHONY: help run test lint lock translations translations-review translations-import catalogues assets bench clean

help:
	@echo "make run           install, build catalogues and database, serve http://127.0.0.1:5000"
	@echo "make test          install, lint, run the whole test suite"
	@echo "make lint          ruff, mypy, stale-catalogue check"
	@echo "make lock          update requirements.lock from pyproject.toml (UPGRADE=1: newest allowed releases)"
	@echo "make translations  extract, update and compile the gettext catalogues"
	@echo "make translations-review  a review file per language for the language partners (translations/README.md)"
	@echo "make translations-import  take reviewed files back into the catalogues, after checks (LANG=es FILE=path for one)"
	@echo "make assets        rebuild static/css from assets/ (needs npm; output is committed)"
	@echo "make bench         pages, webhook, alerts and plan look-up against bare-Flask ceilings; writes docs/benchmarks.md (needs wrk)"
	@echo "make soak          fuzz every form and the SMS webhook with many more Hypothesis examples (minutes)"

# Exactly the versions in requirements.lock, hash-checked (pip and setuptools too), then the
# portal itself with nothing more; pip check catches a lock that pyproject.toml outgrew.
$(INSTALLED): pyproject.toml $(LOCK)
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@$(BIN)/pip check >/dev/null || { $(BIN)/pip check || true; echo "$(LOCK) does not fit pyproject.toml: run 'make lock'"; exit 1; }
	touch $@

# requirements.lock from pyproject.toml (runtime, the dev extra, the installers), for
# Python 3.11 on Linux whatever machine runs it. Keeps the pinned versions that still fit;
# UPGRADE=1 moves every package to its newest allowed release.
lock:
	@[ -x $(BIN)/uv ] || { $(PYTHON) -m venv $(VENV) && $(BIN)/pip install --quiet "$$(grep -o '^uv==[^ ]*' $(LOCK))"; }
	$(BIN)/uv pip compile --quiet pyproject.toml --extra dev --group install \
		--python-version 3.11 --python-platform x86_64-unknown-linux-gnu --generate-hashes \
		--custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) --output-file $(LOCK)

# Compiled catalogues (.mo) are build output, not committed.
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(INSTALLED)
	$(BIN)/pybabel --quiet compile -i $< -o $@

catalogues: $(COMPILED)

# The web server and a worker (which delivers text messages); Ctrl-C stops both.
run: $(INSTALLED) catalogues
	$(FLASK) db upgrade
	$(FLASK) seed-demo
	@echo "Serving http://127.0.0.1:5000 ; press Ctrl-C to stop"
	trap 'kill 0' INT TERM EXIT; $(FLASK) worker & $(FLASK) run --host 127.0.0.1 --port 5000

test: $(INSTALLED) catalogues lint
	# Four processes on two cores: the chaos and browser tests spend most of their time waiting.
	# worksteal, not loadfile: one file's tests need not wait for each other (the public
	# pages' axe runs alone are 6 minutes), 11 minutes against 12 for the whole suite here.
	$(BIN)/pytest -n 4 --dist worksteal --durations=10

lint: $(INSTALLED)
	$(BIN)/ruff check portal tests
	$(BIN)/ruff format --check portal tests
	$(BIN)/mypy
	@$(EXTRACT) -o $(VENV)/messages.pot
	@if ! diff -q <($(POT_NOISE) $(POT)) <($(POT_NOISE) $(VENV)/messages.pot) >/dev/null; then \
		echo "translations/messages.pot is stale: run 'make translations' and translate the new strings"; exit 1; fi

# The gettext round trip. The template is only rewritten when a message changed, so
# running this on a clean tree leaves no diff.
translations: $(INSTALLED)
	$(EXTRACT) -o $(VENV)/messages.pot
	if [ ! -f $(POT) ] || ! diff -q <($(POT_NOISE) $(POT)) <($(POT_NOISE) $(VENV)/messages.pot) >/dev/null; then \
		cp $(VENV)/messages.pot $(POT); fi
	$(BIN)/pybabel --quiet update --ignore-pot-creation-date --no-fuzzy-matching --ignore-obsolete -i $(POT) -d translations
	$(MAKE) catalogues

# Review files for the agency's language partners, in translations/review/ (git-ignored);
# see translations/README.md. SCREENSHOTS=1 also shoots the pages the notes name (Chromium).
translations-review: $(INSTALLED) $(if $(SCREENSHOTS),catalogues)
	$(BIN)/python -m portal.translation_review review $(if $(SCREENSHOTS),--screenshots)

# Every translations/review/<lang>.xlf, or one: LANG=es FILE=path. LANG counts only when
# given on the command line, as the shell's own LANG is a locale such as C.UTF-8.
translations-import: $(INSTALLED)
	$(BIN)/python -m portal.translation_review import \
		$(if $(filter command line,$(origin LANG)),--language $(LANG)) $(if $(FILE),--file $(FILE))

# Measured, never asserted: the app under gunicorn with production settings beside two
# bare-Flask ceilings (wrk and an open-loop webhook driver, SQLite and PostgreSQL), the
# alert bench (tests/bench_alerts.py, when present) and plan look-up at scale; writes
# docs/benchmarks.md. About 10 minutes; BENCH_PLANS=1000000 for a million plans.
# The in-process text-line bench: python -m tests.bench_text_line
bench: $(INSTALLED) catalogues
	$(BIN)/python -m tests.bench

# The fuzz tests (tests/test_fuzz.py) with the "soak" Hypothesis profile: many more
# examples than the "ci" profile that `make test` runs.
.PHONY: soak
soak: $(INSTALLED) catalogues
	HYPOTHESIS_PROFILE=soak $(BIN)/pytest -p no:randomly -n 2 tests/test_fuzz.py --hypothesis-show-statistics

assets:
	cd assets && npm ci --no-audit --no-fund && npm run build

clean:
	rm -rf $(VENV) translations/*/LC_MESSAGES/*.mo
