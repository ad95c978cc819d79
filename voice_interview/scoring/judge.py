"""The optional LLM judge, the pure half: what it is asked, how its reply is checked, and how
its verdicts blend into the local score. The HTTP client is ``adapters/judge.py``.

The local evaluator scores every answer offline; the judge is never required and never makes a
result worse. The question, the criteria and the transcript *text* (never audio) go to an
OpenAI-compatible chat server; the prompt templates are data: ``prompts/judge/system.md`` and
``prompts/judge/user.md``.

Criteria. Technical and system-design questions: one per rubric concept (its ``id``).
Behavioral questions: ``situation``, ``task``, ``action``, ``result``, then
``principle-<slug>`` for each Leadership Principle and ``strong-answer-<n>`` for each
``strong_answer`` line.

Rejection rules. A reply is used whole or not at all; any of these rejects it
(:func:`read_verdicts` raises :class:`JudgeFailure`):

- not a JSON object (one surrounding Markdown code fence is tolerated), or not the schema
  ``{"verdicts": [{"criterion", "verdict", "evidence", "comment"}]}`` (unknown extra keys are
  ignored; ``verdict`` is matched ignoring case, ``_`` and ``-``);
- a criterion id that was not asked for, one judged twice, or one left out: every criterion must
  be judged exactly once, because a partial set would bias :func:`judge_score`;
- an evidence quote that is not in the transcript, compared after
  :func:`~voice_interview.core.text.normalize_text` on word boundaries (a quote may join
  fragments with an ellipsis; each fragment must be found). One invented quote rejects the whole
  reply: a judge that invents evidence is not trusted for any criterion;
- a "met" or "partly" verdict without a quote (it could not be checked).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from voice_interview.content.banks import Question
from voice_interview.content.folders import data_folder
from voice_interview.core.text import normalize_text
from voice_interview.core.transcript import Transcript
from voice_interview.scoring.result import (
    STAR_PARTS,
    Band,
    Evaluation,
    Evaluator,
    JudgeResult,
    JudgeVerdict,
    band_for,
)

__all__ = [
    "DEFAULT_JUDGE_WEIGHT",
    "Criterion",
    "Judge",
    "JudgeFailure",
    "JudgedEvaluator",
    "judge_criteria",
    "judge_messages",
    "judge_score",
    "one_line",
    "read_verdicts",
    "with_judge",
]

DEFAULT_JUDGE_WEIGHT = 0.3
_VERDICT_VALUE = {"met": 1.0, "partly": 0.5, "not met": 0.0}
_STAR_CRITERIA = {
    "situation": "Situation: a specific past situation, with enough context to follow "
    "(when, where, what was at stake)",
    "task": "Task: what the candidate personally was responsible for or had to achieve",
    "action": "Action: the concrete steps the candidate took themselves, told with 'I'",
    "result": "Result: the outcome, ideally measured in numbers, and what was learned",
}
_COMMENT_BLOCK = re.compile(r"\A\s*<!--.*?-->\s*", re.DOTALL)
_FENCE = re.compile(r"\A```[a-zA-Z]*\s*\n?(.*?)\n?```\Z", re.DOTALL)
_ELLIPSIS = re.compile(r"\.\.\.+|…")
_MAX_ERROR_CHARS = 300


class JudgeFailure(Exception):
    """Why the judge's verdict cannot be used; the message is the one-line error."""


class Judge(Protocol):
    """Rules on an answer, criterion by criterion (``adapters/judge.LlmJudge``)."""

    @property
    def model(self) -> str: ...

    def judge(self, transcript: Transcript, question: Question) -> JudgeResult:
        """Verdicts for every criterion, or a ``failed`` result saying why; never raises."""
        ...


@dataclass(frozen=True)
class Criterion:
    """One thing the judge rules on: an id (echoed in its verdict) and what to look for."""

    id: str
    text: str


def judge_criteria(question: Question) -> tuple[Criterion, ...]:
    """The criteria for ``question``, in the order the verdicts are reported."""
    if question.is_behavioral:
        found = [Criterion(part, _STAR_CRITERIA[part]) for part in STAR_PARTS]
        found += [
            Criterion(f"principle-{slug(p)}", f"Shows the principle '{p}'")
            for p in question.principles
        ]
        found += [
            Criterion(f"strong-answer-{i}", f"A strong answer shows: {line}")
            for i, line in enumerate(question.strong_answer, start=1)
        ]
    else:
        found = [
            Criterion(c.id, f"{c.label} — {c.paraphrases[0]}" if c.paraphrases else c.label)
            for c in question.concepts
        ]
    return tuple({c.id: c for c in found}.values())


