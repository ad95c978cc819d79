"""The interviewer's speaking path (practice/speaking.py) against fakes at its protocol
boundaries: a speaker that plays for a set number of microphone reads, a microphone that hands
out scripted blocks, and a detector whose speech probability is the value a frame holds.

What the microphone heard while the interviewer spoke must come back whole and in order: the
candidate's speech from just before it began, and (for a prompt inside an answer) the rest.
The live path, with real devices, Silero and AEC3, is in test_barge_in_live.py.
"""

from __future__ import annotations

import io

import numpy as np
import numpy.typing as npt

from voice_interview.core.audio import Audio
from voice_interview.errors import DeviceError
from voice_interview.practice.display import PlainDisplay
from voice_interview.practice.speaking import Speaking

F = 512
RATE = 16_000
PREROLL = round(0.3 * RATE)  # BargeInOptions.preroll_s


class ValueDetector:
    frame_samples = F

    def speech_probability(self, frame: npt.NDArray[np.float32]) -> float:
        return float(frame[0])

    def reset(self) -> None:
        pass


class FakeSpeaker:
    """Plays for ``reads`` microphone reads (the clock is the microphone's); records calls."""

    def __init__(self, mic: FakeMic, reads: int) -> None:
        self.mic = mic
        self.reads = reads
        self.calls: list[str] = []
        self.stopped = False

    @property
    def playing(self) -> bool:
        return not self.stopped and self.mic.reads < self.reads

    def play(self, audio: Audio, blocking: bool = True) -> None:
        self.calls.append(f"play(blocking={blocking})")

    def stop(self) -> None:
        self.stopped = True
        self.calls.append("stop")

    def wait(self) -> None:
        self.calls.append("wait")


class FakeMic:
    """Hands out one frame-sized block per read, of the values given (then silence)."""

    echo_cancelled = True
    level_dbfs = -60.0

    def __init__(self, values: list[float], fail_at: int | None = None) -> None:
        self.values = values
        self.fail_at = fail_at
        self.reads = 0
        self.calls: list[str] = []

    def read(self, timeout_s: float) -> Audio | None:
        if self.fail_at is not None and self.reads == self.fail_at:
            raise DeviceError("the microphone is gone")
        value = self.values[self.reads] if self.reads < len(self.values) else 0.0
        self.reads += 1
        return Audio(np.full(F, value, dtype=np.float32), RATE)

    def flush(self) -> None:
        self.calls.append("flush")

    def mute(self) -> None:
        self.calls.append("mute")

    def unmute(self) -> None:
        self.calls.append("unmute")


def speaking(mic: FakeMic, reads: int, barge_in: bool = True) -> tuple[Speaking, FakeSpeaker]:
    speaker = FakeSpeaker(mic, reads)
    out = io.StringIO()
    return Speaking(speaker, ValueDetector, PlainDisplay(out), barge_in=barge_in), speaker


def sound() -> Audio:
    return Audio(np.zeros(RATE, dtype=np.float32), RATE)


def test_speech_over_a_question_stops_it_and_comes_back_from_just_before_it() -> None:
    values = [0.0] * 20 + [0.9] * 30  # the candidate starts at frame 20
    mic = FakeMic(values)
    speak, speaker = speaking(mic, reads=100)
    heard = speak.play(sound(), mic, question=True)
    assert mic.calls == ["flush"]  # what came before the question is no answer; never muted
    assert speaker.calls[0] == "play(blocking=False)" and "stop" in speaker.calls
    assert speak.barge_ins == 1
    assert mic.reads == 26  # stopped on the 6th speech frame in a row (0.2 s)
    assert heard.before is None and heard.speech is not None
    expected = np.array(values[:26], np.float32).repeat(F)[20 * F - PREROLL :]
    np.testing.assert_array_equal(heard.speech.samples, expected)


def test_a_prompt_inside_an_answer_hands_back_everything_it_heard_in_order() -> None:
    values = [0.1] * 10 + [0.9] * 8
    mic = FakeMic(values)
    speak, _ = speaking(mic, reads=100)
    heard = speak.play(sound(), mic, question=False)
    assert mic.calls == []  # the answer's recording goes on through the prompt
    assert heard.before is not None and heard.speech is not None
    whole = np.concatenate([heard.before.samples, heard.speech.samples])
    said = np.array(values[:16], np.float32).repeat(F)
    np.testing.assert_array_equal(whole, said)  # nothing lost, nothing twice
    assert heard.before.num_samples == 10 * F - PREROLL
    assert heard.speech_at_s == 10 * F / RATE  # the first speech frame (late resume reads it)


def test_echo_alone_lets_the_interviewer_finish_and_nothing_is_kept() -> None:
    mic = FakeMic([0.3] * 40)  # residual echo below the speech threshold
    speak, speaker = speaking(mic, reads=40)
    heard = speak.play(sound(), mic)
    assert speaker.calls == ["play(blocking=False)", "wait"] and speak.barge_ins == 0
    assert heard.speech is None and heard.before is None and heard.speech_at_s is None


def test_speech_begun_as_the_sound_ends_is_kept() -> None:
    mic = FakeMic([0.0] * 37 + [0.9] * 3)  # 3 speech frames: too short to stop for
    speak, speaker = speaking(mic, reads=40)
    heard = speak.play(sound(), mic)
    assert speak.barge_ins == 0 and "stop" not in speaker.calls
    assert heard.speech is not None and heard.speech.num_samples == 3 * F + PREROLL


def test_a_lost_microphone_ends_the_listening_not_the_question() -> None:
    mic = FakeMic([0.0] * 10, fail_at=10)
    speak, speaker = speaking(mic, reads=40)
    heard = speak.play(sound(), mic)
    assert speaker.calls == ["play(blocking=False)", "wait"]  # the question is heard out
    assert heard.speech is None


def test_without_barge_in_the_microphone_is_muted_while_it_speaks() -> None:
    mic = FakeMic([0.9] * 40)
    speak, speaker = speaking(mic, reads=40, barge_in=False)
    heard = speak.play(sound(), mic)
    assert mic.calls == ["mute", "unmute"] and mic.reads == 0
    assert speaker.calls == ["play(blocking=True)"] and heard.speech is None
    mic.echo_cancelled = False  # a microphone that cannot cancel the echo: muted too
    speak, _ = speaking(mic, reads=40)
    assert not speak.listens(mic)
