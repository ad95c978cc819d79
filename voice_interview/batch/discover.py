"""Which files a batch scores, and which question each one answers.

:func:`discover` turns files, folders (recursive), globs, session folders and a manifest into
:class:`BatchItem` s, one per audio file, in a stable order; :func:`assign_question` applies the
rules (manifest row, session folder, ``--question``, the file name) in that order.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from voice_interview.errors import AudioFailure, BatchError, VoiceInterviewError

if TYPE_CHECKING:
    from voice_interview.content.banks import Bank

__all__ = [
    "AUDIO_EXTENSIONS",
    "NAME_SEPARATOR",
    "BatchItem",
    "Discovery",
    "Failure",
    "FailureReason",
    "assign_question",
    "discover",
    "is_batch",
    "read_manifest",
]

logger = logging.getLogger(__name__)

AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".webm", ".aac", ".aif", ".aiff",
     ".wma", ".mp4", ".mka", ".mkv", ".mov", ".amr", ".3gp", ".caf", ".spx"}
)  # fmt: skip
"""What a folder scan picks up (explicit files and glob matches are tried whatever their name)."""

NAME_SEPARATOR = "__"
"""File-name convention: ``<candidate>__<question-id>.<ext>`` or ``<question-id>.<ext>``."""

_SESSION_FILE = "session.json"
_GLOB_CHARS = frozenset("*?[")

Source = Literal["manifest", "session", "--question", "file-name", "none"]


# --- discovery and question assignment -----------------------------------------------------------


@dataclass(frozen=True)
class BatchItem:
    """One audio file to score. ``file`` is absolute; ``question_id`` None means unassigned."""

    file: Path
    question_id: str | None = None
    candidate: str | None = None
    source: Source = "none"


FailureReason = (
    AudioFailure
    | Literal[
        "too-large",
        "too-long",
        "no-question",
        "unknown-question",
        "bad-session",
        "error",
        "internal-error",
        "worker-crashed",
    ]
)
"""Why a file of a batch was not scored (failures.jsonl's ``reason``; docs/batch.md)."""


@dataclass(frozen=True)
class Failure:
    """A file that could not be scored: one line in failures.jsonl and on stderr."""

    file: str
    reason: FailureReason
    error: str

    def to_json_dict(self) -> dict[str, str]:
        return {"file": self.file, "reason": self.reason, "error": self.error}


@dataclass
class Discovery:
    """What :func:`discover` found: the items in order, failures found while looking (a glob
    matching nothing, a damaged session.json), and files a folder scan passed over."""

    items: list[BatchItem] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def is_batch(paths: Sequence[str], question_id: str | None, *, batch_options_given: bool) -> bool:
    """Whether ``score PATH...`` runs a batch. One existing or plain file path with a question
    and no batch option is a single answer (printed, as ``score FILE --question ID`` always
    was); anything else (several paths, a folder, a glob, no question, a batch option) is a
    batch. With no paths at all it is a batch only if batch options (a manifest) say so."""
    if not paths:
        return batch_options_given
    if len(paths) > 1 or question_id is None or batch_options_given:
        return True
    path = Path(paths[0])
    return path.is_dir() or (not path.exists() and bool(_GLOB_CHARS & set(paths[0])))


def _absolute(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(path))


def read_manifest(path: str | os.PathLike[str]) -> list[BatchItem]:
    """Rows of a CSV (header ``file,question_id[,candidate]``) or JSONL manifest (objects with
    the same keys). Relative ``file`` paths are relative to the manifest's folder.

    Raises:
        BatchError: the manifest is missing, unreadable, or has no ``file`` column/key; the
            message names the manifest and the line.
    """
    manifest = Path(path)
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"{manifest}: cannot read the manifest ({exc}); check the path") from exc
    rows: list[tuple[int, dict[str, Any]]] = []
    if manifest.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BatchError(
                    f"{manifest}:{number}: not valid JSON ({exc.msg}); "
                    'write one object per line: {"file": "...", "question_id": "..."}'
                ) from exc
            if not isinstance(row, dict):
                raise BatchError(f"{manifest}:{number}: expected a JSON object per line")
            rows.append((number, row))
    else:
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or "file" not in [f.strip() for f in reader.fieldnames]:
            raise BatchError(
                f"{manifest}: the CSV needs a header row with a 'file' column "
                "(file,question_id,candidate)"
            )
        for number, row in enumerate(reader, 2):
            rows.append((number, {(k or "").strip(): v for k, v in row.items()}))
    base = manifest.parent
    items = []
    for number, row in rows:
        name = str(row.get("file") or "").strip()
        if not name:
            raise BatchError(f"{manifest}:{number}: the row has no 'file'")
        question = str(row.get("question_id") or "").strip() or None
        candidate = str(row.get("candidate") or "").strip() or None
        items.append(BatchItem(_absolute(base / name), question, candidate, "manifest"))
    return items


