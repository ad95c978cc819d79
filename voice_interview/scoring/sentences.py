"""Sentences of a transcript with their time ranges, for evidence quotes.

Sentence text is copied verbatim from the transcript (so a quote is always a substring of it);
the time range comes from the word timestamps when the transcript has them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from voice_interview.core.text import normalize_text
from voice_interview.core.transcript import Transcript

__all__ = ["TimedSentence", "timed_sentences"]

# Split after . ! ? (Whisper punctuates), and before a clause-opening "and then"/"so then" chain
# only when a sentence runs past _MAX_WORDS: spoken answers are often one long run-on.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_CLAUSE_BREAK = re.compile(
    r",?\s+(?=(?:and then|and so|so then|but then|after that|then I)\b)", re.I
)
_MAX_WORDS = 40


@dataclass(frozen=True)
class TimedSentence:
    index: int
    text: str
    start_s: float | None
    end_s: float | None

    @property
    def normalized(self) -> str:
        return normalize_text(self.text)

    @property
    def word_count(self) -> int:
        return len(self.text.split())


def _split(text: str) -> list[str]:
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = sentence.strip()
        if not sentence:
            continue
        if len(sentence.split()) > _MAX_WORDS:
            out.extend(p.strip() for p in _CLAUSE_BREAK.split(sentence) if p.strip())
        else:
            out.append(sentence)
    return out


def timed_sentences(transcript: Transcript) -> list[TimedSentence]:
    """Split the transcript into sentences and give each the time range of its words."""
    parts = _split(transcript.text)
    words = transcript.words
    tokens = sum(len(p.split()) for p in parts)
    # Words and text come from the same segments, so their token counts agree; if they do not
    # (a hand-made transcript), times are left out rather than guessed.
    timed = bool(words) and len(words) == tokens
    out: list[TimedSentence] = []
    cursor = 0
    for i, part in enumerate(parts):
        n = len(part.split())
        if timed:
            span = words[cursor : cursor + n]
            out.append(TimedSentence(i, part, span[0].start_s, span[-1].end_s))
        else:
            out.append(TimedSentence(i, part, None, None))
        cursor += n
    return out
