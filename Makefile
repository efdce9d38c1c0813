# Two commands do all the set-up on a fresh machine: `make figures` and `make test`.
PRESET ?= laptop
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: figures test bench report clean-outputs

# torch first and pinned: its CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

figures: $(STAMP)  ## train what is missing, run every notebook, write the report and index
	MPLBACKEND=Agg $(PY) -m utils figures --preset $(PRESET)

test: $(STAMP)  ## the whole test suite, notebooks included (smoke preset)
	MPLBACKEND=Agg $(PY) -m pytest -q

bench: $(STAMP)  ## training-step and analysis timings against the released-code-style baseline
	$(PY) -m utils bench

report: $(STAMP)
	$(PY) -m utils report --preset $(PRESET)
