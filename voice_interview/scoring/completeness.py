"""Does the answer so far read as finished? The content half of the turn-taking decision.

The endpointer (``core/endpointing.py``) ends an answer quickly only when the turn model hears
a finished turn *and* the transcript so far reads as a finished answer. This module decides the
second from what the evaluator already knows about the partial answer: a sentence that stops
on "and" or "the", a behavioral story with no action or result yet, a technical answer far
shorter than any real one. The rules are data (``prompts/turn_taking.toml``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from voice_interview.resources import data_folder
from voice_interview.scoring.result import STAR_PARTS, Evaluation

__all__ = ["Completeness", "CompletenessRules", "assess_completeness", "load_turn_taking"]

_WORD = re.compile(r"[a-z']+")


@dataclass(frozen=True)
class CompletenessRules:
    """What makes an answer read as unfinished (see ``prompts/turn_taking.toml``)."""

    trailing_words: frozenset[str]
    behavioral_needs: tuple[str, ...]
    technical_min_words: int
    nudges: tuple[str, ...]


@dataclass(frozen=True)
class Completeness:
    """The verdict on a partial answer.

    Attributes:
        finished: reads as a finished answer.
        reasons: why not, e.g. ``("trailing:and",)``, ``("star:result",)``,
            ``("short:12<30",)``; empty when finished.
    """

    finished: bool
    reasons: tuple[str, ...] = ()


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
        rules = CompletenessRules(
            trailing_words=frozenset(str(w).lower() for w in unfinished["trailing_words"]),
            behavioral_needs=needs,
            technical_min_words=int(unfinished["technical_min_words"]),
            nudges=tuple(str(t) for t in raw["nudge"]["texts"]),
        )
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{file}: invalid turn-taking rules ({exc})") from exc
    if not rules.nudges:
        raise ValueError(f"{file}: [nudge] texts needs at least one phrase")
    return rules


def assess_completeness(
    evaluation: Evaluation, rules: CompletenessRules | None = None
) -> Completeness:
    """Whether the answer scored in ``evaluation`` (a partial transcript) reads as finished."""
    rules = rules or load_turn_taking()
    words = _WORD.findall(evaluation.transcript.text.lower())
    reasons: list[str] = []
    if not words:
        return Completeness(False, ("empty",))
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
    return Completeness(not reasons, tuple(reasons))
