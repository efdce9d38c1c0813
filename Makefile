# Two commands do all the set-up on a fresh machine: `make figures` and `make test`.
PRESET ?= laptop
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: figures test check figure bench report lab clean-outputs

# torch first: the CPU build unless TORCH_INDEX says otherwise (an unpinned torch from PyPI is a multi-GB CUDA
# build). A torch wheel configured locally (pip's find-links) is taken first, without touching the network;
# otherwise the index is asked with a short timeout, so an unreachable one fails in seconds, not minutes.
# CUDA: make TORCH_INDEX=https://download.pytorch.org/whl/cu128 (pick your driver's CUDA version).
TORCH         ?= torch==2.13.0
TORCH_INDEX   ?= https://download.pytorch.org/whl/cpu
PIP_NET       := --timeout 15 --retries 1

$(STAMP): pyproject.toml constraints.txt
	@python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "python3 is $$(python3 -V 2>&1); this bundle needs Python 3.11 or newer"; exit 1; }
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
ifeq ($(origin TORCH_INDEX),file)
	$(PY) -m pip install --quiet --no-index --no-deps "$(TORCH)" 2>/dev/null || \
		$(PY) -m pip install --quiet $(PIP_NET) --index-url $(TORCH_INDEX) "$(TORCH)"
else
	$(PY) -m pip install --quiet $(PIP_NET) --index-url $(TORCH_INDEX) "$(TORCH)"
endif
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

figures: $(STAMP)  ## the committed networks into the cache (train only what is missing), every notebook, the report and index
	MPLBACKEND=Agg $(PY) -m utils figures --preset $(PRESET) $(if $(ONLY),--only $(ONLY))

test: $(STAMP)  ## the whole test suite, notebooks included (smoke preset)
	MPLBACKEND=Agg $(PY) -m pytest -q --durations=10

check: $(STAMP)  ## the fast tier for the edit loop (under a minute): every test not marked slow, no training
	MPLBACKEND=Agg $(PY) -m pytest -q -m "not slow"

figure: $(STAMP)  ## a new figure that runs as written: make figure NAME=ext_my_figure (docs/layout.md)
	@test -n "$(NAME)" || { echo "usage: make figure NAME=ext_my_figure"; exit 2; }
	$(PY) -m utils new-figure $(NAME)

bench: $(STAMP)  ## training-step and analysis timings against the released-code-style baseline
	$(PY) -m benchmarks

lab: $(STAMP)  ## JupyterLab on notebooks/ in the project's environment (change a parameter, rerun a cell)
	$(PY) -m jupyter lab --notebook-dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)  # root: a container

report: $(STAMP)
	$(PY) -m utils report --preset $(PRESET)
