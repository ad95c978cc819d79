"""End-of-answer detection: an I/O-free state machine fed audio in chunks of any length.

The :class:`Endpointer` decides when the candidate has started and finished answering. It cuts
the samples it is fed into frames of ``detector.frame_samples``, asks a :class:`SpeechDetector`
(Silero VAD in ``adapters/vad.py``, a scripted fake in tests) how likely each frame is speech,
and reports :class:`EndpointEvent` s. Every time it uses is counted in samples from the start of
feeding, never read from a clock, so the same endpointer gives the same events on a live
microphone, on a WAV file cut into 512-sample chunks and on a WAV file fed in one piece.

States::

    waiting --(min_speech_s of speech)--> speaking <--(a speech frame)--> pausing
    waiting --(no_speech_timeout_s)--> ended            pausing --(end_silence_s)--> ended
    speaking/pausing --(max_answer_s after the answer started)--> ended
    any state --stop()--> ended

Frame classification uses hysteresis, as Silero's own ``get_speech_timestamps`` does: a frame
starts (or resumes) speech when its probability is at least ``speech_threshold``, and speech
continues until a frame falls below ``silence_threshold``.

Stretches are the answer's speech regions with pauses shorter than ``stretch_gap_s`` merged
into them. Each is reported (``stretch_closed``) once a pause of ``stretch_gap_s`` follows it,
so a streaming transcriber can transcribe it while the candidate goes on speaking; the last one
is closed when the answer ends. Stretch spans carry ``stretch_pad_s`` of padding either side so
that word onsets and trailing consonants the detector scores low are not cut off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

__all__ = [
    "EndReason",
    "EndpointEvent",
    "EndpointOptions",
    "EndpointState",
    "Endpointer",
    "EventKind",
    "SpeechDetector",
]

EndpointState = Literal["waiting", "speaking", "pausing", "ended"]
EventKind = Literal["speech_started", "stretch_closed", "answer_ended"]
EndReason = Literal["silence", "max_length", "no_speech", "stopped"]


class SpeechDetector(Protocol):
    """Scores fixed-size frames for speech, one at a time, in order.

    Attributes:
        frame_samples: samples per frame (512 for Silero at 16 kHz). The detector must run at
            the sample rate given to the :class:`Endpointer`.
    """

    frame_samples: int

    def speech_probability(self, frame: npt.NDArray[np.float32]) -> float:
        """Probability in [0, 1] that ``frame`` (exactly ``frame_samples`` float32 samples) is
        speech. Called once per frame in stream order; keeps its own recurrent state."""
        ...

    def reset(self) -> None:
        """Forget the recurrent state, as before the first frame of a new stream."""
        ...


@dataclass(frozen=True)
class EndpointOptions:
    """When an answer starts and ends. Defaults are defined here once.

    Attributes:
        end_silence_s: silence after the last speech that ends the answer. Thinking pauses of
            1-2.5 s are normal in an interview answer, so the default waits 3 s.
        max_answer_s: hard cap on an answer, counted from the start of its first speech (not
            from the start of listening: the time before that is covered by
            ``no_speech_timeout_s``, and a late start still gets the whole allowance).
        no_speech_timeout_s: end with reason ``no_speech`` when no answer has started this long
            after listening began. A speech burst still being confirmed (see ``min_speech_s``)
            at that moment is allowed to finish first.
        min_speech_s: speech must last this long, without dropping below
            ``silence_threshold``, to start the answer; shorter bursts (a cough, a click, a
            chair creak) are ignored. Applies only to the start of the answer: once it has
            started, any speech frame resets the silence countdown (a short "um" in a long
            pause means the candidate is still answering).
        speech_threshold: a frame whose speech probability is at least this starts or resumes
            speech.
        silence_threshold: while speaking, speech continues until a frame's probability falls
            below this (hysteresis; must not exceed ``speech_threshold``).
        stretch_gap_s: a pause this long after speech closes the current stretch.
        stretch_pad_s: padding added before and after each stretch and the answer span,
            clipped to the audio fed so far and never reaching back into the previous stretch.
    """

    end_silence_s: float = 3.0
    max_answer_s: float = 180.0
    no_speech_timeout_s: float = 20.0
    min_speech_s: float = 0.25
    speech_threshold: float = 0.5
    silence_threshold: float = 0.35
    stretch_gap_s: float = 0.6
    stretch_pad_s: float = 0.2

    def __post_init__(self) -> None:
        for name in ("end_silence_s", "max_answer_s", "no_speech_timeout_s", "stretch_gap_s"):
            value = getattr(self, name)
            if not value > 0:  # also rejects NaN
                raise ValueError(f"EndpointOptions.{name} must be positive, got {value}")
        for name in ("min_speech_s", "stretch_pad_s"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(
                    f"EndpointOptions.{name} must be zero or a positive number, got {value}"
                )
        if not 0 < self.silence_threshold <= self.speech_threshold <= 1:
            raise ValueError(
                "EndpointOptions needs 0 < silence_threshold <= speech_threshold <= 1, got "
                f"silence_threshold={self.silence_threshold}, "
                f"speech_threshold={self.speech_threshold}"
            )


@dataclass(frozen=True)
class EndpointEvent:
    """Something the endpointer decided.

    Attributes:
        kind: ``speech_started`` (the answer began), ``stretch_closed`` (a speech stretch is
            complete and can be transcribed) or ``answer_ended`` (always the last event).
        sample: the decision point: how many samples had been fed (counted from the start of
            feeding, or the last :meth:`Endpointer.reset`) when the endpointer decided. The
            latency of an event is ``sample`` minus the moment it refers to.
        start_sample, end_sample: the span the event refers to, in the same sample count:
            for ``speech_started`` the onset of the speech (``end_sample`` is None); for
            ``stretch_closed`` the padded stretch; for ``answer_ended`` the padded span from the
            first to the last speech of the answer (both None when no answer started).
        reason: for ``answer_ended``, why: ``silence``, ``max_length``, ``no_speech`` or
            ``stopped``.
    """

    kind: EventKind
    sample: int
    start_sample: int | None = None
    end_sample: int | None = None
    reason: EndReason | None = None


class Endpointer:
    """Feed it audio, get :class:`EndpointEvent` s; timed only by the number of samples fed.

    Args:
        detector: scores frames of ``detector.frame_samples`` at ``sample_rate``.
        options: thresholds and durations (default :class:`EndpointOptions`); kept as given and
            readable back as :attr:`options`.
        sample_rate: of the fed samples, in Hz (16 kHz for Silero).

    A trailing part of the input shorter than one frame waits in a buffer for the next
    :meth:`feed`; :meth:`stop` does not classify it, but counts it as part of the answer when
    the candidate was speaking.
    """

    def __init__(
        self,
        detector: SpeechDetector,
        options: EndpointOptions | None = None,
        sample_rate: int = 16_000,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        frame = detector.frame_samples
        if frame <= 0:
            raise ValueError(f"detector.frame_samples must be positive, got {frame}")
        self._detector = detector
        self._options = options or EndpointOptions()
        self._rate = sample_rate
        self._frame = frame
        opts = self._options
        # Durations in samples. Kept as floats so that max_answer_s=inf works; frame
        # boundaries are compared against them, so each fires at the end of the first frame
        # that reaches it.
        self._end_silence = opts.end_silence_s * sample_rate
        self._max_answer = opts.max_answer_s * sample_rate
        self._no_speech = opts.no_speech_timeout_s * sample_rate
        self._min_speech = opts.min_speech_s * sample_rate
        self._gap = opts.stretch_gap_s * sample_rate
        self._pad = round(opts.stretch_pad_s * sample_rate)
        self._buffer = np.zeros(frame, dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        """Start over for a new answer: sample counting restarts at 0, the detector is reset."""
        self._detector.reset()
        self._state: EndpointState = "waiting"
        self._fill = 0  # samples waiting in self._buffer
        self._consumed = 0  # samples fed (up to the end of the answer)
        self._frame_end = 0  # samples classified (a multiple of the frame size)
        self._candidate: int | None = None  # onset of a burst not yet long enough to start
        self._answer_start: int | None = None
        self._stretch_start: int | None = None  # onset of the open stretch, unpadded
        self._last_speech_end = 0
        self._previous_stretch_end = 0  # padded end of the last closed stretch
        self._speech_samples = 0

    @property
    def options(self) -> EndpointOptions:
        """The effective options."""
        return self._options

    @property
    def sample_rate(self) -> int:
        return self._rate

    @property
    def state(self) -> EndpointState:
        """``waiting`` (no answer yet), ``speaking``, ``pausing`` (inside the answer) or
        ``ended``."""
        return self._state

    @property
    def elapsed_s(self) -> float:
        """Audio fed so far, in seconds (after the end: up to the moment it ended)."""
        return self._consumed / self._rate

    @property
    def speech_s(self) -> float:
        """Duration of the frames classified as speech since the answer started, in seconds."""
        return self._speech_samples / self._rate

    def feed(self, samples: npt.NDArray[np.float32]) -> list[EndpointEvent]:
        """Process the next ``samples`` (1-D, any length, float32 in [-1, 1]) of the stream.

        Returns the events decided on the way, in order; nothing once the answer has ended.
        """
        data = np.asarray(samples, dtype=np.float32)
        if data.ndim != 1:
            raise ValueError(f"Endpointer.feed() takes 1-D mono samples, got shape {data.shape}")
        events: list[EndpointEvent] = []
        frame_size = self._frame
        total = data.shape[0]
        pos = 0
        while pos < total and self._state != "ended":
            if self._fill == 0 and total - pos >= frame_size:
                frame = data[pos : pos + frame_size]
                pos += frame_size
            else:
                take = min(frame_size - self._fill, total - pos)
                self._buffer[self._fill : self._fill + take] = data[pos : pos + take]
                self._fill += take
                pos += take
                if self._fill < frame_size:
                    break
                frame = self._buffer.copy()
                self._fill = 0
            events.extend(self._on_frame(frame))
        self._consumed += pos
        return events

    def stop(self) -> list[EndpointEvent]:
        """End now (the candidate said they are done): closes the open stretch, if any, and
        reports ``answer_ended`` with reason ``stopped``. Nothing once the answer has ended."""
        if self._state == "ended":
            return []
        if self._state == "speaking":  # the buffered tail belongs to the speech
            self._last_speech_end = self._consumed
        return self._finish(self._consumed, "stopped")

    def _on_frame(self, frame: npt.NDArray[np.float32]) -> list[EndpointEvent]:
        probability = float(self._detector.speech_probability(frame))
        start = self._frame_end
        end = start + self._frame
        self._frame_end = end
        if self._state == "waiting":
            return self._while_waiting(probability, start, end)
        return self._while_answering(probability, start, end)

    def _while_waiting(self, probability: float, start: int, end: int) -> list[EndpointEvent]:
        opts = self._options
        if self._candidate is None:
            if probability >= opts.speech_threshold:
                self._candidate = start
        elif probability < opts.silence_threshold:
            self._candidate = None
        if self._candidate is not None and end - self._candidate >= self._min_speech:
            onset = self._candidate
            self._candidate = None
            self._answer_start = self._stretch_start = onset
            self._last_speech_end = end
            self._speech_samples = end - onset
            self._state = "speaking"
            return [EndpointEvent("speech_started", end, start_sample=onset)]
        if self._candidate is None and end >= self._no_speech:
            return self._finish(end, "no_speech")
        return []

    def _while_answering(self, probability: float, start: int, end: int) -> list[EndpointEvent]:
        opts = self._options
        threshold = opts.silence_threshold if self._state == "speaking" else opts.speech_threshold
        if probability >= threshold:
            if self._stretch_start is None:
                self._stretch_start = start
            self._state = "speaking"
            self._last_speech_end = end
            self._speech_samples += self._frame
        else:
            self._state = "pausing"
        events: list[EndpointEvent] = []
        silence = end - self._last_speech_end
        if self._stretch_start is not None and silence >= self._gap:
            events.append(self._close_stretch(end))
        assert self._answer_start is not None
        if silence >= self._end_silence:
            events.extend(self._finish(end, "silence"))
        elif end - self._answer_start >= self._max_answer:
            events.extend(self._finish(end, "max_length"))
        return events

    def _close_stretch(self, limit: int) -> EndpointEvent:
        """Close the open stretch at decision point ``limit`` (padding never passes it)."""
        assert self._stretch_start is not None
        start = max(0, self._previous_stretch_end, self._stretch_start - self._pad)
        end = min(limit, self._last_speech_end + self._pad)
        self._stretch_start = None
        self._previous_stretch_end = end
        return EndpointEvent("stretch_closed", limit, start_sample=start, end_sample=end)

    def _finish(self, sample: int, reason: EndReason) -> list[EndpointEvent]:
        events: list[EndpointEvent] = []
        if self._stretch_start is not None:
            events.append(self._close_stretch(sample))
        span_start: int | None = None
        span_end: int | None = None
        if self._answer_start is not None:
            span_start = max(0, self._answer_start - self._pad)
            span_end = min(sample, self._last_speech_end + self._pad)
        events.append(EndpointEvent("answer_ended", sample, span_start, span_end, reason))
        self._state = "ended"
        self._candidate = None
        self._fill = 0
        return events
