# fem_peltier: set-up and everyday tasks.
#
#   make demo    create .venv (Python >= 3.12), install, run the Fig. 2a case
#   make test    create .venv, install, lint (ruff, mypy), run the test suite
#
# Every target is idempotent: the virtual environment is created once and the
# package is reinstalled only when pyproject.toml changes (stamp file in .venv).
#
# DOLFINx: if the Python chosen for the venv can already `import dolfinx` (e.g. an
# activated conda environment made from environment.yml), the venv is created with
# --system-site-packages and only the `viz` and `test` extras are installed, so the
# PyPI wheel never competes with conda's DOLFINx. Otherwise the `fenicsx` extra
# installs the PyPI wheel (dolfinx-solver-real) and gmsh.

SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
PYTHON      ?=
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.fem-peltier-installed
MODE_FILE   := $(VENV)/.fem-peltier-dolfinx
PIP         := $(BIN)/python -m pip --disable-pip-version-check
PYTEST_ARGS ?= -q
DEMO_OUT    ?= demo-output/fig2a
# Options of the demo run: an explicit mesh resolution that keeps it to well under a
# few minutes on 2 cores (the solver's owner tunes this line).
DEMO_ARGS   ?= --set mesh.size=5e-5

.PHONY: help venv install demo test lint docs clean distclean

help:
	@echo "make demo       install (if needed) and run the Fig. 2a preset into $(DEMO_OUT)"
	@echo "make test       install (if needed), lint, and run the test suite"
	@echo "make lint       ruff (format check + lint) and mypy on the package (seconds)"
	@echo "make venv       create $(VENV) with a Python >= 3.12 (override: make PYTHON=/path/to/python3.12 venv)"
	@echo "make install    install fem_peltier (editable) and its dependencies into $(VENV)"
	@echo "make docs       regenerate docs/configuration.md from the config schema"
	@echo "make clean      remove outputs and caches;  make distclean  also removes $(VENV)"

venv: $(BIN)/python

# Pick the first Python >= 3.12: $(PYTHON), the active conda env, python3.12,
# pyenv's 3.12, python3.13, python3.
$(BIN)/python:
	@set -euo pipefail; \
	cands=(); \
	if [ -n "$(PYTHON)" ]; then cands+=("$(PYTHON)"); fi; \
	if [ -n "$${CONDA_PREFIX:-}" ]; then cands+=("$$CONDA_PREFIX/bin/python"); fi; \
	cands+=(python3.12); \
	if command -v pyenv >/dev/null 2>&1; then \
	  p=$$(pyenv which python3.12 2>/dev/null || true); if [ -n "$$p" ]; then cands+=("$$p"); fi; \
	fi; \
	for p in "$$HOME"/.pyenv/versions/3.12*/bin/python; do if [ -x "$$p" ]; then cands+=("$$p"); fi; done; \
	cands+=(python3.13 python3); \
	py=""; \
	for c in "$${cands[@]}"; do \
	  if "$$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then py="$$c"; break; fi; \
	done; \
	if [ -z "$$py" ]; then \
	  echo "error: no Python >= 3.12 found (tried: $${cands[*]})." >&2; \
	  echo "       Install Python 3.12 (pyenv, your package manager, or conda with environment.yml)," >&2; \
	  echo "       or point to one: make PYTHON=/path/to/python3.12 venv" >&2; \
	  exit 1; \
	fi; \
	echo "Python: $$py ($$("$$py" -c 'import sys; print(sys.version.split()[0])'))"; \
	if "$$py" -c 'import dolfinx' >/dev/null 2>&1; then \
	  echo "DOLFINx $$("$$py" -c 'import dolfinx; print(dolfinx.__version__)') found in that Python: $(VENV) will use it (--system-site-packages)"; \
	  "$$py" -m venv --system-site-packages "$(VENV)"; \
	  echo system > "$(MODE_FILE)"; \
	else \
	  echo "No DOLFINx in that Python: $(VENV) will get the PyPI wheel (dolfinx-solver-real)"; \
	  "$$py" -m venv "$(VENV)"; \
	  echo wheel > "$(MODE_FILE)"; \
	fi

install: $(STAMP)

$(STAMP): pyproject.toml | $(BIN)/python
	@set -euo pipefail; \
	mode=$$(cat "$(MODE_FILE)" 2>/dev/null || echo wheel); \
	if [ "$$mode" = system ]; then \
	  extras="viz,test"; echo "Installing fem_peltier[$$extras] on top of the existing DOLFINx (no PyPI DOLFINx wheel)"; \
	else \
	  extras="fenicsx,viz,test"; echo "Installing fem_peltier[$$extras] (DOLFINx from the PyPI wheel)"; \
	fi; \
	$(PIP) install --progress-bar off -e ".[$$extras]"; \
	touch "$@"

demo: install
	$(BIN)/fem-peltier run --preset fig2a $(DEMO_ARGS) --out $(DEMO_OUT) --overwrite

lint: install
	$(BIN)/ruff format --check fem_peltier
	$(BIN)/ruff check fem_peltier
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

docs: install
	$(BIN)/fem-peltier schema > docs/configuration.md.tmp
	mv docs/configuration.md.tmp docs/configuration.md
	@echo "wrote docs/configuration.md"

clean:
	rm -rf demo-output .pytest_cache build dist
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf

distclean: clean
	rm -rf $(VENV) *.egg-info
