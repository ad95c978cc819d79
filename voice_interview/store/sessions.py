"""Practice sessions on disk: every question, answer, transcript and evaluation, crash-safe.

A session is one folder under the store's root, named after its UTC start time::

    <root>/20250314-093012/                 (a "-2", "-3" ... suffix if two start in one second)
        session.json                        SessionRecord: options, question list, statuses
        q01-tell-me-about-a-conflict/       one folder per question, numbered from 1
            question.wav                    the interviewer's spoken question (Piper)
            answer.wav                      the candidate's answer, streamed while recording
            transcript.json                 Transcript.model_dump (round-trips exactly)
            evaluation.json                 Evaluation.model_dump (round-trips exactly)
            followup-question.wav           the same four files for the one follow-up, if any
            followup-answer.wav
            followup-transcript.json
            followup-evaluation.json
            transcript.v2.json              a re-scored version (``replay --rescore``): the
            evaluation.v2.json              originals are never touched; session.json lists
                                            every version (when, model, evaluator)

Versions: what practice saved is version 1 (``transcript.json`` / ``evaluation.json``, or
nothing for an interrupted answer). Each re-score adds version 2, 3, ... to the turn's
``versions`` list in session.json; :meth:`Session.load_transcript` and
:meth:`Session.load_evaluation` return the latest unless given ``version=``.

Schema history: version 1 had no ``versions`` lists; a version-1 session.json is migrated on
read (in memory; the file is rewritten as version 2 only when the session is next changed).

What survives a crash (``kill -9``, a closed laptop lid, a power cut):

- ``answer.wav`` is written by :class:`StreamingWavWriter` while the candidate speaks: audio is
  fsync'd and the WAV header patched at least every ``flush_every_s`` (1 s) of audio, so the
  file on disk is always a valid WAV holding everything up to the last flush.
- ``session.json`` and the JSON files are replaced atomically (temp file in the same folder,
  fsync, ``os.replace``, fsync of the folder): a reader sees the old or the new file, never a
  mix. A stray ``.session.json.*.tmp`` left by a crash is ignored.
- :meth:`Session.answer_writer` marks the question ``"answering"`` in session.json *before*
  recording starts. A question found ``"answering"`` later was interrupted; it counts as done,
  its partial answer.wav is kept, and :meth:`Session.next_index` (``practice --resume``)
  continues with the next question rather than asking it again and overwriting the recording.

One process writes a session at a time; nothing here locks the folder.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from voice_interview.adapters.audio_files import write_wav
from voice_interview.adapters.durable import fsync_dir, write_atomic
from voice_interview.content.banks import Bank
from voice_interview.content.tomlfile import toml_field_path
from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio
from voice_interview.core.transcript import Transcript
from voice_interview.errors import SessionError
from voice_interview.scoring.result import Evaluation
from voice_interview.store.schema import (
    QUESTION_STATUSES,
    READABLE_VERSIONS,
    SCHEMA_VERSION,
    FollowUpRecord,
    QuestionRecord,
    QuestionStatus,
    ResultVersion,
    SessionRecord,
    SessionStatus,
    Turn,
    migrate,
)
from voice_interview.store.wav import StreamingWavWriter

__all__ = [
    "SCHEMA_VERSION",
    "SESSION_FILE",
    "FollowUpRecord",
    "QuestionRecord",
    "QuestionStatus",
    "ResultVersion",
    "Session",
    "SessionError",
    "SessionRecord",
    "SessionStatus",
    "SessionStore",
    "StreamingWavWriter",
]

logger = logging.getLogger(__name__)

SESSION_FILE = "session.json"

_DONE: frozenset[str] = frozenset({"answering", "answered", "skipped"})
"""Statuses :meth:`Session.next_index` passes over. ``failed``, ``asked`` and ``pending``
questions are asked (again) on resume."""


# --- one session ---------------------------------------------------------------------------------

_FILES = {
    "question_audio": "question.wav",
    "answer_audio": "answer.wav",
    "transcript": "transcript.json",
    "evaluation": "evaluation.json",
}
_FOLLOW_UP_PREFIX = "followup-"

M = TypeVar("M", bound=BaseModel)


class Session:
    """An open session folder. Read :attr:`record`; change it only through the methods, each of
    which writes session.json atomically before returning.

    ``index`` arguments are 0-based positions in ``record.questions``; ``follow_up=True``
    addresses the question's follow-up (create it first with :meth:`set_follow_up`).
    """

    def __init__(self, folder: Path, record: SessionRecord) -> None:
        self.folder = folder
        self.record = record

    @property
    def session_file(self) -> Path:
        return self.folder / SESSION_FILE

    def resolve(self, relative: str) -> Path:
        """The absolute path of a file named in the record."""
        return self.folder / relative

    def question_folder(self, index: int) -> Path:
        q = self._question(index)
        return self.folder / f"q{index + 1:02d}-{q.question_id}"

    # -- recording ------------------------------------------------------------------------------
    def answer_writer(
        self, index: int, follow_up: bool = False, *, flush_every_s: float = 1.0
    ) -> StreamingWavWriter:
        """Mark the question (or follow-up) ``"answering"`` in session.json, then open its
        answer WAV (16 kHz) for streaming. Re-asking a question overwrites the file."""
        turn = self._turn(index, follow_up)
        relative = self._relative(index, "answer_audio", follow_up)
        turn.answer_audio = relative
        self._set_status(turn, "answering", None)
        self._save()
        return StreamingWavWriter(
            self.resolve(relative), ASR_SAMPLE_RATE, flush_every_s=flush_every_s
        )

    def save_question_audio(self, index: int, audio: Audio, follow_up: bool = False) -> Path:
        """Write the spoken question (atomically) and record its path."""
        turn = self._turn(index, follow_up)
        relative = self._relative(index, "question_audio", follow_up)
        path = write_wav(audio, self.resolve(relative))
        turn.question_audio = relative
        self._save()
        return path

    def save_transcript(self, index: int, transcript: Transcript, follow_up: bool = False) -> Path:
        turn = self._turn(index, follow_up)
        relative = self._relative(index, "transcript", follow_up)
        path = self.resolve(relative)
        _write_json(path, transcript.model_dump(mode="json"))
        turn.transcript = relative
        self._save()
        return path

    def save_evaluation(self, index: int, evaluation: Evaluation, follow_up: bool = False) -> Path:
        turn = self._turn(index, follow_up)
        relative = self._relative(index, "evaluation", follow_up)
        path = self.resolve(relative)
        _write_json(path, evaluation.model_dump(mode="json"))
        turn.evaluation = relative
        self._save()
        return path

    def load_transcript(
        self, index: int, follow_up: bool = False, *, version: int | None = None
    ) -> Transcript:
        """The saved transcript: the latest version, or ``version`` (1 = as practice saved it).

        Raises:
            SessionError: none saved (an interrupted answer), no such version, or the file is
                missing or damaged; the message names the file.
        """
        relative = self._version_file(index, follow_up, version, "transcript")
        return self._load_json(relative, Transcript, index, "transcript")

    def load_evaluation(
        self, index: int, follow_up: bool = False, *, version: int | None = None
    ) -> Evaluation:
        """The saved evaluation: the latest version, or ``version`` (1 = as practice saved it).

        Raises:
            SessionError: as :meth:`load_transcript`.
        """
        relative = self._version_file(index, follow_up, version, "evaluation")
        return self._load_json(relative, Evaluation, index, "evaluation")

    def latest_version(self, index: int, follow_up: bool = False) -> int:
        """The number of the turn's current result: 1 until it is re-scored."""
        versions = self._turn(index, follow_up).versions
        return versions[-1].version if versions else 1

    def save_version(
        self,
        index: int,
        transcript: Transcript,
        evaluation: Evaluation,
        *,
        follow_up: bool = False,
        retranscribed: bool,
        bank_id: str,
    ) -> ResultVersion:
        """Store a re-scored result as the turn's next version, keeping every earlier file.

        With ``retranscribed`` the transcript is written as ``transcript.vN.json``; without,
        the version points at the transcript it re-evaluated (the latest one), so nothing is
        copied. Files are written atomically before session.json names them.
        """
        from voice_interview import __version__

        turn = self._turn(index, follow_up)
        number = self.latest_version(index, follow_up) + 1
        if retranscribed:
            transcript_rel = self._relative(index, "transcript", follow_up, number)
            _write_json(self.resolve(transcript_rel), transcript.model_dump(mode="json"))
        else:
            transcript_rel = self._version_file(index, follow_up, None, "transcript") or ""
            if not transcript_rel:
                raise SessionError(
                    f"{self.session_file}: question {index} has no transcript to re-evaluate; "
                    "re-score it from its answer audio"
                )
        evaluation_rel = self._relative(index, "evaluation", follow_up, number)
        _write_json(self.resolve(evaluation_rel), evaluation.model_dump(mode="json"))
        record = ResultVersion(
            version=number,
            created_at=_now(),
            transcript=transcript_rel,
            evaluation=evaluation_rel,
            model=transcript.model,
            retranscribed=retranscribed,
            evaluator=f"{evaluation.evaluator.name} {evaluation.evaluator.version}",
            bank_id=bank_id,
            app_version=__version__,
        )
        turn.versions = [*turn.versions, record]
        self._save()
        return record

    # -- statuses -------------------------------------------------------------------------------
    def set_follow_up(self, index: int, text: str, reason: str = "") -> FollowUpRecord:
        """Record the follow-up question asked after question ``index`` (replacing any)."""
        q = self._question(index)
        q.follow_up = FollowUpRecord(text=text, reason=reason)
        self._save()
        return q.follow_up

    def mark(
        self,
        index: int,
        status: QuestionStatus,
        error: str | None = None,
        *,
        follow_up: bool = False,
    ) -> None:
        """Set a question's (or follow-up's) status and error, stamping started/ended times."""
        self._set_status(self._turn(index, follow_up), status, error)
        self._save()

    def finish(self, status: Literal["completed", "quit"]) -> None:
        if status not in ("completed", "quit"):
            raise ValueError(f"finish() takes 'completed' or 'quit', got {status!r}")
        self.record.status = status
        self.record.ended_at = _now()
        self._save()

    def resume(self) -> int | None:
        """Mark the session in progress again; return :meth:`next_index` (None: nothing left)."""
        self.record.status = "in-progress"
        self.record.ended_at = None
        self._save()
        return self.next_index()

    def next_index(self) -> int | None:
        """The first question not yet done, or None when every question is done.

        Done means ``answered``, ``skipped`` or ``answering``: an answer found ``answering``
        was interrupted (crash, kill); its partial answer.wav is kept and resuming moves on
        to the next question instead of asking it again. ``failed``, ``asked`` and
        ``pending`` questions are asked again.
        """
        for q in self.record.questions:
            if q.status not in _DONE:
                return q.index
        return None

    # -- internals ------------------------------------------------------------------------------
    def _question(self, index: int) -> QuestionRecord:
        count = len(self.record.questions)
        if not 0 <= index < count:
            raise SessionError(
                f"{self.session_file}: no question {index} (the session has {count}, "
                f"indexes 0-{count - 1})"
            )
        return self.record.questions[index]

    def _turn(self, index: int, follow_up: bool) -> Turn:
        q = self._question(index)
        if not follow_up:
            return q
        if q.follow_up is None:
            raise ValueError(
                f"question {index} has no follow-up; call set_follow_up(index, text) first"
            )
        return q.follow_up

    def _relative(self, index: int, field: str, follow_up: bool, version: int = 1) -> str:
        name = (_FOLLOW_UP_PREFIX if follow_up else "") + _FILES[field]
        if version > 1:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem}.v{version}{dot}{ext}"
        return f"{self.question_folder(index).name}/{name}"

    def _version_file(
        self, index: int, follow_up: bool, version: int | None, what: str
    ) -> str | None:
        """The relative path of ``what`` ("transcript"/"evaluation") of a version (None: the
        latest); None when version 1 has none."""
        turn = self._turn(index, follow_up)
        if version is None:
            version = turn.versions[-1].version if turn.versions else 1
        if version == 1:
            return turn.transcript if what == "transcript" else turn.evaluation
        for entry in turn.versions:
            if entry.version == version:
                return entry.transcript if what == "transcript" else entry.evaluation
        known = ", ".join(str(v) for v in [1, *(e.version for e in turn.versions)])
        raise SessionError(
            f"{self.session_file}: question {index} has no version {version} (versions: {known})"
        )

    def _set_status(self, turn: Turn, status: QuestionStatus, error: str | None) -> None:
        if status not in QUESTION_STATUSES:
            raise ValueError(
                f"unknown question status {status!r}; choose one of: {', '.join(QUESTION_STATUSES)}"
            )
        now = _now()
        turn.status = status
        turn.error = error
        if status in ("asked", "answering") and turn.started_at is None:
            turn.started_at = now
        if status in ("answered", "skipped", "failed"):
            turn.ended_at = now

    def _save(self) -> None:
        data = self.record.model_dump_json(indent=2).encode("utf-8") + b"\n"
        _write_atomic(self.session_file, data)

    def _load_json(self, relative: str | None, model: type[M], index: int, what: str) -> M:
        if relative is None:
            raise SessionError(
                f"{self.session_file}: question {index} has no saved {what}; "
                "re-score it from its answer audio (voice-interview replay SESSION --rescore)"
            )
        path = self.resolve(relative)
        return _read_model(path, model, f"saved {what}", "re-score it from its answer audio")


