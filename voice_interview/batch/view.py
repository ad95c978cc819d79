"""Terminal output of batch scoring: a progress bar with ETA (rich) on a terminal, plain lines
otherwise, one ``error:`` line per failed file on stderr, and the summary tables."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as RichProgress
from rich.table import Table

from voice_interview.batch.discover import Failure
from voice_interview.batch.run import BatchReport, Outcome, Progress
from voice_interview.batch.summary import BatchSummary, GroupStats, format_weakest

__all__ = ["ConsoleProgress", "print_report"]


class ConsoleProgress(Progress):
    """A rich progress bar with ETA when ``stream`` is a terminal; else one plain line per file
    (``[3/40 ETA 0:02:10] path: 84 strong``). Failures are always one ``error:`` line."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.console = Console(file=self.stream, highlight=False)
        self._bar: RichProgress | None = None
        self._task = None
        self._total = 0
        self._done = 0
        self._timed = 0
        self._started = 0.0

    def start(self, total: int) -> None:
        self._total = total
        self._started = time.monotonic()
        if self.tty:
            self._bar = RichProgress(
                TextColumn("scoring"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                TextColumn("{task.description}"),
                console=self.console,
            )
            self._bar.start()
            self._task = self._bar.add_task("", total=total)  # type: ignore[assignment]

    def _eta(self) -> str:
        if not self._timed:
            return "?"
        per = (time.monotonic() - self._started) / self._timed
        left = int(per * (self._total - self._done))
        return f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}"

    def advance(self, outcome: Outcome | None, skipped: bool = False) -> None:
        self._done += 1
        if outcome is not None:
            self._timed += 1
        name = outcome.item.file.name if outcome is not None else ""
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=escape(name))  # type: ignore[arg-type]
            return
        if outcome is None or outcome.record is None:
            return  # failures have their own line; skipped files are counted at the end
        r = outcome.record
        print(
            f"[{self._done}/{self._total} ETA {self._eta()}] {r.file}: "
            f"{r.evaluation.overall} {r.evaluation.band} ({outcome.elapsed_s:.1f} s)",
            file=self.stream,
            flush=True,
        )

    def failure(self, failure: Failure) -> None:
        line = f"error: {failure.error}"
        if self._bar is not None:
            self._bar.console.print(line, markup=False, highlight=False, soft_wrap=True)
        else:
            print(line, file=self.stream, flush=True)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


def _table(title: str, rows: tuple[GroupStats, ...]) -> Table:
    table = Table(title=f"Per {title}")
    table.add_column(title, style="bold cyan")
    for column in ("count", "mean", "min", "max"):
        table.add_column(column, justify="right")
    table.add_column("weakest (answers)")
    for s in rows:
        table.add_row(
            escape(s.key), str(s.count), f"{s.mean:.1f}", str(s.min), str(s.max),
            escape(format_weakest(s)),
        )  # fmt: skip
    return table


def print_report(console: Console, report: BatchReport) -> None:
    """The summary tables, then one line of counts and where the files are."""
    summary: BatchSummary | None = report.summary
    if summary is not None and summary.count:
        console.print(_table("question", summary.by_question))
        console.print(_table("candidate", summary.by_candidate))
    speed = (
        f" ({report.audio_s:.0f} s of audio in {report.wall_s:.0f} s, "
        f"{report.audio_s / report.wall_s:.1f}x real time)"
        if report.scored and report.wall_s > 0
        else ""
    )
    console.print(
        f"scored {report.scored}, skipped {report.skipped} (already in results), "
        f"failed {len(report.failures)}{speed}; results in {report.out_dir}/",
        markup=False,
    )
    if report.ignored:
        console.print(
            f"ignored {len(report.ignored)} non-audio file(s) in folders, e.g. {report.ignored[0]}",
            markup=False,
        )
