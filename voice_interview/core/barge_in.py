"""Barge-in: the candidate starts talking while the interviewer speaks, and the interviewer stops.

I/O-free, like the endpointer: :class:`BargeIn` is fed what the microphone hears while the
interviewer's voice plays (with the echo already cancelled, or through headphones) and says
when that is the candidate's voice: ``min_speech_s`` of frames in a row that the speech
detector scores at ``threshold`` or more. It keeps what it was fed, so the caller can hand
the candidate's first words (from ``preroll_s`` before they were detected) to the answer:
nothing said over the interviewer is lost.

Measured on the virtual devices with echo cancellation (``bench/echo.py``): the residual echo
of a question never reached 0.2 s of speech in a row; a candidate speaking over it did within
about half a second of their first word.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from voice_interview.core.endpointing import SpeechDetector

__all__ = ["BargeIn", "BargeInOptions"]


@dataclass(frozen=True)
class BargeInOptions:
    """When speech over the interviewer counts as the candidate's.

    Attributes:
        threshold: speech probability a frame needs to count as speech.
        min_speech_s: how long speech must last, without a gap, before the interviewer stops
            (a cough, a click or a burst of leftover echo is shorter).
        preroll_s: how much from before the first speech frame is kept as the start of the
            answer (a word's onset scores low). Short: before it, what the microphone heard
            was the interviewer (1 s kept the question's last words as "the project or
            task" at the start of a transcript, through the virtual devices at -20 dB).
        resume_s: speech that begins this soon after the interviewer's next words start
            (the next question, a round's intro, the summary) is the previous answer going
            on, not a reply: the candidate was mid-thought when the interviewer began, as in
            the pause benchmark's one blind cut (they went on 0.4 s after it). Later speech
            has heard the interviewer: it belongs to what comes next.
    """

    threshold: float = 0.5
    min_speech_s: float = 0.2
    preroll_s: float = 0.3
    resume_s: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), got {self.threshold}")
        if self.min_speech_s <= 0 or self.preroll_s < 0 or self.resume_s < 0:
            raise ValueError("min_speech_s must be positive, preroll_s and resume_s not negative")


class BargeIn:
    """Watches the input while the interviewer speaks; see the module docstring.

    Args:
        detector: scores frames of ``detector.frame_samples`` (reset here: a new stream).
        options: the rule.
        sample_rate: the rate of the samples fed.
    """

    def __init__(
        self, detector: SpeechDetector, options: BargeInOptions, sample_rate: int = 16_000
    ) -> None:
        self.detector = detector
        self.options = options
        self.sample_rate = sample_rate
        self.detected_at: int | None = None
        """Sample (from the first fed) at which the candidate's speech was detected."""
        self._frames = 0  # frames scored
        self._run = 0  # speech frames in a row
        self._buffer = np.zeros(0, dtype=np.float32)  # not yet a whole frame
        self._heard: list[npt.NDArray[np.float32]] = []
        self._total = 0
        self._need = max(1, round(options.min_speech_s * sample_rate / detector.frame_samples))
        detector.reset()

    def feed(self, samples: npt.NDArray[np.float32]) -> bool:
        """Take the next samples; True once the candidate is speaking (and from then on)."""
        samples = np.asarray(samples, dtype=np.float32)
        self._heard.append(samples)
        self._total += samples.size
        if self.detected_at is not None:
            return True
        frame = self.detector.frame_samples
        self._buffer = np.concatenate([self._buffer, samples])
        while self._buffer.size >= frame and self.detected_at is None:
            p = self.detector.speech_probability(self._buffer[:frame])
            self._buffer = self._buffer[frame:]
            self._frames += 1
            self._run = self._run + 1 if p >= self.options.threshold else 0
            if self._run >= self._need:
                self.detected_at = self._frames * frame
        return self.detected_at is not None

    def speech_start(self) -> int | None:
        """Where the candidate's speech starts in what was fed, ``preroll_s`` before its first
        speech frame: once detected, or when the input ended on a run of speech frames too
        short to tell yet (the sound stopped first). None: no speech."""
        began = self.speech_onset()
        if began is None:
            return None
        return max(0, began - round(self.options.preroll_s * self.sample_rate))

    def speech_onset(self) -> int | None:
        """The sample (from the first fed) of the candidate's first speech frame, without the
        preroll; None: no speech."""
        frame = self.detector.frame_samples
        if self.detected_at is not None:
            return self.detected_at - self._need * frame
        if self._run > 0:
            return (self._frames - self._run) * frame
        return None

    def heard(self) -> npt.NDArray[np.float32]:
        """Everything fed, in order."""
        return np.concatenate(self._heard) if self._heard else np.zeros(0, dtype=np.float32)

    def kept(self) -> npt.NDArray[np.float32]:
        """What an answer keeps: everything fed from :meth:`speech_start` (empty: none)."""
        start = self.speech_start()
        return np.zeros(0, dtype=np.float32) if start is None else self.heard()[start:]

    @property
    def heard_s(self) -> float:
        return self._total / self.sample_rate
