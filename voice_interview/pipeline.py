"""The one answer pipeline: audio (or text) + question -> transcript -> evaluation.

Live practice, replay and batch scoring differ only in where the audio comes from; all of them
call :class:`AnswerPipeline`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voice_interview.bank import Bank, Question
from voice_interview.core.audio import Audio
from voice_interview.core.transcript import Transcript
from voice_interview.errors import AudioError
from voice_interview.protocols import Evaluator, Transcriber
from voice_interview.scoring.result import Evaluation

if TYPE_CHECKING:
    from voice_interview.scoring.judge import JudgeConfig

__all__ = ["AnswerPipeline", "build_pipeline"]

logger = logging.getLogger(__name__)


@dataclass
class AnswerPipeline:
    """Transcribes and scores answers. Holds the engines; loads nothing until first used."""

    transcriber: Transcriber
    evaluator: Evaluator

    def transcribe(self, audio: Audio, question: Question | None = None) -> Transcript:
        """Transcribe an answer, refusing silence and audio in which no words were recognised."""
        if audio.num_samples == 0:
            raise AudioError("the answer audio is empty; nothing was recorded", reason="empty")
        if audio.is_silent():
            raise AudioError(
                f"the answer is silent (peak {audio.peak:.1e}); check the microphone level",
                reason="silent",
            )
        transcript = self.transcriber.transcribe(audio, question)
        if not transcript.text.strip():
            raise AudioError(
                f"no speech recognised in {audio.duration_s:.1f} s of audio; "
                "check that the recording has a voice in it",
                reason="no-speech",
            )
        return transcript

    def score_audio(self, audio: Audio, question: Question) -> Evaluation:
        return self.evaluator.evaluate(self.transcribe(audio, question), question)

    def score_text(self, text: str, question: Question) -> Evaluation:
        """Score a typed answer (no audio, so no timing-based delivery figures)."""
        if not text.strip():
            raise ValueError("the answer text is empty")
        return self.evaluator.evaluate(Transcript.from_text(text), question)

    def transcribe_file(
        self, path: str | os.PathLike[str], question: Question | None = None
    ) -> Transcript:
        """Decode an audio file and transcribe it; audio errors name the file."""
        from voice_interview.adapters.audio_files import load_audio

        audio = load_audio(path)  # its errors already start with the path
        try:
            return self.transcribe(audio, question)
        except AudioError as exc:
            where = os.fspath(path)
            raise AudioError(f"{where}: {exc}", path=where, reason=exc.reason) from exc

    def score_file(self, path: str | os.PathLike[str], question: Question) -> Evaluation:
        """Decode an audio file, transcribe and score it; audio errors name the file."""
        return self.evaluator.evaluate(self.transcribe_file(path, question), question)


def build_pipeline(
    model: str, bank: Bank | None = None, judge: JudgeConfig | None = None
) -> AnswerPipeline:
    """The standard pipeline: faster-whisper ``model``, the local evaluator on ``bank``, and
    the optional LLM judge when ``judge`` is given.

    Nothing heavy is loaded here; models load on the first answer.
    """
    from voice_interview.adapters.whisper import TranscribeOptions, WhisperTranscriber
    from voice_interview.scoring.evaluator import LocalEvaluator
    from voice_interview.scoring.judge import JudgedEvaluator, LlmJudge

    evaluator: Evaluator = LocalEvaluator(bank)
    if judge is not None:
        evaluator = JudgedEvaluator(evaluator, LlmJudge(judge))
    return AnswerPipeline(WhisperTranscriber(TranscribeOptions(model=model)), evaluator)
