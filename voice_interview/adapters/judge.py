"""The optional LLM judge's client: per-criterion verdicts from any OpenAI-compatible chat server.

What is asked and how the reply is checked and blended is pure and lives in
``scoring/judge.py``; this module only talks to the server. It sends the messages to OpenAI or
to a local server (llama.cpp ``llama-server``, Ollama, vLLM) chosen by base URL and model, and
asks for a JSON object of verdicts at temperature 0 in JSON mode (``response_format``; a server
that refuses it with HTTP 400/422 is asked once more without it). The client's own retry covers
timeouts, lost connections and 5xx (``max_retries``, default 1).

On any failure (no connection, timeout, HTTP error, rejected reply, even a bug)
:meth:`LlmJudge.judge` returns ``JudgeResult(status="failed", error=...)`` with a one-line cause
and fix, logs a warning, and never raises; the local result stands.

The API key is read only from ``OPENAI_API_KEY`` when the client is built. It is never stored in
:class:`JudgeConfig`, results or logs, and is scrubbed from server error messages. Note that the
key is sent to whatever base URL is configured.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast
from urllib.parse import urlsplit, urlunsplit

from voice_interview.content.banks import Question
from voice_interview.core.transcript import Transcript
from voice_interview.errors import VoiceInterviewError
from voice_interview.scoring.judge import (
    Criterion,
    JudgeFailure,
    judge_criteria,
    judge_messages,
    one_line,
    read_verdicts,
)
from voice_interview.scoring.result import JudgeResult, JudgeVerdict

if TYPE_CHECKING:
    from openai import OpenAI
    from openai.types.chat import ChatCompletion, ChatCompletionMessageParam

__all__ = ["OPENAI_DEFAULT_BASE_URL", "JudgeConfig", "LlmJudge"]

log = logging.getLogger(__name__)

OPENAI_DEFAULT_BASE_URL = "https://api.openai.com/v1"
_NO_KEY_PLACEHOLDER = "not-needed"


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


class LlmJudge:
    """Asks an OpenAI-compatible chat server for per-criterion verdicts on one answer."""

    def __init__(self, config: JudgeConfig) -> None:
        self.config = config
        self._client: OpenAI | None = None

    def __repr__(self) -> str:
        return f"LlmJudge({self.config!r})"

    @property
    def model(self) -> str:
        return self.config.model

    def judge(self, transcript: Transcript, question: Question) -> JudgeResult:
        """Verdicts for every criterion, or a ``failed`` result saying why; never raises."""
        base_url = _display_url(self.config.base_url or OPENAI_DEFAULT_BASE_URL)
        try:
            criteria = judge_criteria(question)
            if not criteria:
                raise JudgeFailure(
                    f"question {question.id!r} has no rubric concepts to judge; "
                    "add concepts to it in the question bank"
                )
            if not transcript.text.strip():
                raise JudgeFailure("the transcript is empty; there is nothing to judge")
            messages = judge_messages(transcript, question, criteria)
            client = self._get_client()
            base_url = _display_url(str(client.base_url))
            completion = self._complete(client, messages, base_url)
            verdicts = _verdicts(completion, criteria, transcript)
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
                raise JudgeFailure(
                    "the openai package is not installed; pip install openai"
                ) from exc
            api_key = os.environ.get("OPENAI_API_KEY") or None
            if api_key is None and self.config.base_url is None:
                raise JudgeFailure(
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
        self, client: OpenAI, messages: list[dict[str, str]], base_url: str
    ) -> ChatCompletion:
        """One chat completion in JSON mode; once more without it if the server refuses it."""
        from openai import BadRequestError, UnprocessableEntityError

        try:
            return client.chat.completions.create(
                model=self.config.model,
                messages=cast("list[ChatCompletionMessageParam]", messages),
                temperature=0,
                response_format={"type": "json_object"},
            )
        except (BadRequestError, UnprocessableEntityError) as exc:
            log.info(
                "%s refused the request with HTTP %s (%s); retrying without response_format",
                base_url,
                exc.status_code,
                _scrub(one_line(exc.message)),
            )
        return client.chat.completions.create(
            model=self.config.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            temperature=0,
        )


def _verdicts(
    completion: ChatCompletion, criteria: tuple[Criterion, ...], transcript: Transcript
) -> tuple[JudgeVerdict, ...]:
    if not completion.choices:
        raise JudgeFailure("the reply has no choices; check the server is OpenAI-compatible")
    choice = completion.choices[0]
    cut_off = choice.finish_reason == "length"
    return read_verdicts(choice.message.content, criteria, transcript, cut_off=cut_off)


# --- errors -------------------------------------------------------------------------------------


def _describe(exc: Exception, config: JudgeConfig, base_url: str) -> str:
    """One line: what went wrong and how to fix it."""
    if isinstance(exc, JudgeFailure):
        return one_line(str(exc))
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
                f"cannot connect to {base_url} ({one_line(str(cause))[:120]}); start the server "
                "or fix VOICE_INTERVIEW_JUDGE_BASE_URL"
            )
        if isinstance(exc, openai.APIStatusError):
            fix = {
                401: "set a valid OPENAI_API_KEY",
                403: "check the API key's permissions",
                404: f"check the model name {config.model!r} and that the base URL ends in /v1",
                429: "wait, or check the account's quota",
            }.get(exc.status_code, "check the server's log")
            return f"HTTP {exc.status_code} from {base_url}: {one_line(exc.message)[:160]}; {fix}"
        if isinstance(exc, openai.APIResponseValidationError):
            return (
                f"{base_url} did not return a chat completion; "
                "check the base URL points at an OpenAI-compatible /v1 endpoint"
            )
    return f"unexpected {type(exc).__name__}: {one_line(str(exc))[:160]}; please report this"


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
