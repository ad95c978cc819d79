"""The answer pipeline with protocol fakes at the transcriber boundary (stage tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from voice_interview.adapters.audio_files import write_wav
from voice_interview.content.banks import Question, load_bank
from voice_interview.core.audio import Audio
from voice_interview.core.transcript import Transcript
from voice_interview.errors import AudioError
from voice_interview.pipeline import AnswerPipeline
from voice_interview.scoring.evaluator import LocalEvaluator


class FakeTranscriber:
    """Returns a fixed text; records what it was asked."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.calls: list[tuple[float, str | None]] = []

    def transcribe(self, audio: Audio, question: Question | None = None) -> Transcript:
        self.calls.append((audio.duration_s, question.id if question else None))
        return Transcript(text=self.text, duration_s=audio.duration_s, model="fake")


def noise(seconds: float, amp: float = 0.1) -> Audio:
    rng = np.random.default_rng(7)
    return Audio((amp * rng.standard_normal(round(seconds * 16000))).astype(np.float32), 16000)


BANK = load_bank()
QUESTION = BANK.question("connection-pooling")
EVALUATOR = LocalEvaluator(BANK)


def test_audio_goes_through_transcriber_and_evaluator() -> None:
    fake = FakeTranscriber(
        "A connection pool keeps database connections open and reuses them, so a request "
        "does not pay for a new TCP and TLS handshake every time."
    )
    result = AnswerPipeline(fake, EVALUATOR).score_audio(noise(30.0), QUESTION)
    assert fake.calls == [(30.0, "connection-pooling")]
    assert result.question_id == "connection-pooling" and result.kind == "technical"
    assert result.transcript.model == "fake"
    assert result.delivery.word_count == 25
    assert result.delivery.words_per_minute == 50.0
    status = {c.id: c.status for c in result.concepts or ()}
    assert status["reuse-connections"] == "covered"


def test_same_input_same_output() -> None:
    pipeline = AnswerPipeline(FakeTranscriber("I used PgBouncer."), EVALUATOR)
    a = pipeline.score_audio(noise(5.0), QUESTION).to_json_dict()
    b = pipeline.score_audio(noise(5.0), QUESTION).to_json_dict()
    assert a == b


@pytest.mark.parametrize(
    ("audio", "reason"),
    [(Audio.silence(0.0), "empty"), (Audio.silence(3.0), "silent"), (noise(3.0, 1e-4), "silent")],
)
def test_silence_never_reaches_the_recogniser(audio: Audio, reason: str) -> None:
    fake = FakeTranscriber("should not be called")
    with pytest.raises(AudioError) as err:
        AnswerPipeline(fake, EVALUATOR).score_audio(audio, QUESTION)
    assert err.value.reason == reason and fake.calls == []


def test_no_recognised_words_is_an_error_not_an_empty_score() -> None:
    with pytest.raises(AudioError) as err:
        AnswerPipeline(FakeTranscriber("  "), EVALUATOR).score_audio(noise(2.0), QUESTION)
    assert err.value.reason == "no-speech"


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    path = write_wav(noise(2.0), tmp_path / "answer.wav")
    with pytest.raises(AudioError) as err:
        AnswerPipeline(FakeTranscriber(""), EVALUATOR).score_file(path, QUESTION)
    assert str(err.value).startswith(str(path)) and err.value.path == str(path)


def test_typed_answer() -> None:
    pipeline = AnswerPipeline(FakeTranscriber("unused"), EVALUATOR)
    result = pipeline.score_text(
        "  Last year I  owned the billing export. ", load_bank().question("ownership")
    )
    assert result.kind == "behavioral" and result.concepts is None
    assert result.transcript.text == "Last year I owned the billing export."
    with pytest.raises(ValueError, match="empty"):
        pipeline.score_text("   ", QUESTION)
