"""Terminal rendering of questions, transcripts and evaluations (rich)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from voice_interview.bank import Bank
from voice_interview.core.transcript import Transcript
from voice_interview.scoring.result import Evaluation

__all__ = ["print_evaluation", "print_questions", "print_transcript"]


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


def print_evaluation(console: Console, evaluation: Evaluation) -> None:
    console.print(
        f"\n[bold]Score {evaluation.overall}/100[/bold] ({evaluation.band}) "
        f"for [cyan]{evaluation.question_id}[/cyan], evaluator "
        f"{evaluation.evaluator.name} {evaluation.evaluator.version}"
    )
    if evaluation.concepts is not None:
        table = Table(show_header=True)
        table.add_column("concept")
        table.add_column("status")
        for c in evaluation.concepts:
            colour = {"covered": "green", "partial": "yellow", "missing": "red"}[c.status]
            table.add_row(c.label, f"[{colour}]{c.status}[/{colour}]")
        console.print(table)
    if evaluation.delivery:
        figures = ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in evaluation.delivery.items())
        console.print(f"Delivery: {figures}", markup=False)
    for tip in evaluation.tips:
        console.print(f"Tip: {tip}", markup=False)
