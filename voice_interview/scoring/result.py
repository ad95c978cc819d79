"""The evaluation result: the JSON contract every scorer returns (documented in README)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from voice_interview.core.transcript import Transcript

__all__ = ["ConceptResult", "Evaluation", "EvaluatorInfo"]


class EvaluatorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    version: str


class ConceptResult(BaseModel):
    model_config = ConfigDict(frozen=True)
    id: str
    label: str
    status: Literal["covered", "partial", "missing"]
    evidence: str | None = None


class Evaluation(BaseModel):
    """One scored answer. ``to_json_dict`` is the stable ``--json`` contract."""

    model_config = ConfigDict(frozen=True)

    question_id: str
    kind: Literal["technical", "behavioral"]
    overall: int = Field(ge=0, le=100)
    band: str
    star: dict[str, Any] | None = None
    concepts: tuple[ConceptResult, ...] | None = None
    delivery: dict[str, Any] = Field(default_factory=dict)
    tips: tuple[str, ...] = ()
    evaluator: EvaluatorInfo
    transcript: Transcript

    def to_json_dict(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "kind": self.kind,
            "overall": self.overall,
            "band": self.band,
            "star": self.star,
            "concepts": None if self.concepts is None else [c.model_dump() for c in self.concepts],
            "delivery": self.delivery,
            "tips": list(self.tips),
            "evaluator": self.evaluator.model_dump(),
            "transcript": self.transcript.to_json_dict(),
        }
