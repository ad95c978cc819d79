# voice_interview: every target installs what it needs into .venv first.
#   make demo         the main job on the bundled models (no microphone needed)
#   make test         the whole test suite (real models, real audio)
#   make lint         ruff + mypy
#   make bench        benchmarks -> bench/results/
#   make system-deps  Debian/Ubuntu system libraries (as root; otherwise prints what to install)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# System packages: libportaudio2 for live audio (sounddevice); pulseaudio + pulseaudio-utils
# (pactl, paplay, parecord) and libasound2-plugins (ALSA's "pulse" PCM) give the device tests
# virtual speakers and microphones (tests/pulse.py); alsa-utils for aplay/arecord when debugging;
# chromium: the headless browser the HTML report tests drive (through playwright).
SYSTEM_PACKAGES := libportaudio2 pulseaudio pulseaudio-utils libasound2-plugins alsa-utils chromium

.PHONY: install demo test lint format bench system-deps clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/voice-interview demo --per-round 1

test: $(STAMP)
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/asr.py
	$(BIN)/python bench/practice_latency.py
	$(BIN)/python bench/evaluator_quality.py --asr tiny.en
	$(BIN)/python bench/batch_throughput.py

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
