"""Fit the calibrated score (``prompts/scoring/calibration.toml``) on the labeled answer sets.

Usage: ``.venv/bin/python tools/fit_calibration.py [--check]`` (``make calibrate``).

For each answer kind (technical, which includes system design, and behavioral) a
proportional-odds model maps the evaluator's features (``details.features``, each in [0, 1],
1 = best) to the human grade 0-3 (tests/data/DEVSET.md) of the tuning sets (``TRAIN_SETS``),
each answer twice: as typed and as Whisper tiny.en heard it spoken (``SPOKEN``).
Weights are constrained to be >= 0, so no feature can lower the score by getting better, and
L2-regularised; the strength is chosen by leave-one-set-out cross-validation (train on two sets,
test on the third): the lowest held-out log-loss (a proper scoring rule: less noisy than the
share of bands matched on 100 answers, which picked sharper models that did worse on blind
data). The cross-validated figures are printed and written into the file. Answers the evaluator
calls off-topic by their meaning (another question's answer; their score is capped by a rule,
not by this model) are left out of the fit. The rubric's caps (a misconception makes an answer
at most weak, ...: ``[[caps]]`` in prompts/scoring/deductions.toml) are applied after the model,
in the cross-validation as in the evaluator.

The sets never tuned on (final, and the newest blind set) are never read here; blind4 to
blind12 joined the tuning sets one by one, each after its first measurement was recorded.
``--check`` refits and fails if the stored file differs (the fit is deterministic).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
OUT = REPO / "prompts" / "scoring" / "calibration.toml"
from evaluator_quality import TUNING_SETS  # noqa: E402  (bench/evaluator_quality.py)

TRAIN_SETS = TUNING_SETS
# The tuning sets as the product hears them: each answer spoken by Piper and transcribed by
# Whisper tiny.en, text only (the features do not use timings). Re-create it with
# `bench/evaluator_quality.py --asr tiny.en --sets <TUNING_SETS> --asr-sets <TUNING_SETS>
# --write-spoken tests/data/evaluator_tuning_tiny_en.jsonl` (sets comma-separated). Fitting
# on both versions of every answer teaches the model how much the recogniser moves each
# feature, so it leans less on the ones that move.
SPOKEN = REPO / "tests" / "data" / "evaluator_tuning_tiny_en.jsonl"
STRENGTHS = (0.0, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1)


def answers() -> list[dict[str, Any]]:
    """Features of every tuning-set answer as the evaluator computes them from typed text."""
    from evaluator_quality import SETS, load_devset  # bench/evaluator_quality.py

    from voice_interview.content.banks import load_bank
    from voice_interview.core.transcript import Transcript
    from voice_interview.scoring.evaluator import LocalEvaluator

    bank = load_bank()
    evaluator = LocalEvaluator(bank, calibrated=False)
    spoken = {
        r["id"]: r["text"]
        for r in map(json.loads, SPOKEN.read_text().splitlines())
        if r["set"] in TRAIN_SETS
    }
    out = []
    for name in TRAIN_SETS:
        for row in load_devset(SETS[name]):
            for source, text in (("typed", row["text"]), ("spoken", spoken[row["id"]])):
                e = evaluator.evaluate(
                    Transcript.from_text(text), bank.question(row["question_id"])
                )
                out.append(
                    {
                        "set": name,
                        "id": row["id"],
                        "source": source,
                        "grade": row["grade"],
                        "kind": e.kind,
                        "features": e.details["features"],
                        "off_topic": bool(e.details.get("off_topic_by_meaning")),
                        "required_missing": len(e.details.get("required_missing", [])),
                    }
                )
    return out


def _unpack(theta: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    w = theta[:n]
    t = np.cumsum([theta[n], np.exp(theta[n + 1]), np.exp(theta[n + 2])])
    return w, t


def fit(x: np.ndarray, y: np.ndarray, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Proportional-odds fit: weights >= 0, L2 penalty ``strength`` per answer."""
    n = x.shape[1]

    def loss(theta: np.ndarray) -> float:
        w, t = _unpack(theta, n)
        z = x @ w
        cum = 1 / (1 + np.exp(-(t[None, :] - z[:, None])))
        cum = np.concatenate([np.zeros((len(z), 1)), cum, np.ones((len(z), 1))], axis=1)
        p = cum[np.arange(len(y)), y + 1] - cum[np.arange(len(y)), y]
        return float(-np.mean(np.log(np.clip(p, 1e-12, None))) + strength * np.sum(w**2))

    theta0 = np.concatenate([np.ones(n), [n * 0.3, 0.0, 0.0]])
    bounds = [(0, None)] * n + [(None, None)] * 3
    res = minimize(loss, theta0, method="L-BFGS-B", bounds=bounds)
    return _unpack(res.x, n)


