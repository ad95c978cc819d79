"""Shared fixtures. Test data: see tests/data/README.md.

Real models run in these tests (tiny.en, base, the Piper voice); they are loaded once per
session. Nothing is skipped: missing data is a failure with a message saying where to put it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

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
