"""The optional LLM judge: per-criterion verdicts from any OpenAI-compatible chat server.

The local evaluator scores every answer offline; this judge is never required and never makes a
result worse. It sends the question, the criteria and the transcript *text* (never audio) to
OpenAI or to a local server (llama.cpp ``llama-server``, Ollama, vLLM) chosen by base URL and
model, and asks for a JSON object of verdicts at temperature 0 in JSON mode
(``response_format``; a server that refuses it with HTTP 400/422 is asked once more without it).
The client's own retry covers timeouts, lost connections and 5xx (``max_retries``, default 1).
The prompt templates are data: ``prompts/judge/system.md`` and ``prompts/judge/user.md``.

Criteria. Technical and system-design questions: one per rubric concept (its ``id``).
Behavioral questions: ``situation``, ``task``, ``action``, ``result``, then
``principle-<slug>`` for each Leadership Principle and ``strong-answer-<n>`` for each
``strong_answer`` line.

Rejection rules. A reply is used whole or not at all; any of these rejects it:

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

On any failure (no connection, timeout, HTTP error, rejected reply, even a bug)
:meth:`LlmJudge.judge` returns ``JudgeResult(status="failed", error=...)`` with a one-line cause
and fix, logs a warning, and never raises; the local result stands.

The API key is read only from ``OPENAI_API_KEY`` when the client is built. It is never stored in
:class:`JudgeConfig`, results or logs, and is scrubbed from server error messages. Note that the
key is sent to whatever base URL is configured.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from voice_interview.content.banks import Question
from voice_interview.content.folders import data_folder
from voice_interview.core.text import normalize_text
from voice_interview.core.transcript import Transcript
from voice_interview.errors import VoiceInterviewError
from voice_interview.scoring.result import (
    STAR_PARTS,
    Band,
    Evaluation,
    JudgeResult,
    JudgeVerdict,
    band_for,
)

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

    from voice_interview.pipeline import Evaluator

__all__ = [
    "DEFAULT_JUDGE_WEIGHT",
    "Criterion",
    "JudgeConfig",
    "JudgedEvaluator",
    "LlmJudge",
    "judge_criteria",
    "judge_score",
    "with_judge",
]

log = logging.getLogger(__name__)

DEFAULT_JUDGE_WEIGHT = 0.3
OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
_NO_KEY_PLACEHOLDER = "not-needed"
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


@dataclass(frozen=True)
class JudgeConfig:
    """Where and how to ask the judge. Holds no API key (that comes from ``OPENAI_API_KEY``)."""

    base_url: str | None = None
    """OpenAI-compatible endpoint ending in ``/v1``, e.g. ``http://127.0.0.1:8080/v1``
    (llama-server) or ``http://127.0.0.1:11434/v1`` (Ollama); None for OpenAI's default."""
    model: str = "gpt-4o-mini"
    timeout_s: float = 30.0
    """Per-request timeout in seconds."""
    max_retries: int = 1
    """Retries by the client on timeouts, connection errors, 408/409/429 and 5xx replies."""

    def __post_init__(self) -> None:
        if not self.model.strip():
            raise ValueError("judge model must not be empty")
        if not self.timeout_s > 0:
            raise ValueError(f"judge timeout_s must be positive, got {self.timeout_s}")
        if self.max_retries < 0:
            raise ValueError(f"judge max_retries must be >= 0, got {self.max_retries}")

    @classmethod
    def from_env(
        cls, *, base_url: str | None = None, model: str | None = None
    ) -> JudgeConfig | None:
        """The judge configured by command-line flags and environment variables, or None
        (judge off). The one place they combine: a flag (``base_url``, ``model``) wins for what
        it sets, and the environment fills the rest (``VOICE_INTERVIEW_JUDGE_BASE_URL``,
        ``VOICE_INTERVIEW_JUDGE_MODEL``, ``VOICE_INTERVIEW_JUDGE_TIMEOUT_S``). The judge is on
        when a base URL or a model is set either way (an empty value counts as unset).
        """
        base_url = (base_url or "").strip() or (
            os.environ.get("VOICE_INTERVIEW_JUDGE_BASE_URL", "").strip() or None
        )
        model = (model or "").strip() or (
            os.environ.get("VOICE_INTERVIEW_JUDGE_MODEL", "").strip() or None
        )
        if base_url is None and model is None:
            return None
        raw_timeout = os.environ.get("VOICE_INTERVIEW_JUDGE_TIMEOUT_S", "").strip()
        try:
            timeout_s = float(raw_timeout) if raw_timeout else cls.timeout_s
            return cls(base_url=base_url, model=model or cls.model, timeout_s=timeout_s)
        except ValueError as exc:
            raise VoiceInterviewError(
                f"VOICE_INTERVIEW_JUDGE_TIMEOUT_S={raw_timeout!r} is not a positive number of "
                f"seconds; set it like 30 or unset it ({exc})"
            ) from exc


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
            Criterion(f"principle-{_slug(p)}", f"Shows the principle '{p}'")
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


