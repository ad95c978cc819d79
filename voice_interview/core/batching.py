"""Grouping closed stretches of speech into pieces worth one recogniser pass.

Whisper encodes a full 30 s window however short the audio, so transcribing every 3-second
stretch separately costs a 30-second encoder pass each; with the ``base`` model on two cores
that fell behind real time (measured: 87 s of backlog after a 2-minute answer). Stretches are
therefore held until they add up to ``min_batch_s``, or until the candidate has been quiet for
``flush_after_s`` after the last one (they may be done), whichever comes first. Pure logic,
timed from sample counts.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StretchBatcher"]


@dataclass
class StretchBatcher:
    sample_rate: int = 16_000
    min_batch_s: float = 8.0
    flush_after_s: float = 1.0
    _start: int | None = None
    _end: int | None = None

    def close(self, start: int, end: int) -> tuple[int, int] | None:
        """A stretch [start, end) closed; returns a span to transcribe now, or None."""
        self._start = start if self._start is None else self._start
        self._end = end
        if (self._end - self._start) >= self.min_batch_s * self.sample_rate:
            return self.flush()
        return None

    def tick(self, now: int) -> tuple[int, int] | None:
        """``now`` samples have been heard; flush a pending batch after a long enough quiet."""
        if self._end is not None and now - self._end >= self.flush_after_s * self.sample_rate:
            return self.flush()
        return None

    def flush(self) -> tuple[int, int] | None:
        """The pending span, if any (at the end of the answer)."""
        if self._start is None or self._end is None:
            return None
        span = (self._start, self._end)
        self._start = self._end = None
        return span
