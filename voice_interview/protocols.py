"""Small interfaces between the answer pipeline and the engines behind it.

Real adapters live in ``voice_interview/adapters/`` and import their heavy libraries lazily; unit
tests may pass a fake that satisfies the same protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from voice_interview.bank import Question
from voice_interview.core.audio import Audio
from voice_interview.core.transcript import Transcript
from voice_interview.scoring.result import Evaluation

__all__ = ["Evaluator", "Synthesizer", "Transcriber"]


class Transcriber(Protocol):
    def transcribe(self, audio: Audio, question: Question | None = None) -> Transcript:
        """Transcribe a whole answer; ``question`` (when known) steers spelling."""
        ...


class Synthesizer(Protocol):
    def synthesize(self, text: str) -> Audio:
        """The whole utterance (possibly from a cache)."""
        ...

    def iter_sentences(self, text: str) -> Iterator[Audio]:
        """Lazily, one sentence at a time."""
        ...


class Evaluator(Protocol):
    name: str
    version: str

    def evaluate(self, transcript: Transcript, question: Question) -> Evaluation:
        """Score a transcript as an answer to ``question``. Pure and deterministic."""
        ...
