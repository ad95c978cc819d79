"""A deliberately small first evaluator: vocabulary coverage plus basic delivery figures.

It exists so that the answer pipeline runs end to end; issue 3 replaces it with STAR structure,
rubric concept coverage and full delivery metrics behind the same :class:`Evaluator` interface.
It never claims more than it measures: behavioral answers get no STAR breakdown here.
"""

from __future__ import annotations

import re

from voice_interview.bank import Question, QuestionKind
from voice_interview.core.text import normalize_text
from voice_interview.core.transcript import Transcript
from voice_interview.scoring.result import ConceptResult, Evaluation, EvaluatorInfo

__all__ = ["BaselineEvaluator"]

_FILLERS = ("um", "uh", "er", "erm", "hmm", "umm", "uhm")


def _band(overall: int) -> str:
    if overall >= 80:
        return "strong"
    if overall >= 60:
        return "solid"
    return "needs work"


class BaselineEvaluator:
    name = "baseline"
    version = "0.1"

    def evaluate(self, transcript: Transcript, question: Question) -> Evaluation:
        norm = f" {normalize_text(transcript.text)} "
        words = norm.split()
        minutes = transcript.duration_s / 60 if transcript.duration_s > 0 else 0.0
        fillers = sum(1 for w in words if w in _FILLERS)
        delivery = {
            "duration_s": round(transcript.duration_s, 2),
            "word_count": len(words),
            "words_per_minute": round(len(words) / minutes, 1) if minutes else None,
            "filler_count": fillers,
        }
        behavioral = question.kind is QuestionKind.BEHAVIORAL
        concepts: tuple[ConceptResult, ...] | None = None
        tips: list[str] = []
        if behavioral:
            first_person = len(re.findall(r"\bi\b", norm))
            has_number = bool(re.search(r"\d|percent", norm))
            overall = min(100, 20 + 2 * min(first_person, 15) + (20 if has_number else 0))
            if not has_number:
                tips.append("Give the result in numbers: time saved, errors cut, users helped.")
        else:
            found = []
            for term in question.vocabulary:
                key = normalize_text(term)
                found.append(
                    ConceptResult(
                        id=key.replace(" ", "-"),
                        label=term,
                        status="covered" if key and f" {key} " in norm else "missing",
                    )
                )
            concepts = tuple(found)
            covered = sum(c.status == "covered" for c in found)
            overall = round(100 * min(1.0, covered / max(1, min(6, len(found)))))
            missing = [c.label for c in found if c.status == "missing"][:3]
            if missing:
                tips.append(f"Consider covering: {', '.join(missing)}.")
        return Evaluation(
            question_id=question.id,
            kind="behavioral" if behavioral else "technical",
            overall=int(overall),
            band=_band(int(overall)),
            concepts=concepts,
            delivery=delivery,
            tips=tuple(tips),
            evaluator=EvaluatorInfo(name=self.name, version=self.version),
            transcript=transcript,
        )
