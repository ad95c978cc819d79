"""Barge-in through real sound devices (PulseAudio virtual ones) with the interviewer's voice
fed back into the microphone (module-loopback at -20 dB: laptop speakers, a linear echo path).

- Practice's speaking path (``practice/speaking.Speaking``) with WebRTC AEC3: the echo alone
  never stops the interviewer; a person talking over it does, and their first words are
  kept. Without echo cancellation, on the same devices, the echo alone stops it.
- ``practice`` end to end: an answer started over the question, an answer resumed over
  the "Anything to add?" prompt, and one resumed as the interviewer began its next words (late
  resume), are saved whole (answer.wav and the transcript).
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import jiwer
import pytest
from practice_cli import practice_argv
from pulse import VirtualAudio

from voice_interview.adapters.audio_files import load_audio, write_wav
from voice_interview.adapters.devices import Microphone, Speaker
from voice_interview.adapters.echo import EchoCanceller, FarEnd
from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
from voice_interview.adapters.vad import SileroSpeechDetector
from voice_interview.core.audio import Audio, concatenate
from voice_interview.core.text import normalize_text
from voice_interview.practice.display import PlainDisplay
from voice_interview.practice.speaking import Speaking

pytestmark = pytest.mark.slow

ECHO_DB = -20.0
QUESTION = (
    "Tell me about a time you took ownership of a project or task, even when it was outside "
    "your direct responsibilities, and what you learned from it."
)


def speaking(speaker: Any) -> Speaking:
    """Practice's speaking path (no recogniser is needed)."""
    return Speaking(speaker, SileroSpeechDetector, PlainDisplay(out=open(os.devnull, "w")))


def test_with_echo_cancellation_only_the_candidate_stops_the_interviewer(
    virtual_audio: VirtualAudio, synthesizer: Any, real_speech: list[dict[str, str]], tmp_path: Path
) -> None:
    question = synthesizer.synthesize(QUESTION)
    clip = load_audio(real_speech[0]["path"]).resampled(16_000)  # a person, not Piper
    lead_s = float((abs(clip.samples) > 0.02).argmax()) / 16_000
    clip_wav = write_wav(clip, tmp_path / "candidate.wav")
    with virtual_audio.echo(ECHO_DB):
        far = FarEnd()
        loop = speaking(Speaker(far_end=far))
        with Microphone(far_end=far, canceller=EchoCanceller()) as mic:
            for _ in range(2):  # the echo alone, twice (the filter converges on the first)
                assert loop.play(question, mic).speech is None
            assert loop.barge_ins == 0, "the interviewer's own echo stopped it"
            mic.flush()
            timer = threading.Timer(1.5, lambda: virtual_audio.play_into_mic(clip_wav))
            started = time.monotonic()
            timer.start()
            kept = loop.play(question, mic).speech
            took = time.monotonic() - started
            timer.join()
        time.sleep(clip.duration_s)  # the clip plays out before the echo goes
    assert loop.barge_ins == 1, "the candidate talked over the question and it went on"
    first_word = 1.5 + lead_s
    assert took < first_word + 1.5, f"stopped {took - first_word:.2f} s after the first word"
    assert took < question.duration_s - 1.0
    # what the candidate had said when the interviewer stopped (wall clock: paplay's start-up
    # counts as said, hence the 0.3 s allowance)
    said = took - first_word
    assert kept is not None and kept.duration_s >= said - 0.3, "the first words were dropped"

    # The same devices without echo cancellation: the echo alone stops the interviewer.
    with virtual_audio.echo(ECHO_DB):
        plain = speaking(Speaker())
        with Microphone() as mic:
            mic.echo_cancelled = True  # listen while speaking anyway
            plain.play(question, mic)
    assert plain.barge_ins == 1


ANSWER = (
    "Last year at my previous company our nightly billing export kept failing. I decided to "
    "take it on. I read the logs, I found the schema change and I fixed the job. As a result "
    "the failures went from three a week to zero."
)
HALF_1 = "Last year at my previous company our nightly billing export kept failing, and"
HALF_2 = (
    "the team that owned it had moved on. I decided to take it on. I read the logs, I found "
    "the schema change and I fixed the job. As a result the failures went from three a week "
    "to zero."
)


