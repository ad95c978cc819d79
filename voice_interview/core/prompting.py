"""Prompts that steer the speech recogniser (pure text, no model).

Two separate hints, because faster-whisper treats them differently:

* ``initial_prompt`` conditions the first 30 s window (and later ones while
  ``condition_on_previous_text`` holds). We put a short, disfluent lead-in there: Whisper writes
  text in the style of its prompt, and with a clean prompt it silently drops "um" and "uh",
  which the delivery metrics need to count. The interviewer's question follows it, so the
  recogniser knows the topic.
* ``hotwords`` is re-sent with *every* window, so the domain vocabulary of the question keeps
  helping on a 3-minute answer ("connection pooling", not "connection booling").

Both are hints for spelling and style; neither makes Whisper write a word the candidate did not
say (tests/test_transcribe.py checks an answer that never names a prompted term).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HESITATION_PROMPT", "RecognizerPrompt", "build_prompt"]

HESITATION_PROMPT = "Um, uh, hmm."
"""Disfluent lead-in that keeps Whisper from cleaning up fillers; kept short, because a chatty
one made tiny.en invent sign-offs after the last word (docs/transcription.md)."""

_MAX_HOTWORD_CHARS = 300  # faster-whisper truncates hotwords at half the 448-token context


@dataclass(frozen=True)
class RecognizerPrompt:
    initial_prompt: str | None
    hotwords: str | None


def build_prompt(
    question_text: str | None,
    vocabulary: tuple[str, ...] | list[str] = (),
    *,
    keep_hesitations: bool = True,
    domain_prompt: bool = True,
) -> RecognizerPrompt:
    """Build the recogniser hints for an answer to ``question_text``."""
    parts: list[str] = []
    if domain_prompt and question_text:
        parts.append(question_text.strip())
    if keep_hesitations:
        parts.append(HESITATION_PROMPT)
    hotwords = None
    if domain_prompt and vocabulary:
        terms: list[str] = []
        for term in vocabulary:
            if len(", ".join([*terms, term])) > _MAX_HOTWORD_CHARS:
                break
            terms.append(term)
        hotwords = ", ".join(terms) + "."
    return RecognizerPrompt(initial_prompt=" ".join(parts) or None, hotwords=hotwords)
