"""Progress across practice sessions: score per round and per question over time.

:func:`collect_scores` reads the sessions of a :class:`SessionStore` (the current version of
each evaluation, through :meth:`Session.load_evaluation`); :func:`aggregate` is pure and turns
the scores into the tables and chart series; :func:`print_history` shows them in a terminal.

A question's score in a session is its final evaluation: the one after the follow-up answer
when the follow-up was answered and scored, else the main answer's. A round's score in a
session is the mean of its questions' scores there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import mean
from typing import TYPE_CHECKING, Any

from voice_interview.scoring.result import SOLID_MIN, STRONG_MIN, WEAK_MIN
from voice_interview.store.sessions import Session, SessionError, SessionStore

if TYPE_CHECKING:
    from rich.console import Console

    from voice_interview.report.charts import HistoryChart
    from voice_interview.scoring.result import Evaluation

__all__ = [
    "History",
    "QuestionTrend",
    "ScorePoint",
    "SessionRow",
    "aggregate",
    "collect_scores",
    "final_evaluation",
    "print_history",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScorePoint:
    """One scored question in one session."""

    session_id: str
    created_at: datetime
    round_id: str
    question_id: str
    overall: int
    band: str


@dataclass(frozen=True)
class SessionRow:
    session_id: str
    created_at: datetime
    round_means: dict[str, float]
    mean: float
    scored: int


@dataclass(frozen=True)
class QuestionTrend:
    question_id: str
    round_id: str
    scores: tuple[tuple[str, int], ...]  # (session_id, overall), oldest first

    @property
    def first(self) -> int:
        return self.scores[0][1]

    @property
    def last(self) -> int:
        return self.scores[-1][1]

    @property
    def best(self) -> int:
        return max(s for _, s in self.scores)

    @property
    def change(self) -> int:
        return self.last - self.first


@dataclass(frozen=True)
class History:
    rounds: tuple[str, ...]  # in order of first appearance
    sessions: tuple[SessionRow, ...]  # oldest first
    questions: tuple[QuestionTrend, ...]
    skipped: tuple[str, ...] = ()  # what could not be read, one line each

    def to_json_dict(self) -> dict[str, Any]:
        """``history --json``: sessions oldest first, and each question's scores over time."""
        return {
            "rounds": list(self.rounds),
            "sessions": [
                {
                    "id": s.session_id,
                    "created_at": s.created_at.isoformat(),
                    "round_means": {k: round(v, 1) for k, v in s.round_means.items()},
                    "mean": round(s.mean, 1),
                    "scored": s.scored,
                }
                for s in self.sessions
            ],
            "questions": [
                {
                    "question_id": q.question_id,
                    "round_id": q.round_id,
                    "scores": [{"session": sid, "overall": v} for sid, v in q.scores],
                }
                for q in self.questions
            ],
            "skipped": list(self.skipped),
        }

    def chart(self) -> HistoryChart:
        """Mean score per round (and overall) for each session, oldest first."""
        from voice_interview.report.charts import history_chart

        labels = [_label(s.created_at) for s in self.sessions]
        series: list[tuple[str, Sequence[float | None]]] = [
            (r.replace("-", " "), [s.round_means.get(r) for s in self.sessions])
            for r in self.rounds
        ]
        if len(self.rounds) > 1:
            series.append(("all questions", [s.mean for s in self.sessions]))
        return history_chart(labels, series, dashed=("all questions",))


def _label(when: datetime) -> str:
    return when.strftime("%b %d %H:%M")


def aggregate(points: Sequence[ScorePoint], skipped: Sequence[str] = ()) -> History:
    """Group scores by session (oldest first), round and question. Pure."""
    ordered = sorted(points, key=lambda p: (p.created_at, p.session_id))
    rounds = tuple(dict.fromkeys(p.round_id for p in ordered))
    by_session: dict[str, list[ScorePoint]] = {}
    for p in ordered:
        by_session.setdefault(p.session_id, []).append(p)
    sessions = []
    for sid, pts in by_session.items():
        means = {
            r: mean(p.overall for p in pts if p.round_id == r)
            for r in rounds
            if any(p.round_id == r for p in pts)
        }
        sessions.append(
            SessionRow(sid, pts[0].created_at, means, mean(p.overall for p in pts), len(pts))
        )
    by_question: dict[str, list[ScorePoint]] = {}
    for p in ordered:
        by_question.setdefault(p.question_id, []).append(p)
    questions = tuple(
        QuestionTrend(qid, pts[0].round_id, tuple((p.session_id, p.overall) for p in pts))
        for qid, pts in sorted(
            by_question.items(), key=lambda kv: (rounds.index(kv[1][0].round_id), kv[0])
        )
    )
    return History(rounds, tuple(sessions), questions, tuple(skipped))