class _JudgeFailure(Exception):
    """Why the judge's verdict cannot be used; the message is the one-line error."""


class LlmJudge:
    """Asks an OpenAI-compatible chat server for per-criterion verdicts on one answer."""

    def __init__(self, config: JudgeConfig) -> None:
        self.config = config
        self._client: OpenAI | None = None

    def __repr__(self) -> str:
        return f"LlmJudge({self.config!r})"

    def judge(self, transcript: Transcript, question: Question) -> JudgeResult:
        """Verdicts for every criterion, or a ``failed`` result saying why; never raises."""
        base_url = _display_url(self.config.base_url or OPENAI_DEFAULT_BASE_URL)
        try:
            criteria = judge_criteria(question)
            if not criteria:
                raise _JudgeFailure(
                    f"question {question.id!r} has no rubric concepts to judge; "
                    "add concepts to it in the question bank"
                )
            if not transcript.text.strip():
                raise _JudgeFailure("the transcript is empty; there is nothing to judge")
            messages = _messages(transcript, question, criteria)
            client = self._get_client()
            base_url = _display_url(str(client.base_url))
            completion = self._complete(client, messages, base_url)
            verdicts = _parse_reply(completion, criteria, transcript)
        except Exception as exc:  # the judge must never break scoring
            error = _scrub(_describe(exc, self.config, base_url))
            log.warning(
                "LLM judge %s at %s failed; the local score stands: %s",
                self.config.model,
                base_url,
                error,
            )
            return JudgeResult(
                status="failed", model=self.config.model, base_url=base_url, error=error
            )
        return JudgeResult(
            status="used", model=self.config.model, base_url=base_url, verdicts=verdicts
        )

    def _get_client(self) -> OpenAI:
        if self._client is None:
            try:
                from openai import OpenAI
            except ImportError as exc:
                raise _JudgeFailure(
                    "the openai package is not installed; pip install openai"
                ) from exc
            api_key = os.environ.get("OPENAI_API_KEY") or None
            if api_key is None and self.config.base_url is None:
                raise _JudgeFailure(
                    "OPENAI_API_KEY is not set; export it to use OpenAI, or set "
                    "VOICE_INTERVIEW_JUDGE_BASE_URL to a local OpenAI-compatible server"
                )
            self._client = OpenAI(
                api_key=api_key or _NO_KEY_PLACEHOLDER,
                base_url=self.config.base_url,
                timeout=self.config.timeout_s,
                max_retries=self.config.max_retries,
            )
        return self._client

    def _complete(
        self, client: OpenAI, messages: list[ChatCompletionMessageParam], base_url: str
    ) -> ChatCompletion:
        """One chat completion in JSON mode; once more without it if the server refuses it."""
        from openai import BadRequestError, UnprocessableEntityError

        try:
            return client.chat.completions.create(
                model=self.config.model,
                messages=messages,
                temperature=0,
                response_format={"type": "json_object"},
            )
        except (BadRequestError, UnprocessableEntityError) as exc:
            log.info(
                "%s refused the request with HTTP %s (%s); retrying without response_format",
                base_url,
                exc.status_code,
                _scrub(_one_line(exc.message)),
            )
        return client.chat.completions.create(
            model=self.config.model, messages=messages, temperature=0
        )


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
        raise _JudgeFailure(f"cannot read the judge prompt {path} ({exc}); reinstall") from exc
    return Template(_COMMENT_BLOCK.sub("", text, count=1))


def _fill(template: Template, name: str, **values: str) -> str:
    try:
        return template.substitute(values).strip()
    except (KeyError, ValueError) as exc:
        path = Path("prompts") / "judge" / name
        allowed = ", ".join(f"${v}" for v in values) or "no placeholders"
        raise _JudgeFailure(
            f"{path}: bad placeholder {exc}; use {allowed} and write a literal dollar sign as $$"
        ) from exc


def _messages(
    transcript: Transcript, question: Question, criteria: tuple[Criterion, ...]
) -> list[ChatCompletionMessageParam]:
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