# --- the store -----------------------------------------------------------------------------------

_ID_FORMAT = "%Y%m%d-%H%M%S"


class SessionStore:
    """All sessions, one folder each under ``root`` (created on first use)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def create(
        self, bank: Bank, question_ids: Sequence[str], options: dict[str, Any] | None = None
    ) -> Session:
        """Start a session asking ``question_ids`` from ``bank`` (in that order).

        Raises:
            BankError: a question id is not in the bank.
            SessionError: no questions, or the folder cannot be created.
        """
        if not question_ids:
            raise SessionError(f"{self.root}: a session needs at least one question")
        questions = [bank.question(qid) for qid in question_ids]
        created = _now()
        folder = self._new_folder(created)
        from voice_interview import __version__

        record = SessionRecord(
            id=folder.name,
            created_at=created,
            bank_id=bank.id,
            bank_source=bank.source,
            app_version=__version__,
            options=dict(options or {}),
            questions=[
                QuestionRecord(
                    index=i, question_id=q.id, round_id=q.round_id, kind=q.kind, text=q.text
                )
                for i, q in enumerate(questions)
            ],
        )
        session = Session(folder, record)
        session._save()
        logger.info("started session %s with %d question(s)", folder, len(questions))
        return session

    def open(self, path_or_id: str | os.PathLike[str]) -> Session:
        """Open a session by folder path, path of its session.json, or id (folder name).

        Raises:
            SessionError: no such session, or its session.json is unreadable, not JSON,
                of another schema_version, or invalid; the message names the file.
        """
        given = self.root / path_or_id  # an absolute path stays as it is
        if not given.exists():
            given = Path(path_or_id)
        if given.name == SESSION_FILE and given.is_file():
            folder = given.parent
        elif given.is_dir():
            folder = given
        else:
            recent = ", ".join(r.id for r in self.list()[:5]) or "none yet"
            raise SessionError(
                f"no session {str(path_or_id)!r} in {self.root}; pass a session folder or "
                f"one of the ids (newest first): {recent}"
            )
        return Session(folder, _read_session(folder / SESSION_FILE))

    def list(self) -> list[SessionRecord]:
        """Every readable session, newest first. Damaged ones are skipped with a warning."""
        if not self.root.is_dir():
            return []
        records = []
        for folder in self.root.iterdir():
            file = folder / SESSION_FILE
            if not folder.is_dir():
                continue
            if not file.is_file():  # crashed between mkdir and the first write
                logger.debug("skipping %s: no %s", folder, SESSION_FILE)
                continue
            try:
                records.append(_read_session(file))
            except SessionError as exc:
                logger.warning("skipping session: %s", exc)
        return sorted(records, key=lambda r: (r.created_at, r.id), reverse=True)

    def _new_folder(self, created: datetime) -> Path:
        base = created.strftime(_ID_FORMAT)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            for n in range(1, 1000):
                folder = self.root / (base if n == 1 else f"{base}-{n}")
                try:
                    folder.mkdir()
                except FileExistsError:
                    continue
                fsync_dir(self.root)
                return folder
        except OSError as exc:
            raise SessionError(
                f"{self.root}: cannot create a session folder ({exc.strerror or exc}); "
                "check that it is writable and the disk has space"
            ) from exc
        raise SessionError(f"{self.root}: too many sessions started at {base}; try again")


# --- files ---------------------------------------------------------------------------------------


def _now() -> datetime:
    return datetime.now(UTC)


def _read_session(file: Path) -> SessionRecord:
    fix = "restore it from a backup or start a new session"
    raw = _read_json(file, "session file", fix)
    if not isinstance(raw, dict):
        raise SessionError(f"{file}: not a session file (a JSON object is expected); {fix}")
    version = raw.get("schema_version")
    if version not in READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in READABLE_VERSIONS)
        raise SessionError(
            f"{file}: schema_version {version!r} is not supported (this voice-interview reads "
            f"{readable}); open it with the version that wrote it, or start a new session"
        )
    return _validate(file, SessionRecord, migrate(raw), fix)


def _read_model(file: Path, model: type[M], what: str, fix: str) -> M:
    return _validate(file, model, _read_json(file, what, fix), fix)


def _read_json(file: Path, what: str, fix: str) -> Any:
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SessionError(f"{file}: {what} not found; {fix}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SessionError(f"{file}: cannot read {what} ({exc}); {fix}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SessionError(
            f"{file}: {what} is not valid JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}); {fix}"
        ) from exc


def _validate(file: Path, model: type[M], raw: Any, fix: str) -> M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = " ".join(f"{toml_field_path(first['loc'])}: {first['msg']}".split())
        raise SessionError(f"{file}: {message}{more}; {fix}") from exc


def _write_json(path: Path, data: Any) -> None:
    _write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n")


def _write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` durably; a crash leaves the old file or the new one."""
    try:
        write_atomic(path, data)
    except OSError as exc:
        raise SessionError(
            f"{path}: cannot write ({exc.strerror or exc}); "
            "check that the folder is writable and the disk has space"
        ) from exc