def judge_score(result: JudgeResult) -> int | None:
    """0-100 from the verdicts (met 1, partly 0.5, not met 0), or None unless the judge was used."""
    if result.status != "used" or not result.verdicts:
        return None
    total = sum(_VERDICT_VALUE[v.verdict] for v in result.verdicts)
    return round(100 * total / len(result.verdicts))


def with_judge(
    evaluation: Evaluation, result: JudgeResult, weight: float = DEFAULT_JUDGE_WEIGHT
) -> Evaluation:
    """A copy of ``evaluation`` with ``judge`` set, and ``overall`` blended when it was used.

    Used: ``overall = round((1 - weight) * local + weight * judge_score)``, the band follows the
    new overall (except "off-topic", which is the local evaluator's call), and ``details`` gains
    ``local_overall``, ``judge_score`` and ``judge_weight``. Failed: only ``judge`` is set.
    """
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"judge weight must be between 0 and 1, got {weight}")
    score = judge_score(result)
    if score is None:
        if result.status == "used":
            result = result.model_copy(
                update={"status": "failed", "error": "the judge returned no verdicts"}
            )
        return evaluation.model_copy(update={"judge": result})
    overall = round((1 - weight) * evaluation.overall + weight * score)
    band: Band = "off-topic" if evaluation.band == "off-topic" else band_for(overall)
    details = {
        **evaluation.details,
        "local_overall": evaluation.overall,
        "judge_score": score,
        "judge_weight": weight,
    }
    return evaluation.model_copy(
        update={"judge": result, "overall": overall, "band": band, "details": details}
    )


# --- prompt -------------------------------------------------------------------------------------


def _prompt_template(name: str) -> Template:
    path = data_folder("prompts") / "judge" / name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise JudgeFailure(f"cannot read the judge prompt {path} ({exc}); reinstall") from exc
    return Template(_COMMENT_BLOCK.sub("", text, count=1))


def _fill(template: Template, name: str, **values: str) -> str:
    try:
        return template.substitute(values).strip()
    except (KeyError, ValueError) as exc:
        path = Path("prompts") / "judge" / name
        allowed = ", ".join(f"${v}" for v in values) or "no placeholders"
        raise JudgeFailure(
            f"{path}: bad placeholder {exc}; use {allowed} and write a literal dollar sign as $$"
        ) from exc


def judge_messages(
    transcript: Transcript, question: Question, criteria: tuple[Criterion, ...]
) -> list[dict[str, str]]:
    """The chat messages that ask for verdicts on ``criteria``: the system prompt, then the
    question, the criteria and the transcript in the user prompt."""
    system = _fill(_prompt_template("system.md"), "system.md")
    user = _fill(
        _prompt_template("user.md"),
        "user.md",
        kind="behavioral" if question.is_behavioral else "technical",
        question=question.text,
        criteria="\n".join(f"- {c.id}: {c.text}" for c in criteria),
        transcript=transcript.text.strip(),
    )
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


# --- reply --------------------------------------------------------------------------------------


class _ReplyVerdict(BaseModel):
    model_config = ConfigDict(extra="ignore")

    criterion: str
    verdict: Literal["met", "partly", "not met"]
    evidence: list[str] = []
    comment: str = ""

    @field_validator("verdict", mode="before")
    @classmethod
    def _loose_verdict(cls, value: Any) -> Any:
        if isinstance(value, str):
            return " ".join(value.lower().replace("_", " ").replace("-", " ").split())
        return value


class _Reply(BaseModel):
    model_config = ConfigDict(extra="ignore")

    verdicts: list[_ReplyVerdict]


