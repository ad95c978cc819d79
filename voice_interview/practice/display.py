"""What the candidate sees and presses during practice: the live display and single-key input.

``RichDisplay`` draws a live status line (question, elapsed time, input level meter, listening /
thinking state, live captions) with rich; ``PlainDisplay`` prints plain lines for logs and for
runs without a terminal. ``KeyReader`` reads single keys (Enter = done, r = repeat, s = skip,
p = pause, q = quit) when stdin is a terminal and does nothing otherwise.
"""

from __future__ import annotations

import os
import queue
import select
import sys
import threading
from types import TracebackType
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.text import Text

from voice_interview.core.transcript import Transcript
from voice_interview.report.text import print_comparison, print_evaluation
from voice_interview.scoring.result import Evaluation

__all__ = [
    "Display",
    "KeyReader",
    "PlainDisplay",
    "PlainReplayView",
    "RichDisplay",
    "RichReplayView",
    "highlighted_words",
    "level_bar",
]

KEYS = {"\n": "done", "\r": "done", "r": "repeat", "s": "skip", "p": "pause", "q": "quit"}
HELP = "Enter = done  r = repeat question  s = skip  p = pause  q = quit"


def level_bar(level_dbfs: float, width: int = 20) -> str:
    """A text meter from -60 dBFS (empty) to 0 dBFS (full)."""
    filled = (
        0
        if level_dbfs == float("-inf")
        else round(width * min(1.0, max(0.0, (level_dbfs + 60) / 60)))
    )
    return "#" * filled + "-" * (width - filled)


class Display(Protocol):
    def message(self, text: str) -> None: ...
    def question(self, index: int, total: int, text: str, follow_up: bool = False) -> None: ...
    def listening(self, elapsed_s: float, level_dbfs: float, state: str, captions: str) -> None: ...
    def stop_listening(self) -> None: ...
    def feedback(self, evaluation: Evaluation, latency_s: float | None, final: bool = True) -> None:
        """A score: provisional (``final`` False: the quick transcript, while the candidate
        may still go on) or final (the whole answer in one pass, saved)."""
        ...


class PlainDisplay:
    """Plain lines, no cursor tricks: for pipes, logs and CI."""

    def __init__(self, out: TextIO | None = None, every_s: float = 5.0) -> None:
        self.out = out or sys.stdout
        self.every_s = every_s
        self._next = 0.0

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def message(self, text: str) -> None:
        self._print(text)

    def question(self, index: int, total: int, text: str, follow_up: bool = False) -> None:
        label = "Follow-up" if follow_up else f"Question {index}/{total}"
        self._print(f"\n{label}: {text}")
        self._next = 0.0

    def listening(self, elapsed_s: float, level_dbfs: float, state: str, captions: str) -> None:
        if elapsed_s >= self._next:
            self._print(f"  [{state}] {elapsed_s:5.1f} s  level {level_bar(level_dbfs, 10)}")
            self._next = elapsed_s + self.every_s

    def stop_listening(self) -> None:
        pass

    def feedback(self, evaluation: Evaluation, latency_s: float | None, final: bool = True) -> None:
        if not final:
            after = f", {latency_s:.2f} s after you stopped" if latency_s is not None else ""
            self._print(
                f"  Score so far {evaluation.overall}/100, {evaluation.band} (provisional"
                f"{after}; final once you are done)"
            )
            return
        after = f" (final, {latency_s:.2f} s after you were done)" if latency_s is not None else ""
        lost = "; ".join(f"-{d.points} {d.reason}" for d in evaluation.deductions[:3])
        self._print(
            f"  Score {evaluation.overall}/100, {evaluation.band}{after}"
            + (f"\n  Points lost: {lost}" if lost else "")
            + "".join(f"\n  Tip: {t}" for t in evaluation.tips[:2])
        )


