"""The batch results record and the one reader and writer of ``results.jsonl``.

Every line of ``results.jsonl`` is one :class:`BatchRecord`: the evaluation's JSON contract
(``Evaluation.to_json_dict()``) plus ``file``, ``candidate``, ``audio_sha256`` and
``settings``. Batch scoring appends them (:class:`JsonLinesLog`), and batch resume, the CSV,
the summary and the HTML report all read them through :func:`read_results`, so they agree on
what the file holds.

**The duplicate rule** (:func:`latest_answers`): an answer is a file *and* the question it was
scored for. The same file scored again for the same question (``--resume`` after a change of
recording, model or bank) replaces the earlier line; scored for another question, it is a
different answer and both are kept.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice_interview.adapters.durable import fsync_dir
from voice_interview.errors import BatchError
from voice_interview.scoring.result import Evaluation

__all__ = [
    "BadLine",
    "BatchRecord",
    "JsonLinesLog",
    "ResultLines",
    "latest_answers",
    "read_json_lines",
    "read_results",
    "resume_key",
]

logger = logging.getLogger(__name__)


def resume_key(
    file: str, audio_sha256: str | None, question_id: str, settings: dict[str, Any]
) -> str:
    """What makes a result reusable: same file, same bytes, same question, same settings."""
    return json.dumps([file, audio_sha256, question_id, settings], sort_keys=True)


@dataclass(frozen=True)
class BatchRecord:
    """One scored answer of a batch: one line of results.jsonl."""

    evaluation: Evaluation
    file: str
    """The audio file, as scored (absolute for files found by the batch)."""
    candidate: str | None
    audio_sha256: str | None
    settings: dict[str, Any]
    """What the result depends on besides the audio (model, bank and its hash, evaluator,
    judge model, recogniser batch size, app version): ``batch.run.batch_settings``."""
    worker: dict[str, Any] | None = None
    """Where it was scored, on a Ray cluster: ``{"node": <Ray node id>, "pid": ...}``."""

    @property
    def question_id(self) -> str:
        return self.evaluation.question_id

    @property
    def answer(self) -> tuple[str, str]:
        """The answer this record is the result of: (file, question)."""
        return (self.file, self.question_id)

    @property
    def resume_key(self) -> str:
        return resume_key(self.file, self.audio_sha256, self.question_id, self.settings)

    def to_json_dict(self) -> dict[str, Any]:
        return {
            **self.evaluation.to_json_dict(),
            "file": self.file,
            "candidate": self.candidate,
            "audio_sha256": self.audio_sha256,
            "settings": self.settings,
            **({"worker": self.worker} if self.worker is not None else {}),
        }

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> BatchRecord:
        """Raises ValueError (with the field) when ``data`` is not a batch result."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        file = data.get("file")
        if not isinstance(file, str) or not file:
            raise ValueError("no 'file'")
        candidate = data.get("candidate")
        sha = data.get("audio_sha256")
        settings = data.get("settings") or {}
        if candidate is not None and not isinstance(candidate, str):
            raise ValueError("'candidate' is not a string")
        if sha is not None and not isinstance(sha, str):
            raise ValueError("'audio_sha256' is not a string")
        if not isinstance(settings, dict):
            raise ValueError("'settings' is not an object")
        worker = data.get("worker")
        if worker is not None and not isinstance(worker, dict):
            raise ValueError("'worker' is not an object")
        return cls(Evaluation.from_json_dict(data), file, candidate, sha, settings, worker)


@dataclass(frozen=True)
class BadLine:
    """A line of results.jsonl that is not a valid result (the report lists it as failed)."""

    line: int
    reason: str
    raw: dict[str, Any] | None = None
    """The JSON object, when the line was one (its ``file``, ``question_id`` ... for the row)."""


