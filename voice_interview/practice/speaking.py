"""The interviewer's voice: plays what it says, with the microphone muted or, with barge-in,
listening, and stops when the candidate talks over it.

:class:`Speaking` needs only a speaker, a speech detector and the display, so the interview
loop, ``bench/echo.py`` and the live barge-in tests run the one speaking path. Barge-in
(``core/barge_in.py``) needs a microphone that cancels the interviewer's echo
(``echo_cancelled``, see ``adapters/echo.py``) and a speaker that can be interrupted
(:class:`InterruptibleSpeaker`); otherwise the microphone is muted while the interviewer
speaks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio
from voice_interview.core.barge_in import BargeIn, BargeInOptions
from voice_interview.core.endpointing import SpeechDetector
from voice_interview.errors import VoiceInterviewError
from voice_interview.practice.display import Display

__all__ = ["Heard", "InterruptibleSpeaker", "Microphone", "Speaker", "Speaking"]

logger = logging.getLogger(__name__)


class Microphone(Protocol):
    """What the loop needs from an input: blocks of 16 kHz audio, muting, a level."""

    @property
    def level_dbfs(self) -> float: ...

    def read(self, timeout_s: float) -> Audio | None: ...
    def mute(self) -> None: ...
    def unmute(self) -> None: ...


class Speaker(Protocol):
    def play(self, audio: Audio) -> None: ...


class InterruptibleSpeaker(Protocol):
    """A speaker the candidate can interrupt (``adapters/devices.Speaker``): it plays in the
    background while the loop listens, and stops at once."""

    @property
    def playing(self) -> bool: ...

    def play(self, audio: Audio, blocking: bool = True) -> None: ...
    def stop(self) -> None: ...
    def wait(self) -> None: ...


@dataclass(frozen=True)
class Heard:
    """What the microphone heard while the interviewer spoke (barge-in on): ``speech``, the
    candidate's, and ``before`` it (kept for a prompt inside an answer), 16 kHz;
    ``speech_at_s``: when the candidate's first speech frame came, in seconds from the start of
    the sound (None: no speech)."""

    before: Audio | None = None
    speech: Audio | None = None
    speech_at_s: float | None = None


class Speaking:
    """Plays the interviewer's audio; see the module docstring.

    Args:
        speaker: where it plays.
        detector: makes the speech detector barge-in listens with (one per sound).
        display: where "the interviewer stops" is said.
        barge_in: listen while speaking when the devices allow it (off: always mute).
    """

    def __init__(
        self,
        speaker: Speaker,
        detector: Callable[[], SpeechDetector],
        display: Display,
        *,
        barge_in: bool = True,
    ) -> None:
        self.speaker = speaker
        self.detector = detector
        self.display = display
        self.barge_in = barge_in
        self.barge_ins = 0
        """How often the candidate's voice stopped the interviewer."""

    def listens(self, mic: Microphone | None) -> bool:
        """Barge-in is on: the microphone cancels the interviewer's echo and the speaker can
        be interrupted."""
        return (
            self.barge_in
            and mic is not None
            and bool(getattr(mic, "echo_cancelled", False))
            and all(hasattr(self.speaker, a) for a in ("playing", "stop", "wait"))
        )

    def play(self, audio: Audio, mic: Microphone | None, *, question: bool = True) -> Heard:
        """Speak ``audio``. Without barge-in the microphone is muted meanwhile. With it, the
        microphone listens on and the interviewer stops as soon as the candidate talks; what
        it heard comes back: ``speech``, the candidate's (from just before they began, or a
        start of speech still too short to tell when the sound ended), and, for a prompt
        inside an answer (``question`` False), ``before`` it, the rest (the answer's
        recording goes on through the prompt). A failing microphone ends the listening (the
        answer's next read reports it)."""
        if mic is None or not self.listens(mic):
            if mic is not None:
                mic.mute()
            try:
                self.speaker.play(audio)
            finally:
                if mic is not None:
                    mic.unmute()
            return Heard()
        speaker: InterruptibleSpeaker = self.speaker  # type: ignore[assignment]
        watch = BargeIn(self.detector(), BargeInOptions(), ASR_SAMPLE_RATE)
        flush = getattr(mic, "flush", None)
        if question and flush is not None:
            flush()  # what came before the question (an intro's echo) is no answer
        speaker.play(audio, blocking=False)
        try:
            while speaker.playing:
                block = mic.read(0.05)
                if block is None:
                    continue
                if watch.feed(block.resampled(ASR_SAMPLE_RATE).samples) and speaker.playing:
                    speaker.stop()
                    self.barge_ins += 1
                    self.display.message("(You are speaking: the interviewer stops. Go on.)")
        except VoiceInterviewError as exc:
            logger.warning("microphone lost while the interviewer spoke: %s", exc)
        finally:
            if watch.detected_at is None:
                speaker.wait()  # the sound's last samples come out of the device
            else:
                speaker.stop()
        heard = watch.heard()
        onset = watch.speech_onset()
        start = watch.speech_start()
        cut = heard.size if start is None else start
        before = heard[:cut] if not question and cut else None
        speech = heard[cut:] if cut < heard.size else None
        return Heard(
            before=None if before is None else Audio(before, ASR_SAMPLE_RATE),
            speech=None if speech is None else Audio(speech, ASR_SAMPLE_RATE),
            speech_at_s=None if onset is None else onset / ASR_SAMPLE_RATE,
        )
