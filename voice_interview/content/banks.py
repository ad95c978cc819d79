"""Question banks: interview rounds and questions, loaded from TOML files in ``prompts/banks/``.

The bank is content, not code: a user copies ``prompts/banks/amazon-backend-developer.toml``,
edits it, and passes it with ``--bank FILE``. Files are validated with pydantic; errors name the
file, the field and the problem in one line.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import (
    Field,
    StringConstraints,
    model_validator,
)

from voice_interview.content.folders import data_folder
from voice_interview.content.tomlfile import StrictModel, load_toml_model
from voice_interview.errors import BankError

__all__ = [
    "DEFAULT_BANK_ID",
    "Bank",
    "Concept",
    "Misconception",
    "Question",
    "QuestionKind",
    "Round",
    "default_bank_path",
    "load_bank",
]

DEFAULT_BANK_ID = "amazon-backend-developer"

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class QuestionKind(StrEnum):
    TECHNICAL = "technical"
    SYSTEM_DESIGN = "system-design"
    BEHAVIORAL = "behavioral"


class Misconception(StrictModel):
    """A wrong statement a candidate may make about a concept.

    In a bank file either a plain string (the statement) or a table with ``signals``: short
    phrases whose words, said in this order in one sentence and not negated ("not", "never",
    "myth", ...), show the candidate holds the wrong idea. Signal words are matched like
    aliases (stemmed, fuzzy), so "caches every query forever" matches "cache everything
    forever" only if the words are there; keep signals specific to the wrong idea.
    """

    statement: NonEmpty = Field(description="The wrong idea, stated plainly (shown in tips).")
    signals: tuple[NonEmpty, ...] = Field(
        default=(), description="Ordered word sequences that show it in an answer."
    )

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, data: object) -> object:
        return {"statement": data} if isinstance(data, str) else data


class Concept(StrictModel):
    """One idea an answer should cover (a rubric line), or, on a behavioral question, one thing
    the question is about (its ``focus``)."""

    id: Slug
    label: NonEmpty = Field(description="Short name shown to the candidate.")
    weight: float = Field(default=1.0, gt=0, le=5)
    required: bool = Field(default=False, description="A strong answer cannot omit it.")
    tradeoff: bool = Field(
        default=False,
        description="A trade-off: when not to use it, what it costs or how it fails (what "
        "separates a strong answer from a solid one).",
    )
    aliases: tuple[NonEmpty, ...] = Field(
        min_length=1,
        description="Words and phrases that name it, incl. likely ASR misspellings; fuzzy-matched.",
    )
    paraphrases: tuple[NonEmpty, ...] = Field(
        min_length=1,
        max_length=3,
        description="1-3 sentences that explain it in other words; matched by meaning.",
    )
    misconceptions: tuple[Misconception, ...] = Field(
        default=(), description="Wrong statements about it that an answer should not make."
    )
    follow_up: str = Field(
        default="",
        description="What the interviewer asks when an answer leaves this concept out.",
    )


class Question(StrictModel):
    """One interview question. ``kind`` and ``round_id`` are filled in from its round.

    Technical and system-design questions carry a rubric (``concepts``, ``model_answer``);
    behavioral ones name the Leadership Principles they probe and what a strong answer shows.
    """

    id: Slug
    text: NonEmpty
    vocabulary: tuple[NonEmpty, ...] = ()
    principles: tuple[NonEmpty, ...] = ()
    strong_answer: tuple[NonEmpty, ...] = Field(
        default=(), description="Behavioral: what a strong answer shows."
    )
    concepts: tuple[Concept, ...] = ()
    focus: tuple[Concept, ...] = Field(
        default=(),
        description="Behavioral: what the question is about (e.g. a disagreement); a story "
        "that shows none of these answers a different question.",
    )
    model_answer: str = ""
    kind: QuestionKind = QuestionKind.TECHNICAL
    round_id: str = ""

    @property
    def is_behavioral(self) -> bool:
        return self.kind is QuestionKind.BEHAVIORAL

    @property
    def recognizer_vocabulary(self) -> tuple[str, ...]:
        """Terms hinted to the speech recogniser: the question's curated ``vocabulary``.

        Concept aliases are not added: they include everyday phrases ("who you are") and,
        measured, the longer hint list made tiny.en append invented words after the last one
        ("... authorization? PlayStation.").
        """
        return self.vocabulary


class Round(StrictModel):
    id: Slug
    title: NonEmpty
    kind: QuestionKind
    purpose: NonEmpty = Field(description="Spoken as the round's intro.")
    questions: tuple[Question, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _stamp_questions(self) -> Round:
        stamped = tuple(
            q.model_copy(update={"kind": self.kind, "round_id": self.id}) for q in self.questions
        )
        for q in stamped:
            if q.is_behavioral and q.concepts:
                raise ValueError(f"behavioral question {q.id!r} takes no concepts (STAR scoring)")
            if q.focus and not q.is_behavioral:
                raise ValueError(f"question {q.id!r}: focus is for behavioral questions only")
            if not q.is_behavioral and q.concepts and not 6 <= len(q.concepts) <= 12:
                raise ValueError(f"question {q.id!r} needs 6-12 concepts, has {len(q.concepts)}")
            ids = [c.id for c in q.concepts]
            if len(set(ids)) != len(ids):
                raise ValueError(f"question {q.id!r} has duplicate concept ids")
        object.__setattr__(self, "questions", stamped)
        return self


class Bank(StrictModel):
    schema_version: int = Field(ge=1, le=1)
    id: Slug
    company: NonEmpty
    role: NonEmpty
    title: NonEmpty
    notice: str = ""
    rounds: tuple[Round, ...] = Field(min_length=1)
    source: str = Field(default="", description="File the bank was loaded from.")

    @model_validator(mode="after")
    def _unique_ids(self) -> Bank:
        for kind, ids in (
            ("round", [r.id for r in self.rounds]),
            ("question", [q.id for q in self.questions]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"duplicate {kind} id(s): {', '.join(dupes)}")
        return self

    @property
    def questions(self) -> tuple[Question, ...]:
        return tuple(q for r in self.rounds for q in r.questions)

    def question(self, question_id: str) -> Question:
        for q in self.questions:
            if q.id == question_id:
                return q
        raise BankError(
            f"unknown question id {question_id!r} in {self.source or self.id}; "
            f"choose one of: {', '.join(q.id for q in self.questions)}"
        )

    def round(self, round_id: str) -> Round:
        for r in self.rounds:
            if r.id == round_id:
                return r
        raise BankError(
            f"unknown round id {round_id!r} in {self.source or self.id}; "
            f"choose one of: {', '.join(r.id for r in self.rounds)}"
        )


def default_bank_path() -> Path:
    return data_folder("prompts") / "banks" / f"{DEFAULT_BANK_ID}.toml"


def load_bank(path: str | Path | None = None) -> Bank:
    """Load and validate a bank file (the bundled Amazon bank when ``path`` is None)."""
    file = Path(path) if path is not None else default_bank_path()
    return load_toml_model(
        file,
        Bank,
        BankError,
        "bank file",
        extra={"source": str(file)},
        missing_hint="check the --bank path",
    )