class RichDisplay:
    """A live status line while listening, then the scorecard."""

    def __init__(self, console: Console | None = None, captions: bool = True) -> None:
        self.console = console or Console(highlight=False)
        self.captions = captions
        self._live: Live | None = None

    def message(self, text: str) -> None:
        self.stop_listening()
        self.console.print(text, markup=False)

    def question(self, index: int, total: int, text: str, follow_up: bool = False) -> None:
        self.stop_listening()
        label = "Follow-up" if follow_up else f"Question {index}/{total}"
        self.console.print(f"\n[bold cyan]{label}[/bold cyan]: {text}")
        self.console.print(f"[dim]{HELP}[/dim]")

    def listening(self, elapsed_s: float, level_dbfs: float, state: str, captions: str) -> None:
        line = Text(f"{state:>9}  {elapsed_s:5.1f} s  [{level_bar(level_dbfs)}]")
        if self.captions and captions:
            tail = captions[-90:]
            line.append(f"\n  {tail}", style="dim")
        if self._live is None:
            self._live = Live(line, console=self.console, refresh_per_second=8, transient=True)
            self._live.start()
        else:
            self._live.update(line)

    def stop_listening(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def feedback(self, evaluation: Evaluation, latency_s: float | None, final: bool = True) -> None:
        self.stop_listening()
        if not final:
            self.console.print(
                f"[bold]Score so far {evaluation.overall}/100[/bold] ({evaluation.band}, "
                "provisional: the final score follows once you are done)"
            )
            return
        print_evaluation(self.console, evaluation)
        if latency_s is not None:
            self.console.print(f"[dim](final score {latency_s:.2f} s after you were done)[/dim]")


class KeyReader:
    """Single keys from a terminal, read on a background thread; inert without a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdin
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._queue: queue.Queue[str] = queue.Queue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._saved: Any = None

    def __enter__(self) -> KeyReader:
        if self.enabled:
            import termios
            import tty

            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
            self._thread = threading.Thread(target=self._read, args=(fd,), daemon=True)
            self._thread.start()
        return self

    def _read(self, fd: int) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([fd], [], [], 0.1)
            if ready:
                char = os.read(fd, 1).decode(errors="ignore").lower()
                if char in KEYS:
                    self._queue.put(KEYS[char])

    def poll(self) -> str | None:
        """The next key action ("done", "repeat", "skip", "pause", "quit") or None."""
        try:
            return self._queue.get_nowait()
        except queue.Empty:
            return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)


# --- replay --------------------------------------------------------------------------------------


def highlighted_words(transcript: Transcript, index: int | None) -> Text:
    """The transcript's words with word ``index`` highlighted (None: none)."""
    text = Text()
    for i, word in enumerate(transcript.words):
        if i:
            text.append(" ")
        text.append(word.text.strip(), style="bold reverse" if i == index else None)
    return text


class PlainReplayView:
    """Replay as plain lines (no terminal, ``--no-audio`` in scripts): transcripts printed whole,
    no highlighting. Problems go to stderr as ``error: ...`` lines."""

    def __init__(self, console: Console | None = None, errors: TextIO | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.errors = errors or sys.stderr

    def heading(self, text: str) -> None:
        self.console.print(f"\n{text}", markup=False, soft_wrap=True)

    def note(self, text: str) -> None:
        self.console.print(text, markup=False, soft_wrap=True)

    def problem(self, text: str) -> None:
        print(f"error: {text}", file=self.errors, flush=True)

    def transcript(self, transcript: Transcript) -> None:
        self.console.print(
            f"Answer ({transcript.duration_s:.1f} s, model {transcript.model}):",
            markup=False,
            soft_wrap=True,
        )
        self.console.print(transcript.text, markup=False, highlight=False, soft_wrap=True)

    def start_words(self, transcript: Transcript) -> None:
        self.transcript(transcript)

    def highlight(self, index: int | None, position_s: float) -> None:
        pass

    def end_words(self) -> None:
        pass

    def evaluation(self, evaluation: Evaluation, title: str) -> None:
        self.console.print(f"{title}:", markup=False)
        print_evaluation(self.console, evaluation)

    def comparison(
        self, old: Evaluation | None, new: Evaluation, old_label: str, new_label: str
    ) -> None:
        print_comparison(self.console, old, new, old_label, new_label)


class RichReplayView(PlainReplayView):
    """Replay in a terminal: the word being heard is highlighted live as the answer plays."""

    def __init__(self, console: Console | None = None, errors: TextIO | None = None) -> None:
        super().__init__(console, errors)
        self._live: Live | None = None
        self._transcript: Transcript | None = None
        self._shown: tuple[int | None, int] | None = None

    def heading(self, text: str) -> None:
        self.console.print(f"\n[bold cyan]{escape(text)}[/bold cyan]")

    def start_words(self, transcript: Transcript) -> None:
        self.end_words()
        self.console.print(
            f"[bold]Answer[/bold] ({transcript.duration_s:.1f} s, model "
            f"{escape(transcript.model)}):"
        )
        self._transcript = transcript
        self._shown = None
        self._live = Live(
            self._frame(None, 0.0), console=self.console, refresh_per_second=12, transient=False
        )
        self._live.start()

    def _frame(self, index: int | None, position_s: float) -> Text:
        assert self._transcript is not None
        frame = highlighted_words(self._transcript, index)
        frame.append(f"\n{position_s:5.1f} / {self._transcript.duration_s:.1f} s", style="dim")
        return frame

    def highlight(self, index: int | None, position_s: float) -> None:
        if self._live is None:
            return
        shown = (index, int(position_s * 10))
        if shown != self._shown:
            self._shown = shown
            self._live.update(self._frame(index, position_s))

    def end_words(self) -> None:
        if self._live is not None and self._transcript is not None:
            self._live.update(highlighted_words(self._transcript, None))
            self._live.stop()
        self._live = None
        self._transcript = None
