"""The one answer pipeline: audio (or text) + question -> transcript -> evaluation.

Live practice, replay and batch scoring differ only in where the audio comes from; all of them
call :class:`AnswerPipeline`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from voice_interview.content.banks import Bank, Question
from voice_interview.core.audio import Audio
from voice_interview.core.transcript import Transcript, merge_transcripts
from voice_interview.errors import AudioError
from voice_interview.scoring.result import Evaluation, Evaluator

if TYPE_CHECKING:
    from voice_interview.adapters.judge import JudgeConfig

__all__ = [
    "AnswerPipeline",
    "Evaluator",
    "StreamingAnswer",
    "Synthesizer",
    "Transcriber",
    "build_pipeline",
]

logger = logging.getLogger(__name__)


# --- the interfaces to the engines behind the pipeline --------------------------------------------
# Real adapters live in ``voice_interview/adapters/`` and import their heavy libraries lazily;
# unit tests may pass a fake that satisfies the same protocol.


class Transcriber(Protocol):
    def transcribe(self, audio: Audio, question: Question | None = None) -> Transcript:
        """Transcribe a whole answer; ``question`` (when known) steers spelling."""
        ...

    def load(self) -> object:
        """Load the model now (batch workers load it once, before their first file)."""
        ...

    @property
    def model_name(self) -> str:
        """The model as resolved (registry name or folder): recorded with every result."""
        ...

    @property
    def batch_size(self) -> int:
        """Speech chunks decoded together (0: window by window): recorded with every result."""
        ...


class Synthesizer(Protocol):
    def synthesize(self, text: str) -> Audio:
        """The whole utterance (possibly from a cache)."""
        ...

    def iter_sentences(self, text: str) -> Iterator[Audio]:
        """Lazily, one sentence at a time."""
        ...


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

    def evaluate(self, transcript: Transcript, question: Question) -> Evaluation:
        """Score a finished transcript: the last step of every path."""
        return self.evaluator.evaluate(transcript, question)

    def score_audio(self, audio: Audio, question: Question) -> Evaluation:
        return self.evaluate(self.transcribe(audio, question), question)

    def score_text(self, text: str, question: Question) -> Evaluation:
        """Score a typed answer (no audio, so no timing-based delivery figures)."""
        if not text.strip():
            raise ValueError("the answer text is empty")
        return self.evaluate(Transcript.from_text(text), question)

    def stream(self, question: Question) -> StreamingAnswer:
        """Start transcribing an answer stretch by stretch while it is being spoken."""
        return StreamingAnswer(self, question)

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
        return self.evaluate(self.transcribe_file(path, question), question)


class StreamingAnswer:
    """Transcription of one answer while it is still being spoken.

    The live loop hands over each piece of speech that the endpointer closed; a single worker
    thread transcribes it while the candidate goes on, so when the answer ends only the last
    piece remains. The pieces are for the moment: captions (:meth:`captions`), the
    turn-taking decision (:meth:`partial`) and a quick provisional score (:meth:`finish`
    joins them, times relative to the start of the answer). Each piece is transcribed without
    the words around it, so their joined text is much worse than one pass over the whole
    recording (41-64 % word error against ~5 %, on answers with pauses): what is saved and
    scored for good is :meth:`full_pass`, the whole answer in one pass, as batch scoring
    transcribes it. An answer that is reopened gets more pieces and is finished again;
    :meth:`close` ends the workers.
    """

    def __init__(self, pipeline: AnswerPipeline, question: Question) -> None:
        self.pipeline = pipeline
        self.question = question
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-asr")
        self._full_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-full")
        self._parts: list[tuple[float, float, Future[Transcript | None]]] = []
        self._full: tuple[int, Future[Transcript]] | None = None

    def _transcribe(self, audio: Audio) -> Transcript | None:
        try:
            return self.pipeline.transcribe(audio, self.question)
        except AudioError as exc:
            if exc.reason in ("silent", "no-speech", "empty"):
                return None  # a cough or a click: a stretch with no words in it
            raise

    def add_stretch(self, audio: Audio, offset_s: float) -> None:
        """Queue a closed piece of speech starting ``offset_s`` seconds into the answer."""
        future = self._executor.submit(self._transcribe, audio)
        self._parts.append((offset_s, offset_s + audio.duration_s, future))

    @property
    def queued(self) -> int:
        """Pieces handed over so far."""
        return len(self._parts)

    def _done_prefix(self) -> list[tuple[float, float, Future[Transcript | None]]]:
        done = []
        for part in self._parts:
            if not part[2].done():
                break
            done.append(part)
        return done

    def covered_s(self) -> float | None:
        """End of the audio (seconds into the answer) up to which every piece is transcribed;
        None while the first piece is still being transcribed."""
        done = self._done_prefix()
        return done[-1][1] if done else None

    def partial(self) -> Transcript | None:
        """The transcript of the pieces done so far, in order up to the first that is not
        (None when there are no words yet). A piece that failed counts as no words."""
        parts: list[tuple[float, Transcript]] = []
        for offset, _, future in self._done_prefix():
            transcript = future.result() if future.exception() is None else None
            if transcript is not None:
                parts.append((offset, transcript))
        if not parts:
            return None
        return merge_transcripts(parts, max(end for _, end, _ in self._parts))

    def captions(self) -> str:
        """Text of the pieces transcribed so far (for live captions)."""
        done = [f.result() for _, _, f in self._parts if f.done() and f.exception() is None]
        return " ".join(t.text for t in done if t is not None)

    def wait(self) -> None:
        """Block until every piece handed over so far is transcribed."""
        for _, _, future in list(self._parts):
            future.exception()

    def finish(self, duration_s: float) -> Transcript:
        """Wait for every piece and return the whole answer's transcript."""
        parts = [(offset, f.result()) for offset, _, f in self._parts]
        found = [(offset, t) for offset, t in parts if t is not None]
        if not found:
            raise AudioError(
                f"no speech recognised in {duration_s:.1f} s of answer; "
                "check the microphone and speak up",
                reason="no-speech",
            )
        return merge_transcripts(found, duration_s)

    def full_pass(self, audio: Audio, speech_end: int | None = None) -> Future[Transcript]:
        """The whole answer ``audio`` transcribed in one pass, in the background: the
        transcript that is saved and scored. A pass already started on a shorter recording of
        the same answer is reused when that recording held all of its speech (up to sample
        ``speech_end``: only silence came after); otherwise it is replaced."""
        if self._full is not None:
            covered, future = self._full
            if covered == audio.num_samples or (
                speech_end is not None and speech_end <= covered <= audio.num_samples
            ):
                return future
            future.cancel()
        future = self._full_executor.submit(self.pipeline.transcribe, audio, self.question)
        self._full = (audio.num_samples, future)
        return future

    def close(self) -> None:
        """No more pieces: let the workers end once their queues are done."""
        self._executor.shutdown(wait=False)
        self._full_executor.shutdown(wait=False)

    def cancel(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._full_executor.shutdown(wait=False, cancel_futures=True)


def build_pipeline(
    model: str,
    bank: Bank | None = None,
    judge: JudgeConfig | None = None,
    *,
    cpu_threads: int = 0,
    batch_size: int | None = None,
) -> AnswerPipeline:
    """The standard pipeline: faster-whisper ``model``, the local evaluator on ``bank``, and
    the optional LLM judge when ``judge`` is given. ``cpu_threads`` and ``batch_size`` are
    the recogniser's (see :class:`TranscribeOptions`; None keeps its default).

    Nothing heavy is loaded here; models load on the first answer.
    """
    from voice_interview.adapters.judge import LlmJudge
    from voice_interview.adapters.whisper import TranscribeOptions, WhisperTranscriber
    from voice_interview.scoring.evaluator import LocalEvaluator
    from voice_interview.scoring.judge import JudgedEvaluator

    evaluator: Evaluator = LocalEvaluator(bank)
    if judge is not None:
        evaluator = JudgedEvaluator(evaluator, LlmJudge(judge))
    options = TranscribeOptions(model=model, cpu_threads=cpu_threads)
    if batch_size is not None:
        options = replace(options, batch_size=batch_size)
    return AnswerPipeline(WhisperTranscriber(options), evaluator)
