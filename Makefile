# voice_interview: every target installs what it needs into .venv first.
#   make demo         the main job on the bundled models (no microphone needed)
#   make test         the whole test suite (real models, real audio); the first run also builds
#                     llama-cpp-python from source for the real-model judge test (see below)
#   make test-fast    the tests that need no speech model, device or browser (under a minute)
#   make lint         ruff + mypy
#   make bench        benchmarks -> bench/results/
#   make system-deps  Debian/Ubuntu system libraries (as root; otherwise prints what to install)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
LLM_STAMP := $(VENV)/.llm-test-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

# The real-model judge test (tests/test_judge_llama.py) needs the `llm-test` extra:
# llama-cpp-python, compiled from source here. Only `make test` installs it (its own stamp), so
# `make demo` and `make lint` never pay for the build. CPU only and as quick to build as it gets:
# portable (no -march=native), no BLAS, no GPU backends, no multimodal library, tools or tests.
# Set LLAMA_CMAKE_ARGS to build it differently.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_BLAS=OFF -DGGML_CUDA=OFF -DGGML_HIP=OFF \
	-DGGML_VULKAN=OFF -DGGML_METAL=OFF -DGGML_SYCL=OFF -DGGML_OPENCL=OFF -DLLAVA_BUILD=OFF \
	-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF \
	-DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF
BUILD_JOBS ?= $(shell nproc 2>/dev/null || echo 2)

# System packages: libportaudio2 for live audio (sounddevice); pulseaudio + pulseaudio-utils
# (pactl, paplay, parecord) and libasound2-plugins (ALSA's "pulse" PCM) give the device tests
# virtual speakers and microphones (tests/pulse.py); alsa-utils for aplay/arecord when debugging;
# chromium: the headless browser the HTML report tests drive (through playwright);
# build-essential + cmake compile llama-cpp-python for the real-model judge test;
# espeak-ng is the second voice of bench/turn_taking.py; iproute2 (ip) and util-linux (unshare)
# give the Ray tests a network namespace with only loopback.
SYSTEM_PACKAGES := libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins alsa-utils \
	chromium build-essential cmake espeak-ng iproute2 util-linux

.PHONY: install demo test test-fast lint format bench calibrate system-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(LLM_STAMP): $(STAMP)
	@echo "Installing the llm-test extra: builds llama-cpp-python from source once (minutes)..."
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" CMAKE_BUILD_PARALLEL_LEVEL=$(BUILD_JOBS) \
		$(BIN)/python -m pip install --quiet -e '.[dev,llm-test,distributed]'
	@touch $(LLM_STAMP)

# The benchmarks also run the Ray engine and Ray Data (the `distributed` and `bench` extras).
$(BENCH_STAMP): $(LLM_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,llm-test,distributed,bench]'
	@touch $(BENCH_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/voice-interview demo --per-round 1

test: $(LLM_STAMP)
	$(BIN)/python -m pytest

# The edit-test loop: tests marked neither heavy nor slow (tests/conftest.py says which).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not heavy" -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Refit the calibrated score (prompts/scoring/calibration.toml) after changing the evaluator,
# its rubrics or the tuning sets; tests/test_calibration.py fails until it is refitted.
calibrate: $(STAMP)
	$(BIN)/python tools/fit_calibration.py

bench: $(BENCH_STAMP)
	$(BIN)/python bench/asr.py
	$(BIN)/python bench/practice_latency.py
	$(BIN)/python bench/evaluator_quality.py --asr tiny.en --asr-sets final,blind15
	$(BIN)/python bench/batch_throughput.py
	$(BIN)/python bench/turn_signals.py
	$(BIN)/python bench/turn_taking.py
	$(BIN)/python bench/turn_taking.py --set blind --runs new:tiny.en
	$(BIN)/python bench/echo.py

system-deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES); \
	elif command -v apt-get >/dev/null; then \
		echo "Not root: install the system packages with:  sudo apt-get install $(SYSTEM_PACKAGES)"; \
	elif command -v brew >/dev/null; then \
		echo "On macOS install PortAudio with:  brew install portaudio"; \
	else \
		echo "Install these system libraries with your package manager: $(SYSTEM_PACKAGES)"; \
	fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache sessions
