"""The end-of-turn model (adapters/turn.py): Smart Turn v3.2 from the pipecat-ai wheel, on real
speech from tests/data/real-speech (see its README for licences)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from voice_interview.adapters.audio_files import load_audio
from voice_interview.adapters.models import resolve_turn_model
from voice_interview.adapters.turn import TURN_WINDOW_SAMPLES, SmartTurnDetector, turn_features
from voice_interview.adapters.vad import SileroSpeechDetector
from voice_interview.core.endpointing import EndpointOptions
from voice_interview.errors import ModelError

pytestmark = pytest.mark.slow

RATE = 16_000


def clip(real_speech: list[dict[str, str]], name: str) -> np.ndarray:
    path = next(r["path"] for r in real_speech if Path(r["path"]).name == name)
    return load_audio(path).resampled(RATE).samples


def as_heard_at_a_pause(samples: np.ndarray) -> np.ndarray:
    """What the endpointer hands the model: speech up to its last VAD frame, then the pause
    that triggers the question (stretch_gap_s of silence)."""
    vad = SileroSpeechDetector()
    frames = samples[: len(samples) - len(samples) % 512].reshape(-1, 512)
    speech = [i for i, f in enumerate(frames) if vad.speech_probability(f) >= 0.5]
    end = (speech[-1] + 1) * 512
    gap = np.zeros(round(EndpointOptions().stretch_gap_s * RATE), np.float32)
    return np.concatenate([samples[:end], gap])


@pytest.fixture(scope="module")
def detector() -> SmartTurnDetector:
    d = SmartTurnDetector()
    d.load()
    return d


def test_a_finished_sentence_and_one_cut_in_the_middle(
    detector: SmartTurnDetector, real_speech: list[dict[str, str]]
) -> None:
    jfk = clip(real_speech, "jfk.flac")  # "... ask what you can do for your country."
    finished = detector.end_of_turn_probability(as_heard_at_a_pause(jfk))
    # Cut after "And so, my fellow Americans, ask not what your country can do for you," (at
    # the comma pause, 5.9 s): the sentence goes on.
    cut = detector.end_of_turn_probability(as_heard_at_a_pause(jfk[: int(5.9 * RATE)]))
    print(f"\nSmart Turn: finished {finished:.2f}, cut mid-sentence {cut:.2f}")
    assert finished is not None and cut is not None
    assert finished >= 0.8
    assert cut < 0.5
    assert detector.calls == 2 and detector.problem is None


def test_features_match_pipecats_own_front_end(real_speech: list[dict[str, str]]) -> None:
    """faster-whisper's FeatureExtractor, fed as the adapter feeds it, gives the features the
    model was trained on (pipecat's vendored front end, loaded from its file only here)."""
    spec = importlib.util.find_spec("pipecat")
    assert spec is not None and spec.submodule_search_locations
    front = Path(next(iter(spec.submodule_search_locations))) / "audio/turn/smart_turn"
    loader = importlib.util.spec_from_file_location("_st_features", front / "_whisper_features.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    for samples in (clip(real_speech, "jfk.flac"), clip(real_speech, "1089-134691-0000.flac")):
        window = samples[-TURN_WINDOW_SAMPLES:]
        padded = np.concatenate([np.zeros(TURN_WINDOW_SAMPLES - window.size, np.float32), window])
        ours = turn_features(samples)[0]
        theirs = module.compute_whisper_log_mel_features(padded)
        assert ours.shape == theirs.shape == (80, 800)
        np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_the_registry_file_is_verified_and_pipecat_is_not_imported() -> None:
    import sys

    path = resolve_turn_model()
    assert path.name == "smart-turn-v3.2-cpu.onnx" and path.stat().st_size > 8_000_000
    assert "pipecat" not in sys.modules  # located, never imported (its import logs a banner)


def test_a_missing_or_damaged_model_turns_the_detector_off_with_the_fix(tmp_path: Path) -> None:
    missing = SmartTurnDetector(tmp_path / "gone.onnx")
    with pytest.raises(ModelError, match=r"gone\.onnx not found"):
        missing.load()
    assert not missing.try_load()
    assert missing.end_of_turn_probability(np.zeros(RATE, np.float32)) is None
    assert missing.problem is not None and "gone.onnx" in missing.problem

    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    damaged = SmartTurnDetector(junk)
    assert damaged.end_of_turn_probability(np.zeros(RATE, np.float32)) is None
    assert damaged.problem is not None
    assert "junk.onnx: cannot load" in damaged.problem and "pip install" in damaged.problem
    with pytest.raises(ModelError):
        resolve_turn_model("no-such-model")


def test_a_cpu_too_busy_turns_the_detector_off(real_speech: list[dict[str, str]]) -> None:
    slow = SmartTurnDetector(max_call_s=1e-6, max_late_calls=2)  # every call is "late"
    jfk = clip(real_speech, "jfk.flac")
    assert slow.end_of_turn_probability(jfk) is not None  # one late call is tolerated
    assert slow.end_of_turn_probability(jfk) is not None
    assert slow.problem is not None and "too busy" in slow.problem
    assert slow.end_of_turn_probability(jfk) is None  # off from now on: the silence rule
