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


DATA = REPO / "tests" / "data"  # everything the tests read ships in the repository


@pytest.fixture(scope="session")
def real_speech() -> list[dict[str, str]]:
    """The ten real human recordings (tests/data/real-speech): dicts with 'path' and 'reference'."""
    folder = DATA / "real-speech"
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


# Test tiers (CONTRIBUTING.md). A test is "heavy" when it loads a speech model (Whisper, Piper,
# Smart Turn, Silero VAD, a GGUF judge), opens sound devices or a browser, or runs the command
# line on real audio: through one of these fixtures, or marked `heavy` / `slow` itself.
# `make test-fast` runs the rest (pure logic, the scorer on text, files, fakes at a protocol
# boundary) in well under a minute; `make test` runs every tier.
HEAVY_FIXTURES = frozenset(
    {
        "tiny_transcriber",
        "base_transcriber",
        "base_model",
        "synthesizer",
        "virtual_audio",
        "real_speech",
        "silero",
        "detector",
        "gguf_path",
        "llama_server",
        "browser",
        "session_page",
        "batch_page",
        "recorded",
        "partial",
        "candidate",
        "answer_wav",
    }
)


# `make test` runs the suite in two processes (pytest-xdist, `-n 2`). The tests that play or
# record audio in real time (sound devices, the live interviewer, replay, the file-fed
# microphone) spend most of their time waiting for audio (about a fifth of a core): they run
# one after another in one process, the "realtime" group, so no two of them share the
# machine, while the other process runs the rest. The Ray tests start a two-node cluster of
# one CPU per node (and kill its raylets by name): they are a group too, so no two clusters
# run at once. Both groups come first, so they start at once, one on each process, and the
# other tests fill in after. (xdist's own `--dist loadgroup` does not work with pytest 9: the
# group suffix it puts on `item._nodeid` no longer reaches `item.nodeid`; hence this
# scheduler.)
SERIAL_GROUPS = {
    "realtime": (
        "test_practice_live",
        "test_barge_in_live",
        "test_replay",
        "test_practice",
        "test_devices",
        "test_sessions",
    ),
    "ray": ("test_ray",),
}


def _group_of_module(name: str) -> str | None:
    return next((g for g, modules in SERIAL_GROUPS.items() if name in modules), None)


def _group(item: pytest.Item) -> str | None:
    module = getattr(item, "module", None)
    return _group_of_module(module.__name__ if module is not None else "")


class _SerialGroupsPlugin:
    """xdist's scheduler hook, registered only when xdist is loaded (pytest refuses a hook it
    does not know, e.g. under ``-p no:xdist``)."""

    @staticmethod
    def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
        from xdist.scheduler import LoadScopeScheduling

        class SerialGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
            """Each group of SERIAL_GROUPS is one unit of work (one process, in order); every
            other test is a unit of its own; units go out in collection order."""

            def _split_scope(self, nodeid: str) -> str:
                module = Path(nodeid.split("::", 1)[0]).stem
                return _group_of_module(module) or nodeid

        config.option.loadscopereorder = False  # keep the collection order (groups first)
        return SerialGroupScheduling(config, log)


def pytest_configure(config: pytest.Config) -> None:
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_SerialGroupsPlugin(), "voice-interview-serial-groups")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    order = {group: i for i, group in enumerate(SERIAL_GROUPS)}
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & HEAVY_FIXTURES or item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.heavy)
    items.sort(key=lambda i: order.get(_group(i) or "", len(order)))
