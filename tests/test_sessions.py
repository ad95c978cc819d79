"""voice_interview.store.sessions: streaming WAV, the session folder, crash safety.

Synthetic signals only (a 440 Hz tone at 0.5 amplitude, 16 kHz). The crash tests run a real
writer in a subprocess at real-time pace and kill it with SIGKILL part-way through an answer.
"""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import time
import wave
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from voice_interview.adapters.audio_files import load_audio
from voice_interview.content.banks import Bank, load_bank
from voice_interview.core.audio import Audio
from voice_interview.core.transcript import Segment, Transcript, Word
from voice_interview.errors import BankError
from voice_interview.scoring.result import (
    ConceptResult,
    Delivery,
    Evaluation,
    EvaluatorInfo,
    StarComponent,
)
from voice_interview.store import sessions
from voice_interview.store.sessions import (
    Session,
    SessionError,
    SessionRecord,
    SessionStore,
    StreamingWavWriter,
)

RATE = 16_000
CHUNK = 512  # 32 ms at 16 kHz, the block size of a live microphone
TONE_S = 10


def tone() -> npt.NDArray[np.float32]:
    """10 s of 440 Hz at 0.5 amplitude; the crash subprocesses get it as a .npy file."""
    t = np.arange(TONE_S * RATE) / RATE
    return (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)


def as_int16_precision(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """What a 16-bit WAV of ``samples`` decodes to."""
    return Audio(samples, RATE).to_int16().astype(np.float32) / 32768.0


def wav_sizes(path: Path) -> tuple[int, int]:
    """(RIFF size, data size) from the 44-byte header."""
    head = path.read_bytes()[:44]
    assert head[:4] == b"RIFF" and head[8:16] == b"WAVEfmt " and head[36:40] == b"data"
    return struct.unpack("<I", head[4:8])[0], struct.unpack("<I", head[40:44])[0]


def wave_frames(path: Path) -> int:
    with wave.open(str(path), "rb") as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, RATE)
        return wav.getnframes()


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions")


@pytest.fixture
def session(store: SessionStore, bank: Bank) -> Session:
    ids = [q.id for q in bank.questions[:3]]
    return store.create(bank, ids, {"model": "tiny.en", "end_silence_s": 2.0, "follow_up": True})


# --- StreamingWavWriter --------------------------------------------------------------------------


def test_streaming_writer_round_trip_and_header(tmp_path: Path) -> None:
    samples = tone()[: round(3.3 * RATE)]
    path = tmp_path / "answer.wav"
    with StreamingWavWriter(path, RATE) as writer:
        for start in range(0, samples.shape[0], CHUNK):
            writer.write(samples[start : start + CHUNK])
            # After every write less than flush_every_s (1 s) of audio is unflushed.
            assert writer.samples_written - writer.samples_flushed < RATE
    assert writer.closed and writer.samples_flushed == samples.shape[0]

    loaded = load_audio(path, sample_rate=None)
    assert loaded.sample_rate == RATE
    np.testing.assert_array_equal(loaded.samples, as_int16_precision(samples))
    assert wave_frames(path) == samples.shape[0]
    riff, data = wav_sizes(path)
    assert data == 2 * samples.shape[0]
    assert riff == path.stat().st_size - 8 == 36 + data


def test_streaming_writer_header_is_valid_at_every_flush(tmp_path: Path) -> None:
    path = tmp_path / "answer.wav"
    writer = StreamingWavWriter(path, RATE, flush_every_s=0.5)
    assert wav_sizes(path) == (36, 0)  # a valid empty WAV before any audio
    samples = tone()
    for start in range(0, 2 * RATE, CHUNK):
        writer.write(samples[start : start + CHUNK])
        # What a reader sees on disk now: exactly the flushed samples, never more.
        assert wave_frames(path) == writer.samples_flushed
    assert writer.samples_written - writer.samples_flushed < RATE // 2
    writer.close()
    writer.close()  # idempotent
    assert wave_frames(path) == writer.samples_written == 63 * CHUNK