def read_verdicts(
    content: str | None,
    criteria: tuple[Criterion, ...],
    transcript: Transcript,
    *,
    cut_off: bool = False,
) -> tuple[JudgeVerdict, ...]:
    """The verdicts in the judge's reply ``content`` (``cut_off``: the server stopped at its
    token limit), checked against the rejection rules of the module docstring; raises
    :class:`JudgeFailure` saying which rule the reply broke."""
    content = (content or "").strip()
    if not content:
        raise JudgeFailure("the reply is empty; try another model")
    fenced = _FENCE.match(content)
    if fenced:
        content = fenced.group(1).strip()
    try:
        raw = json.loads(content)
    except json.JSONDecodeError as exc:
        cut = " (cut off at the token limit)" if cut_off else ""
        raise JudgeFailure(
            f"the reply is not valid JSON{cut}: {one_line(content)[:80]!r}; "
            "use a model that follows JSON instructions"
        ) from exc
    try:
        reply = _Reply.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise JudgeFailure(
            f"the reply does not follow the verdict schema ({where}: {first['msg']}); "
            "use a model that follows JSON instructions"
        ) from exc
    return _checked_verdicts(reply, criteria, transcript)


def _checked_verdicts(
    reply: _Reply, criteria: tuple[Criterion, ...], transcript: Transcript
) -> tuple[JudgeVerdict, ...]:
    wanted = [c.id for c in criteria]
    by_id: dict[str, _ReplyVerdict] = {}
    for v in reply.verdicts:
        key = v.criterion.strip().lower()
        if key not in wanted:
            raise JudgeFailure(
                f"the reply judges unknown criterion {v.criterion!r}; "
                f"expected ids: {', '.join(wanted)}"
            )
        if key in by_id:
            raise JudgeFailure(f"the reply judges criterion {key!r} twice")
        by_id[key] = v
    missing = [c for c in wanted if c not in by_id]
    if missing:
        raise JudgeFailure(
            f"the reply leaves out {len(missing)} of {len(wanted)} criteria "
            f"({', '.join(missing[:3])}); every criterion must be judged"
        )
    spoken = f" {normalize_text(transcript.text)} "
    verdicts = []
    for cid in wanted:
        v = by_id[cid]
        quotes = tuple(q.strip() for q in v.evidence if q.strip())
        for quote in quotes:
            if not _quoted_from(quote, spoken):
                raise JudgeFailure(
                    f"the reply quotes words that are not in the transcript ({cid}: "
                    f"{one_line(quote)[:80]!r}); the judge invented evidence, "
                    "try a stronger model"
                )
        if v.verdict != "not met" and not quotes:
            raise JudgeFailure(
                f"the reply marks {cid!r} {v.verdict!r} without quoting the transcript; "
                "try a stronger model"
            )
        verdicts.append(
            JudgeVerdict(
                criterion=cid, verdict=v.verdict, evidence=quotes, comment=one_line(v.comment)
            )
        )
    return tuple(verdicts)


def _quoted_from(quote: str, spoken: str) -> bool:
    """Whether every ellipsis-separated fragment of ``quote`` is in ``spoken`` (normalised)."""
    fragments = [normalize_text(f) for f in _ELLIPSIS.split(quote)]
    fragments = [f for f in fragments if f]
    return bool(fragments) and all(f" {f} " in spoken for f in fragments)


def one_line(text: str) -> str:
    """``text`` on one line, at most ``_MAX_ERROR_CHARS`` long."""
    line = " ".join(text.split())
    return line if len(line) <= _MAX_ERROR_CHARS else line[: _MAX_ERROR_CHARS - 1] + "…"


def slug(text: str) -> str:
    """``text`` as an id: lower case, words joined by hyphens."""
    return "-".join(normalize_text(text).replace("'", "").split()) or "unnamed"


class JudgedEvaluator:
    """The local evaluator, with the LLM judge's verdicts blended in when the judge answers.

    Whatever the judge does (refuses, times out, invents quotes), the local result stands.
    """

    def __init__(
        self, local: Evaluator, judge: Judge, weight: float = DEFAULT_JUDGE_WEIGHT
    ) -> None:
        self.local = local
        self.judge = judge
        self.weight = weight
        self.name = f"{local.name}+llm-judge"
        self.version = local.version
        self.judge_model: str | None = judge.model

    def evaluate(self, transcript: Transcript, question: Question) -> Evaluation:
        evaluation = self.local.evaluate(transcript, question)
        return with_judge(evaluation, self.judge.judge(transcript, question), self.weight)
