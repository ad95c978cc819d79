"""Sample time for the interviewer's voice: a microphone that counts what was read from it and
a speaker whose sound lasts that many of its samples.

Protocol fakes (``practice/speaking.InterruptibleSpeaker`` and a file-fed microphone) for
running practice's barge-in and late resume at full speed, timed by the answer's own samples:
used by tests/test_practice.py and ``bench/pauses.py --barge-in``. The live path (real
devices, AEC3) is in tests/test_barge_in_live.py.
"""

from __future__ import annotations

from voice_interview.adapters.devices import FileMicrophone
from voice_interview.core.audio import Audio

RATE = 16_000


class CountingMic(FileMicrophone):
    """A file-fed microphone (read at full speed) that counts the samples read from it:
    the clock of :class:`SampleClockSpeaker`."""

    position = 0

    def flush(self) -> int:
        """Nothing has arrived that was not read (the clock is the reading): drops nothing."""
        return 0

    def read(self, timeout_s: float = 1.0) -> Audio | None:
        block = super().read(timeout_s)
        if block is not None:
            self.position += block.samples.size
        return block


class SampleClockSpeaker:
    """An interruptible speaker whose sound lasts as many of ``mic``'s samples as it has:
    practice listens while it "plays". ``plays``: [start, end) in the microphone's samples,
    the end where the sound ended or was stopped. A blocking play (the muted path) takes no
    samples, like a silent speaker."""

    def __init__(self, mic: CountingMic | None = None) -> None:
        self.mic = mic
        self.plays: list[list[int]] = []
        self._end = 0
        self._stopped = True

    def play(self, audio: Audio, blocking: bool = True) -> None:
        if blocking or self.mic is None:
            return
        start = self.mic.position
        self._end = start + round(audio.duration_s * RATE)
        self._stopped = False
        self.plays.append([start, self._end])

    @property
    def playing(self) -> bool:
        if self._stopped:
            return False
        assert self.mic is not None
        if self.mic.position >= self._end or self.mic.finished:
            self._stop_at(min(self.mic.position, self._end))
        return not self._stopped

    def _stop_at(self, position: int) -> None:
        if not self._stopped:
            self._stopped = True
            self.plays[-1][1] = position

    def stop(self) -> None:
        self._stop_at(min(self.mic.position, self._end) if self.mic is not None else 0)

    def wait(self) -> None:
        return None


def over(plays: list[list[int]], speech: list[tuple[float, float]]) -> list[float]:
    """Per play, the seconds it sounded over ``speech`` (intervals in seconds)."""
    return [sum(max(0.0, min(e / RATE, b) - max(s / RATE, a)) for a, b in speech) for s, e in plays]


__all__ = ["CountingMic", "SampleClockSpeaker", "over"]
