"""The one follow-up question per answer, aimed at its biggest gap.

The way an Amazon interviewer digs: a behavioral answer missing a STAR part, told only with
"we", or ending without a number gets asked for exactly that; a technical answer gets asked
about its most important missing concept (the concept's ``follow_up`` in the bank). Phrasings
are content in ``prompts/followups.toml``.
"""

from __future__ import annotations

import tomllib
import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from voice_interview.content.banks import Question
from voice_interview.content.folders import data_folder
from voice_interview.scoring.result import Evaluation

__all__ = ["FollowUp", "choose_follow_up", "load_phrasings"]


@dataclass(frozen=True)
class FollowUp:
    text: str
    reason: str  # "star:result", "check:first-person-actions", "concept:<id>", "generic"


@lru_cache(maxsize=2)
def load_phrasings(path: Path | None = None) -> dict[str, Any]:
    file = path or data_folder("prompts") / "followups.toml"
    return tomllib.loads(file.read_text(encoding="utf-8"))


def _pick(options: list[str] | str, key: str) -> str:
    """A phrasing chosen by a stable hash, so the same gap on the same question reads the same."""
    if isinstance(options, str):
        return options
    return options[zlib.crc32(key.encode()) % len(options)]


def choose_follow_up(
    evaluation: Evaluation, question: Question, phrasings: dict[str, Any] | None = None
) -> FollowUp | None:
    """The follow-up for this answer, or None for an off-topic one (it needs a new start)."""
    if evaluation.band == "off-topic":
        return None
    p = phrasings or load_phrasings()
    key = question.id
    if evaluation.star is not None:
        star = evaluation.star
        checks = {c.id: c.passed for c in evaluation.star_checks or ()}
        order: list[tuple[bool, str, str, str]] = [
            (not checks.get("specific-situation", True), "star", "situation", "star:situation"),
            (not star["action"].present, "star", "action", "star:action"),
            (
                not checks.get("first-person-actions", True),
                "checks",
                "first-person-actions",
                "check:first-person-actions",
            ),
            (not star["result"].present, "star", "result", "star:result"),
            (
                not checks.get("quantified-result", True),
                "checks",
                "quantified-result",
                "check:quantified-result",
            ),
            (not star["task"].present, "star", "task", "star:task"),
            (not checks.get("learning", True), "checks", "learning", "check:learning"),
        ]
        for gap, table, item, reason in order:
            if gap:
                return FollowUp(_pick(p[table][item], key), reason)
        return FollowUp(_pick(p["generic"]["behavioral"], key), "generic")

    by_id = {c.id: c for c in question.concepts}
    results = list(evaluation.concepts or ())
    rank = {"missing": 0, "partial": 1}
    gaps = sorted(
        (r for r in results if r.status in rank and r.id in by_id),
        key=lambda r: (not r.required, rank[r.status], -r.weight),
    )
    for r in gaps:
        concept = by_id[r.id]
        if concept.follow_up:
            return FollowUp(concept.follow_up, f"concept:{r.id}")
    return FollowUp(_pick(p["generic"]["technical"], key), "generic")
