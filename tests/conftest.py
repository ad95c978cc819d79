"""Shared fixtures. Test data: see tests/data/README.md.

Real models run in these tests (tiny.en, base, the Piper voice); they are loaded once per
session. Nothing is skipped: missing data is a failure with a message saying where to put it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The workplace's shared/ folder: $VOICE_INTERVIEW_SHARED, else next to the repository."""
    path = Path(os.environ.get("VOICE_INTERVIEW_SHARED", REPO.parent / "shared"))
    if not path.is_dir():
        pytest.fail(f"shared data folder not found at {path}; set VOICE_INTERVIEW_SHARED")
    return path


@pytest.fixture(scope="session")
def shared() -> Path:
    return shared_dir()


@pytest.fixture(scope="session")
def real_speech(shared: Path) -> list[dict[str, str]]:
    """The ten real human recordings: dicts with 'path' and 'reference'."""
    folder = shared / "data" / "real-speech"
    rows = [
        json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines() if line
    ]
    return [{"path": str(folder / r["audio"]), "reference": r["reference"]} for r in rows]


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep the TTS cache and assembled models of a test run out of the user's cache.

    The assembled `base` model is reused across the session; tests that exercise assembly
    itself point VOICE_INTERVIEW_CACHE at their own tmp_path.
    """
    if "VOICE_INTERVIEW_CACHE" not in os.environ:
        os.environ["VOICE_INTERVIEW_CACHE"] = str(tmp_path_factory.mktemp("vi-cache"))


@pytest.fixture(scope="session")
def tiny_transcriber():  # type: ignore[no-untyped-def]
    from voice_interview.adapters.whisper import TranscribeOptions, WhisperTranscriber

    t = WhisperTranscriber(TranscribeOptions(model="tiny.en"))
    t.load()
    return t


@pytest.fixture(scope="session")
def synthesizer():  # type: ignore[no-untyped-def]
    """The Piper voice with its sampling noise off: the same text always gives the same audio,
    so tests on synthetic speech are repeatable (with noise on, a word can come and go)."""
    from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions

    return PiperSynthesizer(SpeechOptions(noise_scale=0.0, noise_w_scale=0.0))


@pytest.fixture(scope="module")
def virtual_audio() -> Iterator[Any]:
    """A private PulseAudio server (tests/pulse.py) whose virtual speaker and microphone are
    this process's default devices; a failure, never a skip, when it cannot start."""
    from pulse import PulseError, VirtualAudio

    from voice_interview.adapters.devices import list_devices

    server = VirtualAudio()
    try:
        try:
            server.start()
        except PulseError as exc:
            pytest.fail(f"cannot start the virtual sound devices: {exc}", pytrace=False)
        with server.activate():
            if not any(d["default_input"] and d["default_output"] for d in list_devices()):
                pytest.fail(
                    "PortAudio does not see the PulseAudio server: ALSA's pulse plugin is "
                    f"missing; run `make system-deps` as root (devices: {list_devices()})",
                    pytrace=False,
                )
            yield server
    finally:
        server.stop()