def test_streaming_writer_inputs(tmp_path: Path) -> None:
    samples = tone()[:4000]
    path = tmp_path / "mixed.wav"
    with StreamingWavWriter(path, RATE) as writer:
        writer.write(Audio(samples[:1000], RATE))
        writer.write(Audio(samples[1000:2000], RATE).to_int16())
        writer.write(samples[2000:4000].astype(np.float64))
        with pytest.raises(ValueError, match="8000 Hz"):
            writer.write(Audio(samples, 8000))
        with pytest.raises(ValueError, match="int32"):
            writer.write(np.zeros(10, dtype=np.int32))  # type: ignore[arg-type]
    np.testing.assert_array_equal(
        load_audio(path, sample_rate=None).samples, as_int16_precision(samples)
    )
    with pytest.raises(ValueError, match="after close"):
        writer.write(samples)


def test_streaming_writer_keeps_audio_when_the_answer_raises(tmp_path: Path) -> None:
    path = tmp_path / "answer.wav"
    with pytest.raises(RuntimeError), StreamingWavWriter(path, RATE) as writer:
        writer.write(tone()[:5000])
        raise RuntimeError("microphone unplugged")
    assert wave_frames(path) == 5000


# --- crash tests: a real SIGKILL in the middle of an answer --------------------------------------

WRITER_CHILD = f"""
import sys, time
import numpy as np
from voice_interview.store.sessions import StreamingWavWriter

samples = np.load(sys.argv[2])
with StreamingWavWriter(sys.argv[1], 16000) as writer:
    for start in range(0, samples.shape[0], {CHUNK}):
        writer.write(samples[start : start + {CHUNK}])
        print(writer.samples_written, writer.samples_flushed, flush=True)
        time.sleep(0.032)  # real-time pace, as a microphone delivers it
"""

SESSION_CHILD = f"""
import sys, time
import numpy as np
from voice_interview.store.sessions import SessionStore
from voice_interview.content.banks import load_bank
from voice_interview.core.audio import Audio

samples = np.load(sys.argv[2])
bank = load_bank()
session = SessionStore(sys.argv[1]).create(bank, [q.id for q in bank.questions[:3]], {{}})
session.save_question_audio(0, Audio(samples[:8000], 16000))
session.mark(0, "asked")
print(session.folder, flush=True)
writer = session.answer_writer(0)
for start in range(0, samples.shape[0], {CHUNK}):
    writer.write(samples[start : start + {CHUNK}])
    print(writer.samples_written, writer.samples_flushed, flush=True)
    time.sleep(0.032)
"""


def run_and_kill(code: str, arg: Path, *, after_s: float, min_flushed: int = 0) -> list[str]:
    """Run ``code`` in a subprocess, SIGKILL it ``after_s`` after its first "written flushed"
    line once at least ``min_flushed`` samples are flushed; return every line it printed."""
    samples = arg.parent / "tone.npy"
    np.save(samples, tone())
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(arg), str(samples)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines: list[str] = []
    started: float | None = None
    try:
        while True:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"the writer subprocess ended early: {proc.communicate()[1]}")
            lines.append(line.strip())
            parts = line.split()
            if len(parts) != 2 or not parts[0].isdigit():
                continue
            started = started or time.monotonic()
            if time.monotonic() - started >= after_s and int(parts[1]) >= min_flushed:
                break
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    # What the child printed before it died is still in the pipe.
    return lines + rest.split("\n")


def last_counts(lines: list[str]) -> tuple[int, int]:
    """(samples written, samples flushed) as last printed, i.e. at the moment of the kill."""
    counts = [line.split() for line in lines if line and line.split()[0].isdigit()]
    written, flushed = counts[-1]
    return int(written), int(flushed)


def test_kill_9_mid_answer_loses_at_most_one_second(tmp_path: Path) -> None:
    path = tmp_path / "answer.wav"
    lines = run_and_kill(WRITER_CHILD, path, after_s=2.5)
    written, flushed = last_counts(lines)
    assert written >= 2 * RATE

    loaded = load_audio(path, sample_rate=None)  # FFmpeg reads the partial file
    kept = loaded.num_samples
    assert wave_frames(path) == kept  # and so does the stdlib
    assert flushed <= kept <= written + CHUNK  # a write may finish after its line was printed
    assert written - kept < 1.0 * RATE, f"lost {(written - kept) / RATE:.2f} s"
    np.testing.assert_array_equal(loaded.samples, as_int16_precision(tone()[:kept]))


