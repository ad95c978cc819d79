"""The live display and single-key input, on a real pseudo-terminal."""

from __future__ import annotations

import io
import os
import time

from rich.console import Console
from rich.text import Text

from voice_interview.practice.display import KeyReader, PlainDisplay, RichDisplay, level_bar


def test_level_bar_spans_minus_60_to_0_dbfs() -> None:
    assert level_bar(float("-inf"), 10) == "-" * 10
    assert level_bar(-60.0, 10) == "-" * 10
    assert level_bar(-30.0, 10) == "#" * 5 + "-" * 5
    assert level_bar(0.0, 10) == "#" * 10


def test_keys_are_read_from_a_terminal() -> None:
    master, slave = os.openpty()
    with os.fdopen(slave, "r") as tty, KeyReader(tty) as keys:
        assert keys.enabled
        os.write(master, b"rX\np")
        seen: list[str] = []
        deadline = time.monotonic() + 3
        while len(seen) < 3 and time.monotonic() < deadline:
            key = keys.poll()
            if key:
                seen.append(key)
            time.sleep(0.01)
    os.close(master)
    assert seen == ["repeat", "done", "pause"]  # unknown keys are ignored


def test_no_terminal_means_no_keys() -> None:
    with KeyReader(io.StringIO()) as keys:
        assert not keys.enabled and keys.poll() is None


def test_rich_display_shows_state_level_and_captions() -> None:
    out = io.StringIO()
    display = RichDisplay(Console(file=out, force_terminal=True, width=100))
    display.question(2, 9, "What is a cache?")
    display.listening(12.5, -20.0, "speaking", "a cache keeps hot data in memory")
    display.stop_listening()
    text = Text.from_ansi(out.getvalue()).plain
    assert "Question 2/9" in text and "What is a cache?" in text
    assert "Enter = done" in text
    assert "speaking" in text and "12.5 s" in text and level_bar(-20.0) in text
    assert "a cache keeps hot data in memory" in text


def test_plain_display_throttles_listening_lines() -> None:
    out = io.StringIO()
    display = PlainDisplay(out=out, every_s=5.0)
    display.question(1, 1, "Why?")
    for tenth in range(0, 120):
        display.listening(tenth / 10, -30.0, "speaking", "")
    assert out.getvalue().count("[speaking]") == 3  # at 0, 5 and 10 s
