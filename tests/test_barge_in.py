"""Barge-in logic (core/barge_in.py) and the echo reference FIFO (adapters/echo.py).

The speech detector is a fake at its protocol boundary (one scripted probability per frame);
the live behaviour, with real devices, Silero and AEC3, is in test_barge_in_live.py.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from voice_interview.adapters.echo import EchoCanceller, FarEnd
from voice_interview.core.barge_in import BargeIn, BargeInOptions

F = 512
RATE = 16_000


class ScriptedDetector:
    """A frame's speech probability is the value its samples hold."""

    frame_samples = F

    def __init__(self) -> None:
        self.resets = 0

    def speech_probability(self, frame: npt.NDArray[np.float32]) -> float:
        assert frame.shape == (F,) and np.ptp(frame) == 0, "misaligned frame"
        return float(frame[0])

    def reset(self) -> None:
        self.resets += 1


def frames(*probabilities: float) -> npt.NDArray[np.float32]:
    return np.concatenate([np.full(F, p, dtype=np.float32) for p in probabilities])


def test_speech_long_enough_in_a_row_is_a_barge_in() -> None:
    options = BargeInOptions(min_speech_s=0.2)  # 0.2 s = 6.25 -> 6 frames of 32 ms
    detector = ScriptedDetector()
    watch = BargeIn(detector, options, RATE)
    assert detector.resets == 1  # a new stream
    assert not watch.feed(frames(0.1, 0.9, 0.9, 0.9, 0.9, 0.9))  # 5 in a row: not yet
    assert not watch.feed(frames(0.2))  # a gap starts the count again
    assert not watch.feed(frames(*[0.9] * 5))
    assert watch.feed(frames(0.9))  # the 6th in a row
    assert watch.detected_at == 13 * F
    assert watch.feed(frames(0.0))  # and it stays detected


def test_blocks_of_any_size_are_framed_in_order() -> None:
    watch = BargeIn(ScriptedDetector(), BargeInOptions(min_speech_s=0.2), RATE)
    signal = frames(0.0, 0.0, *[0.8] * 6)
    pieces = np.split(signal, [100, 700, 1500, 3000])
    results = [watch.feed(p) for p in pieces]
    assert results[-1] and not any(results[:-1])
    assert watch.detected_at == 8 * F


def test_what_is_kept_starts_a_preroll_before_the_speech() -> None:
    options = BargeInOptions(min_speech_s=0.2, preroll_s=2 * F / RATE)
    watch = BargeIn(ScriptedDetector(), options, RATE)
    signal = frames(*[0.0] * 10, *[0.9] * 6)
    watch.feed(signal)
    kept = watch.kept()
    # speech began at frame 10; two frames of preroll before it; everything fed after it
    assert kept.size == signal.size - 8 * F
    np.testing.assert_array_equal(kept, signal[8 * F :])
    more = frames(0.3, 0.4)
    watch.feed(more)
    assert watch.kept().size == kept.size + more.size
    assert watch.speech_onset() == 10 * F  # when the speech began: what late resume reads


def test_speech_begun_as_the_sound_ends_is_kept_too() -> None:
    options = BargeInOptions(min_speech_s=0.2, preroll_s=F / RATE)
    watch = BargeIn(ScriptedDetector(), options, RATE)
    signal = frames(0.0, 0.0, 0.0, 0.9, 0.9)  # two speech frames: too short to stop for
    assert not watch.feed(signal)
    assert watch.speech_start() == 2 * F  # one frame of preroll before the first
    np.testing.assert_array_equal(watch.kept(), signal[2 * F :])
    assert watch.speech_onset() == 3 * F
    watch.feed(frames(0.1))  # the run ended: a blip, not speech
    assert watch.speech_start() is None and watch.kept().size == 0
    assert watch.speech_onset() is None


def test_echo_below_the_threshold_is_never_a_barge_in() -> None:
    watch = BargeIn(ScriptedDetector(), BargeInOptions(), RATE)
    assert not watch.feed(frames(*[0.49] * 200))
    assert watch.kept().size == 0 and watch.detected_at is None
    assert watch.heard_s == pytest.approx(200 * F / RATE)


def test_options_are_validated() -> None:
    with pytest.raises(ValueError, match="threshold"):
        BargeInOptions(threshold=1.0)
    with pytest.raises(ValueError, match="min_speech_s"):
        BargeInOptions(min_speech_s=0.0)
    with pytest.raises(ValueError, match="resume_s"):
        BargeInOptions(resume_s=-1.0)


def test_far_end_hands_out_what_was_played_in_order_then_silence() -> None:
    far = FarEnd()
    far.push(np.arange(1, 6, dtype=np.float32))
    far.push(np.arange(6, 9, dtype=np.float32))
    np.testing.assert_array_equal(far.take(4), [1, 2, 3, 4])
    np.testing.assert_array_equal(far.take(6), [5, 6, 7, 8, 0, 0])
    np.testing.assert_array_equal(far.take(2), [0, 0])
    far.push(np.ones(3, np.float32))
    far.clear()  # stopped before it played: never handed out
    np.testing.assert_array_equal(far.take(3), [0, 0, 0])


def test_far_end_drops_a_stale_reference() -> None:
    far = FarEnd()
    far.push(np.zeros(3 * RATE, np.float32))
    far.push(np.ones(RATE, np.float32))
    # at most 2 s ahead are kept: the oldest second went, the newest is still there
    assert far.take(2 * RATE)[-RATE:].min() == 1.0


def test_echo_canceller_removes_a_delayed_copy_of_the_reference() -> None:
    """AEC3 itself (the real library): a linear echo of noise-like audio, 40 ms late,
    loses most of its energy once the filter has converged (more than 10 dB)."""
    rng = np.random.default_rng(0)
    reference = (rng.standard_normal(6 * RATE) * 0.1).astype(np.float32)
    delay = int(0.04 * RATE)
    echo = np.zeros_like(reference)
    echo[delay:] = 0.3 * reference[:-delay]
    canceller = EchoCanceller()
    out = np.concatenate(
        [
            canceller.process(echo[i : i + F], reference[i : i + F])
            for i in range(0, reference.size - F + 1, F)
        ]
    )
    tail = slice(3 * RATE, out.size)  # after convergence
    reduction_db = 10 * np.log10(np.mean(echo[tail] ** 2) / np.mean(out[tail] ** 2))
    assert reduction_db > 10, reduction_db  # 15 dB measured; 0 dB if it did nothing