def test_kill_9_mid_answer_leaves_a_resumable_session(tmp_path: Path) -> None:
    root = tmp_path / "sessions"
    lines = run_and_kill(SESSION_CHILD, root, after_s=0.3, min_flushed=1)
    folder = Path(lines[0])
    written, flushed = last_counts(lines)

    session = SessionStore(root).open(folder.name)
    first = session.record.questions[0]
    assert first.status == "answering"
    assert first.answer_audio == f"q01-{first.question_id}/answer.wav"
    answer = load_audio(session.resolve(first.answer_audio), sample_rate=None)
    assert flushed <= answer.num_samples <= written + CHUNK
    np.testing.assert_array_equal(answer.samples, as_int16_precision(tone()[: answer.num_samples]))
    assert first.question_audio is not None
    assert load_audio(session.resolve(first.question_audio), sample_rate=None).num_samples == 8000
    assert session.record.status == "in-progress"
    assert session.next_index() == 1  # the interrupted answer is kept, not asked again
    assert session.resume() == 1


# --- session.json is replaced atomically ---------------------------------------------------------


def test_crash_before_rename_keeps_the_previous_session_json(
    session: Session, store: SessionStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    session.mark(0, "asked")
    good = session.session_file.read_bytes()

    class Crash(BaseException):
        pass

    def crash(src: object, dst: object) -> None:
        raise Crash

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(Crash):
        session.mark(0, "answered")
    monkeypatch.undo()
    assert session.session_file.read_bytes() == good

    # A process killed between writing the temp file and the rename leaves it behind.
    stray = session.folder / ".session.json.0badf00d.tmp"
    stray.write_bytes(good.replace(b'"asked"', b'"answered"')[: len(good) // 2])
    reopened = store.open(session.folder)
    assert reopened.record.questions[0].status == "asked"
    assert [r.id for r in store.list()] == [session.record.id]


def test_answer_writer_marks_answering_before_recording(
    session: Session, store: SessionStore
) -> None:
    writer = session.answer_writer(1)
    on_disk = store.open(session.record.id).record.questions[1]
    assert on_disk.status == "answering"
    assert on_disk.started_at is not None
    assert on_disk.answer_audio == f"q02-{on_disk.question_id}/answer.wav"
    assert wav_sizes(session.resolve(on_disk.answer_audio)) == (36, 0)
    writer.close()


# --- schema --------------------------------------------------------------------------------------


def test_session_json_round_trip(session: Session, store: SessionStore) -> None:
    session.save_question_audio(0, Audio(tone()[:1600], RATE))
    session.mark(0, "asked")
    with session.answer_writer(0) as writer:
        writer.write(tone()[:3200])
    session.set_follow_up(0, "What would you do differently?", reason="no result")
    session.mark(0, "answered")
    session.mark(1, "failed", error="no answer heard")

    record = session.record
    assert record.schema_version == 2 and record.status == "in-progress"
    assert record.options == {"model": "tiny.en", "end_silence_s": 2.0, "follow_up": True}
    assert record.created_at.tzinfo is not None
    assert SessionRecord.model_validate_json(record.model_dump_json()) == record
    assert store.open(session.session_file).record == record

    raw = json.loads(session.session_file.read_text())
    q0 = raw["questions"][0]
    assert q0["follow_up"]["text"] == "What would you do differently?"
    assert q0["ended_at"] is not None
    assert raw["created_at"].endswith("Z")

    session.finish("quit")
    assert store.open(record.id).record.status == "quit"
    assert session.resume() == 1  # question 1 failed: it is asked again
    assert store.open(record.id).record.status == "in-progress"


def test_unknown_schema_version_names_the_file(session: Session, store: SessionStore) -> None:
    raw = json.loads(session.session_file.read_text())
    raw["schema_version"] = 3
    session.session_file.write_text(json.dumps(raw))
    with pytest.raises(SessionError) as info:
        store.open(session.folder)
    message = str(info.value)
    assert str(session.session_file) in message and "schema_version 3" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("mangle", "expected"),
    [
        (lambda text: text[: len(text) // 2], "not valid JSON"),
        (lambda text: "[1, 2]", "JSON object"),
        (lambda text: text.replace('"pending"', '"done"', 1), "questions.0.status"),
        (
            lambda text: text.replace('"answer_audio": null', '"answer_audio": "../x.wav"', 1),
            "must be a path inside the session folder",
        ),
    ],
    ids=["truncated", "not-an-object", "bad-status", "path-outside"],
)
def test_broken_session_json_is_a_one_line_error(
    session: Session, store: SessionStore, mangle: Callable[[str], str], expected: str
) -> None:
    session.session_file.write_text(mangle(session.session_file.read_text()))
    with pytest.raises(SessionError) as info:
        store.open(session.record.id)
    message = str(info.value)
    assert message.startswith(f"{session.session_file}: ")
    assert expected in message
    assert "\n" not in message
    assert store.list() == []  # damaged sessions are skipped (with a warning)


def test_open_unknown_session(store: SessionStore, session: Session) -> None:
    with pytest.raises(SessionError, match=f"no session 'nope' in .*{session.record.id}"):
        store.open("nope")


# --- the store -----------------------------------------------------------------------------------


def test_sessions_started_in_the_same_second_get_their_own_folders(
    store: SessionStore, bank: Bank, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [bank.questions[0].id]
    monkeypatch.setattr(sessions, "_now", lambda: datetime(2025, 3, 14, 9, 30, 12, tzinfo=UTC))
    first = store.create(bank, ids, {})
    second = store.create(bank, ids, {})
    assert first.folder.name == "20250314-093012"
    assert second.folder.name == "20250314-093012-2"
    monkeypatch.undo()
    third = store.create(bank, ids, {})
    assert [r.id for r in store.list()] == [third.record.id, "20250314-093012-2", "20250314-093012"]
    assert store.open(first.folder).record.id == first.record.id
    assert second.record.questions[0].text == bank.questions[0].text


def test_create_checks_its_input(store: SessionStore, bank: Bank) -> None:
    with pytest.raises(BankError, match="no-such-question"):
        store.create(bank, ["no-such-question"], {})
    with pytest.raises(SessionError, match="at least one question"):
        store.create(bank, [], {})
    assert store.list() == []


def test_next_index(session: Session) -> None:
    assert session.next_index() == 0
    session.mark(0, "answered")
    session.mark(1, "skipped")
    assert session.next_index() == 2
    session.mark(2, "answering")  # interrupted: done, partial audio kept
    assert session.next_index() is None
    session.mark(1, "failed", error="microphone lost")
    assert session.next_index() == 1
    with pytest.raises(ValueError, match="unknown question status 'skip'"):
        session.mark(1, "skip")  # type: ignore[arg-type]
    with pytest.raises(SessionError, match="no question 3"):
        session.mark(3, "answered")


# --- transcripts and evaluations -----------------------------------------------------------------


def make_transcript(text: str) -> Transcript:
    words = tuple(
        Word(text=w, start_s=0.4 * i, end_s=0.4 * i + 0.3, probability=0.9)
        for i, w in enumerate(text.split())
    )
    return Transcript(
        text=text,
        segments=(Segment(text=text, start_s=0.0, end_s=words[-1].end_s, words=words),),
        duration_s=3.2,
        language="en",
        model="tiny.en",
        options={"beam_size": 5},
    )


def make_evaluation(question_id: str, transcript: Transcript) -> Evaluation:
    delivery = Delivery(
        duration_s=3.2,
        word_count=6,
        words_per_minute=112.5,
        filler_count=1,
        fillers_per_100_words=16.7,
        fillers_per_minute=18.8,
        top_fillers=(("um", 1),),
        pauses=((1.0, 3.1),),
        score=70,
    )
    return Evaluation(
        question_id=question_id,
        kind="technical",
        overall=62,
        band="solid",
        concepts=(
            ConceptResult(id="cache", label="Caching", status="covered", evidence="a cache"),
        ),
        star={"situation": StarComponent(present=True, score=80, evidence="we")},
        delivery=delivery,
        tips=("Name the trade-off.",),
        evaluator=EvaluatorInfo(name="rubric", version="1"),
        transcript=transcript,
        details={"weights": {"concepts": 0.8}},
    )


def test_transcript_and_evaluation_round_trip(session: Session, store: SessionStore) -> None:
    qid = session.record.questions[0].question_id
    with pytest.raises(SessionError, match="no saved transcript"):
        session.load_transcript(0)

    transcript = make_transcript("we put a cache in front")
    evaluation = make_evaluation(qid, transcript)
    assert session.save_transcript(0, transcript).name == "transcript.json"
    assert session.save_evaluation(0, evaluation).name == "evaluation.json"

    with pytest.raises(ValueError, match="set_follow_up"):
        session.save_transcript(0, transcript, follow_up=True)
    session.set_follow_up(0, "How would you invalidate it?", reason="missing concept")
    extra = make_transcript("with a time to live")
    session.save_transcript(0, extra, follow_up=True)
    session.save_evaluation(0, make_evaluation(qid, extra), follow_up=True)

    reopened = store.open(session.record.id)
    assert reopened.load_transcript(0) == transcript
    assert reopened.load_evaluation(0) == evaluation
    assert reopened.load_transcript(0, follow_up=True) == extra
    assert reopened.load_evaluation(0, follow_up=True).transcript == extra
    folder = session.question_folder(0)
    assert sorted(p.name for p in folder.iterdir()) == [
        "evaluation.json",
        "followup-evaluation.json",
        "followup-transcript.json",
        "transcript.json",
    ]

    (folder / "evaluation.json").write_text("{}")
    with pytest.raises(SessionError, match=r"evaluation\.json: question_id: Field required"):
        reopened.load_evaluation(0)


# --- versions (replay --rescore) and the schema 1 -> 2 migration --------------------------------


def test_versions_keep_the_original_and_load_the_latest(
    session: Session, store: SessionStore
) -> None:
    qid = session.record.questions[0].question_id
    original = make_transcript("we put a cache in front")
    session.save_transcript(0, original)
    session.save_evaluation(0, make_evaluation(qid, original))
    first = snapshot_files(session.folder)

    again = make_transcript("we put a cache in front of the database")
    scored = make_evaluation(qid, again).model_copy(update={"overall": 70})
    v2 = session.save_version(0, again, scored, retranscribed=True, bank_id="b")
    assert (v2.version, v2.model, v2.evaluator) == (2, "tiny.en", "rubric 1")
    assert v2.transcript.endswith("/transcript.v2.json")
    assert v2.evaluation.endswith("/evaluation.v2.json")
    only_eval = make_evaluation(qid, again).model_copy(update={"overall": 75})
    v3 = session.save_version(0, again, only_eval, retranscribed=False, bank_id="b")
    assert v3.transcript == v2.transcript  # evaluation-only: points at the transcript it scored

    reopened = store.open(session.record.id)
    assert reopened.latest_version(0) == 3 and reopened.latest_version(1) == 1
    assert reopened.load_evaluation(0).overall == 75
    assert reopened.load_evaluation(0, version=2) == scored
    assert reopened.load_evaluation(0, version=1).overall == 62
    assert reopened.load_transcript(0) == again
    assert reopened.load_transcript(0, version=1) == original
    with pytest.raises(SessionError, match=r"no version 4 \(versions: 1, 2, 3\)"):
        reopened.load_transcript(0, version=4)
    now = snapshot_files(session.folder)
    assert all(now[name] == data for name, data in first.items() if name != "session.json")


def snapshot_files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_version_1_session_json_is_migrated_on_read(
    session: Session, store: SessionStore
) -> None:
    session.set_follow_up(0, "And then?")
    raw = json.loads(session.session_file.read_text())
    raw["schema_version"] = 1
    for q in raw["questions"]:
        del q["versions"]
        if q["follow_up"]:
            del q["follow_up"]["versions"]
    v1 = json.dumps(raw).encode()
    session.session_file.write_bytes(v1)

    reopened = store.open(session.record.id)
    assert reopened.record.schema_version == 2
    assert reopened.record.questions[0].versions == []
    follow = reopened.record.questions[0].follow_up
    assert follow is not None and follow.versions == []
    assert session.session_file.read_bytes() == v1  # reading never rewrites
    reopened.mark(1, "asked")
    assert json.loads(session.session_file.read_text())["schema_version"] == 2
