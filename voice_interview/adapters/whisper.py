"""Speech recognition with faster-whisper (CTranslate2, CPU, int8 by default).

The model is loaded lazily on first use and shared between transcribers with the same settings,
so replay and batch scoring pay the load time once per process.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from voice_interview.adapters.models import DEFAULT_ASR_MODEL, AsrModel, resolve_asr_model
from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio
from voice_interview.core.hallucination import split_hallucinations
from voice_interview.core.prompting import build_prompt
from voice_interview.core.transcript import Segment, Transcript, Word
from voice_interview.errors import ModelError, TranscriptionError

if TYPE_CHECKING:
    from voice_interview.bank import Question

__all__ = ["TranscribeOptions", "WhisperTranscriber", "available_cores"]

logger = logging.getLogger(__name__)


def available_cores() -> int:
    """CPU cores this process may run on (respects taskset/cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


@dataclass(frozen=True)
class TranscribeOptions:
    """How answers are transcribed. Defaults are defined here once.

    Attributes:
        model: registry name (``tiny.en``, ``base``), a local CTranslate2 folder, or a
            faster-whisper name (``small.en``) that is downloaded only if the network allows.
        beam_size: beam search width (faster-whisper's default, 5).
        language: spoken language; English answers by default. None = detect.
        compute_type: CTranslate2 compute type; int8 is fastest on a laptop CPU.
        cpu_threads: CTranslate2 intra-op threads; 0 = every available core.
        vad_filter: skip non-speech with Silero VAD (bundled with faster-whisper); saves time on
            long thinking pauses and prevents Whisper inventing text in silence.
        domain_prompt: hint the question and its vocabulary to the recogniser.
        keep_hesitations: prompt so that "um"/"uh" stay in the transcript.
        word_timestamps: per-word start/end/probability (needed for evidence times and pauses).
        drop_hallucinations: drop segments the recogniser invented in silence (see
            ``core/hallucination.py``); they are kept in ``Transcript.discarded``. Needs
            word timestamps.
    """

    model: str = DEFAULT_ASR_MODEL
    beam_size: int = 5
    language: str | None = "en"
    compute_type: str = "int8"
    cpu_threads: int = 0
    vad_filter: bool = True
    domain_prompt: bool = True
    keep_hesitations: bool = True
    word_timestamps: bool = True
    drop_hallucinations: bool = True

    @property
    def effective_threads(self) -> int:
        return self.cpu_threads or available_cores()


_load_lock = threading.Lock()


@lru_cache(maxsize=4)
def _load_whisper(path: str, compute_type: str, cpu_threads: int) -> Any:
    from faster_whisper import WhisperModel

    try:
        return WhisperModel(path, device="cpu", compute_type=compute_type, cpu_threads=cpu_threads)
    except (RuntimeError, ValueError, OSError) as exc:
        raise ModelError(
            f"{path}: cannot load the Whisper model ({exc}); "
            "delete the folder's cache or reinstall the model package"
        ) from exc


class WhisperTranscriber:
    """Transcribes :class:`Audio` to a concrete :class:`Transcript`."""

    def __init__(self, options: TranscribeOptions | None = None) -> None:
        self.options = options or TranscribeOptions()
        self._resolved: AsrModel | None = None

    @property
    def resolved_model(self) -> AsrModel:
        if self._resolved is None:
            self._resolved = resolve_asr_model(self.options.model)
        return self._resolved

    def load(self) -> Any:
        """Load (or reuse) the model now; returns the faster-whisper model object."""
        resolved = self.resolved_model
        with _load_lock:
            return _load_whisper(
                str(resolved.path), self.options.compute_type, self.options.effective_threads
            )

    def transcribe(self, audio: Audio, question: Question | None = None) -> Transcript:
        """Transcribe a whole answer. Blocking; returns when every segment is decoded."""
        opts = self.options
        model = self.load()
        prompt = build_prompt(
            question.text if question else None,
            question.recognizer_vocabulary if question else (),
            keep_hesitations=opts.keep_hesitations,
            domain_prompt=opts.domain_prompt,
        )
        language = opts.language
        if language not in (None, "en") and not model.model.is_multilingual:
            raise TranscriptionError(
                f"model {opts.model!r} is English-only; use language 'en' or a "
                "multilingual model such as 'base'"
            )
        samples = audio.resampled(ASR_SAMPLE_RATE).samples
        try:
            segments_iter, info = model.transcribe(
                samples,
                language=language,
                beam_size=opts.beam_size,
                initial_prompt=prompt.initial_prompt,
                hotwords=prompt.hotwords,
                word_timestamps=opts.word_timestamps,
                vad_filter=opts.vad_filter,
            )
            raw_segments = list(segments_iter)
        except (RuntimeError, ValueError) as exc:
            raise TranscriptionError(f"speech recognition failed: {exc}") from exc

        decoded = tuple(
            Segment(
                text=s.text.strip(),
                start_s=float(s.start),
                end_s=float(s.end),
                words=tuple(
                    Word(
                        text=w.word.strip(),
                        start_s=float(w.start),
                        end_s=float(w.end),
                        probability=min(1.0, max(0.0, float(w.probability))),
                    )
                    for w in (s.words or ())
                    if w.word.strip()
                ),
                avg_logprob=float(s.avg_logprob),
                no_speech_prob=float(s.no_speech_prob),
            )
            for s in raw_segments
        )
        segments, discarded = (
            split_hallucinations(decoded) if opts.drop_hallucinations else (decoded, ())
        )
        text = " ".join(s.text for s in segments if s.text).strip()
        effective = asdict(opts)
        effective["cpu_threads"] = opts.effective_threads
        effective["initial_prompt"] = prompt.initial_prompt
        effective["hotwords"] = prompt.hotwords
        return Transcript(
            text=text,
            segments=segments,
            duration_s=audio.duration_s,
            language=info.language,
            model=self.resolved_model.name,
            options=effective,
            discarded=discarded,
        )
