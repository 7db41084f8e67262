# Two commands do all the set-up on a fresh machine:
#   make run    venv + dependencies + model + index, then the main job
#   make test   venv + dependencies + model, then the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MODEL_DIR := models/multilingual-e5-small

.PHONY: run test setup index bench bench-all clean-index

run: setup
	$(BIN)/matcher index
	$(BIN)/matcher demo --limit 5

test: setup
	$(BIN)/pytest

setup: $(VENV)/.installed $(MODEL_DIR)/modules.json

# torch first, pinned to the local CPU wheel: anything looser pulls GBs of CUDA packages.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(MODEL_DIR)/modules.json: $(VENV)/.installed
	$(BIN)/matcher setup-model --target $(MODEL_DIR)

# Benchmarks print JSON figures; DATA may point at any folder in the ../shared/data layout.
DATA ?= ../shared/data
bench: setup
	$(BIN)/matcher bench similarity $(DATA)/jsts/valid.jsonl
	$(BIN)/matcher bench retrieval $(DATA)/jsquad/valid
	$(BIN)/matcher bench need2univ --queries $(DATA)/need2univ/dev --seeds $(DATA)/kaken/seeds.jsonl
	$(BIN)/matcher bench need2univ --queries $(DATA)/need2univ/dev-notop10 --seeds $(DATA)/kaken/seeds-notop10.jsonl

clean-index:
	rm -rf var/index