def cross_validate(rows: list[dict[str, Any]], features: list[str], strength: float) -> dict:
    """Leave one set out: each held-out answer scored as the evaluator scores it (the fold's
    model, then the rubric's caps, then the band); log-loss over typed and spoken answers, the
    other figures over the typed ones."""
    from scipy.stats import spearmanr

    from voice_interview.scoring.calibration import Calibration, rubric_caps
    from voice_interview.scoring.evaluator import load_deduction_texts
    from voice_interview.scoring.result import band_for

    rules = load_deduction_texts()
    grade_of = {"no signal": 0, "needs work": 1, "solid": 2, "strong": 3}
    scores = np.zeros(len(rows))
    expected = np.zeros(len(rows))
    likelihood = np.zeros(len(rows))
    for held in TRAIN_SETS:
        train = [r for r in rows if r["set"] != held]
        test = [i for i, r in enumerate(rows) if r["set"] == held]
        x = np.array([[r["features"][f] for f in features] for r in train])
        w, t = fit(x, np.array([r["grade"] for r in train]), strength)
        model = Calibration("cv", tuple(features), w, t)
        xt = np.array([[rows[i]["features"][f] for f in features] for i in test])
        probs = model.probabilities(xt)
        likelihood[test] = probs[np.arange(len(test)), [rows[i]["grade"] for i in test]]
        expected[test] = model.expected(xt)
        for i in test:
            r = rows[i]
            caps = rubric_caps(r["kind"], r["features"], rules, bool(r["required_missing"]))
            scores[i] = model.overall(r["features"], caps)
    # held-out log-loss of typed and spoken answers: the proper, least noisy criterion
    log_loss = float(-np.mean(np.log(np.clip(likelihood, 1e-9, None))))
    typed = np.array([r["source"] == "typed" for r in rows])
    grades = np.array([r["grade"] for r in rows])[typed]
    bands = np.array([grade_of[band_for(round(s))] for s in scores[typed]])
    return {
        "spearman": float(spearmanr(grades, scores[typed]).statistic),
        "band_match": float(np.mean(bands == grades)),
        "band_match_by_grade": {
            int(g): float(np.mean(bands[grades == g] == g)) for g in sorted(set(grades))
        },
        "mean_abs_error": float(np.mean(np.abs(expected[typed] - grades))),
        "log_loss": log_loss,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the stored fit differs")
    parser.add_argument("--dump", help="also write the answers' features to this JSON file")
    args = parser.parse_args()
    rows = answers()
    if args.dump:
        Path(args.dump).write_text(json.dumps(rows, indent=1))
    lines = [
        "# The calibrated score: written by tools/fit_calibration.py (`make calibrate`);",
        "# do not edit by hand. See voice_interview/scoring/calibration.py for the model.",
        f"# Fitted {datetime.now(UTC):%Y-%m-%d} on the tuning sets {', '.join(TRAIN_SETS)} "
        "(tests/data/DEVSET.md);",
        "# cross-validation: leave one set out; the L2 strength is the one with the lowest",
        "# held-out log-loss over typed and spoken answers.",
        "",
    ]
    report = []
    for kind in ("technical", "behavioral"):
        rows_k = [r for r in rows if r["kind"] == kind and not r["off_topic"]]
        answers_k = sum(r["source"] == "typed" for r in rows_k)
        features = list(rows_k[0]["features"])
        cv = {s: cross_validate(rows_k, features, s) for s in STRENGTHS}
        best = min(STRENGTHS, key=lambda s: cv[s]["log_loss"])
        x = np.array([[r["features"][f] for f in features] for r in rows_k])
        w, t = fit(x, np.array([r["grade"] for r in rows_k]), best)
        c = cv[best]
        report.append(
            f"{kind}: {answers_k} answers (typed and spoken), strength {best}; "
            f"cross-validated on the typed answers: Spearman "
            f"{c['spearman']:.3f}, band match {c['band_match']:.0%} (by grade "
            + ", ".join(f"{g}: {v:.0%}" for g, v in c["band_match_by_grade"].items())
            + f"), mean |expected - grade| {c['mean_abs_error']:.2f}"
        )
        lines += [
            f"[{kind}]",
            f"# {report[-1]}",
            f"answers = {answers_k}",
            f"l2_strength = {best}",
            f"cv_spearman = {c['spearman']:.4f}",
            f"cv_band_match = {c['band_match']:.4f}",
            "features = [" + ", ".join(f'"{f}"' for f in features) + "]",
            "thresholds = [" + ", ".join(f"{v:.4f}" for v in t) + "]",
            "",
            f"[{kind}.weights]",
            *(f"{f} = {v:.4f}" for f, v in zip(features, w, strict=True)),
            "",
        ]
    print("\n".join(report))
    text = "\n".join(lines)
    if args.check:
        stored = OUT.read_text() if OUT.exists() else ""
        strip = [ln for ln in stored.splitlines() if not ln.startswith("# Fitted")]
        if strip != [ln for ln in text.splitlines() if not ln.startswith("# Fitted")]:
            print(f"{OUT} is not the fit of the current evaluator: run `make calibrate`")
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
