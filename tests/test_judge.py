"""The optional LLM judge, with the real ``openai`` client against a real HTTP server on loopback.

The server (``http.server``) answers ``POST /v1/chat/completions`` with a proper chat-completions
body whose content and behaviour (error status, slowness, refusing JSON mode) each test chooses.
It records every request so that tests can check what was sent.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from voice_interview.adapters.judge import JudgeConfig, LlmJudge
from voice_interview.content.banks import Concept, Question, QuestionKind, load_bank
from voice_interview.core.transcript import Transcript
from voice_interview.errors import VoiceInterviewError
from voice_interview.scoring.judge import judge_criteria, judge_score, with_judge
from voice_interview.scoring.result import (
    Delivery,
    Evaluation,
    EvaluatorInfo,
    JudgeResult,
    JudgeVerdict,
)

SECRET = "sk-test-DO-NOT-LEAK-0123456789abcdef"

ANSWER = (
    "Connection pooling keeps a set of open database connections that requests borrow and "
    "return. It saves the TCP handshake and TLS setup on every query, so latency drops. "
    "I would cap the pool size below the database's max connections, and set an idle timeout."
)


def _concept(cid: str, label: str, paraphrase: str) -> Concept:
    return Concept(id=cid, label=label, aliases=(label.lower(),), paraphrases=(paraphrase,))


QUESTION = Question(
    id="connection-pooling",
    text="Explain connection pooling in a back-end system, and how it can improve performance.",
    concepts=(
        _concept("reuse", "Reuse open connections", "Connections stay open and are lent out."),
        _concept("handshake-cost", "Skip setup cost", "No TCP/TLS handshake per query."),
        _concept("pool-size", "Pool size limit", "Cap the pool below the server's limit."),
        _concept("idle-timeout", "Idle timeout", "Close connections that sit unused."),
        _concept("monitoring", "Monitoring", "Watch wait time and pool saturation."),
    ),
)

GOOD_VERDICTS: list[dict[str, Any]] = [
    {
        "criterion": "reuse",
        "verdict": "met",
        "evidence": ["keeps a set of open database connections"],
        "comment": "Explains that connections are kept open and reused.",
    },
    {
        "criterion": "handshake-cost",
        "verdict": "met",
        "evidence": ["It saves the TCP handshake and TLS setup on every query"],
        "comment": "Names the avoided handshakes.",
    },
    {
        "criterion": "pool-size",
        "verdict": "partly",
        "evidence": ["cap the pool size below the database's max connections"],
        "comment": "Mentions a cap but not how to size it.",
    },
    {
        "criterion": "idle-timeout",
        "verdict": "met",
        "evidence": ["set an idle timeout"],
        "comment": "Mentions idle timeouts.",
    },
    {"criterion": "monitoring", "verdict": "not met", "evidence": [], "comment": "Not covered."},
]
GOOD_SCORE = 70  # (1 + 1 + 0.5 + 1 + 0) / 5


def _reply(verdicts: list[dict[str, Any]]) -> str:
    return json.dumps({"verdicts": verdicts})


# --- the fake OpenAI-compatible server -----------------------------------------------------------


class FakeServer(ThreadingHTTPServer):
    """Loopback chat-completions server. Tests set ``mode`` and ``content``; it keeps requests."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = "reply"
        self.content = _reply(GOOD_VERDICTS)
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: the client hanging up on a slow reply is expected."""


class _Handler(BaseHTTPRequestHandler):
    server: FakeServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.loads(raw)
        self.server.requests.append(
            {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "raw": raw,
                "body": body,
            }
        )
        mode = self.server.mode
        if self.path != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}"}})
        elif mode == "error-500":
            self._send(500, {"error": {"message": "the model crashed", "type": "server_error"}})
        elif mode == "echo-key-401":
            key = self.headers.get("Authorization", "").removeprefix("Bearer ")
            self._send(401, {"error": {"message": f"Incorrect API key provided: {key}"}})
        elif mode == "always-400" or (mode == "no-json-mode" and "response_format" in body):
            message = "Unrecognized request argument supplied: response_format"
            self._send(400, {"error": {"message": message, "type": "invalid_request_error"}})
        else:
            if mode == "slow":
                self.server.release.wait(3)
            self._send(200, self._completion(body["model"]))

    def _completion(self, model: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": self.server.content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150},
        }

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # the client gave up (timeout test)
            pass


@pytest.fixture
def server() -> Iterator[FakeServer]:
    srv = FakeServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.release.set()
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def _no_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def _judge(server: FakeServer, model: str = "judge-test", timeout_s: float = 5.0) -> LlmJudge:
    return LlmJudge(JudgeConfig(base_url=server.base_url, model=model, timeout_s=timeout_s))


def _transcript() -> Transcript:
    return Transcript.from_text(ANSWER)


def _evaluation(overall: int = 50, band: str = "needs work") -> Evaluation:
    delivery = Delivery(
        duration_s=None,
        word_count=len(ANSWER.split()),
        words_per_minute=None,
        words_per_minute_speaking=None,
        filler_count=0,
        fillers_per_100_words=0.0,
        fillers_per_minute=None,
        pause_count=None,
        score=80,
    )
    return Evaluation(
        question_id=QUESTION.id,
        kind="technical",
        overall=overall,
        band=band,  # type: ignore[arg-type]
        delivery=delivery,
        evaluator=EvaluatorInfo(name="test", version="0"),
        transcript=_transcript(),
        details={"coverage": 0.5},
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- a good reply ------------------------------------------------------------------------------


def test_good_reply_is_used_and_the_request_is_text_only(server: FakeServer) -> None:
    result = _judge(server, model="my-local-model").judge(_transcript(), QUESTION)

    assert result.status == "used", result.error
    assert result.error is None
    assert result.model == "my-local-model"
    assert result.base_url == server.base_url
    assert [v.criterion for v in result.verdicts] == [c.id for c in QUESTION.concepts]
    assert [v.verdict for v in result.verdicts] == ["met", "met", "partly", "met", "not met"]
    assert result.verdicts[1].evidence == (
        "It saves the TCP handshake and TLS setup on every query",
    )
    assert judge_score(result) == GOOD_SCORE

    [request] = server.requests
    body = request["body"]
    assert request["path"] == "/v1/chat/completions"
    assert body["model"] == "my-local-model"
    assert body["temperature"] == 0
    assert body["response_format"] == {"type": "json_object"}
    assert request["headers"]["authorization"] == "Bearer not-needed"
    assert not {"audio", "modalities", "stream"} & set(body)
    messages = body["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert all(set(m) == {"role", "content"} and isinstance(m["content"], str) for m in messages)
    assert b"input_audio" not in request["raw"]
    system, user = messages[0]["content"], messages[1]["content"]
    assert "JSON" in system and "<!--" not in system
    assert ANSWER in user and QUESTION.text in user and "<!--" not in user
    assert "- handshake-cost: Skip setup cost — No TCP/TLS handshake per query." in user
    assert "$" not in user


def test_tolerated_reply_forms_are_used(server: FakeServer) -> None:
    """A Markdown fence, loose verdict spelling, and quotes differing in case/punctuation."""
    verdicts = [dict(v) for v in GOOD_VERDICTS]
    verdicts[0] = {**verdicts[0], "verdict": "Met", "confidence": 0.9}
    verdicts[1] = {**verdicts[1], "evidence": ["it saves the tcp handshake... on every query!"]}
    verdicts[4] = {**verdicts[4], "verdict": "NOT_MET"}
    server.content = f"```json\n{_reply(verdicts)}\n```"

    result = _judge(server).judge(_transcript(), QUESTION)

    assert result.status == "used", result.error
    assert judge_score(result) == GOOD_SCORE
    assert result.verdicts[4].verdict == "not met"


# --- rejected replies --------------------------------------------------------------------------


def _replace(index: int, **changes: Any) -> str:
    verdicts = [dict(v) for v in GOOD_VERDICTS]
    verdicts[index] = {**verdicts[index], **changes}
    return _reply(verdicts)


REJECTED = {
    "garbage": ("Sure! The candidate did well overall.", "not valid JSON"),
    "wrong-schema": (json.dumps({"score": 80, "feedback": "good"}), "verdict schema"),
    "json-array": (json.dumps(GOOD_VERDICTS), "verdict schema"),
    "bad-verdict": (_replace(0, verdict="excellent"), "verdict schema"),
    "evidence-not-list": (_replace(0, evidence="keeps a set"), "verdict schema"),
    "invented-quote": (
        _replace(2, evidence=["I would size the pool from Little's law"]),
        "not in the transcript",
    ),
    "quote-from-question": (
        _replace(0, evidence=["how it can improve performance"]),
        "not in the transcript",
    ),
    "unknown-criterion": (_replace(4, criterion="sharding"), "unknown criterion 'sharding'"),
    "missing-criterion": (_reply(GOOD_VERDICTS[:4]), "leaves out 1 of 5 criteria (monitoring)"),
    "duplicate-criterion": (_reply([*GOOD_VERDICTS, GOOD_VERDICTS[0]]), "twice"),
    "met-without-quote": (_replace(3, evidence=[]), "without quoting"),
    "empty": ("", "empty"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_bad_reply_is_rejected_and_local_score_stands(
    server: FakeServer, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    content, expected = REJECTED[case]
    server.content = content

    result = _judge(server).judge(_transcript(), QUESTION)

    assert result.status == "failed"
    assert result.verdicts == ()
    assert result.error is not None and expected in result.error
    assert "\n" not in result.error
    assert len(server.requests) == 1
    assert judge_score(result) is None
    assert any(r.levelno == logging.WARNING and expected in r.getMessage() for r in caplog.records)
    evaluation = _evaluation(overall=50)
    judged = with_judge(evaluation, result)
    assert judged.overall == 50 and judged.band == "needs work"
    assert judged.judge == result and judged.details == evaluation.details


# --- transport failures ------------------------------------------------------------------------


def test_http_500_is_retried_once_then_fails(server: FakeServer) -> None:
    server.mode = "error-500"

    result = _judge(server).judge(_transcript(), QUESTION)

    assert result.status == "failed"
    assert result.error is not None and "HTTP 500" in result.error
    assert "the model crashed" in result.error
    assert len(server.requests) == 2  # the request and exactly one retry


def test_slow_server_times_out_after_one_retry(server: FakeServer) -> None:
    server.mode = "slow"

    started = time.monotonic()
    result = _judge(server, timeout_s=1.0).judge(_transcript(), QUESTION)
    elapsed = time.monotonic() - started

    assert result.status == "failed"
    assert result.error is not None and "no reply" in result.error and "within 1 s" in result.error
    assert "VOICE_INTERVIEW_JUDGE_TIMEOUT_S" in result.error
    assert len(server.requests) == 2
    assert 2.0 <= elapsed < 3.0 + 1.0  # two 1 s timeouts and the back-off, not the 3 s sleep


def test_json_mode_refused_with_400_falls_back_once(server: FakeServer) -> None:
    server.mode = "no-json-mode"

    result = _judge(server).judge(_transcript(), QUESTION)

    assert result.status == "used", result.error
    assert judge_score(result) == GOOD_SCORE
    first, second = (r["body"] for r in server.requests)
    assert first["response_format"] == {"type": "json_object"}
    assert "response_format" not in second
    assert second["temperature"] == 0 and second["messages"] == first["messages"]


def test_400_without_json_mode_too_fails_after_the_fallback(server: FakeServer) -> None:
    server.mode = "always-400"

    result = _judge(server).judge(_transcript(), QUESTION)

    assert result.status == "failed"
    assert result.error is not None and "HTTP 400" in result.error
    assert len(server.requests) == 2


def test_wrong_path_gives_a_404_with_a_fix(server: FakeServer) -> None:
    judge = LlmJudge(JudgeConfig(base_url=server.base_url.removesuffix("/v1"), model="m"))

    result = judge.judge(_transcript(), QUESTION)

    assert result.status == "failed"
    assert result.error is not None and "HTTP 404" in result.error and "/v1" in result.error


def test_connection_refused_fails_quickly(caplog: pytest.LogCaptureFixture) -> None:
    base_url = f"http://127.0.0.1:{_free_port()}/v1"

    started = time.monotonic()
    result = LlmJudge(JudgeConfig(base_url=base_url, timeout_s=2)).judge(_transcript(), QUESTION)

    assert result.status == "failed"
    assert result.base_url == base_url
    assert result.error is not None and result.error.startswith(f"cannot connect to {base_url}")
    assert "VOICE_INTERVIEW_JUDGE_BASE_URL" in result.error
    assert time.monotonic() - started < 3
    assert [r.levelname for r in caplog.records if r.name == "voice_interview.adapters.judge"] == [
        "WARNING"
    ]


def test_openai_without_a_key_fails_without_a_request() -> None:
    result = LlmJudge(JudgeConfig()).judge(_transcript(), QUESTION)

    assert result.status == "failed"
    assert result.base_url == "https://api.openai.com/v1"
    assert result.error is not None and "OPENAI_API_KEY" in result.error


def test_nothing_to_judge_fails_without_a_request(server: FakeServer) -> None:
    no_rubric = QUESTION.model_copy(update={"concepts": ()})
    judge = _judge(server)

    assert "no rubric concepts" in (judge.judge(_transcript(), no_rubric).error or "")
    assert "empty" in (judge.judge(Transcript.from_text("  "), QUESTION).error or "")
    assert server.requests == []


# --- the API key -------------------------------------------------------------------------------


def test_api_key_comes_from_env_and_never_leaks(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # includes the openai and httpx loggers
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    judge = _judge(server)

    used = judge.judge(_transcript(), QUESTION)
    server.mode = "echo-key-401"  # a server that repeats the key in its error message
    failed = judge.judge(_transcript(), QUESTION)

    assert [r["headers"]["authorization"] for r in server.requests] == [f"Bearer {SECRET}"] * 2
    assert used.status == "used"
    assert failed.status == "failed"
    assert failed.error is not None and "HTTP 401" in failed.error and "***" in failed.error
    outputs = [
        used.model_dump_json(),
        failed.model_dump_json(),
        json.dumps(with_judge(_evaluation(), used).to_json_dict()),
        json.dumps(with_judge(_evaluation(), failed).to_json_dict()),
        repr(judge.config),
        repr(judge),
        caplog.text,
        *(str(r.args) for r in caplog.records),
    ]
    assert caplog.records
    for text in outputs:
        assert SECRET not in text
    assert "sk-test" not in json.dumps(vars(judge.config))


def test_credentials_in_the_base_url_are_not_reported() -> None:
    base_url = f"http://user:pw@127.0.0.1:{_free_port()}/v1"

    result = LlmJudge(JudgeConfig(base_url=base_url, timeout_s=1)).judge(_transcript(), QUESTION)

    assert result.status == "failed"
    assert "pw" not in result.base_url and "pw" not in (result.error or "")


# --- scoring -----------------------------------------------------------------------------------


def _used(*verdicts: str) -> JudgeResult:
    return JudgeResult(
        status="used",
        model="m",
        base_url="http://x/v1",
        verdicts=tuple(
            JudgeVerdict(criterion=f"c{i}", verdict=v, evidence=("q",))  # type: ignore[arg-type]
            for i, v in enumerate(verdicts)
        ),
    )


def test_judge_score() -> None:
    assert judge_score(_used("met", "met")) == 100
    assert judge_score(_used("met", "partly", "not met", "not met")) == 38  # 1.5 / 4
    assert judge_score(_used("not met")) == 0
    assert judge_score(_used()) is None
    failed = JudgeResult(status="failed", model="m", base_url="u", error="timeout")
    assert judge_score(failed) is None


def test_with_judge_blends_and_records_the_parts() -> None:
    evaluation = _evaluation(overall=50)
    result = _used("met", "met", "partly", "met", "not met")  # 70

    judged = with_judge(evaluation, result)

    assert judged.overall == 56  # round(0.7 * 50 + 0.3 * 70)
    assert judged.band == "solid"  # bands: >= 75 strong, >= 55 solid
    assert judged.judge == result
    assert judged.details == {
        "coverage": 0.5,
        "local_overall": 50,
        "judge_score": 70,
        "judge_weight": 0.3,
    }
    assert evaluation.overall == 50 and evaluation.judge is None  # a copy; input untouched
    assert evaluation.details == {"coverage": 0.5}
    assert judged.to_json_dict()["judge"]["status"] == "used"

    half = with_judge(evaluation, result, weight=0.5)
    assert half.overall == 60 and half.band == "solid"
    assert with_judge(evaluation, result, weight=0.0).overall == 50
    assert with_judge(_evaluation(overall=20, band="off-topic"), result).band == "off-topic"
    with pytest.raises(ValueError, match="between 0 and 1"):
        with_judge(evaluation, result, weight=1.5)


def test_with_judge_failed_leaves_overall_unchanged() -> None:
    evaluation = _evaluation(overall=73, band="solid")
    failed = JudgeResult(status="failed", model="m", base_url="u", error="HTTP 500; check log")

    judged = with_judge(evaluation, failed)

    assert (judged.overall, judged.band, judged.details) == (73, "solid", evaluation.details)
    assert judged.judge is not None and judged.judge.status == "failed"
    assert judged.judge.error == "HTTP 500; check log"

    empty = with_judge(evaluation, _used())
    assert empty.overall == 73
    assert empty.judge is not None and empty.judge.status == "failed"
    assert empty.judge.error == "the judge returned no verdicts"


# --- configuration and criteria ----------------------------------------------------------------


def test_config_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BASE_URL", "MODEL", "TIMEOUT_S"):
        monkeypatch.delenv(f"VOICE_INTERVIEW_JUDGE_{name}", raising=False)
    assert JudgeConfig.from_env() is None
    monkeypatch.setenv("VOICE_INTERVIEW_JUDGE_MODEL", "  ")
    assert JudgeConfig.from_env() is None

    monkeypatch.setenv("VOICE_INTERVIEW_JUDGE_MODEL", "gpt-4.1-mini")
    assert JudgeConfig.from_env() == JudgeConfig(model="gpt-4.1-mini")

    monkeypatch.delenv("VOICE_INTERVIEW_JUDGE_MODEL")
    monkeypatch.setenv("VOICE_INTERVIEW_JUDGE_BASE_URL", "http://127.0.0.1:8080/v1")
    monkeypatch.setenv("VOICE_INTERVIEW_JUDGE_TIMEOUT_S", "12.5")
    assert JudgeConfig.from_env() == JudgeConfig(
        base_url="http://127.0.0.1:8080/v1", model="gpt-4o-mini", timeout_s=12.5
    )

    for bad in ("soon", "0", "-3"):
        monkeypatch.setenv("VOICE_INTERVIEW_JUDGE_TIMEOUT_S", bad)
        with pytest.raises(VoiceInterviewError, match="VOICE_INTERVIEW_JUDGE_TIMEOUT_S"):
            JudgeConfig.from_env()


def test_flags_win_and_the_environment_fills_the_rest(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BASE_URL", "MODEL", "TIMEOUT_S"):
        monkeypatch.delenv(f"VOICE_INTERVIEW_JUDGE_{name}", raising=False)
    monkeypatch.setenv("VOICE_INTERVIEW_JUDGE_TIMEOUT_S", "4")
    monkeypatch.setenv("VOICE_INTERVIEW_JUDGE_MODEL", "env-model")
    # `score --judge-url URL` once lost the environment's timeout (the judge waited 30 s)
    assert JudgeConfig.from_env(base_url="http://127.0.0.1:9/v1") == JudgeConfig(
        base_url="http://127.0.0.1:9/v1", model="env-model", timeout_s=4.0
    )
    assert JudgeConfig.from_env(model="flag-model") == JudgeConfig(
        model="flag-model", timeout_s=4.0
    )
    monkeypatch.setenv("VOICE_INTERVIEW_JUDGE_BASE_URL", "http://127.0.0.1:8/v1")
    assert JudgeConfig.from_env(base_url="http://127.0.0.1:9/v1").base_url == (
        "http://127.0.0.1:9/v1"
    )


def test_score_command_takes_the_judge_url_flag_and_the_timeout_variable(
    server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.mode = "slow"  # answers after 3 s: longer than the 1 s the environment allows
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOICE_INTERVIEW_JUDGE_")}
    env["VOICE_INTERVIEW_JUDGE_TIMEOUT_S"] = "1"
    started = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "voice_interview", "score", "--question", QUESTION.id,
         "--text", _transcript().text, "--judge-url", server.base_url, "--json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert out.returncode == 0, out.stderr
    judge = json.loads(out.stdout)["judge"]
    assert judge["status"] == "failed" and "within 1 s" in judge["error"]
    assert len(server.requests) == 2 and elapsed < 30


def test_behavioral_criteria() -> None:
    question = Question(
        id="ownership",
        text="Tell me about a time you took ownership.",
        principles=("Ownership", "Have Backbone; Disagree and Commit"),
        strong_answer=("A specific incident you owned end to end.", "A measured result."),
        kind=QuestionKind.BEHAVIORAL,
    )

    criteria = judge_criteria(question)

    assert [c.id for c in criteria] == [
        "situation",
        "task",
        "action",
        "result",
        "principle-ownership",
        "principle-have-backbone-disagree-and-commit",
        "strong-answer-1",
        "strong-answer-2",
    ]
    assert "A measured result." in criteria[-1].text
    assert "Ownership" in criteria[4].text


def test_every_bank_question_yields_unique_criteria() -> None:
    for question in load_bank().questions:
        ids = [c.id for c in judge_criteria(question)]
        assert len(ids) == len(set(ids)), question.id
        if question.is_behavioral:
            assert ids[:4] == ["situation", "task", "action", "result"]
            assert len(ids) == 4 + len(question.principles) + len(question.strong_answer)
        else:
            assert ids == [c.id for c in question.concepts]


def test_bank_question_round_trip(server: FakeServer) -> None:
    """Whatever rubric the bundled bank holds, a complete reply for it is accepted."""
    question = load_bank().question("connection-pooling")
    criteria = judge_criteria(question)
    server.content = _reply(
        [{"criterion": c.id, "verdict": "not met", "evidence": [], "comment": ""} for c in criteria]
    )

    result = _judge(server).judge(_transcript(), question)

    assert result.status == "used" if criteria else result.status == "failed"
    assert len(result.verdicts) == len(criteria)
    assert judge_score(result) == (0 if criteria else None)
    assert all(
        f"- {c.id}: " in server.requests[0]["body"]["messages"][1]["content"] for c in criteria
    )
