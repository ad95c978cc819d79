"""Does the answer so far read as finished? The content half of the turn-taking decision.

The endpointer (``core/endpointing.py``) ends an answer quickly when the transcript so far
reads as a finished answer, and lets the interviewer speak soon after only when nothing puts
that in doubt. This module decides both from what the recogniser and the evaluator already
know about the partial answer: a sentence the recogniser left without its full stop (or ended
on "..."), one that stops on "and" or "the", a behavioral story with no action or result yet,
a technical answer far shorter than any real one; an unsure last word, or a technical answer
just above the shortest, or one that has not touched any of its trade-offs yet, is a doubt;
and a closing phrase ("that's my answer") says the candidate is done. The rules are data
(``prompts/turn_taking.toml``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from voice_interview.content.folders import data_folder
from voice_interview.scoring.result import STAR_PARTS, Evaluation

__all__ = ["Completeness", "CompletenessRules", "assess_completeness", "load_turn_taking"]

_WORD = re.compile(r"[a-z0-9']+")
_ELLIPSIS = ("...", "\u2026")
_CLOSING = "\"')]\u201d\u2019"  # a quote or bracket closing after the full stop


@dataclass(frozen=True)
class CompletenessRules:
    """What makes an answer read as unfinished (see ``prompts/turn_taking.toml``)."""

    final_punctuation: tuple[str, ...]
    trailing_words: frozenset[str]
    behavioral_needs: tuple[str, ...]
    technical_min_words: int
    min_last_word_probability: float
    technical_sure_words: int
    technical_needs_tradeoff: bool
    closing_phrases: tuple[tuple[str, ...], ...]
    nudges: tuple[str, ...]


@dataclass(frozen=True)
class Completeness:
    """The verdict on a partial answer.

    Attributes:
        finished: reads as a finished answer.
        sure: nothing puts the verdict in doubt: the recogniser was sure of the last word and
            a technical answer is not just above the shortest, nor without any trade-off
            (see ``[doubt]`` in the rules).
        done: the answer ends on a closing phrase ("that's my answer", ``[done]`` in the
            rules): the candidate says they are finished, whatever the rest reads like.
        reasons: why not, e.g. ``("unpunctuated",)``, ``("ellipsis",)``,
            ``("trailing:and",)``, ``("star:result",)``, ``("short:12<30",)``; empty when
            finished.
    """

    finished: bool
    reasons: tuple[str, ...] = ()
    sure: bool = True
    done: bool = False


@lru_cache(maxsize=4)
def load_turn_taking(path: Path | None = None) -> CompletenessRules:
    """The rules from ``prompts/turn_taking.toml`` (or ``path``)."""
    file = path or data_folder("prompts") / "turn_taking.toml"
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
        unfinished = raw["unfinished"]
        needs = tuple(str(p) for p in unfinished["behavioral_needs"])
        unknown = [p for p in needs if p not in STAR_PARTS]
        if unknown:
            raise ValueError(f"behavioral_needs: unknown STAR parts {unknown}")
        punctuation = tuple(str(p) for p in unfinished["final_punctuation"])
        if not punctuation or not all(punctuation):
            raise ValueError("final_punctuation: list at least one mark, none empty")
        rules = CompletenessRules(
            final_punctuation=punctuation,
            trailing_words=frozenset(str(w).lower() for w in unfinished["trailing_words"]),
            behavioral_needs=needs,
            technical_min_words=int(unfinished["technical_min_words"]),
            min_last_word_probability=float(raw["doubt"]["min_last_word_probability"]),
            technical_sure_words=int(raw["doubt"]["technical_words"]),
            technical_needs_tradeoff=bool(raw["doubt"]["technical_needs_tradeoff"]),
            closing_phrases=tuple(
                tuple(_WORD.findall(_plain(str(p)))) for p in raw["done"]["phrases"]
            ),
            nudges=tuple(str(t) for t in raw["nudge"]["texts"]),
        )
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{file}: invalid turn-taking rules ({exc})") from exc
    if not 0 <= rules.min_last_word_probability <= 1:
        raise ValueError(f"{file}: [doubt] min_last_word_probability must be in [0, 1]")
    if not all(rules.closing_phrases):
        raise ValueError(f"{file}: [done] phrases must each have a word")
    if not rules.nudges:
        raise ValueError(f"{file}: [nudge] texts needs at least one phrase")
    return rules


def _plain(text: str) -> str:
    """Lower case with typographic apostrophes made plain, for word matching."""
    return text.lower().replace("\u2019", "'")


def assess_completeness(
    evaluation: Evaluation, rules: CompletenessRules | None = None
) -> Completeness:
    """Whether the answer scored in ``evaluation`` (a partial transcript) reads as finished."""
    rules = rules or load_turn_taking()
    text = evaluation.transcript.text.strip().rstrip(_CLOSING)
    words = _WORD.findall(_plain(text))
    reasons: list[str] = []
    if not words:
        return Completeness(False, ("empty",))
    if any(tuple(words[-len(p) :]) == p for p in rules.closing_phrases):
        return Completeness(True, (), True, done=True)
    if text.endswith(_ELLIPSIS):
        reasons.append("ellipsis")
    elif not text.endswith(rules.final_punctuation):
        reasons.append("unpunctuated")
    if words[-1] in rules.trailing_words:
        reasons.append(f"trailing:{words[-1]}")
    if evaluation.kind == "behavioral":
        star = evaluation.star or {}
        reasons += [
            f"star:{part}"
            for part in rules.behavioral_needs
            if part not in star or not star[part].present
        ]
    elif len(words) < rules.technical_min_words:
        reasons.append(f"short:{len(words)}<{rules.technical_min_words}")
    timed = evaluation.transcript.words
    sure = not timed or timed[-1].probability >= rules.min_last_word_probability
    if evaluation.kind != "behavioral" and len(words) < rules.technical_sure_words:
        sure = False
    tradeoffs = [c for c in evaluation.concepts or () if c.tradeoff]
    if rules.technical_needs_tradeoff and tradeoffs:
        sure = sure and any(c.status == "covered" for c in tradeoffs)
    return Completeness(not reasons, tuple(reasons), sure)
