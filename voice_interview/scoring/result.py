"""The evaluation result: the stable JSON contract every evaluator returns (docs/scoring.md).

``Evaluation.to_json_dict()`` is the documented ``--json`` shape, one object per answer:
``question_id, kind, overall, band, star, concepts, delivery, tips, evaluator, transcript``
plus ``judge`` (the optional LLM judge's verdicts, or null). Fields are only ever added.
"""

from __future__ import annotations

import tomllib
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from voice_interview.content.banks import Question
from voice_interview.content.folders import data_folder
from voice_interview.core.transcript import Transcript

__all__ = [
    "BAND_LINES",
    "SOLID_MIN",
    "STAR_PARTS",
    "STRONG_MIN",
    "WEAK_MIN",
    "Band",
    "ConceptResult",
    "Deduction",
    "Delivery",
    "Evaluation",
    "Evaluator",
    "EvaluatorInfo",
    "JudgeResult",
    "JudgeVerdict",
    "StarCheck",
    "StarComponent",
    "StarSentence",
    "band_for",
]

STAR_PARTS = ("situation", "task", "action", "result")
# The bands are the grades of tests/data/DEVSET.md an interviewer would give: strong 3,
# solid 2, needs work 1, no signal 0; "off-topic" is a 0 for an answer about something else
# (another question, or a refusal). The thresholds sit half-way between grades on the
# calibrated scale (scoring/calibration.py, docs/scoring.md "What the score means").
Band = Literal["strong", "solid", "needs work", "no signal", "off-topic"]


def _band_thresholds() -> tuple[int, int, int]:
    """strong, solid and needs-work minimums, from ``prompts/scoring/bands.toml``."""
    path = data_folder("prompts") / "scoring" / "bands.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        strong, solid, weak = (int(raw[k]) for k in ("strong", "solid", "needs_work"))
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: cannot read the score bands ({exc}); it needs integer strong, solid "
            "and needs_work thresholds (reinstall to restore it)"
        ) from exc
    if not 0 < weak < solid < strong <= 100:
        raise ValueError(f"{path}: the bands must rise: 0 < needs_work < solid < strong <= 100")
    return strong, solid, weak


STRONG_MIN, SOLID_MIN, WEAK_MIN = _band_thresholds()
BAND_LINES: tuple[tuple[int, Band], ...] = (
    (WEAK_MIN, "needs work"),
    (SOLID_MIN, "solid"),
    (STRONG_MIN, "strong"),
)
"""Each band's lowest score, lowest first: the guides a chart draws."""


def band_for(
    overall: int,
    strong_min: int = STRONG_MIN,
    solid_min: int = SOLID_MIN,
    weak_min: int = WEAK_MIN,
) -> Band:
    """The band of an on-topic answer's overall score."""
    if overall >= strong_min:
        return "strong"
    if overall >= solid_min:
        return "solid"
    if overall >= weak_min:
        return "needs work"
    return "no signal"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class EvaluatorInfo(_Frozen):
    name: str
    version: str


class StarComponent(_Frozen):
    """One STAR part of a behavioral answer."""

    present: bool
    score: int = Field(ge=0, le=100)
    evidence: str | None = Field(None, description="Verbatim quote from the transcript.")
    start_s: float | None = Field(None, description="Evidence time range, from word timestamps.")
    end_s: float | None = None
    tip: str | None = Field(None, description="One concrete way to improve this part.")


class StarSentence(_Frozen):
    """One sentence of a behavioral answer with its STAR label."""

    text: str
    label: Literal["situation", "task", "action", "result", "other"]
    start_s: float | None = None
    end_s: float | None = None


class StarCheck(_Frozen):
    """One thing Amazon interviewers listen for (specific past situation, "I" actions, ...)."""

    id: str
    passed: bool
    detail: str
    evidence: str | None = None


class ConceptResult(_Frozen):
    """Coverage of one rubric concept in a technical or system-design answer."""

    id: str
    label: str
    status: Literal["covered", "partial", "missing"]
    evidence: str | None = None
    start_s: float | None = None
    end_s: float | None = None
    required: bool = False
    tradeoff: bool = Field(False, description="A trade-off (when not to, cost, failure).")
    weight: float = 1.0
    match: str | None = Field(
        None, description="How it was found: 'alias', 'meaning', 'alias+meaning', or None."
    )
    credit: float = Field(
        0.0,
        ge=0,
        le=1,
        description="What the calibrated score counts: 1 explained, 0.25 only named, by "
        "meaning rising with the similarity.",
    )