def final_evaluation(session: Session, index: int) -> Evaluation | None:
    """The question's final evaluation (after the follow-up when that was scored), or None.

    Goes through :meth:`Session.load_evaluation`, so a re-scored session gives its current
    version. Raises SessionError when a recorded evaluation file cannot be read.
    """
    from voice_interview.report.views import has_saved

    q = session.record.questions[index]
    if has_saved(q.follow_up, "evaluation"):
        return session.load_evaluation(index, follow_up=True)
    if has_saved(q, "evaluation"):
        return session.load_evaluation(index)
    return None


def collect_scores(store: SessionStore) -> tuple[list[ScorePoint], list[str]]:
    """Every scored question of every readable session in ``store``, and one line per thing
    that could not be read (a damaged session is listed by SessionStore.list with a warning)."""
    points: list[ScorePoint] = []
    skipped: list[str] = []
    for record in store.list():
        try:
            session = store.open(record.id)
        except SessionError as exc:
            skipped.append(str(exc))
            continue
        for q in session.record.questions:
            try:
                evaluation = final_evaluation(session, q.index)
            except SessionError as exc:
                skipped.append(str(exc))
                continue
            if evaluation is None:
                continue
            points.append(
                ScorePoint(
                    session.record.id,
                    session.record.created_at,
                    q.round_id,
                    q.question_id,
                    evaluation.overall,
                    evaluation.band,
                )
            )
    return points, skipped


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(scores: Sequence[int]) -> str:
    """Scores 0-100 as block characters (one per score)."""
    return "".join(_BARS[min(len(_BARS) - 1, max(0, s) * len(_BARS) // 101)] for s in scores)


def print_history(console: Console, history: History, sessions_dir: str) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not history.sessions:
        console.print(f"No scored answers in {escape(sessions_dir)} yet.")
        for line in history.skipped:
            console.print(f"[yellow]skipped:[/yellow] {escape(line)}")
        return
    table = Table(title="Score per round, by session (mean of the questions answered)")
    table.add_column("session", style="cyan", no_wrap=True)
    for r in history.rounds:
        table.add_column(escape(r.replace("-", " ")), justify="right", overflow="fold")
    table.add_column("all", justify="right", style="bold")
    table.add_column("scored", justify="right")
    for row in history.sessions:
        table.add_row(
            escape(row.session_id),
            *(_cell(row.round_means.get(r)) for r in history.rounds),
            _cell(row.mean),
            str(row.scored),
        )
    console.print(table)
    table = Table(title="Score per question over time (oldest to newest)")
    for col in ("question", "times", "first", "best", "last", "change", "trend"):
        numeric = col in ("times", "first", "best", "last", "change")
        table.add_column(
            col,
            justify="right" if numeric else "left",
            overflow="fold",
            no_wrap=col == "question",
        )
    for t in history.questions:
        hue = "green" if t.change > 0 else "red" if t.change < 0 else "dim"
        table.add_row(
            escape(t.question_id),
            str(len(t.scores)),
            str(t.first),
            str(t.best),
            str(t.last),
            f"[{hue}]{t.change:+d}[/{hue}]" if len(t.scores) > 1 else "",
            sparkline([s for _, s in t.scores]),
        )
    console.print(table)
    for line in history.skipped:
        console.print(f"[yellow]skipped:[/yellow] {escape(line)}")


def _cell(value: float | None) -> str:
    if value is None:
        return "[dim]-[/dim]"
    hue = (
        "green"
        if value >= STRONG_MIN
        else "cyan"
        if value >= SOLID_MIN
        else "yellow"
        if value >= WEAK_MIN
        else "red"
    )
    return f"[{hue}]{value:.0f}[/{hue}]"
