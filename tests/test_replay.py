"""`voice-interview replay`: the word highlighter, replaying a real session (printed and through
the virtual speaker), re-scoring into new versions, partial and version-1 sessions, bad input.

The session is made by the real interview loop (tests/test_practice.py's way): the deterministic
Piper voice answers through a file-fed microphone, tiny.en transcribes, the local evaluator
scores, SessionStore saves. The partial session is a real SIGKILL mid-answer (as in
tests/test_sessions.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
import pytest
from pulse import VirtualAudio
from scipy.signal import correlate

from voice_interview.adapters.audio_files import load_audio
from voice_interview.adapters.devices import FileMicrophone, Speaker
from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
from voice_interview.adapters.vad import SileroSpeechDetector
from voice_interview.content.banks import Question, load_bank
from voice_interview.core.audio import Audio
from voice_interview.core.highlight import WordHighlighter, playback_position_s, word_at
from voice_interview.core.text import normalize_text
from voice_interview.core.transcript import Segment, Transcript, Word
from voice_interview.pipeline import build_pipeline
from voice_interview.practice.display import PlainDisplay, PlainReplayView, highlighted_words
from voice_interview.practice.interview import Interview, PracticeOptions, plan_questions
from voice_interview.practice.replay import PLAYBACK_BUFFER_S, ReplayOptions, replay_session
from voice_interview.practice.wiring import SilentSpeaker
from voice_interview.scoring.result import Evaluation
from voice_interview.store.sessions import SessionError, SessionStore

BANK = load_bank()
RATE = 16_000

STORY = (
    "Last year at my previous company, our nightly billing export kept failing, and the team "
    "that owned it had moved on. I decided to take it on. I read the logs, I found a schema "
    "change that broke the job, and I wrote a fix and an alert."
)
FOLLOW = "The failures went from three a week to zero, and finance got its reports on time."


# --- the pure highlighter ------------------------------------------------------------------------


def words(*spans: tuple[str, float, float]) -> list[Word]:
    return [Word(text=t, start_s=s, end_s=e, probability=0.9) for t, s, e in spans]


WORDS = words(("I", 0.5, 0.7), ("fixed", 0.7, 1.1), ("it", 1.1, 1.3), ("then", 3.0, 3.4))


def test_word_at_is_the_last_word_started() -> None:
    starts = [w.start_s for w in WORDS]
    assert word_at(starts, 0.0) is None  # before the first word
    assert word_at(starts, 0.49) is None
    assert word_at(starts, 0.5) == 0
    assert word_at(starts, 0.9) == 1
    assert word_at(starts, 2.0) == 2  # a pause keeps the word before it
    assert word_at(starts, 3.0) == 3
    assert word_at(starts, 99.0) == 3
    assert word_at([], 1.0) is None


def test_playback_position_comes_from_samples_less_the_device_latency() -> None:
    assert playback_position_s(16_000, 16_000) == 1.0
    assert playback_position_s(44_100, 22_050, latency_s=0.5) == 1.5
    assert playback_position_s(1_000, 16_000, latency_s=0.2) == 0.0  # still in the buffer
    with pytest.raises(ValueError, match="sample_rate"):
        playback_position_s(10, 0)
    with pytest.raises(ValueError, match="samples_written"):
        playback_position_s(-1, 16_000)


def test_highlighter_follows_the_sample_count_and_never_goes_back() -> None:
    h = WordHighlighter(WORDS)
    seen = []
    for written in range(0, 4 * 48_000, 4_800):  # 48 kHz device, 0.1 s per callback
        index = h.update(written, 48_000, latency_s=0.05)
        if h.changed:
            seen.append((round(h.position_s, 2), index))
    # Each word lights up in the first callback after its start is heard.
    assert seen == [(0.55, 0), (0.75, 1), (1.15, 2), (3.05, 3)]
    assert h.update(0, 48_000) == 3 and not h.changed  # a stale count does not rewind
    assert h.position_s == pytest.approx(3.9 - 0.05)
    with pytest.raises(ValueError, match="in order"):
        WordHighlighter(list(reversed(WORDS)))


def test_highlighted_words_marks_one_word() -> None:
    transcript = Transcript(
        text="I fixed it then",
        segments=(Segment(text="I fixed it then", start_s=0.5, end_s=3.4, words=tuple(WORDS)),),
        duration_s=4.0,
        model="tiny.en",
    )
    text = highlighted_words(transcript, 1)
    assert text.plain == "I fixed it then"
    styled = [text.plain[s.start : s.end] for s in text.spans if s.style]
    assert styled == ["fixed"]
    assert not [s for s in highlighted_words(transcript, None).spans if s.style]


# --- a real recorded session ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def candidate() -> PiperSynthesizer:
    return PiperSynthesizer(SpeechOptions(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0))


@pytest.fixture(scope="module")
def recorded(
    tmp_path_factory: pytest.TempPathFactory, candidate: PiperSynthesizer, synthesizer: Any
) -> Path:
    """A session of the ownership question with its follow-up, recorded by the real loop."""
    root = tmp_path_factory.mktemp("recorded")
    options = PracticeOptions(round_id="leadership-principles", questions=1, model="tiny.en")
    plan = plan_questions(BANK, options)
    session = SessionStore(root).create(BANK, [q.id for _, q in plan], {"model": "tiny.en"})
    answers = {
        ("ownership", False): candidate.synthesize(STORY),
        ("ownership", True): candidate.synthesize(FOLLOW),
    }

    @contextmanager
    def microphone(question: Question, follow_up: bool) -> Iterator[FileMicrophone]:
        audio = answers[(question.id, follow_up)]
        with FileMicrophone(audio, realtime=0.0, trailing_silence_s=options.end_silence_s + 1) as m:
            yield m

    Interview(
        bank=BANK,
        options=options,
        pipeline=build_pipeline("tiny.en", BANK),
        voice=synthesizer,
        speaker=SilentSpeaker(),
        microphone=microphone,
        detector=SileroSpeechDetector,
        display=PlainDisplay(),
        session=session,
    ).run(plan)
    q = session.record.questions[0]
    assert q.status == "answered" and q.follow_up is not None
    assert q.follow_up.status == "answered"
    return session.folder


def copy_session(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "sessions" / folder.name
    shutil.copytree(folder, target)
    return target


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice_interview", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def test_replay_no_audio_prints_questions_transcripts_and_scores(
    recorded: Path, tmp_path: Path
) -> None:
    folder = copy_session(recorded, tmp_path)
    before = snapshot(folder)
    out = cli("replay", folder.name, "--sessions-dir", str(folder.parent), "--no-audio")
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    session = SessionStore(folder.parent).open(folder)
    q = session.record.questions[0]
    assert q.follow_up is not None
    text = out.stdout
    assert f"Question 1/1 (ownership) [answered]: {q.text}" in text
    assert f"Follow-up [answered]: {q.follow_up.text}" in text
    main, follow = session.load_evaluation(0), session.load_evaluation(0, follow_up=True)
    assert session.load_transcript(0).text in text
    assert session.load_transcript(0, follow_up=True).text in text
    assert f"Score {main.overall}/100" in text
    assert f"Score with the follow-up answer:\n\nScore {follow.overall}/100" in text
    assert text.index(q.text) < text.index(session.load_transcript(0).text) < text.index("STAR")
    assert "\x1b[" not in text  # plain without a terminal
    assert snapshot(folder) == before  # replay only reads


# --- with sound, through the virtual speaker -----------------------------------------------------


class RecordingView(PlainReplayView):
    """The plain view, also keeping every highlight it was asked to show."""

    def __init__(self) -> None:
        super().__init__()
        self.highlights: list[list[tuple[int | None, float]]] = []
        self.problems: list[str] = []

    def start_words(self, transcript: Transcript) -> None:
        super().start_words(transcript)
        self.highlights.append([])

    def highlight(self, index: int | None, position_s: float) -> None:
        self.highlights[-1].append((index, position_s))

    def problem(self, text: str) -> None:
        self.problems.append(text)
        super().problem(text)


def find(clip: np.ndarray, heard: np.ndarray) -> tuple[int, float]:
    """Where ``clip`` is in ``heard`` (sample offset) and how alike they are there (cosine)."""
    scores = correlate(heard, clip, mode="valid", method="fft")
    lag = int(np.argmax(np.abs(scores)))
    aligned = heard[lag : lag + clip.size]
    return lag, float(np.dot(aligned, clip) / (np.linalg.norm(aligned) * np.linalg.norm(clip)))


def find_in_pieces(clip: np.ndarray, heard: np.ndarray) -> tuple[list[int], list[float]]:
    """Each 1 s piece of ``clip`` that has sound in it, found in ``heard``: offsets and
    similarities. Pieces, not the whole clip: on a busy machine PortAudio may underrun and
    leave a short gap, which shifts everything after it."""
    lags, similarities = [], []
    for start in range(0, clip.size - RATE // 2, RATE):
        piece = clip[start : start + RATE]
        if np.std(piece) < 0.01:
            continue
        lag, similarity = find(piece, heard)
        lags.append(lag - start)  # where the clip's start would be
        similarities.append(similarity)
    return lags, similarities


def test_replay_plays_question_and_answer_with_the_word_highlighted(
    virtual_audio: VirtualAudio, recorded: Path, tmp_path: Path
) -> None:
    session = SessionStore(recorded.parent).open(recorded)
    heard_wav = tmp_path / "heard.wav"
    recorder = virtual_audio.record_speaker(heard_wav)
    view = RecordingView()
    try:
        with Speaker(buffer_s=PLAYBACK_BUFFER_S) as speaker:
            report = replay_session(session, ReplayOptions(question=1), view, player=speaker)
        time.sleep(0.5)
    finally:
        recorder.terminate()
        recorder.wait(timeout=5)
    assert report.problems == [] and report.turns == 2

    heard = load_audio(heard_wav, sample_rate=RATE, reject_silent=False).samples
    q = session.record.questions[0]
    assert q.follow_up is not None
    files = [q.question_audio, q.answer_audio, q.follow_up.question_audio, q.follow_up.answer_audio]
    offsets = []
    total = 0
    for relative in files:
        assert relative is not None
        clip = load_audio(session.resolve(relative), sample_rate=RATE).samples
        total += clip.size
        lags, similarities = find_in_pieces(clip, heard)
        assert len(lags) >= 3, relative
        # Every piece was heard, nearly all of them unchanged (an underrun gap may cut one).
        assert np.mean(np.array(similarities) > 0.9) >= 0.8, (relative, similarities)
        assert lags == sorted(lags) and lags[-1] - lags[0] < 0.5 * RATE, (relative, lags)
        offsets.append(lags[0])
    assert offsets == sorted(offsets)  # question, answer, follow-up question, its answer
    assert offsets[-1] - offsets[0] < total + 2 * RATE  # played back to back
    assert heard.size < total + 10 * RATE  # and nothing else was played

    # The highlight walked through the words in order as the device took the samples.
    for shown, follow_up in zip(view.highlights, (False, True), strict=True):
        transcript = session.load_transcript(0, follow_up=follow_up)
        indexes = [i for i, _ in shown if i is not None]
        positions = [p for _, p in shown]
        assert positions == sorted(positions)
        assert indexes == sorted(indexes)
        assert len(set(indexes)) >= 0.8 * len(transcript.words)  # most words got their turn
        assert indexes[-1] == len(transcript.words) - 1
        for index, position in shown:
            if index is not None:
                assert transcript.words[index].start_s <= position


class BrokenPlayer:
    """Protocol fake: a speaker that must never be asked to play a file that is missing."""

    def __init__(self) -> None:
        self.played: list[float] = []
        self.samples_written = 0
        self.sample_rate = RATE
        self.latency_s = 0.0

    def play(self, audio: Audio, blocking: bool = True) -> None:
        self.played.append(audio.duration_s)
        self.samples_written = audio.num_samples

    def wait(self) -> None:
        pass

    def stop(self) -> None:
        pass


def test_replay_says_what_audio_is_missing_and_goes_on(recorded: Path, tmp_path: Path) -> None:
    folder = copy_session(recorded, tmp_path)
    (folder / "q01-ownership" / "answer.wav").unlink()
    (folder / "q01-ownership" / "followup-question.wav").write_bytes(b"not a wav at all" * 10)
    session = SessionStore(folder.parent).open(folder)
    view = RecordingView()
    player = BrokenPlayer()
    report = replay_session(session, ReplayOptions(), view, player=player)
    assert len(report.problems) == 2
    missing, corrupt = report.problems
    assert str(folder / "q01-ownership" / "answer.wav") in missing and "backup" in missing
    assert str(folder / "q01-ownership" / "followup-question.wav") in corrupt
    assert all("\n" not in p for p in report.problems)
    assert len(player.played) == 2  # the question and the follow-up's answer still played


# --- re-scoring ----------------------------------------------------------------------------------


def versions_of(folder: Path) -> list[dict[str, Any]]:
    record = json.loads((folder / "session.json").read_text())
    q = record["questions"][0]
    return [q["versions"], q["follow_up"]["versions"]]  # type: ignore[return-value]


def test_rescore_stores_a_new_version_and_keeps_the_original(
    recorded: Path, tmp_path: Path
) -> None:
    folder = copy_session(recorded, tmp_path)
    before = snapshot(folder)
    out = cli(
        "replay", str(folder), "--no-audio", "--rescore", "--sessions-dir", str(tmp_path / "x")
    )
    assert out.returncode == 0, out.stderr
    after = snapshot(folder)
    for name, data in before.items():
        if name != "session.json":
            assert after[name] == data, f"{name} changed"
    new_files = sorted(set(after) - set(before))
    assert new_files == [
        "q01-ownership/evaluation.v2.json",
        "q01-ownership/followup-evaluation.v2.json",
        "q01-ownership/followup-transcript.v2.json",
        "q01-ownership/transcript.v2.json",
    ]
    record = json.loads(after["session.json"])
    assert record["schema_version"] == 2
    main_versions, follow_versions = versions_of(folder)
    (entry,) = main_versions
    assert entry["version"] == 2 and entry["model"] == "tiny.en" and entry["retranscribed"]
    assert entry["created_at"].endswith("Z")
    assert entry["transcript"] == "q01-ownership/transcript.v2.json"
    assert follow_versions[0]["evaluation"] == "q01-ownership/followup-evaluation.v2.json"

    session = SessionStore(folder.parent).open(folder)
    new = Evaluation.model_validate_json(after["q01-ownership/evaluation.v2.json"])
    old = Evaluation.model_validate_json(before["q01-ownership/evaluation.json"])
    assert session.load_evaluation(0) == new  # the latest by default (the HTML report's call)
    assert entry["evaluator"] == f"{new.evaluator.name} {new.evaluator.version}"
    assert session.load_evaluation(0, version=1) == old
    assert session.load_transcript(0) == new.transcript
    assert session.latest_version(0) == 2 and session.latest_version(0, follow_up=True) == 2
    heard = normalize_text(new.transcript.text)
    # the whole answer, re-transcribed (one word may differ: tiny.en hears "billing expert")
    assert jiwer.wer(normalize_text(STORY), heard) <= 0.15, heard
    # The follow-up is scored together with the (new) main answer, as in practice.
    follow = session.load_evaluation(0, follow_up=True)
    assert normalize_text(FOLLOW)[:20] in normalize_text(follow.transcript.text)
    assert heard in normalize_text(follow.transcript.text)

    text = out.stdout
    assert text.count("Re-scored ownership") == 2
    assert "before (v1)" in text and "after (v2)" in text
    for row in ("overall", "band", "STAR situation", "STAR result", "pace wpm", "delivery score"):
        assert row in text
    assert f"{old.overall}" in text and f"{new.overall}" in text

    with pytest.raises(SessionError, match=r"no version 7 \(versions: 1, 2\)"):
        session.load_evaluation(0, version=7)

    # Again: version 3, and version 2 stays.
    out = cli("replay", str(folder), "--no-audio", "--rescore", "--question", "1")
    assert out.returncode == 0, out.stderr
    assert [v["version"] for v in versions_of(folder)[0]] == [2, 3]
    assert (folder / "q01-ownership" / "evaluation.v2.json").read_bytes() == after[
        "q01-ownership/evaluation.v2.json"
    ]


def test_rescore_without_audio_re_evaluates_the_saved_transcript(
    recorded: Path, tmp_path: Path
) -> None:
    folder = copy_session(recorded, tmp_path)
    (folder / "q01-ownership" / "answer.wav").unlink()
    out = cli("replay", str(folder), "--no-audio", "--rescore")
    assert out.returncode == 0, out.stderr
    assert "saved transcript was re-evaluated only" in out.stdout
    main_versions, follow_versions = versions_of(folder)
    assert not main_versions[0]["retranscribed"]
    assert main_versions[0]["transcript"] == "q01-ownership/transcript.json"  # not copied
    assert follow_versions[0]["retranscribed"]
    assert not (folder / "q01-ownership" / "transcript.v2.json").exists()
    session = SessionStore(folder.parent).open(folder)
    assert session.load_evaluation(0).transcript == session.load_transcript(0, version=1)


def test_rescore_corrupt_audio_is_one_line_and_loses_nothing(
    recorded: Path, tmp_path: Path
) -> None:
    folder = copy_session(recorded, tmp_path)
    answer = folder / "q01-ownership" / "answer.wav"
    answer.write_bytes(b"RIFF" + b"\x00" * 20)
    before = snapshot(folder)
    out = cli("replay", str(folder), "--no-audio", "--rescore")
    assert out.returncode == 1
    errors = out.stderr.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: ")
    assert str(answer) in errors[0]
    main_versions, follow_versions = versions_of(folder)
    assert main_versions == [] and len(follow_versions) == 1  # the follow-up still re-scored
    after = snapshot(folder)
    assert all(after[name] == data for name, data in before.items() if name != "session.json")


# --- a partial session: SIGKILL in the middle of an answer ---------------------------------------

PARTIAL_CHILD = """
import sys, time
import numpy as np
from voice_interview.store.sessions import SessionStore
from voice_interview.content.banks import load_bank
from voice_interview.core.audio import Audio

