"""`voice-interview practice` end to end through real sound devices (PulseAudio virtual ones).

The CLI runs as a subprocess with a private PulseAudio server as its default speaker and
microphone (tests/pulse.py). `paplay` plays the candidate's recorded answer into the virtual
microphone once the session says the question is being answered. Then a kill -9 in the middle
of an answer, and `practice --resume`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest
from practice_cli import practice_argv
from pulse import PulseError, VirtualAudio

from voice_interview.adapters.audio_files import load_audio, write_wav
from voice_interview.adapters.models import DEFAULT_ASR_MODEL
from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
from voice_interview.content.banks import load_bank
from voice_interview.core.audio import Audio, concatenate
from voice_interview.core.text import normalize_text
from voice_interview.pipeline import build_pipeline

pytestmark = pytest.mark.slow

ANSWER = (
    "Last year at my previous company our nightly billing export kept failing. I decided to "
    "take it on. I read the logs, I found the schema change and I fixed the job. As a result "
    "the failures went from three a week to zero."
)


@pytest.fixture(scope="module")
def virtual_audio() -> Iterator[VirtualAudio]:
    server = VirtualAudio()
    try:
        server.start()
    except PulseError as exc:
        pytest.fail(f"cannot start the virtual sound devices: {exc}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def answer_wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    speech = PiperSynthesizer(
        SpeechOptions(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0)
    ).synthesize(ANSWER)
    padded = concatenate([speech, Audio.silence(0.5, speech.sample_rate)])
    return write_wav(padded, tmp_path_factory.mktemp("answer") / "answer.wav")


def practice(va: VirtualAudio, sessions: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        practice_argv(sessions, *extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **va.client_env()},
    )


def wait_for(predicate: Any, timeout_s: float, proc: subprocess.Popen[str]) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"practice exited early ({proc.returncode}): {err[-2000:]}{out[-1000:]}")
        time.sleep(0.1)
    proc.kill()
    pytest.fail("timed out waiting for the practice session")


def session_record(sessions: Path) -> dict[str, Any] | None:
    for folder in sessions.glob("*/session.json"):
        try:
            return json.loads(folder.read_text())
        except (OSError, json.JSONDecodeError):
            return None
    return None


def answering(sessions: Path, index: int) -> bool:
    record = session_record(sessions)
    return bool(record) and record["questions"][index]["status"] == "answering"  # type: ignore[index]


def the_answer(sessions: Path) -> tuple[Path, dict[str, Any], str]:
    """A completed one-question session: its folder, the question's record, what was heard."""
    record = session_record(sessions)
    assert record is not None and record["status"] == "completed"
    q = record["questions"][0]
    assert q["status"] == "answered"
    folder = next(sessions.iterdir())
    transcript = json.loads((folder / q["transcript"]).read_text())
    return folder, q, normalize_text(transcript["text"])


def test_practice_listens_at_the_microphone_and_saves_scores(
    virtual_audio: VirtualAudio, answer_wav: Path, tmp_path: Path
) -> None:
    sessions = tmp_path / "sessions"
    proc = practice(virtual_audio, sessions, "--questions", "1")
    try:
        wait_for(lambda: answering(sessions, 0), 120, proc)
        time.sleep(0.5)
        virtual_audio.play_into_mic(answer_wav).wait(timeout=60)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    folder, q, heard = the_answer(sessions)
    assert jiwer.wer(normalize_text(ANSWER), heard) <= 0.25, heard
    evaluation = json.loads((folder / q["evaluation"]).read_text())
    assert evaluation["star"]["action"]["present"] and 0 <= evaluation["overall"] <= 100
    recorded = load_audio(folder / q["answer_audio"])
    assert recorded.duration_s >= load_audio(answer_wav).duration_s - 0.5
    assert "Score" in out


