"""Text normalisation shared by scoring, tests and benchmarks."""

from __future__ import annotations

import re
import unicodedata

__all__ = ["normalize_text", "split_sentences"]

_PUNCT = re.compile(r"[^\w\s']+")
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def normalize_text(text: str) -> str:
    """Lower-case, strip accents and punctuation (keeping apostrophes), collapse spaces.

    Hyphens become spaces ("real-time" -> "real time") so hyphenation choices of the recogniser
    don't count as word errors.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.lower().replace("-", " ").replace("’", "'")
    text = _PUNCT.sub(" ", text)
    text = text.replace(" '", " ").replace("' ", " ")
    return _SPACES.sub(" ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Split on sentence-final punctuation; good enough for recogniser output and questions."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]