def _name_convention(file: Path, bank: Bank) -> tuple[str | None, str | None]:
    """(question_id, candidate) from ``<candidate>__<question-id>.<ext>`` or
    ``<question-id>.<ext>``; (None, None) when the name follows neither."""
    stem = file.stem
    if NAME_SEPARATOR in stem:
        candidate, question = stem.rsplit(NAME_SEPARATOR, 1)
        return question, candidate or None
    ids = {q.id for q in bank.questions}
    return (stem, None) if stem in ids else (None, None)


def assign_question(item: BatchItem, bank: Bank, default_question: str | None) -> BatchItem:
    """Fill in which question ``item`` answers. First rule that applies: a manifest row, the
    session's session.json, ``--question ID``, the file name (``<candidate>__<question-id>``).
    """
    if item.question_id is not None:
        return item
    if default_question is not None:
        return BatchItem(item.file, default_question, item.candidate, "--question")
    question, candidate = _name_convention(item.file, bank)
    if question is not None:
        return BatchItem(item.file, question, item.candidate or candidate, "file-name")
    return item


def _session_items(folder: Path) -> tuple[list[BatchItem], list[Failure]]:
    from voice_interview.store.sessions import SessionStore

    try:
        session = SessionStore(folder.parent).open(folder)
    except VoiceInterviewError as exc:
        return [], [Failure(str(folder / _SESSION_FILE), "bad-session", str(exc))]
    items = []
    for q in session.record.questions:
        if q.answer_audio is None:
            continue  # never answered (pending or skipped): nothing to score
        items.append(
            BatchItem(_absolute(session.resolve(q.answer_audio)), q.question_id, None, "session")
        )
    return items, []


def _walk(folder: Path, found: Discovery) -> None:
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        if _SESSION_FILE in files:
            items, failures = _session_items(here)
            found.items += items
            found.failures += failures
            dirs.clear()  # the session says which files are answers (not question.wav)
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = here / name
            if name.startswith("."):
                continue
            if path.suffix.lower() in AUDIO_EXTENSIONS:
                found.items.append(BatchItem(_absolute(path)))
            else:
                found.ignored.append(path)


def discover(
    paths: Sequence[str],
    bank: Bank,
    *,
    question_id: str | None = None,
    manifest: str | os.PathLike[str] | None = None,
) -> Discovery:
    """Every file to score, each once, in order: the manifest's rows, then ``paths`` (files,
    folders scanned recursively for audio, glob patterns, session folders), each with its
    question assigned (see :func:`assign_question`).

    A path that does not exist is kept as an item (it fails later as ``missing``), a glob that
    matches nothing becomes a failure, and non-audio files met in folders are listed in
    ``ignored``.
    """
    found = Discovery()
    if manifest is not None:
        found.items += read_manifest(manifest)
    for given in paths:
        path = Path(given)
        if path.is_dir():
            _walk(path, found)
        elif not path.exists() and _GLOB_CHARS & set(given):
            matches = sorted(glob.glob(given, recursive=True))
            if not matches:
                found.failures.append(
                    Failure(given, "missing", f"{given}: no files match; check the pattern")
                )
            for match in matches:
                if Path(match).is_dir():
                    _walk(Path(match), found)
                else:
                    found.items.append(BatchItem(_absolute(match)))
        else:
            found.items.append(BatchItem(_absolute(path)))
    seen: dict[Path, BatchItem] = {}
    for item in found.items:  # the first mention wins: a manifest row before a folder scan
        seen.setdefault(item.file, item)
    found.items = [assign_question(i, bank, question_id) for i in seen.values()]
    return found
