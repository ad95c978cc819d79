"""Dropping segments the recogniser invented.

Whisper sometimes appends a sign-off ("Thank you very much.", "see you in the next video") in the
silence after the last word, especially when prompted with conversational text. Such segments
have a recognisable shape: word timestamps squeezed to (almost) zero length, first words with
near-zero probability, and a low average log-probability. We score each word the way OpenAI
Whisper's ``hallucination_silence_threshold`` logic does (low probability, implausibly short or
long duration) and drop a segment only when its words look anomalous *and* the decoder itself
was unsure of it (``avg_logprob`` below a threshold, or a high ``no_speech_prob``), so a quickly
spoken real phrase survives.
"""

from __future__ import annotations

from collections.abc import Sequence

from voice_interview.core.transcript import Segment, Word

__all__ = ["is_hallucinated", "split_hallucinations", "word_anomaly"]

MAX_AVG_LOGPROB = -0.8
"""A segment is dropped only if the decoder's average log-probability is below this. Real speech
in our tests sits above -0.4; the invented sign-offs measured here sat between -1.0 and -1.5."""


def word_anomaly(word: Word) -> float:
    """How implausible a word's probability and duration are (0 = normal)."""
    duration = word.end_s - word.start_s
    score = 0.0
    if word.probability < 0.15:
        score += 1.0
    if duration < 0.133:
        score += (0.133 - duration) * 15
    if duration > 2.0:
        score += duration - 2.0
    return score


MIN_NO_SPEECH_PROB = 0.5
"""...or when Whisper itself thought the window held no speech. Real speech in our tests had
no_speech_prob around 0.001; an invented "PlayStation." after a question, 0.61-0.63 (with an
avg_logprob of -0.74 to -0.80, just above the other threshold)."""


def is_hallucinated(segment: Segment) -> bool:
    if not segment.words or segment.avg_logprob is None:
        return False
    unsure = segment.avg_logprob < MAX_AVG_LOGPROB or (
        segment.no_speech_prob is not None and segment.no_speech_prob >= MIN_NO_SPEECH_PROB
    )
    if not unsure:
        return False
    words = segment.words[:8]
    score = sum(word_anomaly(w) for w in words)
    return score >= 3.0 or score + 0.01 >= len(words)


def split_hallucinations(
    segments: Sequence[Segment],
) -> tuple[tuple[Segment, ...], tuple[Segment, ...]]:
    """(kept, dropped) segments, in order."""
    flags = [is_hallucinated(s) for s in segments]
    kept = tuple(s for s, bad in zip(segments, flags, strict=True) if not bad)
    dropped = tuple(s for s, bad in zip(segments, flags, strict=True) if bad)
    return kept, dropped
