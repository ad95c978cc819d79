"""Which word of a transcript to highlight while its audio plays: pure, no I/O, no clock.

Playback position comes from the number of samples the sound device has actually taken (minus
its output latency), never from the wall clock, so the highlight follows the audio even when
playback starts late or stalls. The same :class:`WordHighlighter` then runs against a real
speaker, a virtual one, or a test feeding sample counts by hand.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

from voice_interview.core.transcript import Word

__all__ = ["WordHighlighter", "playback_position_s", "word_at"]


def playback_position_s(samples_written: int, sample_rate: int, latency_s: float = 0.0) -> float:
    """Seconds of audio heard so far: samples handed to the device, less what is still in its
    output buffer (``latency_s``); never negative."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if samples_written < 0:
        raise ValueError(f"samples_written must be >= 0, got {samples_written}")
    return max(0.0, samples_written / sample_rate - max(0.0, latency_s))


def word_at(starts_s: Sequence[float], position_s: float) -> int | None:
    """Index of the word being spoken at ``position_s``: the last word started by then.

    In a pause the word before it stays highlighted (no flicker between words); before the
    first word, None. ``starts_s`` must be sorted, as a transcript's word times are.
    """
    index = bisect.bisect_right(starts_s, position_s) - 1
    return index if index >= 0 else None


class WordHighlighter:
    """The word to highlight as playback advances, fed the device's sample count.

    :meth:`update` takes the cumulative count of samples written to the device and returns
    the word index (None before the first word). The position never goes backwards: a stale
    or smaller count keeps the current word. :attr:`changed` says whether the last update
    moved the highlight, so a display redraws only then.
    """

    def __init__(self, words: Sequence[Word]) -> None:
        self.words = tuple(words)
        self._starts = [w.start_s for w in self.words]
        if any(b < a for a, b in zip(self._starts, self._starts[1:], strict=False)):
            raise ValueError("word start times must be in order")
        self.position_s = 0.0
        self.index: int | None = None
        self.changed = False

    def update(self, samples_written: int, sample_rate: int, latency_s: float = 0.0) -> int | None:
        """Move to the position of ``samples_written`` samples at ``sample_rate``."""
        return self.seek(playback_position_s(samples_written, sample_rate, latency_s))

    def seek(self, position_s: float) -> int | None:
        """Move to ``position_s`` seconds (ignored when earlier than the current position)."""
        self.position_s = max(self.position_s, position_s)
        index = word_at(self._starts, self.position_s)
        self.changed = index != self.index
        self.index = index
        return index
