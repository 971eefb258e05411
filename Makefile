# chipsuite: two commands do all the set-up on a fresh machine (Python 3.11+, PyPI access):
#   make report   -> create .venv, install, execute the notebooks, write offline HTML reports to reports/
#   make test     -> the same set-up (incl. Debian's chromium for browser tests), run the whole test suite
# Everything is installed into the project virtual environment $(VENV), created from $(PYTHON):
# a system Python (Debian/Ubuntu, PEP 668 "externally managed") is fine, as is root in a container.
# PYTHON selects the interpreter (make test PYTHON=/usr/bin/python3.12); `make clean-venv` to switch.
PYTHON ?= python3
VENV ?= .venv
PIP_FLAGS ?= --disable-pip-version-check -q
VENV_PYTHON := $(VENV)/bin/python
SETUP_STAMP := $(VENV)/.chipsuite-setup
# Jupyter servers refuse to start as root unless told (containers, many cloud notebooks)
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# kernels over local ipc sockets: no "Kernel is running over TCP without encryption" warning
KERNEL_TRANSPORT := --KernelManager.transport=ipc
APP_PATH ?= notebooks

.PHONY: venv setup browser test test-fast report lab app bench datapackage strip clean-venv

# The venv itself. Debian/Ubuntu ship `venv` without ensurepip unless python3.X-venv is installed:
# then it is installed with apt (as root, or with sudo) and the venv is created again.
$(VENV_PYTHON):
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v >= (3, 11) else "chipsuite needs Python 3.11+; $(PYTHON) is %d.%d (set PYTHON=...)" % v[:2])'
	@if ! $(PYTHON) -c 'import ensurepip' 2>/dev/null; then \
	  pkg=python$$($(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')-venv; \
	  if command -v apt-get >/dev/null; then \
	    echo "$(PYTHON) has no ensurepip: installing $$pkg with apt-get"; \
	    $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$pkg >/dev/null; \
	  else echo "$(PYTHON) cannot create a virtual environment (no ensurepip): install $$pkg or use another PYTHON=" >&2; exit 1; fi; \
	fi
	@rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); exit 1; }

venv: $(VENV_PYTHON)

# Installs chipsuite (editable) with its test tools; redone when pyproject.toml changes.
$(SETUP_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install $(PIP_FLAGS) -e ".[test]"
	@$(VENV_PYTHON) -c 'import sys; print(sys.executable, sys.version.split()[0])' > $@

setup: $(SETUP_STAMP)

# Debian's chromium for the Playwright browser tests (never a browser download).
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	elif command -v apt-get >/dev/null; then \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	else echo "no apt-get: install chromium yourself for the browser tests"; fi

test: setup browser
	$(VENV_PYTHON) -m pytest

test-fast: setup
	$(VENV_PYTHON) -m pytest -m "not slow"

report: setup
	$(VENV_PYTHON) -m chipsuite report --out reports

lab: setup
	$(VENV_PYTHON) -m jupyter lab $(ALLOW_ROOT) $(KERNEL_TRANSPORT) notebooks/00_tour.ipynb

# The notebooks as a code-free app (Voila): http://localhost:8866/ lists them; one: APP_PATH=notebooks/01_cadence.ipynb
app: setup
	$(VENV_PYTHON) -m voila --no-browser $(KERNEL_TRANSPORT) $(APP_PATH)

bench: setup
	$(VENV_PYTHON) -m chipsuite bench --json benchmarks/latest.json

datapackage: setup
	$(VENV_PYTHON) -m chipsuite datapackage

# What the pre-commit hooks do, by hand: strip notebook outputs (JupyterLab's autosave writes them), lint
strip: setup
	$(VENV)/bin/nbstripout --keep-id notebooks/*.ipynb
	$(VENV)/bin/ruff check notebooks

clean-venv:
	rm -rf $(VENV)
