"""Terminal rendering of questions, transcripts and evaluations (rich)."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from voice_interview.content.banks import Bank
from voice_interview.core.transcript import Transcript
from voice_interview.scoring.result import Evaluation

__all__ = [
    "comparison_rows",
    "print_comparison",
    "print_evaluation",
    "print_questions",
    "print_transcript",
]


def print_questions(console: Console, bank: Bank) -> None:
    table = Table(title=f"{bank.company}: {bank.title}", show_lines=False)
    table.add_column("id", style="bold cyan", no_wrap=True)
    table.add_column("round", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("question")
    for q in bank.questions:
        table.add_row(q.id, q.round_id, q.kind.value, q.text)
    console.print(table)


def print_transcript(console: Console, transcript: Transcript) -> None:
    console.print(
        f"[bold]Transcript[/bold] ({transcript.duration_s:.1f} s, model {transcript.model}):"
    )
    console.print(transcript.text, markup=False, highlight=False)


def _short(text: str | None, words: int = 16) -> str:
    if not text:
        return ""
    tokens = text.split()
    return escape(" ".join(tokens[:words]) + (" ..." if len(tokens) > words else ""))


def _fmt_time(start: float | None, end: float | None) -> str:
    return f"{start:.1f}-{end:.1f} s" if start is not None and end is not None else ""


def print_evaluation(console: Console, evaluation: Evaluation) -> None:
    colour = {
        "strong": "green",
        "solid": "cyan",
        "needs work": "yellow",
        "no signal": "red",
        "off-topic": "red",
    }
    band = evaluation.band
    console.print(
        f"\n[bold]Score {evaluation.overall}/100[/bold] "
        f"[{colour[band]}]{band}[/{colour[band]}] for [cyan]{evaluation.question_id}[/cyan] "
        f"({evaluation.evaluator.name} evaluator {evaluation.evaluator.version})"
    )
    if evaluation.star is not None:
        table = Table(title="STAR", show_header=True, title_justify="left")
        for col in ("part", "score", "evidence (your words)", "when"):
            table.add_column(col)
        for part, comp in evaluation.star.items():
            score = f"{comp.score}" if comp.present else "[red]missing[/red]"
            table.add_row(part, score, _short(comp.evidence), _fmt_time(comp.start_s, comp.end_s))
        console.print(table)
        for check in evaluation.star_checks or ():
            mark = "[green]yes[/green]" if check.passed else "[red]no[/red]"
            console.print(f"  {mark} {check.id}: {escape(check.detail)}")
    if evaluation.concepts is not None:
        table = Table(title="Concepts", show_header=True, title_justify="left")
        for col in ("concept", "status", "evidence (your words)", "when"):
            table.add_column(col)
        for c in evaluation.concepts:
            hue = {"covered": "green", "partial": "yellow", "missing": "red"}[c.status]
            label = c.label + (" *" if c.required else "")
            table.add_row(
                escape(label),
                f"[{hue}]{c.status}[/{hue}]",
                _short(c.evidence),
                _fmt_time(c.start_s, c.end_s),
            )
        console.print(table)
        console.print("  * required")
    d = evaluation.delivery
    norms = d.norms
    figures = []
    if d.duration_s is not None:
        figures.append(f"duration {d.duration_s:.0f} s")
    if d.words_per_minute is not None:
        figures.append(f"pace {d.words_per_minute:.0f} wpm ({norms.get('words_per_minute', '')})")
    figures.append(
        f"fillers {d.fillers_per_100_words:.1f}/100 words "
        f"({norms.get('fillers_per_100_words', '')})"
    )
    if d.pause_count is not None:
        figures.append(f"long pauses {d.pause_count}")
    figures.append(f"hedges {d.hedge_count}")
    console.print("Delivery: " + "; ".join(figures) + f"; score {d.score}", markup=False)
    if d.top_fillers:
        console.print(
            "  crutch words: " + ", ".join(f"{w} x{n}" for w, n in d.top_fillers), markup=False
        )
    if evaluation.judge is not None:
        j = evaluation.judge
        if j.status == "used":
            console.print(f"LLM judge ({j.model}): {len(j.verdicts)} verdicts used", markup=False)
        else:
            console.print(f"LLM judge not used: {j.error}", markup=False)
    if evaluation.deductions:
        local = evaluation.details.get("local_overall")
        head = f" (of the local score {local})" if local is not None else ""
        console.print(f"Points lost{head}:", markup=False)
        for lost in evaluation.deductions:
            console.print(f"  -{lost.points:<3} {lost.reason}", markup=False)
    for i, tip in enumerate(evaluation.tips, 1):
        console.print(f"Tip {i}: {tip}", markup=False)


def _figure(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def _change(old: str, new: str, numeric: bool) -> str:
    if old == new:
        return "="
    if old == "-":
        return "new"
    if numeric:
        try:
            delta = float(new) - float(old)
        except ValueError:
            return "changed"
        digits = 0 if "." not in new else len(new.split(".")[1])
        return f"{delta:+.{digits}f}"
    return f"{old} -> {new}"


def comparison_rows(old: Evaluation | None, new: Evaluation) -> list[tuple[str, str, str, str]]:
    """(what, before, after, change) rows comparing two evaluations of one answer; ``old`` is
    None when the answer had not been scored (an interrupted one). Pure: no I/O."""
    rows: list[tuple[str, str, str, str]] = []

    def add(label: str, get: Callable[[Evaluation], object], numeric: bool = True) -> None:
        before = "-" if old is None else str(get(old))
        after = str(get(new))
        rows.append((label, before, after, _change(before, after, numeric)))

    def star_part(part: str) -> Callable[[Evaluation], object]:
        def get(e: Evaluation) -> object:
            if e.star is None or part not in e.star:
                return "-"
            return e.star[part].score if e.star[part].present else "missing"

        return get

    def concept(cid: str) -> Callable[[Evaluation], object]:
        return lambda e: next((c.status for c in e.concepts or () if c.id == cid), "-")

    add("overall", lambda e: e.overall)
    add("band", lambda e: e.band, numeric=False)
    add("content score", lambda e: e.details.get("content_score", "-"))
    for part in new.star or (old.star if old is not None else None) or {}:
        add(f"STAR {part}", star_part(part))
    labels = {c.id: c.label for c in new.concepts or ()}
    for c in (old.concepts if old is not None else None) or ():
        labels.setdefault(c.id, c.label)
    for cid, label in labels.items():
        add(label, concept(cid), numeric=False)
    add("duration s", lambda e: _figure(e.delivery.duration_s, 1))
    add("words", lambda e: e.delivery.word_count)
    add("pace wpm", lambda e: _figure(e.delivery.words_per_minute))
    add("fillers /100 words", lambda e: _figure(e.delivery.fillers_per_100_words, 1))
    add("long pauses", lambda e: _figure(e.delivery.pause_count))
    add("hedges", lambda e: e.delivery.hedge_count)
    add("delivery score", lambda e: e.delivery.score)
    add("ASR model", lambda e: e.transcript.model, numeric=False)
    add("evaluator", lambda e: f"{e.evaluator.name} {e.evaluator.version}", numeric=False)
    same_text = old is not None and old.transcript.text == new.transcript.text
    rows.append(
        (
            "transcript",
            "-" if old is None else f"{len(old.transcript.text.split())} words",
            f"{len(new.transcript.text.split())} words",
            "new" if old is None else ("=" if same_text else "changed"),
        )
    )
    return rows


def print_comparison(
    console: Console,
    old: Evaluation | None,
    new: Evaluation,
    old_label: str = "before",
    new_label: str = "after",
) -> None:
    """Old and new evaluation of one answer side by side, with what changed."""
    table = Table(title=f"Re-scored {new.question_id}", title_justify="left")
    table.add_column("")
    table.add_column(old_label, justify="right")
    table.add_column(new_label, justify="right")
    table.add_column("change", justify="right")
    for label, before, after, change in comparison_rows(old, new):
        style = "" if change == "=" else "bold"
        table.add_row(escape(label), escape(before), escape(after), escape(change), style=style)
    console.print(table)
    for i, tip in enumerate(new.tips, 1):
        console.print(f"Tip {i}: {tip}", markup=False)
