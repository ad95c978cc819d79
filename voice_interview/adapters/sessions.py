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
import struct
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Annotated, Any, Final, Literal, TypeVar, get_args

import numpy as np
import numpy.typing as npt
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from voice_interview.adapters.audio_files import write_wav
from voice_interview.adapters.durable import fsync_dir, write_atomic
from voice_interview.bank import Bank, QuestionKind, Slug
from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio
from voice_interview.core.transcript import Transcript
from voice_interview.errors import AudioError, VoiceInterviewError
from voice_interview.scoring.result import Evaluation
from voice_interview.tomlfile import toml_field_path

__all__ = [
    "SCHEMA_VERSION",
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

SCHEMA_VERSION: Final = 2
"""Version of session.json this code writes. Any change to the schema bumps it; older versions
are migrated on read (:func:`_migrate`)."""

_READABLE_VERSIONS: Final = (1, 2)

SESSION_FILE = "session.json"

QuestionStatus = Literal["pending", "asked", "answering", "answered", "skipped", "failed"]
"""``pending`` (not reached), ``asked`` (spoken), ``answering`` (recording; found later it means
the session was interrupted), ``answered``, ``skipped``, ``failed`` (see ``error``)."""

_QUESTION_STATUSES: tuple[str, ...] = get_args(QuestionStatus)

SessionStatus = Literal["in-progress", "completed", "quit"]

_DONE: frozenset[str] = frozenset({"answering", "answered", "skipped"})
"""Statuses :meth:`Session.next_index` passes over. ``failed``, ``asked`` and ``pending``
questions are asked (again) on resume."""


class SessionError(VoiceInterviewError):
    """A session folder or one of its files is missing, damaged, or cannot be written."""


# --- streaming WAV -------------------------------------------------------------------------------

_HEADER_BYTES = 44
_RIFF_SIZE_OFFSET = 4
_DATA_SIZE_OFFSET = 40
_MAX_DATA_BYTES = 0xFFFFFFFF - (_HEADER_BYTES - 8)  # the RIFF size field is 32-bit


def _wav_header(sample_rate: int, data_bytes: int) -> bytes:
    """The canonical 44-byte header of 16-bit mono PCM WAV."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        _HEADER_BYTES - 8 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,  # fmt chunk size
        1,  # PCM
        1,  # channels
        sample_rate,
        sample_rate * 2,  # byte rate
        2,  # block align
        16,  # bits per sample
        b"data",
        data_bytes,
    )


class StreamingWavWriter:
    """Writes 16-bit mono PCM WAV while recording, durable at least every ``flush_every_s``.

    The file is created (truncating any previous one) with a valid, empty WAV header. Each
    :meth:`write` appends samples; whenever ``flush_every_s`` of audio has built up since the
    last flush, the data is fsync'd, the RIFF and data sizes in the header are patched, and the
    header is fsync'd. So after :meth:`write` returns, less than ``flush_every_s`` of audio is
    at risk: if the process dies, the file is a valid WAV of everything up to the last flush
    (the header never claims data that is not on disk). :meth:`close` flushes and finalises;
    the context manager closes on any exit, so an exception mid-answer still leaves a complete
    file. Flushes cost two fsyncs: call :meth:`write` from the loop that consumes audio, not
    from a sound-card callback.

    Raises:
        AudioError: ``reason="unwritable"`` when the file cannot be created or written.
    """

    def __init__(
        self, path: str | os.PathLike[str], sample_rate: int, *, flush_every_s: float = 1.0
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if flush_every_s <= 0:
            raise ValueError(f"flush_every_s must be positive, got {flush_every_s}")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.flush_every_s = flush_every_s
        self._flush_every = max(1, round(flush_every_s * sample_rate))
        self._written = 0
        self._flushed = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("wb")
        except OSError as exc:
            raise self._error(exc) from exc
        try:
            self._file.write(_wav_header(sample_rate, 0))
            self._file.flush()
            os.fsync(self._file.fileno())
            fsync_dir(self.path.parent)
        except OSError as exc:
            self._file.close()
            raise self._error(exc) from exc

    @property
    def samples_written(self) -> int:
        """Samples handed to :meth:`write` so far."""
        return self._written

    @property
    def samples_flushed(self) -> int:
        """Samples durable on disk and covered by the header (all of them once closed)."""
        return self._flushed

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, audio: Audio | npt.NDArray[np.floating[Any]] | npt.NDArray[np.int16]) -> None:
        """Append mono samples: an :class:`Audio` at this writer's rate, a float array in
        [-1, 1] (converted as :meth:`Audio.to_int16` does), or int16 PCM as a sound card gives.
        """
        if self._file.closed:
            raise ValueError(f"{self.path}: write() after close()")
        if isinstance(audio, Audio):
            if audio.sample_rate != self.sample_rate:
                raise ValueError(
                    f"{self.path}: audio at {audio.sample_rate} Hz written to a "
                    f"{self.sample_rate} Hz WAV; resample it first (Audio.resampled)"
                )
            pcm = audio.to_int16()
        elif audio.dtype == np.int16:
            if audio.ndim != 1:
                raise ValueError(f"audio must be mono (1-D), got shape {audio.shape}")
            pcm = audio.astype(np.int16, copy=False)
        elif np.issubdtype(audio.dtype, np.floating):
            pcm = Audio(audio.astype(np.float32, copy=False), self.sample_rate).to_int16()
        else:
            raise ValueError(f"audio must be float in [-1, 1] or int16 PCM, got {audio.dtype}")
        if (self._written + pcm.shape[0]) * 2 > _MAX_DATA_BYTES:
            raise AudioError(
                f"{self.path}: a WAV file holds at most {_MAX_DATA_BYTES // 2} samples; "
                "end the recording earlier (max_answer_s)",
                path=str(self.path),
                reason="unwritable",
            )
        try:
            self._file.write(pcm.astype("<i2", copy=False).tobytes())
        except OSError as exc:
            raise self._error(exc) from exc
        self._written += int(pcm.shape[0])
        if self._written - self._flushed >= self._flush_every:
            self.flush()

    def flush(self) -> None:
        """Make everything written so far durable and covered by the header."""
        if self._file.closed or self._flushed == self._written:
            return
        data_bytes = self._written * 2
        try:
            # Data first, then the sizes: the header never claims samples that are not on disk.
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.seek(_RIFF_SIZE_OFFSET)
            self._file.write(struct.pack("<I", _HEADER_BYTES - 8 + data_bytes))
            self._file.seek(_DATA_SIZE_OFFSET)
            self._file.write(struct.pack("<I", data_bytes))
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.seek(0, os.SEEK_END)
        except OSError as exc:
            raise self._error(exc) from exc
        self._flushed = self._written

    def close(self) -> None:
        """Flush and close; idempotent."""
        if self._file.closed:
            return
        try:
            self.flush()
        finally:
            self._file.close()
        logger.debug(
            "wrote %s: %.2f s at %d Hz",
            self.path,
            self._written / self.sample_rate,
            self.sample_rate,
        )

    def __enter__(self) -> StreamingWavWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _error(self, exc: OSError) -> AudioError:
        return AudioError(
            f"{self.path}: cannot write the recording ({exc.strerror or exc}); "
            "check that the folder is writable and the disk has space",
            path=str(self.path),
            reason="unwritable",
        )


# --- the schema ----------------------------------------------------------------------------------


def _relative_path(value: str) -> str:
    path = PurePosixPath(value)
    if path.is_absolute() or ".." in path.parts or "\\" in value or not path.parts:
        raise ValueError(f"must be a path inside the session folder, got {value!r}")
    return value


RelPath = Annotated[str, AfterValidator(_relative_path)]
"""A POSIX-style path relative to the session folder (``q01-foo/answer.wav``)."""


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ResultVersion(_Record):
    """One re-scored result of a turn (``replay --rescore``), version 2 and up.

    Version 1 is what practice saved (the turn's own ``transcript`` and ``evaluation``).
    """

    version: int = Field(ge=2)
    created_at: AwareDatetime
    transcript: RelPath = Field(
        description="The transcript scored: a new file, or (evaluation-only) an older one."
    )
    evaluation: RelPath
    model: str = Field(description="ASR model of the transcript ('text' for a typed answer).")
    retranscribed: bool = Field(
        description="True: transcribed again from the answer audio; False: evaluation only."
    )
    evaluator: str = Field(description="Evaluator name and version, e.g. 'local 1.0'.")
    bank_id: str
    app_version: str


class _Turn(_Record):
    """One ask-and-answer exchange: the main question or its follow-up."""

    status: QuestionStatus = "pending"
    question_audio: RelPath | None = Field(None, description="Set once the file is written.")
    answer_audio: RelPath | None = Field(None, description="Set when recording starts.")
    transcript: RelPath | None = None
    evaluation: RelPath | None = None
    error: str | None = None
    started_at: AwareDatetime | None = Field(None, description="First marked asked/answering.")
    ended_at: AwareDatetime | None = Field(None, description="Marked answered/skipped/failed.")
    versions: list[ResultVersion] = Field(
        default_factory=list, description="Re-scored results, oldest first (schema 2)."
    )


class FollowUpRecord(_Turn):
    """The one follow-up question asked after an answer."""

    text: str
    reason: str = ""


class QuestionRecord(_Turn):
    """One planned question. ``index`` is 0-based; its folder is numbered from 1 (``q01-...``)."""

    index: int = Field(ge=0)
    question_id: Slug = Field(description="Also names the question's folder.")
    round_id: Slug
    kind: QuestionKind
    text: str = Field(description="As asked, copied from the bank so replay needs no bank.")
    follow_up: FollowUpRecord | None = None


class SessionRecord(_Record):
    """Contents of session.json."""

    schema_version: Literal[2] = SCHEMA_VERSION
    id: str
    created_at: AwareDatetime
    ended_at: AwareDatetime | None = None
    bank_id: str
    bank_source: str
    app_version: str
    options: dict[str, Any] = Field(
        default_factory=dict,
        description="Effective practice options (model, end_silence_s, max_answer_s, ...).",
    )
    status: SessionStatus = "in-progress"
    questions: list[QuestionRecord]


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

    def _turn(self, index: int, follow_up: bool) -> _Turn:
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

    def _set_status(self, turn: _Turn, status: QuestionStatus, error: str | None) -> None:
        if status not in _QUESTION_STATUSES:
            raise ValueError(
                f"unknown question status {status!r}; choose one of: "
                f"{', '.join(_QUESTION_STATUSES)}"
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
    if version not in _READABLE_VERSIONS:
        readable = " and ".join(str(v) for v in _READABLE_VERSIONS)
        raise SessionError(
            f"{file}: schema_version {version!r} is not supported (this voice-interview reads "
            f"{readable}); open it with the version that wrote it, or start a new session"
        )
    return _validate(file, SessionRecord, _migrate(raw), fix)


def _migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """A session.json of any readable schema_version as the current one (a new dict).

    1 -> 2: turns gained ``versions`` (re-scored results), empty by default; nothing else
    changed, so only the version number moves.
    """
    if raw.get("schema_version") == 1:
        raw = {**raw, "schema_version": 2}
    return raw


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
