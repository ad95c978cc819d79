"""End-of-answer detection: an I/O-free state machine fed audio in chunks of any length.

The :class:`Endpointer` decides when the candidate has started and finished answering, from
three kinds of evidence:

- **silence**: a :class:`SpeechDetector` (Silero VAD in ``adapters/vad.py``) scores each frame;
- **sound**: at each short pause (``stretch_gap_s``) a :class:`TurnDetector` (Smart Turn in
  ``adapters/turn.py``) is asked once whether the last <= 8 s sound like a finished turn;
- **content**: the caller reports whether the transcript so far reads as a finished answer,
  and whether the recogniser was sure of its last words (:meth:`Endpointer.set_content`;
  ``scoring/completeness.py`` decides both), for the audio up to a given sample.

The transcript decides when the answer ends; the sound decides how soon the interviewer
speaks after it:

=====================  ======================  =============================================
content (transcript)   sound (turn model),     what happens
                       recogniser confidence
=====================  ======================  =============================================
a closing phrase       any                     end after ``finished_silence_s``; the
("that's my answer")                           interviewer may speak at once (the candidate
                                               said they are done)
unfinished or unknown  any                     wait up to ``end_silence_s``, nudge ("Take
                                               your time. Anything to add?"), end
                                               ``nudge_reply_s`` later if nothing more is said
finished               both sure               end after ``finished_silence_s`` (a provisional
                                               score now); the interviewer may speak after
                                               ``reply_after_s`` of silence
finished               either in doubt         end after ``finished_silence_s`` (a provisional
                                               score now); the interviewer waits
                                               ``end_silence_s`` of silence
=====================  ======================  =============================================

An end on silence is provisional: the answer can still be reopened, and nothing is final (the
next question is not asked) until :attr:`Endpointer.reply_after_s` of silence has followed the
last word, ``end_silence_s`` at most: thinking pauses of 3-8 s come between sentences that
read finished as often as inside them, so a finished-reading answer waits almost as long as an
unfinished one unless the candidate says they are done (a closing phrase, or Enter).

The turn model has no veto on ending: measured on real read speech and two synthetic voices
(``bench/turn_signals.py``, ``bench/results/turn-signals-*``), when it heard "unfinished" where
the transcript read finished, it was mostly the real end of the answer, and as a veto it made
about a third of finished answers wait 12 s for a nudge. As a doubt it costs only a longer wait
before the interviewer speaks, with the feedback already on screen. Without a turn model
(missing, or off because the CPU was too busy) a finished-reading answer ends after
``fallback_silence_s``: the plain silence rule.

Every time is counted in samples from the start of feeding, never read from a clock, so the
same endpointer gives the same events on a live microphone, on a WAV file cut into 512-sample
chunks and on a WAV file fed in one piece (the caller's content reports are inputs like the
audio).

States::

    waiting --(min_speech_s of speech)--> speaking <--(a speech frame)--> pausing
    waiting --(no_speech_timeout_s)--> ended (final)
    pausing --(finished: finished_silence_s | unfinished: end_silence_s [+ nudge_reply_s])-->
        ended (reopenable)
    ended (reopenable) --(min_speech_s of speech)--> speaking   [answer_reopened]
    speaking/pausing --(max_answer_s after the answer started)--> ended (final)
    any state --stop()--> ended (final)

An answer that ended on silence can be reopened: the caller keeps feeding the microphone until
the interviewer's next audio starts, and speech that starts again in that time continues the
same answer (``answer_reopened``), with the same sample count, so one answer stays one audio
file and one transcript.

Frame classification uses hysteresis, as Silero's own ``get_speech_timestamps`` does: a frame
starts (or resumes) speech when its probability is at least ``speech_threshold``, and speech
continues until a frame falls below ``silence_threshold``.

Stretches are the answer's speech with pauses shorter than ``stretch_gap_s`` merged into them.
Each is reported (``stretch_closed``) once a pause of ``stretch_gap_s`` follows it, so a
streaming transcriber can transcribe it while the candidate goes on speaking. A fluent speaker
may never pause that long, so a stretch longer than ``max_stretch_s`` is cut at its quietest
frame (lowest RMS) in its second half. Stretch spans carry ``stretch_pad_s`` of padding either
side (never past a cut or into the previous stretch) so that word onsets and trailing
consonants the detector scores low are kept.
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
    "TurnDetector",
]

EndpointState = Literal["waiting", "speaking", "pausing", "ended"]
EventKind = Literal[
    "speech_started", "stretch_closed", "turn_checked", "nudge", "answer_ended", "answer_reopened"
]
EndReason = Literal["finished", "silence", "max_length", "no_speech", "stopped"]

_REOPENABLE: frozenset[EndReason] = frozenset({"finished", "silence"})


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


class TurnDetector(Protocol):
    """Says whether speech sounds finished (intonation, rhythm), from its last seconds.

    Attributes:
        window_samples: how many of the latest samples it reads (8 s for Smart Turn).
    """

    window_samples: int

    def end_of_turn_probability(self, samples: npt.NDArray[np.float32]) -> float | None:
        """Probability in [0, 1] that the speech ending at the end of ``samples`` is a finished
        turn, or None when the detector cannot answer (off, too slow): the endpointer then
        uses the silence rule. Called at most once per pause."""
        ...


@dataclass(frozen=True)
class EndpointOptions:
    """When an answer starts and ends. Defaults are defined here once.

    Attributes:
        end_silence_s: the longest silence allowed while anything says the answer is
            unfinished (the turn model, or the transcript so far: a trailing "and", a story
            with no action or result yet, a technical answer far too short). Thinking pauses of
            4-8 s are normal in interviews; the default, 8.5 s, lets an 8 s pause end with the
            speech detector's own lag to spare. Then the interviewer nudges (see
            ``nudge_reply_s``).
        finished_silence_s: the silence after which an answer whose transcript reads as
            finished ends. With the transcription and scoring that follow, feedback is ready
            about a second after the last word.
        fallback_silence_s: the same without a turn model (not installed, damaged, or off
            because the CPU was too busy): the plain silence rule.
        nudge_reply_s: after ``end_silence_s`` on an unfinished answer the endpointer asks for
            a nudge (event ``nudge``: "Anything to add?") and ends the answer this much later
            if nothing more is said. 0 = no nudge: the answer ends at ``end_silence_s``.
        turn_threshold: a turn-model probability of at least this says "finished".
        wait_for_content: end early only once the caller has reported (``set_content``) that
            the transcript up to the last speech reads as finished. False = judge by sound and
            silence alone: the turn model then decides (a baseline for benchmarks).
        max_answer_s: hard cap on an answer, counted from the start of its first speech (not
            from the start of listening: the time before that is covered by
            ``no_speech_timeout_s``, and a late start still gets the whole allowance).
        no_speech_timeout_s: end with reason ``no_speech`` when no answer has started this long
            after listening began. A speech burst still being confirmed (see ``min_speech_s``)
            at that moment is allowed to finish first.
        min_speech_s: speech must last this long, without dropping below
            ``silence_threshold``, to start (or reopen) the answer; shorter bursts (a cough, a
            click, a chair creak) are ignored. Once the answer is open, any speech frame resets
            the silence countdown.
        speech_threshold: a frame whose speech probability is at least this starts or resumes
            speech.
        silence_threshold: while speaking, speech continues until a frame's probability falls
            below this (hysteresis; must not exceed ``speech_threshold``).
        stretch_gap_s: a pause this long after speech closes the current stretch (to be
            transcribed now) and asks the turn model, once per pause.
        stretch_pad_s: padding added before and after each stretch and the answer span,
            clipped to the audio fed so far and never reaching back into the previous stretch.
        max_stretch_s: a stretch that grows past this without a pause is cut at its quietest
            frame in its second half, so a fluent speaker is transcribed (and captioned) while
            speaking.
        reply_after_s: for the caller: when the sound and the transcript are both sure the
            answer is finished, the interviewer's next audio starts once this much silence
            has followed the last word (when either is in doubt: ``end_silence_s``; after a
            closing phrase: at once; never more than ``end_silence_s``; see
            :attr:`Endpointer.reply_after_s`). A provisional score is shown as soon as the
            answer ends; speech that starts again before the interviewer speaks reopens the
            answer. Measured on the pause benchmark (``bench/pauses.py``): thinking
            pauses of 3-8 s between sentences that read finished are common, so this is long.
    """

    end_silence_s: float = 8.5
    finished_silence_s: float = 0.5
    fallback_silence_s: float = 3.0
    nudge_reply_s: float = 4.0
    turn_threshold: float = 0.5
    wait_for_content: bool = True
    max_answer_s: float = 180.0
    no_speech_timeout_s: float = 20.0
    min_speech_s: float = 0.25
    speech_threshold: float = 0.5
    silence_threshold: float = 0.35
    stretch_gap_s: float = 0.3
    stretch_pad_s: float = 0.2
    max_stretch_s: float = 2.5
    reply_after_s: float = 7.0

    def __post_init__(self) -> None:
        for name in (
            "end_silence_s",
            "finished_silence_s",
            "fallback_silence_s",
            "max_answer_s",
            "no_speech_timeout_s",
            "stretch_gap_s",
            "max_stretch_s",
            "reply_after_s",
        ):
            value = getattr(self, name)
            if not value > 0:  # also rejects NaN
                raise ValueError(f"EndpointOptions.{name} must be positive, got {value}")
        for name in ("min_speech_s", "stretch_pad_s", "nudge_reply_s"):
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
        if not 0 <= self.turn_threshold <= 1:
            raise ValueError(
                f"EndpointOptions.turn_threshold must be in [0, 1], got {self.turn_threshold}"
            )


@dataclass(frozen=True)
class EndpointEvent:
    """Something the endpointer decided.

    Attributes:
        kind: ``speech_started`` (the answer began), ``stretch_closed`` (a piece of speech is
            complete and can be transcribed), ``turn_checked`` (the turn model was asked at a
            pause), ``nudge`` (a long silence on an unfinished answer: prompt the candidate),
            ``answer_ended`` (the last event, unless speech starts again) or
            ``answer_reopened`` (speech started again after an end on silence).
        sample: the decision point: how many samples had been fed (counted from the start of
            feeding, or the last :meth:`Endpointer.reset`) when the endpointer decided. The
            latency of an event is ``sample`` minus the moment it refers to.
        start_sample, end_sample: the span the event refers to, in the same sample count:
            for ``speech_started`` and ``answer_reopened`` the onset of the speech
            (``end_sample`` is None); for ``stretch_closed`` the padded stretch; for
            ``answer_ended`` the padded span from the first to the last speech of the answer
            (both None when no answer started); for ``turn_checked`` the end of the speech.
        reason: for ``answer_ended``, why: ``finished`` (everything said so), ``silence``
            (the longest silence passed), ``max_length``, ``no_speech`` or ``stopped``.
        probability: for ``turn_checked``, the turn model's answer (None: no model).
    """

    kind: EventKind
    sample: int
    start_sample: int | None = None
    end_sample: int | None = None
    reason: EndReason | None = None
    probability: float | None = None


class Endpointer:
    """Feed it audio, get :class:`EndpointEvent` s; timed only by the number of samples fed.

    Args:
        detector: scores frames of ``detector.frame_samples`` at ``sample_rate``.
        options: thresholds and durations (default :class:`EndpointOptions`); kept as given and
            readable back as :attr:`options`.
        sample_rate: of the fed samples, in Hz (16 kHz for Silero).
        turn: the end-of-turn model, asked once per pause; None = none (silence rule).

    A trailing part of the input shorter than one frame waits in a buffer for the next
    :meth:`feed`; :meth:`stop` does not classify it, but counts it as part of the answer when
    the candidate was speaking.
    """

    def __init__(
        self,
        detector: SpeechDetector,
        options: EndpointOptions | None = None,
        sample_rate: int = 16_000,
        turn: TurnDetector | None = None,
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        frame = detector.frame_samples
        if frame <= 0:
            raise ValueError(f"detector.frame_samples must be positive, got {frame}")
        self._detector = detector
        self._turn = turn
        self._options = options or EndpointOptions()
        self._rate = sample_rate
        self._frame = frame
        opts = self._options
        # Durations in samples. Kept as floats so that max_answer_s=inf works; frame
        # boundaries are compared against them, so each fires at the end of the first frame
        # that reaches it.
        self._end_silence = opts.end_silence_s * sample_rate
        self._finished_silence = opts.finished_silence_s * sample_rate
        self._fallback_silence = opts.fallback_silence_s * sample_rate
        self._nudge_reply = opts.nudge_reply_s * sample_rate
        self._max_answer = opts.max_answer_s * sample_rate
        self._no_speech = opts.no_speech_timeout_s * sample_rate
        self._min_speech = opts.min_speech_s * sample_rate
        self._gap = opts.stretch_gap_s * sample_rate
        self._max_stretch = opts.max_stretch_s * sample_rate
        self._pad = round(opts.stretch_pad_s * sample_rate)
        self._buffer = np.zeros(frame, dtype=np.float32)
        window = turn.window_samples if turn is not None else 0
        if turn is not None and window <= 0:
            raise ValueError(f"turn.window_samples must be positive, got {window}")
        self._window = np.zeros(max(0, window), dtype=np.float32)
        self.reset()

    def reset(self) -> None:
        """Start over for a new answer: sample counting restarts at 0, the detector is reset."""
        self._detector.reset()
        self._state: EndpointState = "waiting"
        self._final = False  # ended for good (no reopening)
        self._fill = 0  # samples waiting in self._buffer
        self._consumed = 0  # samples fed
        self._frame_end = 0  # samples classified (a multiple of the frame size)
        self._candidate: int | None = None  # onset of a burst not yet long enough to start
        self._answer_start: int | None = None
        self._stretch_start: int | None = None  # onset of the open stretch, unpadded
        self._stretch_rms: list[tuple[int, float]] = []  # (frame start, RMS) of the stretch
        self._last_speech_end = 0
        self._previous_stretch_end = 0  # end of the last closed stretch
        self._speech_samples = 0
        self._checked = False  # the turn model was asked in this pause
        self._turn_probability: float | None = None
        self._nudged_at: int | None = None  # decision point of this pause's nudge
        self._content_finished = False
        self._content_sure = False
        self._content_through = -1  # the content report covers speech up to this sample
        self._sure = True  # the last end was one that sound and content were both sure of
        self._content_done = False  # the transcript ends on a closing phrase
        self._done = False  # the last end followed a closing phrase

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
    def reopenable(self) -> bool:
        """The answer ended on silence and would reopen if the candidate spoke again."""
        return self._state == "ended" and not self._final

    @property
    def hearing_speech(self) -> bool:
        """Speech is going on: the candidate is speaking, or (after an end) a burst has begun
        that is not yet long enough to reopen the answer. The interviewer must not start."""
        return self._state == "speaking" or (self._state == "ended" and self._candidate is not None)

    @property
    def elapsed_s(self) -> float:
        """Audio fed so far, in seconds (after a final end: up to the moment it ended)."""
        return self._consumed / self._rate

    @property
    def speech_s(self) -> float:
        """Duration of the frames classified as speech since the answer started, in seconds."""
        return self._speech_samples / self._rate

    @property
    def last_speech_end(self) -> int:
        """Sample count at the end of the latest speech frame of the answer."""
        return self._last_speech_end

    @property
    def reply_after_s(self) -> float:
        """After an end on silence: how much silence after the last word the interviewer
        should wait before speaking (longer when the turn model or the recogniser was in doubt
        that the answer was over)."""
        opts = self._options
        if self._done:
            return 0.0
        if self._sure:
            return min(opts.reply_after_s, opts.end_silence_s)
        return opts.end_silence_s

    def set_content(
        self, finished: bool, through_sample: int, sure: bool = True, done: bool = False
    ) -> None:
        """Report whether the transcript of the answer up to ``through_sample`` reads as a
        finished answer, whether the recogniser was ``sure`` of its last words, and whether
        it ends on a closing phrase (``done``: "that's my answer"; implies finished). Used
        only while no speech came after ``through_sample``."""
        if through_sample >= self._content_through:
            self._content_finished = bool(finished or done)
            self._content_sure = bool(sure)
            self._content_done = bool(done)
            self._content_through = int(through_sample)

    def feed(self, samples: npt.NDArray[np.float32]) -> list[EndpointEvent]:
        """Process the next ``samples`` (1-D, any length, float32 in [-1, 1]) of the stream.

        Returns the events decided on the way, in order; nothing once the answer has ended for
        good. After an end on silence, feeding goes on listening for a reopened answer.
        """
        data = np.asarray(samples, dtype=np.float32)
        if data.ndim != 1:
            raise ValueError(f"Endpointer.feed() takes 1-D mono samples, got shape {data.shape}")
        events: list[EndpointEvent] = []
        frame_size = self._frame
        total = data.shape[0]
        pos = 0
        while pos < total and not self._final:
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
        """End now for good (the candidate said they are done): closes the open stretch, if
        any, and reports ``answer_ended`` with reason ``stopped``. Nothing once the answer has
        ended; an answer that ended on silence is then no longer reopened."""
        if self._state == "ended":
            self._final = True
            return []
        if self._state == "speaking":  # the buffered tail belongs to the speech
            self._last_speech_end = self._consumed
        return self._finish(self._consumed, "stopped")

    # -- frames ----------------------------------------------------------------------------

    def _on_frame(self, frame: npt.NDArray[np.float32]) -> list[EndpointEvent]:
        probability = float(self._detector.speech_probability(frame))
        start = self._frame_end
        end = start + self._frame
        self._frame_end = end
        self._remember(frame)
        if self._state == "waiting":
            return self._while_waiting(probability, start, end)
        if self._state == "ended":
            return self._while_closed(probability, start, end, frame)
        return self._while_answering(probability, start, end, frame)

    def _remember(self, frame: npt.NDArray[np.float32]) -> None:
        """Keep the latest ``turn.window_samples`` for the turn model: a ring buffer, whose
        write position is the count of samples classified (written once per frame, read in
        order only when the model is asked)."""
        size = self._window.shape[0]
        if size == 0:
            return
        tail = frame[-size:]
        at = (self._frame_end - tail.shape[0]) % size
        first = min(tail.shape[0], size - at)
        self._window[at : at + first] = tail[:first]
        self._window[: tail.shape[0] - first] = tail[first:]

    def _onset(self, probability: float, start: int, end: int) -> int | None:
        """Track a speech burst; its onset once it has lasted ``min_speech_s``."""
        opts = self._options
        if self._candidate is None:
            if probability >= opts.speech_threshold:
                self._candidate = start
        elif probability < opts.silence_threshold:
            self._candidate = None
        if self._candidate is not None and end - self._candidate >= self._min_speech:
            onset, self._candidate = self._candidate, None
            return onset
        return None

    def _while_waiting(self, probability: float, start: int, end: int) -> list[EndpointEvent]:
        onset = self._onset(probability, start, end)
        if onset is not None:
            self._answer_start = self._stretch_start = onset
            self._stretch_rms = []
            self._last_speech_end = end
            self._speech_samples = end - onset
            self._state = "speaking"
            return [EndpointEvent("speech_started", end, start_sample=onset)]
        if self._candidate is None and end >= self._no_speech:
            return self._finish(end, "no_speech")
        return []

    def _while_closed(
        self, probability: float, start: int, end: int, frame: npt.NDArray[np.float32]
    ) -> list[EndpointEvent]:
        """After an end on silence: speech reopens the same answer."""
        onset = self._onset(probability, start, end)
        if onset is None:
            return []
        self._stretch_start = max(onset, self._previous_stretch_end)
        self._stretch_rms = []
        self._last_speech_end = end
        self._speech_samples += end - onset
        self._state = "speaking"
        self._new_speech()
        return [EndpointEvent("answer_reopened", end, start_sample=onset)]

    def _new_speech(self) -> None:
        self._done = False
        self._checked = False
        self._turn_probability = None
        self._nudged_at = None

    def _while_answering(
        self, probability: float, start: int, end: int, frame: npt.NDArray[np.float32]
    ) -> list[EndpointEvent]:
        opts = self._options
        threshold = opts.silence_threshold if self._state == "speaking" else opts.speech_threshold
        events: list[EndpointEvent] = []
        if probability >= threshold:
            if self._stretch_start is None:
                self._stretch_start = max(start, self._previous_stretch_end)
                self._stretch_rms = []
            self._state = "speaking"
            self._last_speech_end = end
            self._speech_samples += self._frame
            self._new_speech()
        else:
            self._state = "pausing"
        if self._stretch_start is not None:
            self._stretch_rms.append((start, float(np.sqrt(np.mean(np.square(frame))))))
            if end - self._stretch_start >= self._max_stretch and self._state == "speaking":
                cut = self._quietest_point(end)
                if cut is not None:
                    events.append(self._cut_stretch(end, cut))
        silence = end - self._last_speech_end
        if self._stretch_start is not None and silence >= self._gap:
            events.append(self._close_stretch(end))
        if not self._checked and silence >= self._gap:
            self._checked = True
            self._turn_probability = self._ask_turn_model()
            events.append(
                EndpointEvent(
                    "turn_checked",
                    end,
                    end_sample=self._last_speech_end,
                    probability=self._turn_probability,
                )
            )
        assert self._answer_start is not None
        if end - self._answer_start >= self._max_answer:
            events.extend(self._finish(end, "max_length"))
            return events
        if self._state == "pausing":
            events.extend(self._decide(end, silence))
        return events

    def _ask_turn_model(self) -> float | None:
        if self._turn is None:
            return None
        size = self._window.shape[0]
        at = self._frame_end % size
        heard = min(size, self._frame_end)
        filled = np.concatenate([self._window[at:], self._window[:at]])[size - heard :]
        probability = self._turn.end_of_turn_probability(filled)
        return None if probability is None else float(probability)

    def _decide(self, end: int, silence: int) -> list[EndpointEvent]:
        """In a pause: end the answer, nudge, or keep listening."""
        if self._finished_so_far():
            done = self._said_done()
            need = self._finished_silence
            if self._turn_probability is None and not done:
                need = self._fallback_silence
            if silence >= need:
                self._sure = self._sure_of_end()
                self._done = done
                return self._finish(end, "finished")
            return []
        if self._nudged_at is not None:
            if end - self._nudged_at >= self._nudge_reply:
                return self._finish(end, "silence")
            return []
        if silence >= self._end_silence:
            if self._nudge_reply > 0:
                self._nudged_at = end
                return [EndpointEvent("nudge", end, end_sample=self._last_speech_end)]
            return self._finish(end, "silence")
        return []

    def prompted(self, through: int) -> None:
        """The nudge's prompt played until sample ``through``: the candidate's time to reply
        (``nudge_reply_s``) starts there, not at the decision to prompt."""
        if self._nudged_at is not None:
            self._nudged_at = max(self._nudged_at, through)

    def _finished_so_far(self) -> bool:
        """Whether the answer reads as finished (as of this pause): the transcript decides;
        without content (``wait_for_content=False``) the turn model does."""
        if not self._checked:
            return False
        if not self._options.wait_for_content:
            p = self._turn_probability
            return p is None or p >= self._options.turn_threshold
        return self._content_finished and self._content_through >= self._last_speech_end

    def _said_done(self) -> bool:
        """The transcript up to the last speech ends on a closing phrase."""
        return (
            self._options.wait_for_content
            and self._content_done
            and self._content_through >= self._last_speech_end
        )

    def _sure_of_end(self) -> bool:
        """Whether the sound (turn model) and the recogniser are sure of a finished answer."""
        p = self._turn_probability
        sound = p is None or p >= self._options.turn_threshold
        return sound and (self._content_sure or not self._options.wait_for_content)

    # -- stretches -------------------------------------------------------------------------

    def _quietest_point(self, limit: int) -> int | None:
        """Where to cut a long stretch: the middle of its quietest frame in its second half
        (frames before the decision point ``limit``; the latest frame is left out)."""
        assert self._stretch_start is not None
        half = self._stretch_start + self._max_stretch / 2
        frames = [(rms, s) for s, rms in self._stretch_rms if s >= half and s + self._frame < limit]
        if not frames:
            return None
        _, start = min(frames)
        return start + self._frame // 2

    def _cut_stretch(self, limit: int, cut: int) -> EndpointEvent:
        """Close the open stretch at ``cut`` (inside speech: no padding past it); the rest of
        the stretch goes on from there."""
        assert self._stretch_start is not None
        start = max(0, self._previous_stretch_end, self._stretch_start - self._pad)
        self._previous_stretch_end = cut
        self._stretch_start = cut
        self._stretch_rms = [(s, rms) for s, rms in self._stretch_rms if s >= cut]
        return EndpointEvent("stretch_closed", limit, start_sample=start, end_sample=cut)

    def _close_stretch(self, limit: int) -> EndpointEvent:
        """Close the open stretch at decision point ``limit`` (padding never passes it)."""
        assert self._stretch_start is not None
        start = max(0, self._previous_stretch_end, self._stretch_start - self._pad)
        end = min(limit, self._last_speech_end + self._pad)
        self._stretch_start = None
        self._stretch_rms = []
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
        self._final = reason not in _REOPENABLE
        self._candidate = None
        if self._final:
            self._fill = 0
        return events
