"""STAR structure of behavioral answers: situation, task, action, result.

Every sentence is labeled situation / task / action / result / other from cue phrases, its
similarity in meaning to prototype sentences, and its position in the answer (the content lives
in ``prompts/scoring/star.toml``). Each part then gets presence, a 0-100 score, a verbatim
evidence quote with its time range, and a tip. On top, the checks Amazon interviewers make: a
specific past situation rather than "I always...", actions in the first person, a result with
numbers, and a learning.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from voice_interview.content.folders import data_folder
from voice_interview.scoring.result import STAR_PARTS, StarCheck, StarComponent
from voice_interview.scoring.semantic import Embedder, cosine_matrix
from voice_interview.scoring.sentences import TimedSentence
from voice_interview.scoring.tips import load_tips

__all__ = ["StarAssessment", "StarLexicon", "assess_star", "load_star_lexicon"]


@dataclass(frozen=True)
class StarScoring:
    """The numbers of the STAR score; each is explained in ``prompts/scoring/star.toml``
    ``[score]``."""

    situation: float
    situation_cue: float
    task: float
    task_cue: float
    action: float
    action_first_person: float
    action_per_sentence: float
    result: float
    result_number: float
    tip_below: float
    parts_points: float
    learning_points: float
    numbers_points: float
    numbers_full: float
    hypothetical_share: float
    hypothetical_factor: float
    first_person_share: float
    team_story_factor: float
    result_number_cue: float
    result_learning_cue: float


@dataclass(frozen=True)
class StarLexicon:
    cues: dict[str, tuple[re.Pattern[str], ...]]
    prototypes: dict[str, tuple[str, ...]]
    weights: dict[str, float]
    cue_weights: dict[str, float]
    min_label_score: float
    prototype_weight: float
    position_weight: float
    we_action_weight: float
    min_told_actions: int
    score: StarScoring

    def count(self, kind: str, text: str) -> int:
        return sum(1 for p in self.cues[kind] if p.search(text))


@lru_cache(maxsize=4)
def load_star_lexicon(path: Path | None = None) -> StarLexicon:
    file = path or data_folder("prompts") / "scoring" / "star.toml"
    raw = tomllib.loads(file.read_text(encoding="utf-8"))
    return StarLexicon(
        cues={k: tuple(re.compile(p) for p in v) for k, v in raw["cues"].items()},
        prototypes={k: tuple(v) for k, v in raw["prototypes"].items()},
        weights={k: float(v) for k, v in raw["weights"].items()},
        cue_weights={k: float(v) for k, v in raw["cue_weights"].items()},
        min_label_score=float(raw["min_label_score"]),
        prototype_weight=float(raw["prototype_weight"]),
        position_weight=float(raw["position_weight"]),
        we_action_weight=float(raw["we_action_weight"]),
        min_told_actions=int(raw["min_told_actions"]),
        score=StarScoring(**{k: float(v) for k, v in raw["score"].items()}),
    )


@dataclass(frozen=True)
class LabeledSentence:
    sentence: TimedSentence
    label: str  # a STAR part or "other"
    scores: dict[str, float]
    i_actions: int
    we_actions: int
    hypothetical: bool
    has_number: bool
    learning: bool


@dataclass(frozen=True)
class StarAssessment:
    components: dict[str, StarComponent]
    checks: tuple[StarCheck, ...]
    sentences: tuple[LabeledSentence, ...]
    score: int
    tips: tuple[str, ...] = field(default=())
    i_share: float | None = None  # share of "I" among the "I" and "we" actions; None: none
    hypothetical: bool = False  # "I always..." / "I would...": no story told
    numbers: int = 0  # sentences with a number in them


def _label(
    sentences: list[TimedSentence], lex: StarLexicon, embedder: Embedder
) -> list[LabeledSentence]:
    if not sentences:
        return []
    texts = [s.text for s in sentences]
    proto_texts = [t for part in STAR_PARTS for t in lex.prototypes.get(part, ())]
    sims = cosine_matrix(embedder.embed(texts), embedder.embed(proto_texts))
    columns: dict[str, list[int]] = {}
    offset = 0
    for part in STAR_PARTS:
        n = len(lex.prototypes.get(part, ()))
        columns[part] = list(range(offset, offset + n))
        offset += n
    out = []
    last = max(1, len(sentences) - 1)
    for i, s in enumerate(sentences):
        norm = s.normalized
        position = i / last
        i_actions = lex.count("action", norm)
        we_actions = lex.count("we_action", norm)
        hypothetical = lex.count("hypothetical", norm) > 0
        has_number = lex.count("number", norm) > 0
        learning = lex.count("learning", norm) > 0
        scores: dict[str, float] = {}
        for part in STAR_PARTS:
            cue = float(min(2, lex.count(part, norm)))
            if part == "action":
                cue = float(min(2, i_actions + lex.we_action_weight * we_actions))
            if part == "result":
                cue += lex.score.result_number_cue * has_number
                cue += lex.score.result_learning_cue * learning
            cue *= lex.cue_weights.get(part, 1.0)
            proto = float(np.max(sims[i, columns[part]])) if columns[part] else 0.0
            prior = {"situation": 1 - position, "result": position}.get(part, 0.0)
            scores[part] = (
                cue + lex.prototype_weight * max(0.0, proto) + lex.position_weight * prior
            )
        if hypothetical and not lex.count("situation", norm) and not learning:
            # "I always..." / "I would..." describes a habit or a plan, not something that
            # happened; unless it is the habit the story taught ("since then, whenever I ...")
            scores = {part: 0.0 for part in STAR_PARTS}
        best = max(STAR_PARTS, key=lambda p: scores[p])
        label = best if scores[best] >= lex.min_label_score else "other"
        out.append(
            LabeledSentence(
                s, label, scores, i_actions, we_actions, hypothetical, has_number, learning
            )
        )
    return _promote_missing(out, lex)


def _promote_missing(labeled: list[LabeledSentence], lex: StarLexicon) -> list[LabeledSentence]:
    """A story's task is usually one sentence that also reads as an action ("I decided to own
    it"); when no sentence won the task label, the one with the highest task score takes it,
    provided it has an explicit task cue. Likewise the situation, from the first third of the
    answer, when it has a situation cue; the result, from the last third, when it has a result
    cue ("... and we stopped needing the restarts" also reads as a "we" action); and the
    action, when a story with an "I did" sentence had none labeled (a close call against the
    situation, on a misheard word). A sentence moves only from a part that keeps another."""
    out = list(labeled)
    n = len(out)
    regions = (
        ("action", 0, n),
        ("result", n - max(1, n // 3), n),
        ("task", 0, n),
        ("situation", 0, max(1, n // 3)),
    )
    for part, start, end in regions:
        if any(x.label == part for x in out):
            continue
        candidates = [
            i
            for i in range(start, end)
            if lex.count(part, out[i].sentence.normalized)
            and sum(y.label == out[i].label for y in out) > 1
        ]
        if candidates:
            best = max(candidates, key=lambda i: out[i].scores[part])
            out[best] = replace(out[best], label=part)
    return out


def _quote(items: list[LabeledSentence], part: str) -> LabeledSentence | None:
    chosen = [x for x in items if x.label == part]
    return max(chosen, key=lambda x: x.scores[part]) if chosen else None


def assess_star(
    sentences: list[TimedSentence], embedder: Embedder, lexicon: StarLexicon | None = None
) -> StarAssessment:
    """Label the sentences and score each STAR part and check."""
    lex = lexicon or load_star_lexicon()
    labeled = _label(sentences, lex, embedder)
    by_part = {p: [x for x in labeled if x.label == p] for p in STAR_PARTS}

    i_total = sum(x.i_actions for x in labeled)
    we_total = sum(x.we_actions for x in labeled)
    i_share = i_total / (i_total + we_total) if i_total + we_total else 0.0
    hypothetical_share = sum(x.hypothetical for x in labeled) / max(1, len(labeled))
    result_numbers = any(x.has_number for x in by_part["result"])
    learning = next((x for x in labeled if x.learning), None)

    rule = lex.score
    cued = {
        part: any(lex.count(part, x.sentence.normalized) for x in by_part[part])
        for part in ("situation", "task")
    }
    actions = rule.action + rule.action_first_person * i_share
    actions += rule.action_per_sentence * (len(by_part["action"]) - 1)
    scores = {
        "situation": rule.situation + rule.situation_cue * cued["situation"],
        "task": rule.task + rule.task_cue * cued["task"],
        "action": min(100, round(actions)),
        "result": rule.result + rule.result_number * result_numbers,
    }
    texts = load_tips()["star"]
    tips = {part: texts[part] for part in STAR_PARTS}
    team_story = i_share < rule.first_person_share
    if team_story:
        tips["action"] = texts["action_we"]
    if by_part["result"] and not result_numbers:
        tips["result"] = texts["result_number"]

    # A story told in the past with one "I'd" in it ("I told their lead I'd take it") is
    # still a story: without a situation, past actions in enough sentences outweigh the "I'd".
    told = sum(1 for x in labeled if not x.hypothetical and (x.i_actions or x.we_actions))
    hypothetical = hypothetical_share >= rule.hypothetical_share or (
        hypothetical_share > 0
        and not any(x.label == "situation" for x in labeled)
        and told < lex.min_told_actions
    )
    if hypothetical:
        # "I always..." / "I'd..." answers tell no story: nothing happened, so no STAR part is
        # there, however action-like the sentences sound.
        labeled = [x if x.label == "other" else replace(x, label="other") for x in labeled]
        tips["situation"] = texts["situation_hypothetical"]
    components: dict[str, StarComponent] = {}
    for part in STAR_PARTS:
        best = _quote(labeled, part)
        present = best is not None
        score = int(scores[part]) if present else 0
        components[part] = StarComponent(
            present=present,
            score=score,
            evidence=best.sentence.text if best else None,
            start_s=best.sentence.start_s if best else None,
            end_s=best.sentence.end_s if best else None,
            tip=None if present and score >= rule.tip_below else tips[part],
        )

    first_habit = next((x for x in labeled if x.hypothetical), None)
    first_we = next((x for x in labeled if x.we_actions and not x.i_actions), None)
    number_quote = next((x for x in by_part["result"] if x.has_number), None)
    checks = (
        StarCheck(
            id="specific-situation",
            passed=components["situation"].present and not hypothetical,
            detail="a specific past situation"
            if components["situation"].present and not hypothetical
            else "describes habits or hypotheticals, not one real situation",
            evidence=(first_habit.sentence.text if hypothetical and first_habit else None),
        ),
        StarCheck(
            id="first-person-actions",
            passed=i_total > 0 and not team_story,
            detail=f'"I" actions {i_total}, "we" actions {we_total}',
            evidence=first_we.sentence.text if first_we and team_story else None,
        ),
        StarCheck(
            id="quantified-result",
            passed=number_quote is not None,
            detail="result with numbers" if number_quote else "no number in the result",
            evidence=number_quote.sentence.text if number_quote else None,
        ),
        StarCheck(
            id="learning",
            passed=learning is not None,
            detail="states what was learned" if learning else "no learning or reflection",
            evidence=learning.sentence.text if learning else None,
        ),
    )

    # The STAR parts, a learning, and concrete numbers in the story (star.toml [score]).
    numbers = sum(x.has_number for x in labeled)
    parts = sum(lex.weights[p] * components[p].score for p in STAR_PARTS)
    content = rule.parts_points / 100 * parts + rule.learning_points * (learning is not None)
    content += rule.numbers_points * min(1.0, numbers / rule.numbers_full)
    if hypothetical:
        content *= rule.hypothetical_factor
    if we_total and team_story:  # the team's story, not the candidate's
        content *= rule.team_story_factor
    return StarAssessment(
        components=components,
        checks=checks,
        sentences=tuple(labeled),
        score=round(min(100.0, content)),
        i_share=i_share if i_total + we_total else None,
        hypothetical=hypothetical,
        numbers=numbers,
    )
