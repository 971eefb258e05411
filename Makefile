# chipsuite: two commands do all the set-up on a fresh machine (Python 3.11+, PyPI access):
#   make report   -> install, execute the notebooks, write offline HTML reports to reports/
#   make test     -> install (incl. Debian's chromium for browser tests), run the whole test suite
PYTHON ?= python3
PIP_FLAGS ?= --disable-pip-version-check -q

.PHONY: setup browser test test-fast report lab bench

setup:
	$(PYTHON) -m pip install $(PIP_FLAGS) -e ".[test]"

# Debian's chromium for the Playwright browser tests (never a browser download).
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif command -v apt-get >/dev/null; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	else echo "no apt-get: install chromium yourself for the browser tests"; fi

test: setup browser
	$(PYTHON) -m pytest

test-fast: setup
	$(PYTHON) -m pytest -m "not slow"

report: setup
	$(PYTHON) -m chipsuite report --out reports

lab: setup
	$(PYTHON) -m jupyter lab notebooks/00_tour.ipynb

bench: setup
	$(PYTHON) -m chipsuite bench --json benchmarks/latest.json