question, answer = np.load(sys.argv[2]), np.load(sys.argv[3])
bank = load_bank()
session = SessionStore(sys.argv[1]).create(bank, ["ownership", "dive-deep"], {"model": "tiny.en"})
session.save_question_audio(0, Audio(question, 16000))
session.mark(0, "asked")
print(session.folder, flush=True)
writer = session.answer_writer(0)
for start in range(0, answer.shape[0], 512):
    writer.write(answer[start : start + 512])
    print(writer.samples_written, writer.samples_flushed, flush=True)
    time.sleep(0.032)
"""


@pytest.fixture(scope="module")
def partial(
    tmp_path_factory: pytest.TempPathFactory, candidate: PiperSynthesizer, synthesizer: Any
) -> Path:
    """A session killed (SIGKILL) about 6 s into the answer of its first question."""
    root = tmp_path_factory.mktemp("partial")
    question = synthesizer.synthesize(BANK.question("ownership").text).resampled(RATE)
    answer = candidate.synthesize(STORY).resampled(RATE)
    np.save(root / "question.npy", question.samples)
    np.save(root / "answer.npy", answer.samples)
    sessions = root / "sessions"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            PARTIAL_CHILD,
            str(sessions),
            str(root / "question.npy"),
            str(root / "answer.npy"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    try:
        folder = Path(proc.stdout.readline().strip())
        while True:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"the session subprocess ended early: {proc.communicate()[1]}")
            if int(line.split()[1]) >= 6 * RATE:  # 6 s flushed
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return folder


def test_replay_and_rescore_a_partial_session(partial: Path, tmp_path: Path) -> None:
    folder = copy_session(partial, tmp_path)
    wav = folder / "q01-ownership" / "answer.wav"
    recorded_s = load_audio(wav).duration_s
    assert 6.0 <= recorded_s < 9.0
    before = snapshot(folder)

    out = cli("replay", str(folder), "--no-audio")
    assert out.returncode == 0, out.stderr
    assert "[answering]" in out.stdout  # interrupted while answering
    assert "not transcribed (the answer was interrupted)" in out.stdout
    assert "--rescore" in out.stdout and "no evaluation saved" in out.stdout
    assert "no answer audio was recorded" not in out.stdout
    assert snapshot(folder) == before

    out = cli("replay", str(folder), "--no-audio", "--rescore")
    assert out.returncode == 0, out.stderr
    assert "before (not scored)" in out.stdout and "after (v2)" in out.stdout
    assert wav.read_bytes() == before["q01-ownership/answer.wav"]
    session = SessionStore(folder.parent).open(folder)
    evaluation = session.load_evaluation(0)
    heard = normalize_text(evaluation.transcript.text)
    assert heard.startswith("last year at my previous company"), heard
    assert "alert" not in heard  # only what was recorded before the kill
    assert evaluation.transcript.duration_s == pytest.approx(recorded_s, abs=0.01)
    assert session.record.questions[0].status == "answering"  # still shows it was cut off
    assert session.record.questions[1].versions == []  # never asked: nothing to re-score
    assert "Question 2/2 (dive-deep) [pending]" in out.stdout
    assert "not asked (the session ended before it)" in out.stdout
    with pytest.raises(SessionError, match="no saved transcript"):
        session.load_transcript(0, version=1)


def test_replay_command_plays_a_partial_session_on_the_speaker(
    virtual_audio: VirtualAudio, partial: Path, tmp_path: Path
) -> None:
    heard_wav = tmp_path / "heard.wav"
    recorder = virtual_audio.record_speaker(heard_wav)
    try:
        out = cli("replay", str(partial), env=virtual_audio.client_env())
        time.sleep(0.5)
    finally:
        recorder.terminate()
        recorder.wait(timeout=5)
    assert out.returncode == 0, out.stderr
    assert "not transcribed (the answer was interrupted)" in out.stdout
    assert "not asked (the session ended before it)" in out.stdout
    heard = load_audio(heard_wav, sample_rate=RATE, reject_silent=False).samples
    offsets = []
    for name in ("question.wav", "answer.wav"):
        clip = load_audio(partial / "q01-ownership" / name, sample_rate=RATE).samples
        lags, similarities = find_in_pieces(clip, heard)
        assert np.mean(np.array(similarities) > 0.9) >= 0.8, (name, similarities)
        offsets.append(lags[0])
    assert offsets[0] < offsets[1]  # the question, then what was saved of the answer


# --- version-1 session.json ----------------------------------------------------------------------


def as_version_1(folder: Path) -> bytes:
    """Rewrite session.json as schema version 1 wrote it: no ``versions`` lists."""
    raw = json.loads((folder / "session.json").read_text())
    assert raw["schema_version"] == 2
    raw["schema_version"] = 1
    for q in raw["questions"]:
        q.pop("versions")
        if q["follow_up"] is not None:
            q["follow_up"].pop("versions")
    data = (json.dumps(raw, indent=2) + "\n").encode()
    (folder / "session.json").write_bytes(data)
    return data


def test_version_1_session_opens_replays_and_rescores(recorded: Path, tmp_path: Path) -> None:
    folder = copy_session(recorded, tmp_path)
    v1 = as_version_1(folder)
    session = SessionStore(folder.parent).open(folder)
    assert session.record.schema_version == 2  # migrated in memory
    assert session.record.questions[0].versions == []
    assert session.latest_version(0) == 1
    assert session.load_evaluation(0) == session.load_evaluation(0, version=1)
    assert [r.id for r in SessionStore(folder.parent).list()] == [folder.name]
    assert (folder / "session.json").read_bytes() == v1  # reading does not rewrite it

    out = cli("replay", str(folder), "--no-audio")
    assert out.returncode == 0, out.stderr
    assert (folder / "session.json").read_bytes() == v1

    out = cli("replay", str(folder), "--no-audio", "--rescore", "--question", "1")
    assert out.returncode == 0, out.stderr
    raw = json.loads((folder / "session.json").read_text())
    assert raw["schema_version"] == 2
    assert [v["version"] for v in raw["questions"][0]["versions"]] == [2]
    reopened = SessionStore(folder.parent).open(folder)
    assert reopened.load_evaluation(0, version=1) == session.load_evaluation(0, version=1)


# --- bad input -----------------------------------------------------------------------------------


def test_missing_session_is_one_line(recorded: Path, tmp_path: Path) -> None:
    folder = copy_session(recorded, tmp_path)
    out = cli("replay", "nope", "--sessions-dir", str(folder.parent), "--no-audio")
    assert out.returncode == 1 and out.stdout == ""
    (line,) = out.stderr.strip().splitlines()
    assert "no session 'nope'" in line and folder.name in line


def test_corrupt_session_json_is_one_line_and_untouched(recorded: Path, tmp_path: Path) -> None:
    folder = copy_session(recorded, tmp_path)
    broken = (folder / "session.json").read_bytes()[:200]
    (folder / "session.json").write_bytes(broken)
    out = cli("replay", str(folder), "--no-audio", "--rescore")
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert str(folder / "session.json") in line and "not valid JSON" in line and "backup" in line
    assert (folder / "session.json").read_bytes() == broken


def test_question_out_of_range_is_one_line(recorded: Path, tmp_path: Path) -> None:
    out = cli("replay", str(recorded), "--no-audio", "--question", "5")
    assert out.returncode == 1
    (line,) = out.stderr.strip().splitlines()
    assert "no question 5" in line and "questions 1-1" in line


def test_a_question_missing_from_todays_bank_names_the_fix(recorded: Path, tmp_path: Path) -> None:
    folder = copy_session(recorded, tmp_path)
    bank = tmp_path / "bank.toml"
    source = Path(BANK.source).read_text()
    bank.write_text(source.replace('id = "ownership"', 'id = "ownership-2"'))
    session = SessionStore(folder.parent).open(folder)
    view = RecordingView()
    report = replay_session(
        session,
        ReplayOptions(audio=False, rescore=True),
        view,
        pipeline=lambda: build_pipeline("tiny.en", load_bank(bank)),
        bank=load_bank(bank),
    )
    assert len(report.problems) == 2 and not report.rescored
    assert "'ownership' is not in the bank" in report.problems[0]
    assert "--bank FILE" in report.problems[0]
    assert versions_of(folder) == [[], []]
