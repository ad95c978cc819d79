"""Piper synthesis: sentence streaming and the on-disk cache of utterances."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
from voice_interview.core.audio import Audio
from voice_interview.errors import SynthesisError

pytestmark = pytest.mark.slow


def test_iter_sentences_streams_one_chunk_per_sentence(tmp_path: Path) -> None:
    synth = PiperSynthesizer(cache_root=tmp_path)
    chunks = list(synth.iter_sentences("First sentence here. And a second one. Third!"))
    assert len(chunks) == 3
    assert all(c.sample_rate == 22050 and c.duration_s > 0.3 for c in chunks)
    gap = round(synth.options.sentence_silence_s * 22050)
    assert not np.any(chunks[1].samples[:gap])  # the pause between sentences is silence
    assert list(tmp_path.iterdir()) == []  # streaming writes no cache


def test_utterances_are_cached_by_voice_text_and_options(tmp_path: Path) -> None:
    synth = PiperSynthesizer(cache_root=tmp_path)
    text = "What is the difference between authentication and authorization?"
    first = synth.synthesize(text)
    path = synth.cache_path(text)
    assert path.is_file() and path.parent.name == "en_US-joe-medium"
    second = synth.synthesize(text)  # from disk: exactly what was written
    assert np.array_equal(second.samples, Audio.from_int16(first.to_int16(), 22050).samples)
    assert (
        synth.cache_path(" What is the  difference between authentication and authorization? ")
        == path
    )
    assert synth.cache_path(text + " Take your time.") != path
    slower = PiperSynthesizer(SpeechOptions(length_scale=1.2), cache_root=tmp_path)
    assert slower.cache_path(text) != path
    # The options reach the voice. Sampling noise off: with it, durations vary by a few %.
    still = SpeechOptions(noise_scale=0.0, noise_w_scale=0.0)
    plain = PiperSynthesizer(still, cache_root=tmp_path).synthesize(text)
    slow = PiperSynthesizer(replace(still, length_scale=1.2), cache_root=tmp_path)
    assert slow.synthesize(text).duration_s > plain.duration_s * 1.1  # 1.2x


def test_a_damaged_cache_file_is_replaced(tmp_path: Path) -> None:
    synth = PiperSynthesizer(cache_root=tmp_path)
    path = synth.cache_path("Tell me about yourself.")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"RIFF garbage")
    audio = synth.synthesize("Tell me about yourself.")
    assert audio.duration_s > 0.5
    assert path.stat().st_size > 1000


def test_cache_can_be_turned_off(tmp_path: Path) -> None:
    synth = PiperSynthesizer(SpeechOptions(use_cache=False), cache_root=tmp_path)
    synth.synthesize("No cache please.")
    assert not any(tmp_path.rglob("*.wav"))


def test_empty_text_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SynthesisError, match="empty"):
        PiperSynthesizer(cache_root=tmp_path).synthesize("   ")
