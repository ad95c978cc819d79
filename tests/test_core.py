"""Pure logic on synthetic signals and strings: exact assertions, no models."""

from __future__ import annotations

import numpy as np
import pytest

from voice_interview.core.audio import Audio, concatenate
from voice_interview.core.batching import StretchBatcher
from voice_interview.core.hallucination import is_hallucinated, split_hallucinations, word_anomaly
from voice_interview.core.prompting import HESITATION_PROMPT, build_prompt
from voice_interview.core.text import normalize_text, split_sentences
from voice_interview.core.transcript import Segment, Word


def tone(freq: float, seconds: float, rate: int, amp: float = 0.5) -> Audio:
    t = np.arange(round(seconds * rate)) / rate
    return Audio((amp * np.sin(2 * np.pi * freq * t)).astype(np.float32), rate)


def dominant_hz(audio: Audio) -> float:
    spectrum = np.abs(np.fft.rfft(audio.samples))
    return float(np.fft.rfftfreq(audio.num_samples, 1 / audio.sample_rate)[np.argmax(spectrum)])


def test_audio_is_mono_float32_and_validates() -> None:
    a = Audio(np.zeros(10, dtype=np.float64), 16000)
    assert a.samples.dtype == np.float32
    with pytest.raises(ValueError, match="mono"):
        Audio(np.zeros((10, 2), dtype=np.float32), 16000)
    with pytest.raises(ValueError, match="sample_rate"):
        Audio(np.zeros(10, dtype=np.float32), 0)


def test_int16_round_trip_and_clipping() -> None:
    a = Audio(np.array([0.0, 0.5, -0.5, 1.5, -1.5], dtype=np.float32), 8000)
    pcm = a.to_int16()
    assert pcm.tolist() == [0, 16384, -16384, 32767, -32768]
    back = Audio.from_int16(pcm.tobytes(), 8000)
    assert np.allclose(back.samples[:3], [0.0, 0.5, -0.5], atol=1 / 32768)


def test_duration_peak_level_and_silence() -> None:
    a = tone(440, 2.0, 16000, amp=0.25)
    assert a.duration_s == 2.0
    assert a.peak == pytest.approx(0.25, abs=1e-4)
    assert a.rms_dbfs == pytest.approx(20 * np.log10(0.25 / np.sqrt(2)), abs=0.01)
    assert not a.is_silent()
    assert Audio.silence(1.0).is_silent()
    assert Audio.silence(1.0).rms_dbfs == float("-inf")
    assert tone(440, 1.0, 16000, amp=0.0005).is_silent()  # -66 dBFS


@pytest.mark.parametrize(("src", "dst"), [(22050, 16000), (48000, 16000), (8000, 16000)])
def test_resample_keeps_frequency_and_duration(src: int, dst: int) -> None:
    out = tone(440, 1.5, src).resampled(dst)
    assert out.sample_rate == dst
    assert abs(out.num_samples - 1.5 * dst) <= 2
    assert dominant_hz(out) == pytest.approx(440, abs=1)
    assert out.resampled(dst) is out


def test_slice_and_concatenate() -> None:
    a = tone(440, 1.0, 16000)
    assert a.slice_s(0.25, 0.75).num_samples == 8000
    joined = concatenate([a, tone(880, 1.0, 8000)])
    assert joined.sample_rate == 16000 and joined.num_samples == 32000


def test_normalize_text() -> None:
    assert normalize_text("Hello, World! It's real-time—ok?") == "hello world it's real time ok"
    assert normalize_text("  Café\tMENU ") == "cafe menu"


def test_split_sentences() -> None:
    assert split_sentences("One. Two? Three!  Four") == ["One.", "Two?", "Three!", "Four"]


def test_prompt_carries_question_vocabulary_and_hesitations() -> None:
    p = build_prompt("What is pooling?", ("connection pool", "PgBouncer"))
    assert p.initial_prompt == f"What is pooling? {HESITATION_PROMPT}"
    assert p.hotwords == "connection pool, PgBouncer."
    bare = build_prompt("What is pooling?", ("x",), keep_hesitations=False, domain_prompt=False)
    assert bare.initial_prompt is None and bare.hotwords is None
    long = build_prompt(None, tuple(f"term{i:03d}" for i in range(200)))
    assert long.hotwords is not None and len(long.hotwords) <= 301


def _seg(words: list[tuple[str, float, float, float]], avg_logprob: float) -> Segment:
    ws = tuple(Word(text=t, start_s=a, end_s=b, probability=p) for t, a, b, p in words)
    return Segment(
        text=" ".join(w.text for w in ws),
        start_s=ws[0].start_s,
        end_s=ws[-1].end_s,
        words=ws,
        avg_logprob=avg_logprob,
    )


def test_invented_sign_off_is_dropped_and_real_speech_kept() -> None:
    real = _seg([("Improve", 6.66, 6.98, 0.99), ("performance?", 6.98, 7.38, 1.0)], -0.11)
    # measured shape of a tiny.en invention after the last word: squeezed, unsure words
    invented = _seg(
        [("Thank", 7.38, 7.38, 0.01), ("you", 7.38, 7.38, 0.97), ("very", 7.38, 7.42, 0.55)],
        -1.04,
    )
    fast_but_sure = _seg([("OK", 1.0, 1.05, 0.9), ("so", 1.05, 1.1, 0.9)], -0.3)
    unsure_but_normal = _seg([("Redis", 2.0, 2.4, 0.3), ("cluster", 2.4, 2.9, 0.5)], -1.2)
    # measured: tiny.en adding "PlayStation." after a spoken question
    no_speech = _seg([("PlayStation.", 2.74, 3.02, 0.01)], -0.7985).model_copy(
        update={"no_speech_prob": 0.61}
    )
    kept, dropped = split_hallucinations(
        [real, invented, fast_but_sure, unsure_but_normal, no_speech]
    )
    assert kept == (real, fast_but_sure, unsure_but_normal)
    assert dropped == (invented, no_speech)
    assert word_anomaly(Word(text="x", start_s=0, end_s=0.3, probability=0.9)) == 0.0
    assert is_hallucinated(invented)


def test_stretches_are_batched_until_long_enough_or_quiet() -> None:
    b = StretchBatcher(sample_rate=100, min_batch_s=8.0, flush_after_s=1.0)
    assert b.close(0, 300) is None  # 3 s: wait for more
    assert b.tick(350) is None  # 0.5 s quiet after it
    assert b.close(400, 700) is None  # 7 s so far
    assert b.close(750, 900) == (0, 900)  # 9 s: transcribe now
    assert b.flush() is None
    assert b.close(1000, 1200) is None
    assert b.tick(1299) is None
    assert b.tick(1300) == (1000, 1200)  # quiet for 1 s: the candidate may be done
    assert b.close(1400, 1500) is None
    assert b.flush() == (1400, 1500)  # the answer ended


def test_a_word_fused_from_a_hint_is_recognised_but_exact_hints_are_not() -> None:
    from voice_interview.adapters.whisper import _fused_with_hint, _hint_words

    hints = _hint_words("connection pooling, HikariCP, PgBouncer, asynchronous.")
    assert _fused_with_hint("HikariPages", hints)
    assert not _fused_with_hint("HikariCP", hints)
    assert not _fused_with_hint("asynchronous,", hints)
    assert not _fused_with_hint("pages", hints)
