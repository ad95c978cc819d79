"""The HTML report: one self-contained file per session, batch or sessions folder.

``voice-interview report SOURCE`` takes a session (folder, its session.json, or id), a batch
``results.jsonl``, or a folder of sessions (progress only). The page needs nothing but itself:
styles, the small script and the charts (SVG) are inline, and the audio is embedded as data
URIs, so it works offline from disk and makes no network request.

Rendering uses Jinja2 with autoescaping on: every transcript, bank and file text is escaped.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from voice_interview.report.views import (
    AnswerView,
    BatchRow,
    ReportError,
    answers_from_results,
    answers_from_session,
)
from voice_interview.store.sessions import SESSION_FILE, SessionStore

if TYPE_CHECKING:
    from voice_interview.content.banks import Bank
    from voice_interview.report.charts import HistoryChart
    from voice_interview.report.history import History

__all__ = [
    "Report",
    "ReportError",
    "ReportOptions",
    "build_report",
    "default_output",
    "render_html",
    "write_report",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportOptions:
    """What goes into a report.

    Attributes:
        history: add a "Progress across sessions" section (score per round over time) built
            from ``sessions_dir``; always on when the source is a folder of sessions.
        sessions_dir: where the sessions for the history are; None = the folder holding the
            session (a session report) or the source itself (a sessions folder).
        audio: embed the recordings (Ogg/Opus, about 220 kB of page per minute). False leaves them
            out: no players and no click-to-play, for a small page over many answers.
    """

    history: bool = False
    sessions_dir: Path | None = None
    audio: bool = True


@dataclass
class Report:
    kind: str  # "session", "batch" or "history"
    title: str
    subtitle: str
    source: str
    generated_at: datetime
    answers: list[AnswerView] = field(default_factory=list)
    rows: list[BatchRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    history: History | None = None
    history_dir: str | None = None

    @property
    def history_chart(self) -> HistoryChart | None:
        if self.history is None or not self.history.sessions:
            return None
        return self.history.chart()

    @property
    def scored(self) -> list[AnswerView]:
        return [a for a in self.answers if a.evaluation is not None]

    @property
    def mean_overall(self) -> float | None:
        scores = [a.evaluation.overall for a in self.answers if a.evaluation is not None]
        return sum(scores) / len(scores) if scores else None


def _holds_sessions(path: Path) -> bool:
    """A folder of sessions (rather than one session)."""
    if not path.is_dir() or (path / SESSION_FILE).is_file():
        return False
    return any((child / SESSION_FILE).is_file() for child in path.iterdir() if child.is_dir())


def build_report(
    source: str | os.PathLike[str],
    bank: Bank | None,
    options: ReportOptions | None = None,
    *,
    sessions_dir: str | os.PathLike[str] = "sessions",
) -> Report:
    """Read ``source`` and build the report's contents.

    ``source`` is a ``.jsonl`` batch results file, a session (folder, session.json, or an id
    looked up in ``sessions_dir``), or a folder of sessions. ``bank`` gives the model answers;
    None = the bank the session was asked from when its file still exists, else the bundled
    one (a question not in it gets a note instead of a model answer).

    Raises:
        ReportError, SessionError: the source cannot be read (one line naming it).
    """
    opts = options or ReportOptions()
    path = Path(source)
    now = datetime.now(UTC)
    if path.suffix == ".jsonl":
        if not path.is_file():
            raise ReportError(
                f"{path}: no such results file; pass the results.jsonl that "
                "`voice-interview score --out DIR` wrote, or a session"
            )
        answers, rows, notes = answers_from_results(path, bank or _bundled_bank(), audio=opts.audio)
        scored = sum(1 for r in rows if r.overall is not None)
        report = Report(
            kind="batch",
            title="Batch results",
            subtitle=f"{scored} scored answer(s), {len(rows) - scored} failed, from {path.name}",
            source=str(path),
            generated_at=now,
            answers=answers,
            rows=rows,
            notes=notes,
        )
        if not opts.audio:
            report.notes.append("The recordings were left out of this report (--no-audio).")
        if opts.history:
            _add_history(report, Path(opts.sessions_dir or sessions_dir))
        return report
    if _holds_sessions(path):
        report = Report(
            kind="history",
            title="Progress across sessions",
            subtitle=str(path),
            source=str(path),
            generated_at=now,
        )
        _add_history(report, Path(opts.sessions_dir or path))
        return report
    session = SessionStore(sessions_dir).open(source)
    record = session.record
    answered = sum(1 for q in record.questions if q.status == "answered")
    interrupted = sum(1 for q in record.questions if q.status == "answering")
    report = Report(
        kind="session",
        title=f"Mock interview {record.created_at:%Y-%m-%d %H:%M} UTC",
        subtitle=(
            f"{answered} of {len(record.questions)} question(s) answered"
            + (f", {interrupted} interrupted" if interrupted else "")
            + f" · session {record.id} · {record.status}"
        ),
        source=str(session.folder),
        generated_at=now,
        answers=answers_from_session(
            session, bank or _session_bank(record.bank_source), audio=opts.audio
        ),
    )
    if not opts.audio:
        report.notes.append("The recordings were left out of this report (--no-audio).")
    if record.status == "in-progress":
        report.notes.append(
            "This session did not finish (it is still marked in progress: the program was "
            "stopped or crashed). Everything recorded up to then is shown."
        )
    if opts.history:
        _add_history(report, Path(opts.sessions_dir or session.folder.parent))
    return report


def _bundled_bank() -> Bank | None:
    from voice_interview.content.banks import load_bank
    from voice_interview.errors import BankError

    try:
        return load_bank()
    except BankError as exc:
        logger.warning("no model answers in the report: %s", exc)
        return None


def _session_bank(source: str) -> Bank | None:
    """The bank the session was asked from when its file is still there, else the bundled one."""
    from voice_interview.content.banks import load_bank
    from voice_interview.errors import BankError

    if source and Path(source).is_file():
        try:
            return load_bank(source)
        except BankError as exc:
            logger.warning("the session's bank cannot be read, using the bundled one: %s", exc)
    return _bundled_bank()


def _add_history(report: Report, sessions_dir: Path) -> None:
    from voice_interview.report.history import aggregate, collect_scores

    points, skipped = collect_scores(SessionStore(sessions_dir))
    report.history = aggregate(points, skipped)
    report.history_dir = str(sessions_dir)


def render_html(report: Report) -> str:
    """The report as one HTML document (Jinja2, autoescaped)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined
    from markupsafe import Markup

    env = Environment(
        loader=PackageLoader("voice_interview.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["clock"] = _clock
    assert env.loader is not None

    def asset(name: str) -> Markup:  # our own static CSS/JS, inlined as they are
        return Markup(env.loader.get_source(env, name)[0])  # type: ignore[union-attr]

    return env.get_template("report.html.j2").render(
        report=report, css=asset("report.css"), js=asset("report.js")
    )


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(seconds)  # whole seconds, as audio players show them
    return f"{s // 60}:{s % 60:02d}"


def default_output(source: str | os.PathLike[str], report: Report) -> Path:
    """Where the report goes without ``-o``: report.html in the session folder, next to the
    results file, or history.html in the sessions folder."""
    if report.kind == "session":
        return Path(report.source) / "report.html"
    if report.kind == "batch":
        return Path(report.source).with_name("report.html")
    return Path(source) / "history.html"


def write_report(report: Report, output: str | os.PathLike[str]) -> Path:
    """Render and write the report; returns its path.

    Raises:
        ReportError: the file cannot be written.
    """
    path = Path(output)
    html = render_html(report)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise ReportError(
            f"{path}: cannot write the report ({exc.strerror or exc}); choose another file with -o"
        ) from exc
    return path