@dataclass(frozen=True)
class ResultLines:
    """A results.jsonl as read: the valid records with their line numbers, and the bad lines."""

    records: tuple[tuple[int, BatchRecord], ...]
    bad: tuple[BadLine, ...]

    def latest(self) -> list[tuple[int, BatchRecord]]:
        """One record per answer, the last one written, in the order of their lines."""
        return latest_answers(self.records)

    def replaced(self) -> list[tuple[int, int, BatchRecord]]:
        """(earlier line, later line, later record) for every result scored again."""
        last: dict[tuple[str, str], int] = {}
        out = []
        for number, record in self.records:
            if record.answer in last:
                out.append((last[record.answer], number, record))
            last[record.answer] = number
        return out


def latest_answers(
    records: Iterable[tuple[int, BatchRecord]],
) -> list[tuple[int, BatchRecord]]:
    """The duplicate rule: for each (file, question), the record on the latest line."""
    by_answer: dict[tuple[str, str], tuple[int, BatchRecord]] = {}
    for number, record in records:
        by_answer[record.answer] = (number, record)
    return sorted(by_answer.values(), key=lambda item: item[0])


def read_json_lines(path: Path, *, repair: bool = False) -> list[tuple[int, Any]]:
    """(line number, parsed value) of every JSON line of ``path`` ([] when it is missing).

    A last line without its newline was cut short by a crash mid-write: it is ignored, and
    with ``repair`` the file is truncated to drop it so appending continues on a clean line.
    A line that is not JSON is returned as ``(number, None)`` with a warning.

    Raises:
        BatchError: the file exists but cannot be read.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BatchError(f"{path}: cannot read the results ({exc.strerror or exc})") from exc
    complete_end = data.rfind(b"\n") + 1
    if complete_end < len(data):
        logger.warning("%s: ignoring an unfinished last line (interrupted write)", path)
        if repair:
            with path.open("r+b") as handle:
                handle.truncate(complete_end)
                os.fsync(handle.fileno())
    out: list[tuple[int, Any]] = []
    for number, line in enumerate(data[:complete_end].decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            out.append((number, json.loads(line)))
        except json.JSONDecodeError:
            logger.warning("%s:%d: skipping a line that is not JSON", path, number)
            out.append((number, None))
    return out


def read_results(path: Path, *, repair: bool = False) -> ResultLines:
    """Every line of a results.jsonl, as records or bad lines (see :func:`read_json_lines`)."""
    records: list[tuple[int, BatchRecord]] = []
    bad: list[BadLine] = []
    for number, value in read_json_lines(path, repair=repair):
        if not isinstance(value, dict):
            bad.append(BadLine(number, "not a JSON object"))
            continue
        if "overall" not in value and value.get("error"):
            bad.append(BadLine(number, str(value["error"]), value))
            continue
        try:
            records.append((number, BatchRecord.from_json_dict(value)))
        except (ValueError, KeyError, TypeError) as exc:
            bad.append(BadLine(number, f"not a valid result: {exc}", value))
    return ResultLines(tuple(records), tuple(bad))


class JsonLinesLog:
    """An append-only JSON-lines file (results.jsonl, failures.jsonl); each line is flushed and
    fsync'd before :meth:`append` returns, so a crash (even ``kill -9``) keeps every line
    appended before it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            created = not path.exists()
            self._handle = path.open("a", encoding="utf-8")
            if created:
                fsync_dir(path.parent)
        except OSError as exc:
            raise BatchError(
                f"{path}: cannot write ({exc.strerror or exc}); check that the folder is "
                "writable and the disk has space"
            ) from exc

    def append(self, line: BatchRecord | dict[str, Any]) -> None:
        data = line.to_json_dict() if isinstance(line, BatchRecord) else line
        try:
            self._handle.write(json.dumps(data, ensure_ascii=False) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise BatchError(
                f"{self.path}: cannot write ({exc.strerror or exc}); free disk space and run "
                "again with --resume"
            ) from exc

    def close(self) -> None:
        self._handle.close()
