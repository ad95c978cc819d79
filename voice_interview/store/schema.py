"""The schema of ``session.json`` (pydantic records, strict) and its migration.

Any change to the schema bumps :data:`SCHEMA_VERSION`; older versions are migrated on read
(:func:`migrate`). The folder layout and what survives a crash:
:mod:`voice_interview.store.sessions`.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Annotated, Any, Final, Literal, get_args

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from voice_interview.content.banks import QuestionKind, Slug

__all__ = [
    "QUESTION_STATUSES",
    "READABLE_VERSIONS",
    "SCHEMA_VERSION",
    "FollowUpRecord",
    "QuestionRecord",
    "QuestionStatus",
    "RelPath",
    "ResultVersion",
    "SessionRecord",
    "SessionStatus",
    "Turn",
    "migrate",
]

SCHEMA_VERSION: Final = 2
"""Version of session.json this code writes. Any change to the schema bumps it; older versions
are migrated on read (:func:`migrate`)."""

READABLE_VERSIONS: Final = (1, 2)

QuestionStatus = Literal["pending", "asked", "answering", "answered", "skipped", "failed"]
"""``pending`` (not reached), ``asked`` (spoken), ``answering`` (recording; found later it means
the session was interrupted), ``answered``, ``skipped``, ``failed`` (see ``error``)."""

QUESTION_STATUSES: tuple[str, ...] = get_args(QuestionStatus)

SessionStatus = Literal["in-progress", "completed", "quit"]


# --- the records ----------------------------------------------------------------------------------


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


class Turn(_Record):
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


class FollowUpRecord(Turn):
    """The one follow-up question asked after an answer."""

    text: str
    reason: str = ""


class QuestionRecord(Turn):
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


def migrate(raw: dict[str, Any]) -> dict[str, Any]:
    """A session.json of any readable schema_version as the current one (a new dict).

    1 -> 2: turns gained ``versions`` (re-scored results), empty by default; nothing else
    changed, so only the version number moves.
    """
    if raw.get("schema_version") == 1:
        raw = {**raw, "schema_version": 2}
    return raw
