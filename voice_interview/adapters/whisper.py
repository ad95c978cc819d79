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
from voice_interview.core.prompting import HESITATION_PROMPT, RecognizerPrompt, build_prompt
from voice_interview.core.text import normalize_text
from voice_interview.core.transcript import Segment, Transcript, Word
from voice_interview.errors import ModelError, TranscriptionError

if TYPE_CHECKING:
    from voice_interview.content.banks import Question

__all__ = ["DEFAULT_BATCH_SIZE", "TranscribeOptions", "WhisperTranscriber", "available_cores"]

logger = logging.getLogger(__name__)


def available_cores() -> int:
    """CPU cores this process may run on (respects taskset/cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


DEFAULT_BATCH_SIZE = 8
"""Speech chunks decoded together (faster-whisper's BatchedInferencePipeline) everywhere: faster
than window by window, and it kept long answers whole (docs/transcription.md)."""


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
        condition_on_previous_text: feed each 30 s window the text of the previous one
            (faster-whisper's default is True). Off here: together with the per-window
            ``hotwords`` it made a 2-minute answer 3x slower to transcribe (measured with
            tiny.en: 15.3 s instead of 5.3 s) for the same words; it also invites repetition
            loops. Answers are transcribed stretch by stretch in practice anyway.
        drop_hallucinations: drop segments the recogniser invented in silence (see
            ``core/hallucination.py``); they are kept in ``Transcript.discarded``. Needs
            word timestamps.
        batch_size: N > 0 (the default, 8) cuts the answer into speech chunks with the VAD and
            decodes up to N of them together with faster-whisper's
            ``BatchedInferencePipeline``; 0 decodes it window by window. Both can drop speech,
            so every transcript also goes through the gap check of :meth:`_fill_gaps`. Window
            by window, a window that ends early is skipped whole, and the words after it can
            carry wrong times (tiny.en with the question as prompt lost 64 words of a
            2-minute answer: 27 % WER); chunked, a chunk with a long pause may end after its
            first sentence (the gap check decodes the rest). Chunked decoding kept 3-4 % on
            the same answers and keeps a CPU's cores busier (``bench/results/batch-*.md``).
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
    condition_on_previous_text: bool = False
    batch_size: int = DEFAULT_BATCH_SIZE

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


_HINT_MIN_PROBABILITY = 0.5
_GAP_MIN_S = 1.5  # seconds of detected speech with no word in them: the decoder skipped them


def _hint_words(hotwords: str) -> frozenset[str]:
    """The hinted words, normalised ("hikaricp", "pgbouncer", "asynchronous", ...)."""
    return frozenset(w for term in hotwords.split(",") for w in normalize_text(term).split())


def _fused_with_hint(word: str, hints: frozenset[str]) -> bool:
    """A word that starts like a distinctive hinted word but is not one: "HikariPages"."""
    key = normalize_text(word).replace(" ", "")
    return key not in hints and any(len(h) >= 6 and key.startswith(h[:6]) for h in hints)


class WhisperTranscriber:
    """Transcribes :class:`Audio` to a concrete :class:`Transcript`."""

    def __init__(self, options: TranscribeOptions | None = None) -> None:
        self.options = options or TranscribeOptions()
        self._resolved: AsrModel | None = None

    @property
    def model_name(self) -> str:
        return self.resolved_model.name

    @property
    def batch_size(self) -> int:
        return self.options.batch_size

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

    def _decode(
        self, model: Any, samples: Any, initial_prompt: str | None, hotwords: str | None
    ) -> tuple[tuple[Segment, ...], str | None]:
        opts = self.options
        extra: dict[str, Any] = {}
        if opts.batch_size > 0:
            from faster_whisper import BatchedInferencePipeline

            model = BatchedInferencePipeline(model)
            extra["batch_size"] = opts.batch_size
        try:
            segments_iter, info = model.transcribe(
                samples,
                language=opts.language,
                beam_size=opts.beam_size,
                initial_prompt=initial_prompt,
                hotwords=hotwords,
                word_timestamps=opts.word_timestamps,
                vad_filter=opts.vad_filter,
                condition_on_previous_text=opts.condition_on_previous_text,
                **extra,
            )
            raw_segments = list(segments_iter)
        except (RuntimeError, ValueError) as exc:
            raise TranscriptionError(f"speech recognition failed: {exc}") from exc
        segments = tuple(
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
        return segments, info.language

    def _confirm_hints(
        self, model: Any, samples: Any, segments: tuple[Segment, ...], prompt: RecognizerPrompt
    ) -> tuple[Segment, ...]:
        """Hints may spell what was said, never add what was not.

        A word fused from a hinted term and something else, that the model itself doubts
        (probability below 0.5), came from the hint rather than the audio (measured: base
        heard "product pages" as "HikariPages" with HikariCP in the hints, probability
        0.18). Such a segment is decoded again without the domain hints and that reading is
        kept. Exact hinted words are left alone: spelling them is what the hints are for.
        """
        hints = _hint_words(prompt.hotwords or "")
        out: list[Segment] = []
        for seg in segments:
            doubtful = any(
                w.probability < _HINT_MIN_PROBABILITY and _fused_with_hint(w.text, hints)
                for w in seg.words
            )
            if not doubtful:
                out.append(seg)
                continue
            start = max(0, int(seg.start_s * ASR_SAMPLE_RATE) - ASR_SAMPLE_RATE // 4)
            end = int(seg.end_s * ASR_SAMPLE_RATE) + ASR_SAMPLE_RATE // 4
            lead_in = HESITATION_PROMPT if self.options.keep_hesitations else None
            plain, _ = self._decode(model, samples[start:end], lead_in, None)
            offset = start / ASR_SAMPLE_RATE
            logger.debug("hint not confirmed by the audio in %r; re-decoded", seg.text)
            out.extend(p.shifted(offset) for p in plain)
        return tuple(out)

    def _fill_gaps(
        self, model: Any, samples: Any, segments: tuple[Segment, ...]
    ) -> tuple[Segment, ...]:
        """Speech the decoder skipped is decoded again on its own.

        Silero VAD (bundled with faster-whisper) finds the stretches of speech; any stretch of
        at least ``_GAP_MIN_S`` inside them that no recognised word covers was dropped by the
        decoder (see ``TranscribeOptions.batch_size``) and is decoded alone, with only the
        hesitation lead-in as prompt. What comes back still goes through the hallucination
        check, so a cough that the VAD took for speech does not become words.
        """
        from faster_whisper.vad import VadOptions, get_speech_timestamps

        rate = ASR_SAMPLE_RATE
        covered = sorted(
            (w.start_s, w.end_s) for s in segments for w in (s.words or ()) if w.end_s > w.start_s
        )
        if not covered:
            covered = sorted((s.start_s, s.end_s) for s in segments)
        holes: list[tuple[float, float]] = []
        for region in get_speech_timestamps(samples, VadOptions()):
            start, end = region["start"] / rate, region["end"] / rate
            cursor = start
            for a, b in covered:
                if b <= cursor or a >= end:
                    continue
                if a - cursor >= _GAP_MIN_S:
                    holes.append((cursor, a))
                cursor = max(cursor, b)
            if end - cursor >= _GAP_MIN_S:
                holes.append((cursor, end))
        if not holes:
            return segments
        lead_in = HESITATION_PROMPT if self.options.keep_hesitations else None
        out = list(segments)
        for a, b in holes:
            first = max(0, int((a - 0.2) * rate))
            found, _ = self._decode(model, samples[first : int((b + 0.2) * rate)], lead_in, None)
            logger.debug("re-decoded %.1f-%.1f s that the decoder skipped", a, b)
            out.extend(f.shifted(first / rate) for f in found)
        return tuple(sorted(out, key=lambda s: s.start_s))

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
        decoded, info_language = self._decode(
            model, samples, prompt.initial_prompt, prompt.hotwords
        )
        if prompt.hotwords:
            decoded = self._confirm_hints(model, samples, decoded, prompt)
        if opts.vad_filter:
            decoded = self._fill_gaps(model, samples, decoded)
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
            language=info_language,
            model=self.resolved_model.name,
            options=effective,
            discarded=discarded,
        )