class Delivery(_Frozen):
    """How the answer was spoken. Timing fields are None for typed answers."""

    duration_s: float | None
    word_count: int
    words_per_minute: float | None
    words_per_minute_speaking: float | None = Field(
        None, description="Pace excluding pauses of 2 s or more."
    )
    filler_count: int
    fillers_per_100_words: float
    fillers_per_minute: float | None
    top_fillers: tuple[tuple[str, int], ...] = ()
    filler_times_s: tuple[float, ...] = ()
    pause_count: int | None = Field(None, description="Silences of 2 s or more between words.")
    longest_pause_s: float | None = None
    pauses: tuple[tuple[float, float], ...] = Field(
        default=(), description="(start_s, end_s) of each long pause."
    )
    hedge_count: int = 0
    hedges: tuple[str, ...] = ()
    norms: dict[str, str] = Field(default_factory=dict)
    score: int = Field(ge=0, le=100)
    tips: tuple[str, ...] = ()


class Deduction(_Frozen):
    """Points an answer lost against an ideal answer of its kind, and why."""

    feature: str = Field(description="The sub-score behind it (``details.features``).")
    points: int = Field(ge=0, le=100)
    reason: str = Field(description='What was missing, e.g. "did not explain the required ..."')


class JudgeVerdict(_Frozen):
    criterion: str
    verdict: Literal["met", "partly", "not met"]
    evidence: tuple[str, ...] = ()
    comment: str = ""


class JudgeResult(_Frozen):
    """What the optional LLM judge said, or why its verdict was not used."""

    status: Literal["used", "failed"]
    model: str
    base_url: str
    verdicts: tuple[JudgeVerdict, ...] = ()
    error: str | None = None


class Evaluation(_Frozen):
    """One scored answer."""

    question_id: str
    kind: Literal["technical", "behavioral"]
    overall: int = Field(ge=0, le=100)
    band: Band
    star: dict[str, StarComponent] | None = None
    star_checks: tuple[StarCheck, ...] | None = None
    star_sentences: tuple[StarSentence, ...] | None = Field(
        None, description="Every sentence of a behavioral answer, labeled."
    )
    concepts: tuple[ConceptResult, ...] | None = None
    delivery: Delivery
    tips: tuple[str, ...] = Field(default=(), max_length=3)
    deductions: tuple[Deduction, ...] = Field(
        default=(), description="Points lost, largest first; they add up to 100 - overall."
    )
    evaluator: EvaluatorInfo
    transcript: Transcript
    judge: JudgeResult | None = None
    details: dict[str, Any] = Field(
        default_factory=dict, description="Sub-scores and weights behind ``overall``."
    )

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Evaluation:
        """An evaluation back from :meth:`to_json_dict` (a results.jsonl line, ``score
        --json``); fields it does not know (a batch line's ``file`` ...) are ignored.

        Raises:
            ValueError: not a valid evaluation, with the first field that is wrong.
        """
        raw = data.get("transcript") if isinstance(data, dict) else None
        if not isinstance(raw, dict):
            raise ValueError("no 'transcript' object")
        try:
            transcript = Transcript.from_json_dict(raw)
            fields = {k: v for k, v in data.items() if k in cls.model_fields and k != "transcript"}
            return cls.model_validate({**fields, "transcript": transcript})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ValueError(f"{where}: {first['msg']}") from exc

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "kind": self.kind,
            "overall": self.overall,
            "band": self.band,
            "star": None
            if self.star is None
            else {part: c.model_dump() for part, c in self.star.items()},
            "star_checks": None
            if self.star_checks is None
            else [c.model_dump() for c in self.star_checks],
            "star_sentences": None
            if self.star_sentences is None
            else [x.model_dump() for x in self.star_sentences],
            "concepts": None if self.concepts is None else [c.model_dump() for c in self.concepts],
            "delivery": self.delivery.model_dump(mode="json"),
            "tips": list(self.tips),
            "deductions": [d.model_dump() for d in self.deductions],
            "evaluator": self.evaluator.model_dump(),
            "judge": None if self.judge is None else self.judge.model_dump(mode="json"),
            "details": self.details,
            "transcript": self.transcript.to_json_dict(),
        }


class Evaluator(Protocol):
    """Scores an answer: ``scoring/evaluator.LocalEvaluator``, alone or with the LLM judge
    blended in (``scoring/judge.JudgedEvaluator``)."""

    name: str
    version: str
    judge_model: str | None
    """The LLM judge's model when one is blended in, else None."""

    def evaluate(self, transcript: Transcript, question: Question) -> Evaluation:
        """Score a transcript as an answer to ``question``. Pure and deterministic."""
        ...