def test_kill_during_an_answer_then_resume(
    virtual_audio: VirtualAudio, answer_wav: Path, tmp_path: Path
) -> None:
    sessions = tmp_path / "sessions"
    proc = practice(virtual_audio, sessions, "--questions", "2")
    player = None
    try:
        wait_for(lambda: answering(sessions, 0), 120, proc)
        time.sleep(0.5)
        player = virtual_audio.play_into_mic(answer_wav)
        time.sleep(4.0)  # mid-answer
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if player is not None:
            player.kill()
        if proc.poll() is None:
            proc.kill()
    record = session_record(sessions)
    assert record is not None and record["questions"][0]["status"] == "answering"
    folder = next(sessions.iterdir())
    partial = load_audio(folder / record["questions"][0]["answer_audio"], reject_silent=False)
    assert partial.duration_s >= 4.0 - 1.0 - 0.5  # at most ~1 s lost (plus start-up)
    assert partial.peak > 0.05  # the candidate's voice is in it

    resumed = practice(virtual_audio, sessions, "--resume", str(folder))
    try:
        wait_for(lambda: answering(sessions, 1), 120, resumed)
        time.sleep(0.5)
        virtual_audio.play_into_mic(answer_wav).wait(timeout=60)
        _, err = resumed.communicate(timeout=180)
    finally:
        if resumed.poll() is None:
            resumed.kill()
    assert resumed.returncode == 0, err
    record = session_record(sessions)
    assert record is not None and record["status"] == "completed"
    assert [q["status"] for q in record["questions"]] == ["answering", "answered"]


HALF_1 = "Last year at my previous company our nightly billing export kept failing, and"
HALF_2 = (
    "the team that owned it had moved on. I decided to take it on. I read the logs, I found "
    "the schema change and I fixed the job. As a result the failures went from three a week "
    "to zero."
)


def test_a_six_second_pause_mid_sentence_is_one_answer_and_nobody_talks_over_it(
    virtual_audio: VirtualAudio, tmp_path: Path
) -> None:
    voice = PiperSynthesizer(SpeechOptions(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0))
    first, second = voice.synthesize(HALF_1), voice.synthesize(HALF_2)
    rate = first.sample_rate
    spoken = concatenate([first, Audio.silence(6.0, rate), second, Audio.silence(0.3, rate)])
    wav = write_wav(spoken, tmp_path / "paused.wav")
    sessions = tmp_path / "sessions"
    speaker_wav = tmp_path / "speaker.wav"
    # The default turn taking (not the suite's 2.5 s): --end-silence-s back to its default.
    proc = practice(virtual_audio, sessions, "--questions", "1", "--end-silence-s", "8.5")
    recorder = None
    try:
        wait_for(lambda: answering(sessions, 0), 120, proc)
        recorder = virtual_audio.record_speaker(speaker_wav)
        recording_from = time.monotonic()
        time.sleep(0.5)
        played_from = time.monotonic()
        virtual_audio.play_into_mic(wav).wait(timeout=60)
        played_to = time.monotonic()
        out, err = proc.communicate(timeout=180)
    finally:
        if recorder is not None:
            recorder.terminate()
            recorder.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    folder, q, heard = the_answer(sessions)
    said = normalize_text(f"{HALF_1} {HALF_2}")
    assert jiwer.wer(said, heard) <= 0.25, heard
    assert "billing" in heard and "zero" in heard  # both sides of the pause, one transcript
    recorded = load_audio(folder / q["answer_audio"])
    assert recorded.duration_s >= spoken.duration_s - 0.3  # nothing of it missing
    # The saved transcript is as good as batch-scoring the saved recording (one full pass,
    # not the streaming pieces joined).
    bank = load_bank()
    batch = build_pipeline(DEFAULT_ASR_MODEL, bank).transcribe(
        recorded, bank.question(q["question_id"])
    )
    assert jiwer.wer(said, heard) <= jiwer.wer(said, normalize_text(batch.text)) + 0.02, heard
    # The virtual speaker was silent while the candidate spoke (the summary came after).
    heard_out = load_audio(speaker_wav, reject_silent=False).samples
    window = 800  # 50 ms at 16 kHz
    frames = heard_out[: len(heard_out) - len(heard_out) % window].reshape(-1, window)
    loud = np.flatnonzero(np.sqrt(np.mean(frames**2, axis=1)) > 10 ** (-40 / 20))
    assert loud.size, "the summary should have been heard on the speaker"
    offsets = loud * window / 16000  # seconds from the start of the recording
    candidate = (played_from - recording_from + 0.3, played_to - recording_from - 0.3)
    overlap = [t for t in offsets if candidate[0] < t < candidate[1]]
    assert not overlap, f"the interviewer spoke at {overlap[:5]} s, while the candidate spoke"
    assert "Score" in out