class Practice:
    """``practice`` as a subprocess on the virtual devices, its output read line by line."""

    def __init__(self, va: VirtualAudio, sessions: Path) -> None:
        self.sessions = sessions
        self.lines: list[str] = []
        self.proc = subprocess.Popen(
            practice_argv(sessions, "--questions", "1"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
            env={**os.environ, **va.client_env(), "PYTHONUNBUFFERED": "1"},
        )
        self.errors: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True),
            threading.Thread(target=self._read, args=(self.proc.stderr, self.errors), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def wait_for_line(self, text: str, timeout_s: float) -> float:
        """When a line containing ``text`` was seen (monotonic)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if any(text in line for line in self.lines):
                return time.monotonic()
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        self.proc.kill()
        pytest.fail(f"no line with {text!r}; output: {''.join(self.lines)[-2000:]}")

    def wait_for_answer(self) -> None:
        """Until the first answer is being recorded (its file opens once the question has
        been said), and a little after."""
        self.wait_for_line("Question 1", 120)
        deadline = time.monotonic() + 60
        while not any(self.sessions.glob("*/q01-*/answer.wav")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)

    def finish(self, timeout_s: float = 180) -> tuple[Path, dict[str, Any], str]:
        import json

        try:
            self.proc.wait(timeout=timeout_s)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        for reader in self._readers:
            reader.join(timeout=5)
        assert self.proc.returncode == 0, "".join(self.errors)[-2000:]
        folder = next(self.sessions.iterdir())
        record = json.loads((folder / "session.json").read_text())
        q = record["questions"][0]
        assert q["status"] == "answered", q
        text = json.loads((folder / q["transcript"]).read_text())["text"]
        return folder, q, normalize_text(text)


def test_an_answer_begun_over_the_question_is_saved_whole(
    virtual_audio: VirtualAudio, tmp_path: Path
) -> None:
    voice = PiperSynthesizer(SpeechOptions(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0))
    answer = concatenate([voice.synthesize(ANSWER), Audio.silence(0.3, 22_050)])
    wav = write_wav(answer, tmp_path / "answer.wav")
    with virtual_audio.echo(ECHO_DB):
        run = Practice(virtual_audio, tmp_path / "sessions")
        run.wait_for_line("Question 1", 120)
        time.sleep(3.0)  # Piper says the question (5-7 s) meanwhile: start over its end
        virtual_audio.play_into_mic(wav).wait(timeout=60)
        folder, q, heard = run.finish()
    out = "".join(run.lines)
    assert "the interviewer stops" in out, out[-2000:]
    assert jiwer.wer(normalize_text(ANSWER), heard) <= 0.25, heard
    assert heard.startswith("last year"), heard  # the words said over the question are kept
    recorded = load_audio(folder / q["answer_audio"])
    assert recorded.duration_s >= answer.duration_s - 0.5


def test_an_answer_resumed_over_the_prompt_loses_nothing(
    virtual_audio: VirtualAudio, tmp_path: Path
) -> None:
    voice = PiperSynthesizer(SpeechOptions(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0))
    first = write_wav(voice.synthesize(HALF_1), tmp_path / "first.wav")
    second_audio = voice.synthesize(HALF_2)
    second = write_wav(second_audio, tmp_path / "second.wav")
    with virtual_audio.echo(ECHO_DB):
        run = Practice(virtual_audio, tmp_path / "sessions")
        run.wait_for_answer()
        began = time.monotonic()
        virtual_audio.play_into_mic(first).wait(timeout=60)
        # the unfinished sentence, then silence: the prompt comes; talk over it at once
        run.wait_for_line("Interviewer: ", 30)
        virtual_audio.play_into_mic(second).wait(timeout=60)
        ended = time.monotonic()
        folder, q, heard = run.finish()
    said = normalize_text(f"{HALF_1} {HALF_2}")
    prompts = [line for line in run.lines if "Interviewer: " in line]
    assert len(prompts) == 1, prompts  # its echo did not count as the candidate going on
    assert jiwer.wer(said, heard) <= 0.25, heard
    assert "billing" in heard and "zero" in heard, heard
    recorded = load_audio(folder / q["answer_audio"])
    # every second from the first word to the last is in the file, the prompt's too
    assert recorded.duration_s >= ended - began - 0.5, (recorded.duration_s, ended - began)
    assert recorded.duration_s >= second_audio.duration_s + 2.5


MORE = "And what I learned is to ask who owns a job before it goes live."


def test_an_answer_resumed_as_the_interviewer_begins_loses_nothing(
    virtual_audio: VirtualAudio, tmp_path: Path
) -> None:
    """Late resume: the answer reads finished and the candidate is silent for the suite's
    2.5 s, so the interviewer begins its next words (the summary: one question); the candidate
    goes on at once. The interviewer stops, the same answer reopens and keeps both parts, and
    the summary is said again when they are done."""
    voice = PiperSynthesizer(SpeechOptions(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0))
    first = write_wav(voice.synthesize(ANSWER), tmp_path / "first.wav")
    more = write_wav(voice.synthesize(MORE), tmp_path / "more.wav")
    with virtual_audio.echo(ECHO_DB):
        run = Practice(virtual_audio, tmp_path / "sessions")
        run.wait_for_answer()
        began = time.monotonic()
        virtual_audio.play_into_mic(first).wait(timeout=60)
        run.wait_for_line("Scorecard:", 60)  # the interviewer's next words begin
        virtual_audio.play_into_mic(more).wait(timeout=60)
        ended = time.monotonic()
        folder, q, heard = run.finish()
    out = "".join(run.lines)
    assert "(Sorry, go on: the same answer continues.)" in out, out[-2000:]
    # The summary is said again after the answer. Not "== 2": in 1 of 6 runs here the
    # interviewer's echo stopped a later summary too (AEC3 after a stopped sound; issue 20's
    # note). That cost a repeat, not a word, which is what this test is about.
    assert out.count("Scorecard:") >= 2, out[-4000:]
    said = normalize_text(f"{ANSWER} {MORE}")
    assert jiwer.wer(said, heard) <= 0.25, heard
    assert "billing" in heard and "learned" in heard, heard
    recorded = load_audio(folder / q["answer_audio"])
    assert recorded.duration_s >= ended - began - 0.5, (recorded.duration_s, ended - began)
