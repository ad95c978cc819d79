"""Batch reports, pure functions of the results
(:class:`~voice_interview.store.results.BatchRecord`): the weak spots of an answer, the CSV,
and the per-question and per-candidate summary."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voice_interview.adapters.durable import write_atomic
from voice_interview.errors import BatchError
from voice_interview.store.results import BatchRecord

if TYPE_CHECKING:
    pass

__all__ = [
    "CSV_COLUMNS",
    "BatchSummary",
    "GroupStats",
    "csv_row",
    "format_weakest",
    "summarize",
    "summary_json",
    "summary_markdown",
    "weakest_parts",
    "write_csv",
    "write_text_atomic",
]


def weakest_parts(record: BatchRecord) -> list[str]:
    """The weak spots of one answer: missing rubric concepts (technical), else the partial ones;
    STAR parts that are absent or score under 50 (behavioral)."""
    e = record.evaluation
    if e.kind == "behavioral":
        return [p for p, c in (e.star or {}).items() if not c.present or c.score < 50]
    concepts = e.concepts or ()
    missing = [c.label for c in concepts if c.status == "missing"]
    return missing or [c.label for c in concepts if c.status == "partial"]


_DELIVERY_COLUMNS = (
    "duration_s", "word_count", "words_per_minute", "filler_count", "fillers_per_100_words",
    "pause_count", "longest_pause_s", "hedge_count",
)  # fmt: skip
CSV_COLUMNS = (
    "file", "candidate", "question_id", "kind", "overall", "band", "content_score",
    "delivery_score", *_DELIVERY_COLUMNS, "weakest", "model", "audio_sha256",
)  # fmt: skip


def csv_row(record: BatchRecord) -> dict[str, Any]:
    e = record.evaluation
    delivery = e.delivery.model_dump(mode="json")
    return {
        "file": record.file,
        "candidate": record.candidate or "",
        "question_id": e.question_id,
        "kind": e.kind,
        "overall": e.overall,
        "band": e.band,
        "content_score": e.details.get("content_score"),
        "delivery_score": e.details.get("delivery_score"),
        **{k: delivery.get(k) for k in _DELIVERY_COLUMNS},
        "weakest": "; ".join(weakest_parts(record)),
        "model": record.settings.get("model"),
        "audio_sha256": record.audio_sha256,
    }


def write_csv(records: Sequence[BatchRecord], path: Path) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        writer.writerow(csv_row(record))
    write_text_atomic(path, out.getvalue())


@dataclass(frozen=True)
class GroupStats:
    """Scores of one question or one candidate."""

    key: str
    count: int
    mean: float
    min: int
    max: int
    weakest: tuple[tuple[str, int], ...]
    """Most frequent weak spots (concepts or STAR parts) with how many answers had them."""


@dataclass(frozen=True)
class BatchSummary:
    by_question: tuple[GroupStats, ...]
    by_candidate: tuple[GroupStats, ...]
    count: int
    mean: float | None


def _group(key: str, records: Sequence[BatchRecord], top: int) -> GroupStats:
    scores = [r.evaluation.overall for r in records]
    weak = Counter(part for r in records for part in weakest_parts(r))
    return GroupStats(
        key=key,
        count=len(scores),
        mean=round(sum(scores) / len(scores), 1),
        min=min(scores),
        max=max(scores),
        weakest=tuple(sorted(weak.items(), key=lambda kv: (-kv[1], kv[0]))[:top]),
    )


def summarize(records: Sequence[BatchRecord], top: int = 3) -> BatchSummary:
    """Per question and per candidate (``(none)`` when unknown): count, mean, min, max and the
    ``top`` most frequent weak spots."""

    def groups(key: Callable[[BatchRecord], str]) -> tuple[GroupStats, ...]:
        buckets: dict[str, list[BatchRecord]] = {}
        for r in records:
            buckets.setdefault(key(r), []).append(r)
        return tuple(_group(k, v, top) for k, v in sorted(buckets.items()))

    scores = [r.evaluation.overall for r in records]
    return BatchSummary(
        by_question=groups(lambda r: r.question_id),
        by_candidate=groups(lambda r: r.candidate or "(none)"),
        count=len(scores),
        mean=round(sum(scores) / len(scores), 1) if scores else None,
    )


def format_weakest(stats: GroupStats) -> str:
    return ", ".join(f"{name} ({n})" for name, n in stats.weakest) or "-"


def summary_markdown(summary: BatchSummary, failures: int = 0) -> str:
    lines = [
        "# Batch summary",
        "",
        f"Scored answers: {summary.count}"
        + (f", mean {summary.mean}" if summary.mean is not None else "")
        + f"; failed in the last run: {failures}.",
    ]
    for title, rows in (("question", summary.by_question), ("candidate", summary.by_candidate)):
        lines += [
            "",
            f"## Per {title}",
            "",
            f"| {title} | count | mean | min | max | weakest (answers) |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {s.key} | {s.count} | {s.mean} | {s.min} | {s.max} | {format_weakest(s)} |"
            for s in rows
        ]
    return "\n".join(lines) + "\n"


def summary_json(summary: BatchSummary) -> dict[str, Any]:
    def rows(groups: Sequence[GroupStats]) -> list[dict[str, Any]]:
        return [
            {"key": s.key, "count": s.count, "mean": s.mean, "min": s.min, "max": s.max,
             "weakest": [list(w) for w in s.weakest]}
            for s in groups
        ]  # fmt: skip

    return {
        "count": summary.count,
        "mean": summary.mean,
        "by_question": rows(summary.by_question),
        "by_candidate": rows(summary.by_candidate),
    }


def write_text_atomic(path: Path, text: str) -> None:
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise BatchError(f"{path}: cannot write ({exc.strerror or exc})") from exc
