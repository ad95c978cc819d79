"""Batch scoring: the pure parts (discovery, question assignment, resume index, reports) on small
synthetic inputs, and the command on real recordings with the real tiny.en model, run as a
subprocess: a folder with every kind of bad file, manifests, a session folder, ``--json``, and a
``kill -9`` mid-batch followed by ``--resume``."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from voice_interview.adapters.audio_files import load_audio, write_wav
from voice_interview.batch.discover import BatchItem, assign_question, discover, read_manifest
from voice_interview.batch.summary import (
    CSV_COLUMNS,
    csv_row,
    summarize,
    summary_markdown,
    weakest_parts,
)
from voice_interview.content.banks import Bank, load_bank
from voice_interview.core.audio import Audio, concatenate
from voice_interview.core.transcript import Transcript
from voice_interview.errors import BatchError
from voice_interview.scoring.evaluator import LocalEvaluator
from voice_interview.scoring.result import ConceptResult, Evaluation, StarComponent
from voice_interview.store.results import (
    BatchRecord,
    JsonLinesLog,
    latest_answers,
    read_json_lines,
    read_results,
    resume_key,
)
from voice_interview.store.sessions import SessionStore

REPO = Path(__file__).resolve().parents[1]
REAL_SPEECH = REPO / "tests" / "data" / "real-speech"
CONTRACT_KEYS = {
    "question_id", "kind", "overall", "band", "star", "concepts", "delivery", "tips",
    "evaluator", "judge", "details", "transcript",
}  # fmt: skip
BATCH_KEYS = {"file", "candidate", "audio_sha256", "settings"}


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice_interview", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        timeout=600,
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def speech(name: str) -> Path:
    return REAL_SPEECH / name


# --- pure parts ----------------------------------------------------------------------------------


def test_manifest_csv_and_jsonl_paths_relative_to_the_manifest(tmp_path: Path) -> None:
    sub = tmp_path / "m"
    sub.mkdir()
    (sub / "list.csv").write_text(
        "file,question_id,candidate\na.wav,ownership,Ann\nrec/b.mp3,connection-pooling,\n"
    )
    (sub / "list.jsonl").write_text(
        '{"file": "a.wav", "question_id": "ownership"}\n\n'
        '{"file": "/abs/c.flac", "question_id": "caching-strategies", "candidate": "Cy"}\n'
    )
    rows = read_manifest(sub / "list.csv")
    assert rows == [
        BatchItem(sub / "a.wav", "ownership", "Ann", "manifest"),
        BatchItem(sub / "rec" / "b.mp3", "connection-pooling", None, "manifest"),
    ]
    rows = read_manifest(sub / "list.jsonl")
    assert rows[0] == BatchItem(sub / "a.wav", "ownership", None, "manifest")
    assert rows[1] == BatchItem(Path("/abs/c.flac"), "caching-strategies", "Cy", "manifest")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.csv", "path,question\na.wav,x\n", "'file' column"),
        ("bad.jsonl", '{"file": "a.wav"}\nnot json\n', ":2: not valid JSON"),
        ("bad2.jsonl", '["a.wav"]\n', "expected a JSON object"),
        ("missing.csv", None, "cannot read the manifest"),
    ],
)
def test_bad_manifest_is_one_error_naming_it(
    tmp_path: Path, name: str, text: str | None, expected: str
) -> None:
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(BatchError, match=expected) as info:
        read_manifest(tmp_path / name)
    assert name in str(info.value) and "\n" not in str(info.value)


def test_question_assignment_rules(bank: Bank) -> None:
    def assign(name: str, default: str | None = None, **kw: Any) -> BatchItem:
        return assign_question(BatchItem(Path("/x") / name, **kw), bank, default)

    assert assign("ann__ownership.wav") == BatchItem(
        Path("/x/ann__ownership.wav"), "ownership", "ann", "file-name"
    )
    assert assign("ownership.m4a").question_id == "ownership"
    assert assign("ownership.m4a").candidate is None
    assert assign("first__last__caching-strategies.wav").candidate == "first__last"
    # a name that is no question id: unassigned (the file then fails with no-question)
    assert assign("answer1.wav").question_id is None
    # "__" means the convention was meant: the id is kept, and fails later if unknown
    assert assign("ann__no-such-question.wav").question_id == "no-such-question"
    # --question ID wins over the file name; a manifest row or session wins over --question
    assert assign("ann__ownership.wav", "caching-strategies").question_id == "caching-strategies"
    assert assign("ann__ownership.wav", "caching-strategies").candidate is None
    kept = assign(
        "a.wav", "caching-strategies", question_id="ownership", candidate="Ann", source="manifest"
    )
    assert (kept.question_id, kept.candidate, kept.source) == ("ownership", "Ann", "manifest")


def test_single_answer_or_batch(tmp_path: Path) -> None:
    from voice_interview.batch.discover import is_batch

    wav = tmp_path / "a.wav"
    wav.write_bytes(b"x")
    plain = {"batch_options_given": False}
    assert not is_batch([str(wav)], "ownership", **plain)  # score FILE --question ID: as before
    assert not is_batch([str(tmp_path / "missing.wav")], "ownership", **plain)  # its own error
    assert is_batch([str(wav)], None, **plain)  # the question comes from the file name
    assert is_batch([str(wav)], "ownership", batch_options_given=True)  # --out, --jobs, ...
    assert is_batch([str(wav), str(wav)], "ownership", **plain)
    assert is_batch([str(tmp_path)], "ownership", **plain)
    assert is_batch([str(tmp_path / "*.wav")], "ownership", **plain)
    assert not is_batch([], None, **plain)  # nothing to score: a usage error
    assert is_batch([], None, batch_options_given=True)  # --manifest alone


def test_discover_folders_globs_sessions_and_manifest(tmp_path: Path, bank: Bank) -> None:
    tone = Audio(np.full(1600, 0.3, dtype=np.float32), 16000)
    root = tmp_path / "in"
    for rel in ("b__ownership.wav", "sub/a__caching-strategies.flac", "sub/.hidden.wav"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    (root / "notes.txt").write_text("not audio")
    store = SessionStore(root / "sessions")
    session = store.create(bank, ["ownership", "connection-pooling"])
    session.save_question_audio(0, tone)  # the interviewer's voice: never scored
    with session.answer_writer(0) as writer:
        writer.write(tone)
    (tmp_path / "m.csv").write_text(
        "file,question_id,candidate\nin/b__ownership.wav,caching-strategies,B\n"
    )

    found = discover(
        [str(root), str(tmp_path / "in" / "*.wav"), str(tmp_path / "nothing*.mp3")],
        bank,
        manifest=tmp_path / "m.csv",
    )
    got = [(i.file.relative_to(root).as_posix(), i.question_id, i.candidate, i.source)
           for i in found.items]  # fmt: skip
    answer = f"sessions/{session.folder.name}/q01-ownership/answer.wav"
    assert got == [
        ("b__ownership.wav", "caching-strategies", "B", "manifest"),  # the manifest row wins
        (answer, "ownership", None, "session"),  # only the answered question, no question.wav
        ("sub/a__caching-strategies.flac", "caching-strategies", "a", "file-name"),
    ]
    assert found.ignored == [root / "notes.txt"]
    assert [(f.reason, f.file) for f in found.failures] == [
        ("missing", str(tmp_path / "nothing*.mp3"))
    ]


def test_results_log_survives_a_cut_last_line(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    log = JsonLinesLog(path)
    log.append({"file": "a", "n": 1})
    log.append({"file": "b", "n": 2})
    log.close()
    with path.open("a") as handle:
        handle.write('{"file": "c", "n"')  # killed mid-write
    assert [r["file"] for _, r in read_json_lines(path)] == ["a", "b"]
    assert path.read_text().endswith('"n"')  # reading alone changes nothing
    assert [r["file"] for _, r in read_json_lines(path, repair=True)] == ["a", "b"]
    assert path.read_text().endswith("}\n")
    log = JsonLinesLog(path)
    log.append({"file": "c", "n": 3})
    log.close()
    assert [r["file"] for _, r in read_json_lines(path)] == ["a", "b", "c"]


_BASE = LocalEvaluator(load_bank()).evaluate(
    Transcript.from_text("A pool keeps open connections and lends them to requests."),
    load_bank().question("connection-pooling"),
)


def _evaluation(question: str, overall: int, **update: Any) -> Evaluation:
    return _BASE.model_copy(update={"question_id": question, "overall": overall, **update})


def _batch(file: str, question: str, overall: int, sha: str = "1", **settings: Any) -> BatchRecord:
    return BatchRecord(
        _evaluation(question, overall), file, None, sha, {"model": "tiny.en", **settings}
    )


def test_resume_key_and_latest_per_file() -> None:
    a = _batch("a", "q", 1)
    assert a.resume_key == _batch("a", "q", 3).resume_key
    assert a.resume_key == resume_key("a", "1", "q", {"model": "tiny.en"})
    for change in (
        _batch("a", "q", 1, sha="2"),
        _batch("a", "r", 1),
        _batch("a", "q", 1, model="base"),
    ):
        assert a.resume_key != change.resume_key
    rows = [(1, a), (2, _batch("b", "q", 2)), (3, _batch("a", "q", 3))]
    assert [(n, r.file, r.evaluation.overall) for n, r in latest_answers(rows)] == [
        (2, "b", 2),
        (3, "a", 3),
    ]
    # the duplicate rule: the same file scored for another question is another answer
    other = (4, _batch("a", "r", 4))
    assert [n for n, _ in latest_answers([*rows, other])] == [2, 3, 4]


def test_a_results_file_round_trips_its_records_and_names_its_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    log = JsonLinesLog(path)
    first, again = (
        _batch("a.wav", "connection-pooling", 40),
        _batch("a.wav", "connection-pooling", 70),
    )
    log.append(first)
    log.append({"file": "b.wav", "overall": 3})  # not a result: no transcript
    log.append(again)
    log.close()
    with path.open("a") as handle:
        handle.write("not json\n")
    lines = read_results(path)
    assert [(n, r.to_json_dict()) for n, r in lines.records] == [
        (1, first.to_json_dict()),
        (3, again.to_json_dict()),
    ]
    assert [(b.line, b.reason.split(":")[0]) for b in lines.bad] == [
        (2, "not a valid result"),
        (4, "not a JSON object"),
    ]
    assert [n for n, _ in lines.latest()] == [3]
    assert [(e, later) for e, later, _ in lines.replaced()] == [(1, 3)]
    back = BatchRecord.from_json_dict(json.loads(json.dumps(again.to_json_dict())))
    assert back == again


def _record(
    file: str, candidate: str | None, question: str, overall: int, **kw: Any
) -> BatchRecord:
    delivery = _BASE.delivery.model_copy(
        update={"duration_s": 60.0, "words_per_minute": 140.0, "filler_count": 2}
    )
    evaluation = _evaluation(
        question, overall, delivery=delivery, details={"content_score": overall}, **kw
    )
    return BatchRecord(evaluation, file, candidate, None, {"model": "tiny.en"})


def test_summary_weakest_parts_and_csv_rows() -> None:
    concepts = (
        ConceptResult(id="reuse", label="Reuses connections", status="covered"),
        ConceptResult(id="size", label="Pool size", status="missing"),
        ConceptResult(id="timeouts", label="Timeouts", status="partial"),
    )
    star = {
        "situation": StarComponent(present=True, score=90),
        "task": StarComponent(present=True, score=40),
        "action": StarComponent(present=True, score=80),
        "result": StarComponent(present=False, score=0),
    }
    t1 = _record("1.wav", "ann", "pool", 40, kind="technical", concepts=concepts)
    t2 = _record("2.wav", "bob", "pool", 70, kind="technical", concepts=concepts[:1] + concepts[2:])
    b1 = _record("3.wav", "ann", "own", 81, kind="behavioral", star=star, concepts=None)
    assert weakest_parts(t1) == ["Pool size"]
    assert weakest_parts(t2) == ["Timeouts"]  # nothing missing: the partial ones
    assert weakest_parts(b1) == ["task", "result"]

    summary = summarize([t1, t2, b1])
    assert summary.count == 3 and summary.mean == pytest.approx(63.7)
    own, pool = summary.by_question
    assert (pool.key, pool.count, pool.mean, pool.min, pool.max) == ("pool", 2, 55.0, 40, 70)
    assert pool.weakest == (("Pool size", 1), ("Timeouts", 1))
    assert own.weakest == (("result", 1), ("task", 1))
    ann, bob = summary.by_candidate
    assert (ann.key, ann.count, ann.min, ann.max) == ("ann", 2, 40, 81)
    assert (bob.key, bob.count, bob.mean) == ("bob", 1, 70.0)
    assert summarize([replace(t1, candidate=None)]).by_candidate[0].key == "(none)"
    text = summary_markdown(summary, failures=2)
    assert "| pool | 2 | 55.0 | 40 | 70 | Pool size (1), Timeouts (1) |" in text
    assert "failed in the last run: 2" in text

    row = csv_row(b1)
    assert set(row) == set(CSV_COLUMNS)
    assert (row["candidate"], row["overall"], row["weakest"]) == ("ann", 81, "task; result")
    assert (row["duration_s"], row["words_per_minute"], row["model"]) == (60.0, 140.0, "tiny.en")


# --- the command, on real recordings with tiny.en ------------------------------------------------


def _bad_and_good_folder(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "answers"
    folder.mkdir()
    files = {
        "good-technical": folder / "bob__connection-pooling.flac",
        "good-behavioral": folder / "deep" / "ann__ownership.flac",
        "no-question": folder / "answer-7.flac",
        "unknown-question": folder / "cy__no-such-question.flac",
        "too-large": folder / "dee__ownership.flac",  # jfk.flac is 1.15 MB
        "too-long": folder / "eve__caching-strategies.wav",
        "empty": folder / "fay__ownership.wav",
        "not-audio": folder / "gus__ownership.mp3",
        "silent": folder / "hal__ownership.wav",
        "corrupt": folder / "ivy__ownership.wav",
    }
    files["good-behavioral"].parent.mkdir()
    shutil.copy(speech("1089-134686-0000.flac"), files["good-technical"])
    shutil.copy(speech("1089-134691-0001.flac"), files["good-behavioral"])
    shutil.copy(speech("1089-134686-0001.flac"), files["no-question"])
    shutil.copy(speech("1089-134691-0000.flac"), files["unknown-question"])
    shutil.copy(speech("jfk.flac"), files["too-large"])
    clip = load_audio(speech("1089-134686-0000.flac"))
    write_wav(concatenate([clip, Audio.silence(1.0), clip]), files["too-long"])  # ~21 s
    files["empty"].write_bytes(b"")
    files["not-audio"].write_text("my interview notes, not a recording")
    write_wav(Audio.silence(3.0), files["silent"])
    write_wav(clip, files["corrupt"])
    files["corrupt"].write_bytes(files["corrupt"].read_bytes()[:30])
    files["missing"] = tmp_path / "gone__ownership.wav"  # passed explicitly, never created
    return files


@pytest.mark.slow
def test_folder_batch_scores_the_good_files_and_reports_each_bad_one(tmp_path: Path) -> None:
    files = _bad_and_good_folder(tmp_path)
    out = tmp_path / "out"
    result = run(
        "score", str(tmp_path / "answers"), str(files["missing"]), "--out", str(out),
        "--max-file-mb", "1", "--max-duration-s", "15",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr

    records = lines(out / "results.jsonl")
    assert sorted(r["file"] for r in records) == sorted(
        [str(files["good-technical"]), str(files["good-behavioral"])]
    )
    for r in records:
        assert set(r) >= CONTRACT_KEYS | BATCH_KEYS
        assert len(r["audio_sha256"]) == 64 and r["settings"]["model"] == "tiny.en"
        assert r["settings"]["evaluator"]["name"] == "local" and r["settings"]["bank_id"]
        assert r["transcript"]["text"].strip()
    by_file = {r["file"]: r for r in records}
    tech = by_file[str(files["good-technical"])]
    assert (tech["question_id"], tech["candidate"], tech["kind"]) == (
        "connection-pooling", "bob", "technical",
    )  # fmt: skip
    assert "stew" in tech["transcript"]["text"].lower()  # the real words of the recording
    assert by_file[str(files["good-behavioral"])]["kind"] == "behavioral"

    failures = {f["file"]: f for f in lines(out / "failures.jsonl")}
    expected = {k: v for k, v in files.items() if not k.startswith("good")}
    assert {f["reason"] for f in failures.values()} == set(expected)
    for reason, path in expected.items():
        assert failures[str(path)]["reason"] == reason
        assert failures[str(path)]["error"].startswith(str(path))
    errors = [x for x in result.stderr.splitlines() if x.startswith("error: ")]
    assert len(errors) == len(expected)  # one line each
    for path in expected.values():
        assert sum(str(path) in e for e in errors) == 1
    assert "Traceback" not in result.stderr

    with (out / "results.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [tuple(rows[0])] == [CSV_COLUMNS] and len(rows) == 2
    summary = (out / "summary.md").read_text()
    assert "connection-pooling" in summary and "ownership" in summary and "bob" in summary
    assert "Per question" in result.stdout and "scored 2" in result.stdout


@pytest.mark.slow
def test_manifests_csv_and_jsonl_and_json_output(tmp_path: Path) -> None:
    rec = tmp_path / "recordings"
    rec.mkdir()
    shutil.copy(speech("1089-134691-0001.flac"), rec / "take1.flac")
    shutil.copy(speech("1089-134686-0001.flac"), rec / "take2.flac")
    (tmp_path / "m.csv").write_text(
        "file,question_id,candidate\nrecordings/take1.flac,ownership,Ann\nrecordings/take2.flac,,\n"
    )
    result = run("score", "--manifest", str(tmp_path / "m.csv"), "--out", str(tmp_path / "o1"),
                 "--jobs", "1")  # fmt: skip
    assert result.returncode == 1, result.stderr  # take2 has no question
    (record,) = lines(tmp_path / "o1" / "results.jsonl")
    assert (record["file"], record["candidate"], record["question_id"]) == (
        str(rec / "take1.flac"), "Ann", "ownership",
    )  # fmt: skip
    (failure,) = lines(tmp_path / "o1" / "failures.jsonl")
    assert failure["reason"] == "no-question" and "take2.flac" in failure["error"]

    (tmp_path / "m.jsonl").write_text(
        json.dumps({"file": "recordings/take2.flac", "question_id": "connection-pooling"}) + "\n"
    )
    result = run("score", "--manifest", str(tmp_path / "m.jsonl"), "--out",
                 str(tmp_path / "o2"), "--jobs", "1", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["scored"], report["skipped"], report["failed"]) == (1, 0, [])
    assert report["summary"]["by_question"][0]["key"] == "connection-pooling"
    assert report["summary"]["by_candidate"][0] == {
        **report["summary"]["by_candidate"][0], "key": "(none)", "count": 1,
    }  # fmt: skip
    (record,) = lines(tmp_path / "o2" / "results.jsonl")
    assert record["candidate"] is None and record["question_id"] == "connection-pooling"


@pytest.mark.slow
def test_session_folder_scores_its_answers(tmp_path: Path, bank: Bank) -> None:
    store = SessionStore(tmp_path / "sessions")
    session = store.create(bank, ["ownership", "connection-pooling", "caching-strategies"])
    session.save_question_audio(0, Audio.silence(0.5))
    with session.answer_writer(0) as writer:
        writer.write(load_audio(speech("1089-134691-0001.flac")))
    session.mark(0, "answered")
    with session.answer_writer(1) as writer:  # interrupted mid-answer: still scored
        writer.write(load_audio(speech("1089-134686-0001.flac")))
    out = tmp_path / "out"
    result = run("score", str(session.folder), "--out", str(out), "--jobs", "1")
    assert result.returncode == 0, result.stderr
    got = {(Path(r["file"]).parent.name, r["question_id"]) for r in lines(out / "results.jsonl")}
    assert got == {("q01-ownership", "ownership"), ("q02-connection-pooling", "connection-pooling")}


@pytest.mark.slow
def test_kill_9_mid_batch_then_resume_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    clips = sorted(REAL_SPEECH.glob("*.*"))
    clips = [c for c in clips if c.suffix in (".flac", ".wav") and c.name != "jfk.flac"][:7]
    for i, clip in enumerate(clips):
        shutil.copy(clip, folder / f"c{i}__ownership{clip.suffix}")
    out = tmp_path / "out"
    results = out / "results.jsonl"
    args = [sys.executable, "-m", "voice_interview", "score", str(folder), "--out", str(out)]
    proc = subprocess.Popen(
        args, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not (results.exists() and results.read_text().count("\n") >= 2):
            assert proc.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its worker processes
    finally:
        if proc.poll() is None:
            proc.wait(timeout=30)
    before = results.read_text()
    done_before = len(lines(results))
    assert 2 <= done_before < len(clips)
    with results.open("a") as handle:  # as if killed in the middle of writing a line
        handle.write('{"question_id": "ownership", "kind": "beh')

    assert run("score", str(folder), "--out", str(out)).returncode == 1  # no silent overwrite
    result = run("score", str(folder), "--out", str(out), "--resume")
    assert result.returncode == 0, result.stderr
    after = results.read_text()
    assert after.startswith(before.rsplit("\n", 1)[0] + "\n")  # earlier results untouched
    files = [r["file"] for r in lines(results)]
    assert sorted(files) == sorted(str(p) for p in folder.iterdir())  # each file exactly once
    assert f"skipped {done_before}" in result.stdout

    again = run("score", str(folder), "--out", str(out), "--resume", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["skipped"] == len(clips)
    assert results.read_text() == after


@pytest.mark.slow
def test_batched_recogniser_keeps_hesitations_and_hinted_spellings(
    synthesizer: Any, bank: Bank
) -> None:
    """Batch scoring decodes with faster-whisper's batched pipeline (the measured default);
    the prompt must still keep fillers and the bank's spellings, and the score must match the
    window-by-window decoding of live practice."""
    from voice_interview.adapters.whisper import DEFAULT_BATCH_SIZE as DEFAULT_ASR_BATCH_SIZE
    from voice_interview.pipeline import build_pipeline

    question = bank.question("connection-pooling")
    audio = synthesizer.synthesize(
        "Um, so a connection pool keeps a set of open database connections, uh, and reuses "
        "them. Opening a connection is expensive because of the TCP handshake and "
        "authentication. Um, you size the pool carefully, like with HikariCP or PgBouncer, and "
        "you set timeouts. Uh, if you leak connections the pool runs out and requests wait."
    )
    assert DEFAULT_ASR_BATCH_SIZE > 0
    batched = build_pipeline("tiny.en", bank, batch_size=DEFAULT_ASR_BATCH_SIZE)
    evaluation = batched.score_audio(audio, question)
    assert evaluation.transcript.options["batch_size"] == DEFAULT_ASR_BATCH_SIZE
    assert evaluation.delivery.filler_count >= 3
    assert "HikariCP" in evaluation.transcript.text and "PgBouncer" in evaluation.transcript.text
    plain = build_pipeline("tiny.en", bank, batch_size=0).score_audio(audio, question)
    assert abs(evaluation.overall - plain.overall) <= 5
