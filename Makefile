# fwbench: `make report` builds the report from scratch, `make test` runs the tests.
# Both create .venv and install the exact pins of requirements.lock on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.fwbench-installed
MATHJAX := .fwbench/static/mathjax/tex-chtml.js
PROFILE ?= quick
NIGHTLY_PROFILE ?= full
PYTEST_ARGS ?=

.PHONY: setup ray-setup chromium report plan run book toc results test test-all lint nightly bench-rebuild bench-report bench-stability bench-busy bench-isolation bundle lock clean

setup: $(STAMP) $(MATHJAX) chromium

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) scripts/install_lock.py $(PY)
	touch $@

$(MATHJAX): scripts/setup_mathjax.sh
	bash scripts/setup_mathjax.sh

## The Ray executor's optional extra (README, "Many machines"): Ray at its pin in pyproject.toml, every other
## package held at the lock's pins. On the driver and on every measuring node (which need no book tools).
ray-setup: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check --no-build-isolation -c requirements.lock -e '.[ray]'

## Debian's chromium: prints the PDF and opens every page in the tests (a no-op once installed).
chromium:
	bash scripts/setup_chromium.sh

## Run the profile (default: quick) on this machine, then build the book into _build/html.
report: setup
	$(PY) -m fwbench report --profile $(PROFILE)

## Dry run: every job of the profile, reused or to run, and for each to run which input changed.
plan: setup
	$(PY) -m fwbench plan --profile $(PROFILE)

## Only measure, or only rebuild the book from the store.
run: setup
	$(PY) -m fwbench run --profile $(PROFILE)
book: setup
	$(PY) -m fwbench book

## The committed table of contents, regenerated from the experiment registry (every book build does it too).
toc: setup
	$(PY) -c "from fwbench.book import pages; print(pages.write_toc())"

## Every stored record in long format.
results: setup
	$(PY) -m fwbench results --format csv -o _build/results.csv

## The linter (ruff: pyflakes and sorted imports, settings in pyproject.toml), then the tests CI runs on every
## change, as two pytest processes side by side (scripts/run_tests.py). The end-to-end smoke profile and the other
## `extended` tests are the full tier's (tests/tiers.py).
test: setup ray-setup lint
	$(PY) scripts/run_tests.py $(PYTEST_ARGS)

## The full tier: every test, the end-to-end smoke profile through every experiment and page included (nightly).
test-all: setup ray-setup lint
	$(PY) scripts/run_tests.py --all $(PYTEST_ARGS)

## ruff over the package, the experiments, the tests and the scripts: the checks, then the formatter's check
## (`$(PY) -m ruff check --fix` sorts imports; `$(PY) -m ruff format fwbench experiments tests scripts` formats).
lint: setup
	$(PY) -m ruff check fwbench experiments tests scripts
	$(PY) -m ruff format --check fwbench experiments tests scripts

## The nightly build: full profile (cached), book + PDF, comparison with the previous version,
## _build/nightly/summary.{txt,json} and this machine's bundle; exit 3 on a significant regression.
nightly: setup
	$(PY) -m fwbench nightly --profile $(NIGHTLY_PROFILE)

## Benchmark: a second `make report` with nothing changed executes nothing and takes at most 20 s.
bench-rebuild: setup
	$(PY) scripts/bench_rebuild.py --profile $(PROFILE)

## Benchmark: setup, the quick profile into an empty store and the book, each timed; where the jobs' time goes.
bench-report:
	@start=$$(date +%s); $(MAKE) -s setup; end=$$(date +%s); \
	  $(PY) scripts/bench_report.py --profile $(PROFILE) --setup-s $$((end - start))

## Benchmark: the quick profile's eager-vs-graph section twice into fresh stores; do classes and verdicts agree?
## The full-size A/A control (every cell of run 1 against run 2) and its false-positive rate with an upper bound.
bench-stability: setup
	$(PY) scripts/bench_stability.py --profile $(PROFILE)

## Benchmark: the same, with another program keeping one core busy during the second run.
bench-busy: setup
	$(PY) scripts/bench_stability.py --profile $(PROFILE) --busy-second

## Benchmark: the quick profile's debugging and export sections with forked and with fresh-interpreter cases and artifacts; alike?
bench-isolation: setup
	$(PY) scripts/bench_isolation.py --profile $(PROFILE)

## This machine's runs as one archive to share: _build/<machine>.fwbundle (import with `python -m fwbench import`).
bundle: setup
	$(PY) -m fwbench bundle -o _build/$$($(PY) -c "from fwbench.store.bundle import this_machine_id as m; print(m())").fwbundle

## Re-resolve requirements.lock from pyproject.toml in a scratch venv.
lock:
	rm -rf .fwbench/lockvenv && $(PYTHON) -m venv .fwbench/lockvenv
	.fwbench/lockvenv/bin/pip install --quiet -e '.[test,setup]'
	{ echo "# Exact pins of every package (transitive included) that \`make setup\` installs."; \
	  echo "# Regenerate after changing pyproject.toml: make lock"; \
	  .fwbench/lockvenv/bin/pip freeze --exclude-editable | sed 's/^torch==\(.*\)+cpu$$/torch==\1/'; } > requirements.lock
	rm -rf .fwbench/lockvenv

clean:
	rm -rf _build chapters/appendix/runs .fwbench/work