def _parse_reply(
    completion: ChatCompletion, criteria: tuple[Criterion, ...], transcript: Transcript
) -> tuple[JudgeVerdict, ...]:
    if not completion.choices:
        raise _JudgeFailure("the reply has no choices; check the server is OpenAI-compatible")
    choice = completion.choices[0]
    content = (choice.message.content or "").strip()
    if not content:
        raise _JudgeFailure("the reply is empty; try another model")
    fenced = _FENCE.match(content)
    if fenced:
        content = fenced.group(1).strip()
    try:
        raw = json.loads(content)
    except json.JSONDecodeError as exc:
        cut = " (cut off at the token limit)" if choice.finish_reason == "length" else ""
        raise _JudgeFailure(
            f"the reply is not valid JSON{cut}: {_one_line(content)[:80]!r}; "
            "use a model that follows JSON instructions"
        ) from exc
    try:
        reply = _Reply.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise _JudgeFailure(
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
            raise _JudgeFailure(
                f"the reply judges unknown criterion {v.criterion!r}; "
                f"expected ids: {', '.join(wanted)}"
            )
        if key in by_id:
            raise _JudgeFailure(f"the reply judges criterion {key!r} twice")
        by_id[key] = v
    missing = [c for c in wanted if c not in by_id]
    if missing:
        raise _JudgeFailure(
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
                raise _JudgeFailure(
                    f"the reply quotes words that are not in the transcript ({cid}: "
                    f"{_one_line(quote)[:80]!r}); the judge invented evidence, "
                    "try a stronger model"
                )
        if v.verdict != "not met" and not quotes:
            raise _JudgeFailure(
                f"the reply marks {cid!r} {v.verdict!r} without quoting the transcript; "
                "try a stronger model"
            )
        verdicts.append(
            JudgeVerdict(
                criterion=cid, verdict=v.verdict, evidence=quotes, comment=_one_line(v.comment)
            )
        )
    return tuple(verdicts)


def _quoted_from(quote: str, spoken: str) -> bool:
    """Whether every ellipsis-separated fragment of ``quote`` is in ``spoken`` (normalised)."""
    fragments = [normalize_text(f) for f in _ELLIPSIS.split(quote)]
    fragments = [f for f in fragments if f]
    return bool(fragments) and all(f" {f} " in spoken for f in fragments)


# --- errors -------------------------------------------------------------------------------------


def _describe(exc: Exception, config: JudgeConfig, base_url: str) -> str:
    """One line: what went wrong and how to fix it."""
    if isinstance(exc, _JudgeFailure):
        return _one_line(str(exc))
    if type(exc).__module__.startswith("openai"):
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return (
                f"no reply from {base_url} within {config.timeout_s:g} s "
                f"(tried {config.max_retries + 1} times); raise VOICE_INTERVIEW_JUDGE_TIMEOUT_S "
                "or use a smaller model"
            )
        if isinstance(exc, openai.APIConnectionError):
            cause = exc.__cause__ or exc
            return (
                f"cannot connect to {base_url} ({_one_line(str(cause))[:120]}); start the server "
                "or fix VOICE_INTERVIEW_JUDGE_BASE_URL"
            )
        if isinstance(exc, openai.APIStatusError):
            fix = {
                401: "set a valid OPENAI_API_KEY",
                403: "check the API key's permissions",
                404: f"check the model name {config.model!r} and that the base URL ends in /v1",
                429: "wait, or check the account's quota",
            }.get(exc.status_code, "check the server's log")
            return f"HTTP {exc.status_code} from {base_url}: {_one_line(exc.message)[:160]}; {fix}"
        if isinstance(exc, openai.APIResponseValidationError):
            return (
                f"{base_url} did not return a chat completion; "
                "check the base URL points at an OpenAI-compatible /v1 endpoint"
            )
    return f"unexpected {type(exc).__name__}: {_one_line(str(exc))[:160]}; please report this"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _MAX_ERROR_CHARS else line[: _MAX_ERROR_CHARS - 1] + "…"


def _scrub(text: str) -> str:
    """``text`` without the API key, should a server echo it back."""
    key = os.environ.get("OPENAI_API_KEY", "")
    return text.replace(key, "***") if len(key) >= 4 else text


def _display_url(url: str) -> str:
    """The base URL without user:password, so results and logs never carry credentials."""
    parts = urlsplit(url.rstrip("/"))
    if parts.username is None and parts.password is None:
        return url.rstrip("/")
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _slug(text: str) -> str:
    return "-".join(normalize_text(text).replace("'", "").split()) or "unnamed"


class JudgedEvaluator:
    """The local evaluator, with the LLM judge's verdicts blended in when the judge answers.

    Whatever the judge does (refuses, times out, invents quotes), the local result stands.
    """

    def __init__(
        self, local: Evaluator, judge: LlmJudge, weight: float = DEFAULT_JUDGE_WEIGHT
    ) -> None:
        self.local = local
        self.judge = judge
        self.weight = weight
        self.name = f"{local.name}+llm-judge"
        self.version = local.version
        self.judge_model: str | None = judge.config.model

    def evaluate(self, transcript: Transcript, question: Question) -> Evaluation:
        evaluation = self.local.evaluate(transcript, question)
        return with_judge(evaluation, self.judge.judge(transcript, question), self.weight)
