"""The command line, run as a subprocess the way a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from voice_interview.adapters.audio_files import write_wav
from voice_interview.core.audio import Audio

REPO = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice_interview", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env={**os.environ},
        timeout=600,
    )


def test_import_and_help_stay_light() -> None:
    code = (
        "import sys, voice_interview, voice_interview.cli as c\n"
        "try:\n    c.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = {'faster_whisper', 'ctranslate2', 'piper', 'onnxruntime', 'av', 'sounddevice'}\n"
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_questions_json_lists_the_bank() -> None:
    result = run("questions", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert len(rows) == 9
    assert set(rows[0]) == {"id", "round", "kind", "text"}
    assert {r["kind"] for r in rows} == {"technical", "system-design", "behavioral"}
    assert {r["round"] for r in rows} == {
        "technical-fundamentals",
        "system-design",
        "leadership-principles",
    }


def test_questions_table() -> None:
    result = run("questions")
    assert result.returncode == 0 and "connection-pooling" in result.stdout


@pytest.mark.slow
def test_say_writes_a_wav_then_transcribe_and_score_it(tmp_path: Path) -> None:
    out = tmp_path / "q.wav"
    text = "Explain the concept of connection pooling in a back-end system."
    result = run("say", text, "-o", str(out))
    assert result.returncode == 0, result.stderr
    with wave.open(str(out)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2 and w.getframerate() == 22050
        assert 2.0 < w.getnframes() / w.getframerate() < 8.0

    result = run("transcribe", str(out), "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "connection pooling" in data["text"].lower()
    assert data["model"] == "tiny.en"
    assert data["words"] and {"text", "start_s", "end_s"} <= set(data["words"][0])

    result = run("score", str(out), "--question", "connection-pooling", "--json")
    assert result.returncode == 0, result.stderr
    score = json.loads(result.stdout)
    assert score["question_id"] == "connection-pooling" and score["kind"] == "technical"
    assert 0 <= score["overall"] <= 100 and score["transcript"]["model"] == "tiny.en"


def test_score_typed_text() -> None:
    result = run(
        "score",
        "--question",
        "connection-pooling",
        "--text",
        "A connection pool keeps database connections open and reuses them.",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["transcript"]["model"] == "text"


def _bad_files(tmp: Path) -> dict[str, Path]:
    empty = tmp / "empty.wav"
    empty.write_bytes(b"")
    text = tmp / "notes.mp3"
    text.write_text("these are my interview notes, not audio")
    silent = write_wav(Audio.silence(2.0), tmp / "silent.wav")
    corrupt = tmp / "cut.wav"
    write_wav(Audio(np.full(16000, 0.3, dtype=np.float32), 16000), corrupt)
    corrupt.write_bytes(corrupt.read_bytes()[:30])  # header cut in half
    return {
        "missing": tmp / "nope.wav",
        "empty": empty,
        "not-audio": text,
        "silent": silent,
        "corrupt": corrupt,
    }


@pytest.mark.parametrize("case", ["missing", "empty", "not-audio", "silent", "corrupt"])
@pytest.mark.parametrize("command", ["transcribe", "score"])
def test_bad_audio_gets_one_line_error_naming_the_file(
    tmp_path: Path, case: str, command: str
) -> None:
    path = _bad_files(tmp_path)[case]
    extra = ["--question", "ownership"] if command == "score" else []
    result = run(command, str(path), *extra)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and str(path) in lines[0]
    assert "Traceback" not in result.stderr
    expected = {
        "missing": "not found",
        "empty": "empty",
        "not-audio": "not",
        "silent": "silent",
        "corrupt": "damaged",
    }[case]
    assert expected in lines[0].lower()


def test_unknown_question_and_model_are_one_line_errors(tmp_path: Path) -> None:
    result = run("score", "--question", "nope", "--text", "hello")
    assert result.returncode == 1 and "connection-pooling" in result.stderr
    wav = write_wav(Audio(np.full(16000, 0.3, dtype=np.float32), 16000), tmp_path / "a.wav")
    result = run("transcribe", str(wav), "--model", "no-such-model")
    assert result.returncode == 1 and "tiny.en" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_usage_errors_exit_2() -> None:
    assert run("score").returncode == 2  # --question missing
    assert run("frobnicate").returncode == 2
