"""The calibrated score: from the evaluator's sub-scores to the grade an interviewer would give.

The overall score estimates the DEVSET.md grade (0 no signal, 1 weak, 2 solid, 3 strong). A
proportional-odds (ordinal logistic) model per answer kind turns the sub-scores ("features":
rubric coverage, required concepts, misconceptions, list share, STAR parts and checks, focus,
length) into the probability of each grade; the expected grade is mapped onto 0-100 by the
fixed scale below, so the band thresholds sit half-way between grades. The model is data,
``prompts/scoring/calibration.toml``, fitted on the labeled sets by ``tools/fit_calibration.py``
(never hand-edited).

The points an answer lost are itemised (``deductions``): each feature's share of the gap
between the answer and an ideal answer of its kind (exact Shapley values of the model, which
add up to ``100 - overall``; the model is monotone, so none is negative).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from voice_interview.content.folders import data_folder
from voice_interview.scoring.result import ConceptResult, StarCheck, StarComponent

__all__ = [
    "SCALE",
    "Calibration",
    "Cap",
    "GradeCap",
    "behavioral_features",
    "cap_for_grade",
    "grade_caps",
    "load_calibration",
    "overall_for",
    "rubric_caps",
    "technical_features",
]

# Expected grade -> overall. 30, 55 and 75 are the lowest "needs work", "solid" and "strong"
# scores, half-way between grades; the ideal answer of its kind scores 100 (see Calibration).
SCALE = ((0.0, 0.0), (0.5, 30.0), (1.5, 55.0), (2.5, 75.0))


# A cap as Calibration.overall takes it: an answer whose features are all below ``below``
# scores at most ``limit``.
Cap = tuple[tuple[str, ...], float, float]


def overall_for(expected: np.ndarray | float, top: float) -> np.ndarray:
    """Overall 0-100 for expected grades; ``top`` is the expected grade that earns 100."""
    xs = [x for x, _ in SCALE] + [max(top, SCALE[-1][0] + 1e-6)]
    ys = [y for _, y in SCALE] + [100.0]
    return np.asarray(np.interp(expected, xs, ys), dtype=float)


def technical_features(
    results: tuple[ConceptResult, ...],
    misconceptions: int,
    list_share: float,
    words: int,
) -> dict[str, float]:
    """Sub-scores of a technical or system-design answer, each in [0, 1] (1 = best)."""

    def share(items: list[ConceptResult]) -> float:
        total = sum(r.weight for r in items)
        return sum(r.weight * r.credit for r in items) / total if total else 1.0

    return {
        "required": share([r for r in results if r.required]),
        "tradeoffs": share([r for r in results if r.tradeoff and not r.required]),
        "depth": share([r for r in results if not r.required and not r.tradeoff]),
        "no_misconception": 0.0 if misconceptions else 1.0,
        "explained": 1.0 - list_share,
        "length": min(1.0, words / 150),
    }


def behavioral_features(
    parts: dict[str, StarComponent],
    checks: tuple[StarCheck, ...],
    i_share: float | None,
    hypothetical: bool,
    focus: tuple[ConceptResult, ...],
    words: int,
) -> dict[str, float]:
    """Sub-scores of a behavioral answer, each in [0, 1] (1 = best)."""
    passed = {c.id: c.passed for c in checks}
    essential = [r for r in focus if r.required] or list(focus)
    focus_share = max(r.credit for r in essential) if essential else 1.0
    return {
        "situation": float(parts["situation"].present),
        "task": float(parts["task"].present),
        "action": float(parts["action"].present),
        "result": float(parts["result"].present),
        "first_person": 1.0 if i_share is None else i_share,
        "quantified": float(passed.get("quantified-result", False)),
        "learning": float(passed.get("learning", False)),
        "real_story": 0.0 if hypothetical else 1.0,
        "focus": focus_share,
        "length": min(1.0, words / 200),
    }


@dataclass(frozen=True)
class GradeCap:
    """A rubric rule the additive model cannot express: an answer whose ``features`` are all
    below ``below`` gets at most ``grade`` (tests/data/DEVSET.md: a misconception makes an
    answer weak, a bare list of terms, a hypothetical or an answer that touches none of the
    rubric gives no signal, a "we"-only story is weak)."""

    kind: str
    features: tuple[str, ...]
    below: float
    grade: int

    def applies(self, kind: str, values: dict[str, float]) -> bool:
        return kind == self.kind and all(values.get(f, 1.0) < self.below for f in self.features)


def grade_caps(rules: dict[str, Any]) -> tuple[GradeCap, ...]:
    """The ``[[caps]]`` of ``prompts/scoring/deductions.toml`` (``feature``: one name, or a
    list of names that must all be below ``below``)."""

    def names(value: str | list[str]) -> tuple[str, ...]:
        return tuple(map(str, value)) if isinstance(value, list) else (str(value),)

    return tuple(
        GradeCap(str(c["kind"]), names(c["feature"]), float(c["below"]), int(c["grade"]))
        for c in rules.get("caps", ())
    )


def cap_for_grade(grade: int) -> float:
    """The highest overall of a band whose grade is at most ``grade``: 29, 54, 74 or 100."""
    lows = [y for _, y in SCALE[1:]] + [101.0]
    return lows[grade] - 1.0


def rubric_caps(
    kind: str, values: dict[str, float], rules: dict[str, Any], required_missing: bool
) -> list[Cap]:
    """The caps that apply to an answer, as ``Calibration.overall`` takes them: the
    ``[[caps]]`` of deductions.toml, and no "strong" technical answer with a required concept
    missing (its points go to the ``required`` feature)."""
    caps = [
        (rule.features, rule.below, cap_for_grade(rule.grade))
        for rule in grade_caps(rules)
        if rule.applies(kind, values)
    ]
    if required_missing:
        caps.append((("required",), 1.0, cap_for_grade(2)))
    return caps


@dataclass(frozen=True)
class Calibration:
    """One kind's fitted proportional-odds model (see the module docstring).

    ``P(grade <= k) = sigmoid(thresholds[k] - weights . x)``; every weight is >= 0 and every
    feature is 1 at its best, so more of any feature never lowers the score.
    """

    kind: str
    features: tuple[str, ...]
    weights: np.ndarray
    thresholds: np.ndarray  # 3 increasing cut points between grades 0|1, 1|2, 2|3

    @classmethod
    def neutral(cls, kind: str, features: tuple[str, ...]) -> Calibration:
        """Equal weights: for computing features before any fit (tools/fit_calibration.py)."""
        n = len(features)
        return cls(kind, features, np.ones(n), np.array([0.25, 0.5, 0.75]) * n)

    def check(self, values: dict[str, float]) -> None:
        if set(values) != set(self.features):
            raise ValueError(
                f"the {self.kind} calibration was fitted on the features "
                f"{', '.join(self.features)}, but the evaluator computes "
                f"{', '.join(values)}: re-fit it with `make calibrate`"
            )

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Grade probabilities (..., 4) for feature rows ``x`` (..., n_features)."""
        z = np.asarray(x, dtype=float) @ self.weights
        cum = 1.0 / (1.0 + np.exp(-(self.thresholds[None, :] - np.atleast_1d(z)[:, None])))
        cum = np.concatenate([cum, np.ones((cum.shape[0], 1))], axis=1)
        probs = np.diff(cum, axis=1, prepend=0.0)
        return probs.reshape(*np.shape(z), 4)

    def expected(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.probabilities(x) @ np.arange(4.0), dtype=float)

    @property
    def top(self) -> float:
        """The expected grade of an ideal answer (every feature at 1): it scores 100."""
        return float(self.expected(np.ones(len(self.features))))

    def expected_grade(self, values: dict[str, float]) -> float:
        return float(self.expected(np.array([values[f] for f in self.features])))

    def overall(self, values: dict[str, float], caps: Sequence[Cap] = ()) -> float:
        """Overall 0-100 of an answer, after ``caps`` (see ``Cap``)."""
        x = np.array([[values[f] for f in self.features]])
        return float(self._capped(x, caps)[0])

    def _capped(self, rows: np.ndarray, caps: Sequence[Cap]) -> np.ndarray:
        value = overall_for(self.expected(rows), self.top)
        index = {f: i for i, f in enumerate(self.features)}
        for features, below, limit in caps:
            applies = np.all(rows[:, [index[f] for f in features]] < below, axis=1)
            value = np.where(applies, np.minimum(value, limit), value)
        return value

    def deductions(self, values: dict[str, float], caps: Sequence[Cap] = ()) -> dict[str, float]:
        """Points each feature cost against an ideal answer: exact Shapley values of the
        capped ``overall`` between the ideal (all ones) and this answer; they add up to
        ``100 - overall(values, caps)``. A cap's points go to the features that trigger it,
        shared with the others that keep the answer below it. Features at their best cost
        nothing; none is negative (the model and the caps are monotone)."""
        n = len(self.features)
        x = np.array([values[f] for f in self.features])
        lacking = [i for i in range(n) if x[i] < 1.0]
        out = dict.fromkeys(self.features, 0.0)
        if not lacking:
            return out
        m = len(lacking)
        # row b: the lacking features whose bit is set in b take the answer's values, the
        # others stay ideal; Shapley weights by the number of features already switched
        codes = np.arange(2**m)
        bits = (codes[:, None] >> np.arange(m)[None, :]) & 1
        rows = np.ones((len(codes), n))
        rows[:, lacking] = np.where(bits == 1, x[lacking], 1.0)
        value = self._capped(rows, caps)
        sizes = bits.sum(axis=1)
        fact = [math.factorial(k) for k in range(m + 1)]
        for j, feature_i in enumerate(lacking):
            without = codes[bits[:, j] == 0]
            k = sizes[without]
            weight = np.array([fact[size] * fact[m - size - 1] for size in k]) / fact[m]
            out[self.features[feature_i]] = float(
                np.sum(weight * (value[without] - value[without | (1 << j)]))
            )
        return out


@lru_cache(maxsize=4)
def load_calibration(path: Path | None = None) -> dict[str, Calibration]:
    """The fitted models by kind ("technical", "behavioral") from ``calibration.toml``."""
    file = path or data_folder("prompts") / "scoring" / "calibration.toml"
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
        out = {}
        for kind in ("technical", "behavioral"):
            table = raw[kind]
            features = tuple(table["features"])
            weights = np.array([float(table["weights"][f]) for f in features])
            thresholds = np.array([float(t) for t in table["thresholds"]])
            if len(thresholds) != 3 or np.any(np.diff(thresholds) <= 0) or np.any(weights < 0):
                raise ValueError("needs 3 increasing thresholds and weights >= 0")
            out[kind] = Calibration(kind, features, weights, thresholds)
    except (OSError, KeyError, TypeError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(
            f"{file}: not a valid calibration file ({exc}); "
            "re-create it with `make calibrate` (tools/fit_calibration.py)"
        ) from exc
    return out
