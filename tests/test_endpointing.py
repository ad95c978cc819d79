"""End-of-answer detection: voice_interview.core.endpointing and adapters/vad.py.

Tier 1 drives the Endpointer with a protocol fake whose "speech probability" is written into
the signal itself (one constant value per 512-sample frame), so every expectation is exact to
the sample. Tier 2 runs the real Silero VAD (bundled with faster-whisper) on synthetic signals
and tier 3 on real recordings from tests/data/real-speech (see its README for licences).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from voice_interview.adapters.audio_files import load_audio
from voice_interview.adapters.vad import SILERO_FRAME_SAMPLES, SileroSpeechDetector
from voice_interview.core.audio import ASR_SAMPLE_RATE
from voice_interview.core.endpointing import (
    Endpointer,
    EndpointEvent,
    EndpointOptions,
    EndReason,
)
from voice_interview.errors import ModelError

RATE = ASR_SAMPLE_RATE
F = 512  # frame size of the fake, as Silero's
PAD = round(EndpointOptions().stretch_pad_s * RATE)  # 3200 samples
SPEECH, QUIET = 0.9, 0.0

# The plain silence rule (no turn model, no content reports, no nudge, no forced cuts): the
# tier-1 tests of starting, stretches, caps and framing run with it. The policy that weighs
# the turn model and the content has its own tests below.
SILENCE_RULE = EndpointOptions(
    end_silence_s=3.0, nudge_reply_s=0.0, stretch_gap_s=0.6, max_stretch_s=math.inf
)


def rule(**changes: float) -> EndpointOptions:
    return replace(SILENCE_RULE, **changes)


Signal = npt.NDArray[np.float32]


# --- protocol fake and helpers ----------------------------------------------------------------


class ScriptedDetector:
    """SpeechDetector fake: a frame's probability is the value its samples hold.

    Tests write the script into the signal (:func:`scripted`: one constant value per frame), so
    a frame cut at the wrong place mixes two values and fails the constancy check.
    """

    def __init__(self, frame_samples: int = F) -> None:
        self.frame_samples = frame_samples
        self.frames = 0
        self.resets = 0

    def speech_probability(self, frame: npt.NDArray[np.float32]) -> float:
        assert frame.shape == (self.frame_samples,)
        assert frame.dtype == np.float32
        assert np.ptp(frame) == 0, "a frame straddles two scripted frames: misaligned framing"
        self.frames += 1
        return float(frame[0])

    def reset(self) -> None:
        self.resets += 1


class ScriptedTurn:
    """TurnDetector fake: answers from a list, one value per call, and records each window."""

    def __init__(self, *answers: float | None, window_samples: int = 8 * RATE) -> None:
        self.window_samples = window_samples
        self.answers = list(answers)
        self.windows: list[Signal] = []

    def end_of_turn_probability(self, samples: Signal) -> float | None:
        self.windows.append(samples.copy())
        return self.answers.pop(0) if self.answers else None


def scripted(*parts: tuple[int, float], frame: int = F) -> Signal:
    """A signal from (number of frames, probability) parts."""
    return np.concatenate(
        [np.full(n * frame, p, dtype=np.float32) for n, p in parts] or [np.zeros(0, np.float32)]
    )


def run(
    signal: Signal,
    options: EndpointOptions | None = None,
    chunk: int = F,
    *,
    stop: bool = False,
    detector: ScriptedDetector | None = None,
    rate: int = RATE,
    turn: ScriptedTurn | None = None,
    checks: bool = False,
) -> tuple[list[EndpointEvent], Endpointer]:
    endpointer = Endpointer(
        detector or ScriptedDetector(), options or SILENCE_RULE, sample_rate=rate, turn=turn
    )
    events: list[EndpointEvent] = []
    for pos in range(0, len(signal), chunk):
        events += endpointer.feed(signal[pos : pos + chunk])
    if stop:
        events += endpointer.stop()
    if not checks:  # the turn-model checks at each pause, tested on their own
        events = [e for e in events if e.kind != "turn_checked"]
    return events, endpointer


def frames_for(seconds: float, frame: int = F, rate: int = RATE) -> int:
    """Frames until a duration is reached: the endpointer decides at frame ends."""
    return math.ceil(seconds * rate / frame)


def started(onset_frame: int) -> EndpointEvent:
    """speech_started for a clean burst from ``onset_frame`` with the default min_speech_s."""
    onset = onset_frame * F
    return EndpointEvent("speech_started", onset + frames_for(0.25) * F, start_sample=onset)


def stretch(decided: int, start: int, end: int) -> EndpointEvent:
    return EndpointEvent("stretch_closed", decided, start_sample=start, end_sample=end)


def ended(
    decided: int, reason: EndReason, start: int | None = None, end: int | None = None
) -> EndpointEvent:
    return EndpointEvent("answer_ended", decided, start, end, reason)


# --- tier 1: exact behaviour with the fake ----------------------------------------------------


def test_thinking_pause_shorter_than_end_silence_does_not_end_the_answer() -> None:
    # 10 quiet frames, 63 speech, a 2.5 s pause (78 frames = 2.496 s), 63 speech, 4 s quiet.
    signal = scripted((10, QUIET), (63, SPEECH), (78, QUIET), (63, SPEECH), (125, QUIET))
    events, endpointer = run(signal)
    speech1_end, speech2_start, speech2_end = 73 * F, 151 * F, 214 * F
    gap = frames_for(0.6) * F  # 19 frames: the first frame end with >= 0.6 s of pause
    end_silence = frames_for(3.0) * F  # 94 frames = 3.008 s
    assert events == [
        started(10),
        stretch(speech1_end + gap, 10 * F - PAD, speech1_end + PAD),
        stretch(speech2_end + gap, speech2_start - PAD, speech2_end + PAD),
        ended(speech2_end + end_silence, "silence", 10 * F - PAD, speech2_end + PAD),
    ]
    assert endpointer.state == "ended"
    assert endpointer.reopenable  # still listening: speech now would reopen the answer
    assert endpointer.elapsed_s == len(signal) / RATE
    assert endpointer.speech_s == 126 * F / RATE


def test_answer_ends_at_the_first_frame_end_after_end_silence() -> None:
    """Fed frame by frame: the answer is still open one frame before speech end + 3.0 s."""
    signal = scripted((40, SPEECH), (200, QUIET))
    endpointer = Endpointer(ScriptedDetector(), SILENCE_RULE)
    ended_at = None
    for index in range(240):
        events = endpointer.feed(signal[index * F : (index + 1) * F])
        if any(e.kind == "answer_ended" for e in events):
            ended_at = (index + 1) * F
            assert events[-1].reason == "silence"
            break
        # 8 frames (0.256 s >= min_speech_s) confirm the speech before it counts.
        assert endpointer.state == (
            "waiting" if index < 7 else "speaking" if index < 40 else "pausing"
        )
    # 3.0 s = 48000 samples = 93.75 frames: decided at the end of the 94th quiet frame.
    assert ended_at == 40 * F + 94 * F


@pytest.mark.parametrize("end_silence_s", [0.5, 1.5, 3.0, 4.2])
def test_end_silence_is_configurable(end_silence_s: float) -> None:
    signal = scripted((30, SPEECH), (200, QUIET))
    events, _ = run(signal, rule(end_silence_s=end_silence_s))
    assert events[-1] == ended(30 * F + frames_for(end_silence_s) * F, "silence", 0, 30 * F + PAD)


def test_a_short_burst_does_not_start_an_answer() -> None:
    # 0.1 s cough (3 frames = 96 ms, then 4 frames = 128 ms), then 0.224 s (7 frames): none
    # reaches min_speech_s = 0.25 s; nobody answers, so the no-speech timeout ends it.
    signal = scripted(
        (20, QUIET), (3, 0.95), (20, QUIET), (4, 0.95), (20, QUIET), (7, 0.95), (700, QUIET)
    )
    events, endpointer = run(signal)
    timeout = frames_for(20.0) * F
    assert events == [ended(timeout, "no_speech")]
    assert endpointer.speech_s == 0.0


def test_min_speech_needs_uninterrupted_speech_with_hysteresis() -> None:
    # 5 frames, one frame below silence_threshold, 5 frames: the burst restarts and fails.
    # Then 0.4 (between the thresholds) does not start a burst but continues one: 1 + 7 frames.
    signal = scripted(
        (10, QUIET), (5, SPEECH), (1, 0.3), (5, SPEECH), (10, QUIET),
        (3, 0.4), (1, SPEECH), (7, 0.4), (100, QUIET),
    )  # fmt: skip
    events, _ = run(signal)
    onset = 34 * F
    assert events[0] == EndpointEvent("speech_started", onset + 8 * F, start_sample=onset)


def test_min_speech_zero_starts_on_the_first_speech_frame() -> None:
    events, _ = run(scripted((5, QUIET), (1, SPEECH), (5, QUIET)), rule(min_speech_s=0))
    assert events[0] == EndpointEvent("speech_started", 6 * F, start_sample=5 * F)


def test_max_answer_caps_the_answer_from_its_first_speech() -> None:
    options = rule(max_answer_s=5.0)
    signal = scripted((50, QUIET), (400, SPEECH))
    events, endpointer = run(signal, options)
    cap = 50 * F + frames_for(5.0) * F  # 157 frames after the onset
    assert events == [
        started(50),
        stretch(cap, 50 * F - PAD, cap),  # padding never passes the decision point
        ended(cap, "max_length", 50 * F - PAD, cap),
    ]
    assert endpointer.elapsed_s == cap / RATE


def test_max_answer_during_a_pause_closes_the_stretch_at_the_last_speech() -> None:
    options = rule(max_answer_s=4.0)
    signal = scripted((100, SPEECH), (100, QUIET))  # cap at 125 frames, 25 frames into pause
    events, _ = run(signal, options)
    assert events[-2:] == [
        stretch(100 * F + 19 * F, 0, 100 * F + PAD),
        ended(125 * F, "max_length", 0, 100 * F + PAD),
    ]


def test_no_speech_timeout() -> None:
    options = rule(no_speech_timeout_s=2.0)
    events, endpointer = run(scripted((500, QUIET)), options)
    assert events == [ended(frames_for(2.0) * F, "no_speech")]  # 63 frames = 32256 samples
    assert endpointer.state == "ended"
    assert endpointer.elapsed_s == 63 * F / RATE


def test_no_speech_timeout_lets_a_burst_in_progress_finish() -> None:
    options = rule(no_speech_timeout_s=2.0)
    # Speech begins at frame 60 (1.92 s); the timeout (frame 63) falls inside the 8 frames
    # that confirm it.
    events, _ = run(scripted((60, QUIET), (30, SPEECH), (120, QUIET)), options)
    assert events[0] == started(60)
    assert events[-1].reason == "silence"


def test_stop_while_speaking_includes_the_unclassified_tail() -> None:
    signal = scripted((10, QUIET), (50, SPEECH))[:-100]  # a partial last frame stays buffered
    events, endpointer = run(signal, stop=True)
    total = len(signal)
    assert events == [
        started(10),
        stretch(total, 10 * F - PAD, total),
        ended(total, "stopped", 10 * F - PAD, total),
    ]
    assert endpointer.feed(scripted((10, SPEECH))) == []
    assert endpointer.stop() == []


def test_stop_while_pausing_and_while_waiting() -> None:
    signal = scripted((40, SPEECH), (10, QUIET))
    events, _ = run(signal, stop=True)
    assert events[-2:] == [
        stretch(50 * F, 0, 40 * F + PAD),
        ended(50 * F, "stopped", 0, 40 * F + PAD),
    ]
    # The pause had closed the stretch already: stop() only ends the answer.
    events, _ = run(scripted((40, SPEECH), (30, QUIET)), stop=True)
    assert [e.kind for e in events] == ["speech_started", "stretch_closed", "answer_ended"]
    # Nobody spoke: stopped, with no span.
    events, _ = run(scripted((40, QUIET)), stop=True)
    assert events == [ended(40 * F, "stopped")]


def test_stretches_merge_short_pauses_and_close_on_long_ones() -> None:
    signal = scripted(
        (30, SPEECH), (15, QUIET), (30, SPEECH),  # 0.48 s pause: one stretch
        (22, QUIET), (40, SPEECH),  # 0.70 s pause: closes the stretch
        (18, QUIET), (10, SPEECH),  # 0.576 s pause (< 0.6 s): merged
        (200, QUIET),
    )  # fmt: skip
    events, _ = run(signal)
    first_end, second_start, second_end = 75 * F, 97 * F, 165 * F
    assert [e for e in events if e.kind == "stretch_closed"] == [
        stretch(first_end + 19 * F, 0, first_end + PAD),  # clipped at sample 0
        stretch(second_end + 19 * F, second_start - PAD, second_end + PAD),
    ]
    assert events[-1] == ended(second_end + 94 * F, "silence", 0, second_end + PAD)


def test_stretch_padding_never_overlaps_the_previous_stretch() -> None:
    options = rule(stretch_gap_s=0.1)  # 4 frames (128 ms) < 2 x 0.2 s padding
    events, _ = run(scripted((20, SPEECH), (5, QUIET), (20, SPEECH), (200, QUIET)), options)
    first, second = [e for e in events if e.kind == "stretch_closed"]
    assert first == stretch(20 * F + 4 * F, 0, 20 * F + 4 * F)  # padding clipped at decision
    assert second.start_sample == first.end_sample == 24 * F
    assert second.end_sample == 49 * F  # again clipped at its decision point


def test_hysteresis_inside_the_answer() -> None:
    # While speaking, 0.4 (between the thresholds) is speech; while pausing it is silence.
    signal = scripted((20, SPEECH), (30, 0.4), (5, QUIET), (40, 0.4), (120, QUIET))
    events, endpointer = run(signal)
    speech_end = 50 * F
    assert events[-1] == ended(speech_end + 94 * F, "silence", 0, speech_end + PAD)
    assert endpointer.speech_s == 50 * F / RATE


def test_a_speech_frame_in_a_pause_restarts_the_countdown() -> None:
    signal = scripted((20, SPEECH), (80, QUIET), (1, 0.6), (80, QUIET), (120, QUIET))
    events, _ = run(signal)
    assert events[-1].sample == 101 * F + 94 * F
    assert [e.kind for e in events].count("stretch_closed") == 2


CHUNK_SCRIPT = scripted(
    (7, QUIET), (3, SPEECH), (9, QUIET), (30, SPEECH), (3, 0.4), (25, SPEECH), (22, QUIET),
    (12, 0.55), (1, 0.2), (40, SPEECH), (60, QUIET), (5, SPEECH), (110, QUIET),
)  # fmt: skip


@pytest.mark.parametrize("chunk", [1, 100, 511, 512, 513, 4000, len(CHUNK_SCRIPT)])
def test_events_do_not_depend_on_chunk_size(chunk: int) -> None:
    reference, ref_endpointer = run(CHUNK_SCRIPT, chunk=F)
    assert [e.kind for e in reference] == [
        "speech_started", "stretch_closed", "stretch_closed", "stretch_closed", "answer_ended",
    ]  # fmt: skip
    events, endpointer = run(CHUNK_SCRIPT, chunk=chunk)
    assert events == reference
    assert endpointer.elapsed_s == ref_endpointer.elapsed_s
    assert endpointer.speech_s == ref_endpointer.speech_s


def test_events_do_not_depend_on_irregular_chunks_or_on_stop_timing() -> None:
    signal = CHUNK_SCRIPT[: 150 * F + 77]
    reference, _ = run(signal, stop=True)
    rng = np.random.default_rng(7)
    endpointer = Endpointer(ScriptedDetector(), SILENCE_RULE)
    events: list[EndpointEvent] = []
    pos = 0
    while pos < len(signal):
        size = int(rng.integers(0, 3000))  # empty chunks included
        events += endpointer.feed(signal[pos : pos + size])
        pos += size
    events += endpointer.stop()
    assert [e for e in events if e.kind != "turn_checked"] == reference
    assert reference[-1].sample == len(signal)


def test_timing_comes_from_sample_counts_only(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_clock() -> float:
        raise AssertionError("the endpointer read the clock")

    for name in ("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns"):
        monkeypatch.setattr(time, name, no_clock)
    events_16k, _ = run(CHUNK_SCRIPT)
    monkeypatch.undo()
    # The same script at 8 kHz with 256-sample frames: every event at the same time in seconds.
    half = scripted(*[(1, float(v)) for v in CHUNK_SCRIPT[::F]], frame=F // 2)
    events_8k, _ = run(half, chunk=300, detector=ScriptedDetector(F // 2), rate=RATE // 2)

    def in_seconds(events: list[EndpointEvent], rate: int) -> list[tuple[object, ...]]:
        return [
            (
                e.kind,
                e.reason,
                e.sample / rate,
                None if e.start_sample is None else e.start_sample / rate,
            )
            for e in events
        ]

    assert in_seconds(events_8k, RATE // 2) == in_seconds(events_16k, RATE)


def test_reset_starts_over_and_resets_the_detector() -> None:
    detector = ScriptedDetector()
    endpointer = Endpointer(detector, SILENCE_RULE)
    assert detector.resets == 1
    first = endpointer.feed(scripted((40, SPEECH), (120, QUIET)))
    assert endpointer.reopenable  # ended on silence: speech now would reopen the answer
    assert [e.kind for e in endpointer.feed(scripted((40, SPEECH)))] == ["answer_reopened"]
    endpointer.reset()
    assert detector.resets == 2
    assert (endpointer.state, endpointer.elapsed_s, endpointer.speech_s) == ("waiting", 0.0, 0.0)
    assert endpointer.feed(scripted((40, SPEECH), (120, QUIET))) == first


def test_options_are_validated_and_echoed() -> None:
    options = EndpointOptions(end_silence_s=2.0)
    assert Endpointer(ScriptedDetector(), options).options is options
    assert Endpointer(ScriptedDetector()).options == EndpointOptions()
    assert run(scripted((20, SPEECH)), rule(max_answer_s=math.inf))[0] == [started(0)]
    bad: dict[str, float]
    for bad in (
        {"end_silence_s": 0.0},
        {"max_answer_s": -1.0},
        {"no_speech_timeout_s": math.nan},
        {"min_speech_s": -0.1},
        {"stretch_pad_s": math.inf},
        {"speech_threshold": 0.3},  # below silence_threshold
        {"silence_threshold": 0.0},
        {"speech_threshold": 1.5},
    ):
        with pytest.raises(ValueError, match="EndpointOptions"):
            EndpointOptions(**bad)
    with pytest.raises(ValueError, match="1-D"):
        Endpointer(ScriptedDetector()).feed(np.zeros((2, 512), np.float32))
    with pytest.raises(ValueError, match="sample_rate"):
        Endpointer(ScriptedDetector(), sample_rate=0)


# --- tier 1: the policy (turn model + content + silence) --------------------------------------

POLICY = EndpointOptions()  # the defaults: what practice listens with
GAP = frames_for(POLICY.stretch_gap_s)  # 10 frames: the pause that closes a stretch
QUICK = frames_for(POLICY.finished_silence_s)  # 16 frames
FALLBACK = frames_for(POLICY.fallback_silence_s)  # 94 frames
LONGEST = frames_for(POLICY.end_silence_s)  # 250 frames
REPLY = frames_for(POLICY.nudge_reply_s)  # 125 frames


def policy_run(
    signal: Signal,
    *answers: float | None,
    content: tuple[bool, int] | None = None,
    chunk: int = F,
    options: EndpointOptions = POLICY,
    no_model: bool = False,
) -> tuple[list[EndpointEvent], Endpointer, ScriptedTurn]:
    turn = ScriptedTurn(*answers)
    endpointer = Endpointer(ScriptedDetector(), options, turn=None if no_model else turn)
    if content is not None:
        endpointer.set_content(*content)
    events: list[EndpointEvent] = []
    for pos in range(0, len(signal), chunk):
        events += endpointer.feed(signal[pos : pos + chunk])
    return events, endpointer, turn


def checked(decided: int, speech_end: int, p: float | None) -> EndpointEvent:
    return EndpointEvent("turn_checked", decided, end_sample=speech_end, probability=p)


def test_a_finished_answer_ends_half_a_second_after_the_last_word() -> None:
    end = 40 * F
    events, endpointer, turn = policy_run(
        scripted((40, SPEECH), (300, QUIET)), 0.9, content=(True, end + PAD)
    )
    assert events == [
        started(0),
        stretch(end + GAP * F, 0, end + PAD),
        checked(end + GAP * F, end, 0.9),
        ended(end + QUICK * F, "finished", 0, end + PAD),
    ]
    assert len(turn.windows) == 1  # asked once, at the pause
    assert endpointer.reopenable


def test_the_turn_model_hears_the_last_8_s_up_to_the_pause() -> None:
    rng = np.random.default_rng(3)
    # 300 speech frames (9.6 s) with distinct values, so the window's position is checkable.
    values = rng.uniform(0.6, 0.99, 300)
    signal = np.concatenate([scripted(*[(1, float(v)) for v in values]), scripted((40, QUIET))])
    options = replace(POLICY, max_stretch_s=math.inf)
    _, _, turn = policy_run(signal, 0.9, content=(True, 10**9), options=options)
    (window,) = turn.windows
    decided = 300 * F + GAP * F
    np.testing.assert_array_equal(window, signal[decided - 8 * RATE : decided])
    # Shorter answers: everything heard so far.
    _, _, turn = policy_run(scripted((5, QUIET), (40, SPEECH), (40, QUIET)), 0.9)
    assert turn.windows[0].shape == ((45 + GAP) * F,)


def test_content_unfinished_waits_the_longest_silence_then_nudges_then_ends() -> None:
    end = 40 * F
    signal = scripted((40, SPEECH), (LONGEST + REPLY + 20, QUIET))
    events, _, _ = policy_run(signal, 0.95, content=(False, end + PAD))
    assert [e.kind for e in events] == [
        "speech_started", "stretch_closed", "turn_checked", "nudge", "answer_ended",
    ]  # fmt: skip
    nudge, last = events[-2:]
    assert nudge == EndpointEvent("nudge", end + LONGEST * F, end_sample=end)
    assert last == ended(end + LONGEST * F + REPLY * F, "silence", 0, end + PAD)


def test_the_reply_window_starts_when_the_prompt_has_been_said() -> None:
    end = 40 * F
    prompt = 60  # frames the prompt took to play (fed to the endpointer as silence)
    signal = scripted((40, SPEECH), (LONGEST + prompt + REPLY + 20, QUIET))
    endpointer = Endpointer(ScriptedDetector(), POLICY, turn=ScriptedTurn(0.95))
    endpointer.set_content(False, end + PAD)
    events: list[EndpointEvent] = []
    for pos in range(0, len(signal), F):
        new = endpointer.feed(signal[pos : pos + F])
        events += new
        if any(e.kind == "nudge" for e in new):
            endpointer.prompted(pos + F + prompt * F)
    last = events[-1]
    assert last.kind == "answer_ended"
    assert last.sample == end + (LONGEST + prompt + REPLY) * F  # not REPLY after the nudge


def test_a_doubtful_end_shows_feedback_at_once_but_the_interviewer_waits_longer() -> None:
    end = 40 * F
    signal = scripted((40, SPEECH), (LONGEST + 10, QUIET))
    sure = policy_run(signal, 0.9, content=(True, end + PAD))[1]
    assert sure.reply_after_s == POLICY.reply_after_s
    for p, content_sure in ((0.2, True), (0.9, False), (0.2, False)):
        endpointer = Endpointer(ScriptedDetector(), POLICY, turn=ScriptedTurn(p))
        endpointer.set_content(True, end + PAD, sure=content_sure)
        events = endpointer.feed(signal)
        # the transcript decides the end: half a second after the last word, as when sure
        assert events[-1] == ended(end + QUICK * F, "finished", 0, end + PAD)
        assert endpointer.reply_after_s == POLICY.end_silence_s, (p, content_sure)
    # end_silence_s is the upper bound of every wait
    options = replace(POLICY, end_silence_s=1.0, reply_after_s=2.0)
    for p in (0.1, 0.9):
        endpointer = Endpointer(ScriptedDetector(), options, turn=ScriptedTurn(p))
        endpointer.set_content(True, end + PAD)
        endpointer.feed(signal)
        assert endpointer.reply_after_s == 1.0


@pytest.mark.parametrize("model", [0.1, None])
def test_a_closing_phrase_ends_quickly_and_the_interviewer_may_answer_at_once(
    model: float | None,
) -> None:
    end = 40 * F
    signal = scripted((40, SPEECH), (LONGEST + 10, QUIET))
    turn = None if model is None else ScriptedTurn(model)
    endpointer = Endpointer(ScriptedDetector(), POLICY, turn=turn)
    endpointer.set_content(False, end + PAD, sure=False, done=True)
    events = endpointer.feed(signal)
    # finished_silence_s, even when the turn model hears "unfinished" or is missing
    assert events[-1] == ended(end + QUICK * F, "finished", 0, end + PAD)
    assert endpointer.reply_after_s == 0.0
    # speech after it reopens the answer, and the next end is judged afresh
    more = endpointer.feed(scripted((20, SPEECH), (QUICK + GAP + 5, QUIET)))
    assert more[0].kind == "answer_reopened"
    assert endpointer.reply_after_s > 0.0


def test_without_content_the_turn_model_decides() -> None:
    # wait_for_content=False: pipecat's rule, kept as a benchmark baseline
    end = 40 * F
    options = replace(POLICY, wait_for_content=False)
    signal = scripted((40, SPEECH), (LONGEST + 10, QUIET))
    events, _, _ = policy_run(signal, 0.2, options=options)
    assert [e.kind for e in events][-1] == "nudge"
    events, endpointer, _ = policy_run(signal, 0.9, options=options)
    assert events[-1] == ended(end + QUICK * F, "finished", 0, end + PAD)
    assert endpointer.reply_after_s == POLICY.reply_after_s


def test_no_content_report_means_unfinished() -> None:
    events, _, _ = policy_run(scripted((40, SPEECH), (LONGEST + 10, QUIET)), 0.99)
    assert events[-1].kind == "nudge"


def test_a_stale_content_report_does_not_count() -> None:
    # The report covers the first burst only; the second burst came after it.
    signal = scripted((40, SPEECH), (5, QUIET), (40, SPEECH), (LONGEST + 10, QUIET))
    events, _, _ = policy_run(signal, 0.99, content=(True, 40 * F + PAD))
    assert events[-1].kind == "nudge"


def test_a_late_content_report_ends_the_answer_at_the_next_frame() -> None:
    end = 40 * F
    turn = ScriptedTurn(0.9)
    endpointer = Endpointer(ScriptedDetector(), POLICY, turn=turn)
    events = endpointer.feed(scripted((40, SPEECH), (30, QUIET)))  # 0.96 s of pause
    assert events[-1].kind == "turn_checked"
    endpointer.set_content(True, end + PAD)  # the transcript came back after 30 frames
    events = endpointer.feed(scripted((5, QUIET)))
    assert events == [ended(end + 31 * F, "finished", 0, end + PAD)]


def test_without_a_turn_model_finished_content_ends_on_the_silence_rule() -> None:
    end = 40 * F
    signal = scripted((40, SPEECH), (200, QUIET))
    for events in (
        policy_run(signal, content=(True, end + PAD), no_model=True)[0],
        policy_run(signal, None, content=(True, end + PAD))[0],  # a model that is off
    ):
        assert checked(end + GAP * F, end, None) in events
        assert events[-1] == ended(end + FALLBACK * F, "finished", 0, end + PAD)


def test_speech_after_a_nudge_keeps_the_answer_open() -> None:
    end = 40 * F
    signal = scripted(
        (40, SPEECH), (LONGEST + 20, QUIET), (40, SPEECH), (QUICK + 5, QUIET)
    )  # fmt: skip
    events, endpointer, turn = policy_run(signal, 0.9, 0.9, content=(False, end + PAD))
    kinds = [e.kind for e in events]
    assert kinds.count("nudge") == 1 and "answer_ended" not in kinds
    assert endpointer.state == "pausing"
    assert len(turn.windows) == 2  # once per pause


def test_a_reopened_answer_is_one_answer() -> None:
    start2 = 40 * F + (QUICK + 30) * F
    end2 = start2 + 40 * F
    signal = scripted((40, SPEECH), (QUICK + 30, QUIET), (40, SPEECH), (QUICK + 5, QUIET))
    events, endpointer, _ = policy_run(signal, 0.9, 0.9, content=(True, 10**9))
    assert [e.kind for e in events if e.kind != "turn_checked"] == [
        "speech_started", "stretch_closed", "answer_ended",
        "answer_reopened", "stretch_closed", "answer_ended",
    ]  # fmt: skip
    reopened = next(e for e in events if e.kind == "answer_reopened")
    assert reopened == EndpointEvent("answer_reopened", start2 + 8 * F, start_sample=start2)
    stretches = [e for e in events if e.kind == "stretch_closed"]
    assert stretches[1].start_sample == start2 - PAD  # no overlap with the first stretch
    assert events[-1] == ended(end2 + QUICK * F, "finished", 0, end2 + PAD)
    assert endpointer.speech_s == 80 * F / RATE
    # Enter (stop) after a close ends it for good: speech no longer reopens it.
    assert endpointer.stop() == []
    assert not endpointer.reopenable
    assert endpointer.feed(scripted((40, SPEECH))) == []


def test_a_burst_after_an_end_counts_as_speech_before_it_reopens() -> None:
    # The interviewer must not start on the first frames of a new sentence, before the burst
    # is long enough (min_speech_s) to reopen the answer.
    endpointer = Endpointer(ScriptedDetector(), POLICY, turn=ScriptedTurn(0.9))
    endpointer.set_content(True, 10**9)
    endpointer.feed(scripted((40, SPEECH), (QUICK + 5, QUIET)))
    assert endpointer.reopenable and not endpointer.hearing_speech
    assert endpointer.feed(scripted((3, SPEECH))) == []  # 3 frames: not yet an answer
    assert endpointer.state == "ended" and endpointer.hearing_speech
    endpointer.feed(scripted((2, QUIET)))  # a click, not speech: gone again
    assert not endpointer.hearing_speech
    assert [e.kind for e in endpointer.feed(scripted((10, SPEECH)))] == ["answer_reopened"]
    assert endpointer.hearing_speech


def test_a_long_fluent_stretch_is_cut_at_its_quietest_frame() -> None:
    # 8 s of speech without a pause; one frame in each 3 s is quieter (0.6 instead of 0.9).
    parts: list[tuple[int, float]] = [(70, SPEECH), (1, 0.6), (60, SPEECH), (1, 0.55)]
    parts += [(118, SPEECH), (20, QUIET)]
    signal = scripted(*parts)
    events, _, _ = policy_run(signal, 0.1)
    cuts = [e for e in events if e.kind == "stretch_closed"]
    limit = frames_for(POLICY.max_stretch_s)  # 94 frames: the first cut is decided then
    assert cuts[0] == stretch(limit * F, 0, 70 * F + F // 2)
    second_start = 70 * F + F // 2
    assert cuts[1].start_sample == second_start  # contiguous: nothing lost, nothing twice
    assert cuts[1].end_sample == 131 * F + F // 2  # the 0.55 frame
    assert all(a.end_sample == b.start_sample for a, b in itertools.pairwise(cuts[:-1]))
    assert all(
        c.end_sample is not None
        and c.start_sample is not None
        and c.end_sample - c.start_sample <= POLICY.max_stretch_s * RATE
        for c in cuts
    )


@pytest.mark.parametrize("chunk", [1, 300, 512, 1000, 7777])
def test_the_policy_does_not_depend_on_chunk_size(chunk: int) -> None:
    signal = scripted(
        (5, QUIET), (150, SPEECH), (1, 0.5), (60, SPEECH), (12, QUIET), (30, SPEECH),
        (QUICK + 40, QUIET), (20, SPEECH), (LONGEST + REPLY + 5, QUIET),
    )  # fmt: skip
    # Content: finished up to the second pause (ends quickly; the last burst reopens it, and
    # with no report for it the answer is nudged, then ends).
    reference = policy_run(signal, 0.3, 0.9, 0.9, content=(True, 260 * F))
    events = policy_run(signal, 0.3, 0.9, 0.9, content=(True, 260 * F), chunk=chunk)
    assert events[0] == reference[0]
    kinds = [e.kind for e in reference[0]]
    assert {"answer_reopened", "nudge"} <= set(kinds) and kinds[-1] == "answer_ended"
    for a, b in zip(events[2].windows, reference[2].windows, strict=True):
        np.testing.assert_array_equal(a, b)


def test_policy_options_are_validated() -> None:
    for bad in (
        {"finished_silence_s": 0.0},
        {"fallback_silence_s": -1.0},
        {"nudge_reply_s": -1.0},
        {"max_stretch_s": 0.0},
        {"turn_threshold": 1.5},
    ):
        with pytest.raises(ValueError, match="EndpointOptions"):
            EndpointOptions(**bad)


# --- tier 2: real Silero on synthetic signals -------------------------------------------------


@pytest.fixture(scope="module")
def silero() -> SileroSpeechDetector:
    detector = SileroSpeechDetector()
    detector.load()
    return detector


def probabilities(detector: SileroSpeechDetector, samples: Signal) -> npt.NDArray[np.float64]:
    detector.reset()
    usable = len(samples) - len(samples) % SILERO_FRAME_SAMPLES
    frames = samples[:usable].reshape(-1, SILERO_FRAME_SAMPLES)
    return np.array([detector.speech_probability(frame) for frame in frames])


def listen(
    detector: SileroSpeechDetector, samples: Signal, options: EndpointOptions | None = None
) -> list[EndpointEvent]:
    """Feed ``samples`` in 512-sample chunks, as a live microphone would deliver them."""
    detector.reset()
    endpointer = Endpointer(detector, options or SILENCE_RULE)
    events: list[EndpointEvent] = []
    for pos in range(0, len(samples), SILERO_FRAME_SAMPLES):
        events += endpointer.feed(samples[pos : pos + SILERO_FRAME_SAMPLES])
    return events


def test_silero_digital_silence_is_not_speech(silero: SileroSpeechDetector) -> None:
    probs = probabilities(silero, np.zeros(5 * RATE, np.float32))
    assert probs.max() < 0.1


def test_silero_white_noise_at_minus_30_dbfs_is_not_speech(silero: SileroSpeechDetector) -> None:
    rng = np.random.default_rng(1234)
    noise = (rng.standard_normal(10 * RATE) * 10 ** (-30 / 20)).astype(np.float32)
    assert listen(silero, noise, rule(no_speech_timeout_s=8.0)) == [
        ended(frames_for(8.0) * F, "no_speech")
    ]
    assert probabilities(silero, noise).max() < EndpointOptions().speech_threshold


def test_silero_pure_tone_is_not_speech(silero: SileroSpeechDetector) -> None:
    """Documents Silero's behaviour: a steady 440 Hz tone, even loud (-9 dBFS RMS), scores as
    non-speech (measured maximum 0.003), so a beep or hum does not start an answer."""
    t = np.arange(5 * RATE) / RATE
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    assert probabilities(silero, tone).max() < 0.1
    assert [e.kind for e in listen(silero, tone)] == []


def test_silero_rejects_other_rates_and_frame_sizes(silero: SileroSpeechDetector) -> None:
    with pytest.raises(ValueError, match="16000 Hz"):
        SileroSpeechDetector(sample_rate=8000)
    with pytest.raises(ValueError, match="512"):
        silero.speech_probability(np.zeros(480, np.float32))


def test_silero_model_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"missing\.onnx: Silero VAD model not found"):
        SileroSpeechDetector(tmp_path / "missing.onnx").load()
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model")
    with pytest.raises(ModelError, match=r"junk\.onnx: cannot load") as info:
        SileroSpeechDetector(junk).speech_probability(np.zeros(F, np.float32))
    assert info.value.__cause__ is not None


# --- tier 3: real Silero on real speech -------------------------------------------------------


def speech(real_speech: list[dict[str, str]], name: str) -> Signal:
    path = next(r["path"] for r in real_speech if Path(r["path"]).name == name)
    audio = load_audio(path)
    assert audio.sample_rate == RATE
    return audio.samples


def silence(duration_s: float) -> Signal:
    return np.zeros(round(duration_s * RATE), np.float32)


def seconds(sample: int | None) -> float:
    assert sample is not None
    return sample / RATE


def test_streaming_matches_faster_whispers_whole_file_vad(
    silero: SileroSpeechDetector, real_speech: list[dict[str, str]]
) -> None:
    from faster_whisper.vad import get_vad_model

    jfk = speech(real_speech, "jfk.flac")
    padded = np.pad(jfk, (0, -len(jfk) % F))
    streamed = probabilities(silero, padded)
    batch = np.asarray(get_vad_model()(padded.copy())).ravel()
    # faster-whisper zeroes the last 64 samples of the last frame, so that one may differ.
    np.testing.assert_allclose(streamed[:-1], batch[:-1], atol=1e-5)
    # reset() really starts over: the same stream gives the same numbers again.
    np.testing.assert_array_equal(probabilities(silero, padded), streamed)


def test_jfk_answer_starts_quickly_ends_three_seconds_after_the_last_word(
    silero: SileroSpeechDetector, real_speech: list[dict[str, str]]
) -> None:
    jfk = speech(real_speech, "jfk.flac")  # 11.0 s, speech from ~0.3 s to ~10.5 s
    events = listen(silero, np.concatenate([jfk, silence(3.5)]))
    first, last = events[0], events[-1]
    assert first.kind == "speech_started"
    assert first.start_sample is not None and first.start_sample < 0.6 * RATE
    assert first.sample - first.start_sample == frames_for(0.25) * F
    # JFK's own ~1 s pauses never end the answer: one answer_ended, at the very end.
    assert [e.kind for e in events].count("answer_ended") == 1
    assert last.kind == "answer_ended" and last.reason == "silence"
    assert 13.0 * RATE <= last.sample <= 14.1 * RATE  # ~10.5 s + 3.0 s
    assert last.end_sample is not None
    assert last.sample == last.end_sample - PAD + frames_for(3.0) * F
    stretches = [e for e in events if e.kind == "stretch_closed"]
    assert len(stretches) >= 3  # phrases separated by pauses longer than 0.6 s
    assert stretches[-1].end_sample == last.end_sample
    spans = ", ".join(
        f"{seconds(e.start_sample):.2f}-{seconds(e.end_sample):.2f}" for e in stretches
    )
    print(f"\njfk: answer ended at {seconds(last.sample):.2f} s; stretches (s): {spans}")


def test_a_two_second_pause_between_real_clips(
    silero: SileroSpeechDetector, real_speech: list[dict[str, str]]
) -> None:
    first = speech(real_speech, "sense_and_sensibility_01_austen_64kb-0880.wav")
    second = speech(real_speech, "sense_and_sensibility_01_austen_64kb-0930.wav")
    joined = np.concatenate([first, silence(2.0), second, silence(3.5)])
    second_starts = len(first) + 2 * RATE

    events = listen(silero, joined, rule(end_silence_s=3.0))
    assert [e.kind for e in events].count("answer_ended") == 1
    assert events[-1].reason == "silence"
    assert events[-1].sample > second_starts + 2 * RATE  # ended after the second clip
    stretches = [e for e in events if e.kind == "stretch_closed"]
    assert len(stretches) == 2
    assert stretches[0].sample < second_starts  # transcribable while the pause goes on

    events = listen(silero, joined, rule(end_silence_s=1.5))
    closed = [e for e in events if e.kind == "answer_ended"]
    assert closed[0].reason == "silence"
    assert len(first) + 1.0 * RATE < closed[0].sample < second_starts  # ended in the gap
    # ... and the second clip, heard before anything else happened, reopened the same answer.
    reopened = next(e for e in events if e.kind == "answer_reopened")
    assert reopened.start_sample is not None
    assert abs(reopened.start_sample - second_starts) < 0.3 * RATE
    assert events[-1].kind == "answer_ended" and events[-1].start_sample == closed[0].start_sample


def test_measure_silero_cost_per_frame(
    silero: SileroSpeechDetector, real_speech: list[dict[str, str]]
) -> None:
    """Measured and printed, not asserted: wall time depends on the machine."""
    jfk = speech(real_speech, "jfk.flac")
    frames = jfk[: len(jfk) - len(jfk) % F].reshape(-1, F)
    silero.reset()
    began = time.perf_counter()
    for frame in frames:
        silero.speech_probability(frame)
    per_frame_s = (time.perf_counter() - began) / len(frames)
    print(
        f"\nSilero VAD: {per_frame_s * 1e3:.3f} ms per {F}-sample frame "
        f"({per_frame_s / (F / RATE):.2%} of real time, {len(frames)} frames)"
    )
