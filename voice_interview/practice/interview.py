"""The spoken mock interview: ask, listen, transcribe while listening, score, dig once, save.

:class:`Interview` runs the whole loop against small interfaces, so the same code runs a live
session (sound card, microphone, keyboard) and the demo (a file-fed microphone): only the
device adapters differ. Every answer goes through the one :class:`AnswerPipeline`.

An answer has two ends. The *provisional* end comes at the first pause after which it reads
finished: the streaming pieces give a quick score at once (shown as "so far") and the one
pass over the whole recording starts in the background. The *final* end comes when the
candidate is done: Enter, a closing phrase, or a silence long enough for where the answer
stands (``EndpointOptions.reply_after_s``, ``end_silence_s`` at most). Until then the
microphone stays open and speech reopens the same answer; then the full pass is scored,
shown and saved, and only then does the interviewer speak again.
"""

from __future__ import annotations

import bisect
import logging
import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from voice_interview.adapters.models import DEFAULT_ASR_MODEL
from voice_interview.content.banks import Bank, Question, Round
from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio
from voice_interview.core.barge_in import BargeInOptions
from voice_interview.core.batching import StretchBatcher
from voice_interview.core.endpointing import (
    Endpointer,
    EndpointEvent,
    EndpointOptions,
    SpeechDetector,
    TurnDetector,
)
from voice_interview.core.transcript import Transcript, merge_follow_up
from voice_interview.errors import AudioError, VoiceInterviewError
from voice_interview.pipeline import AnswerPipeline, Synthesizer
from voice_interview.practice.display import Display
from voice_interview.practice.speaking import Heard, Microphone, Speaker, Speaking
from voice_interview.scoring.completeness import assess_completeness, load_turn_taking
from voice_interview.scoring.followup import FollowUp, choose_follow_up, load_phrasings
from voice_interview.scoring.result import Evaluation
from voice_interview.store.sessions import QuestionStatus, Session, StreamingWavWriter

__all__ = ["AnswerOutcome", "Interview", "PracticeOptions", "plan_questions"]

logger = logging.getLogger(__name__)


class TurnModel(TurnDetector, Protocol):
    """The end-of-turn model as practice uses it (``adapters/turn.py``): it may be off."""

    problem: str | None

    def try_load(self) -> bool: ...


class Keys(Protocol):
    def poll(self) -> str | None: ...


class NoKeys:
    """Key input when stdin is not a terminal: endpointing alone decides."""

    def poll(self) -> str | None:
        return None


@dataclass(frozen=True)
class PracticeOptions:
    """How the interview runs. Defaults are defined here once.

    Attributes:
        round_id: one round id (as ``questions --json`` prints it) or None for all rounds.
        questions: ask at most this many questions (None = all of the chosen rounds).
        per_round: ask at most this many questions from each round (None = all).
        shuffle: shuffle the questions within each round.
        seed: seed for ``shuffle`` (None = different every time).
        model: speech recognition model.
        end_silence_s: the longest silence allowed while the answer reads unfinished, and
            the interviewer's wait before speaking when a finished-reading end is in doubt
            (see :class:`EndpointOptions`; a finished answer ends after
            ``EndpointOptions.finished_silence_s``).
        max_answer_s: longest answer before the interviewer moves on.
        follow_up: ask one follow-up per question, aimed at the biggest gap.
        captions: show live captions while the candidate speaks.
        turn_model: listen with the end-of-turn model (off: the silence rule alone, waiting
            ``EndpointOptions.fallback_silence_s`` after a finished-reading answer).
        nudge: after ``end_silence_s`` on an unfinished answer, ask "Anything to add?" before
            the answer ends (off: it ends at ``end_silence_s``).
        barge_in: keep listening while the interviewer speaks (the microphone must cancel
            the interviewer's echo, or the candidate wear headphones) and stop speaking when
            the candidate talks; what they say then is part of their answer. Off (or on a
            microphone without echo cancellation): the microphone is muted while the
            interviewer speaks.
    """

    round_id: str | None = None
    questions: int | None = None
    per_round: int | None = None
    shuffle: bool = False
    seed: int | None = None
    model: str = DEFAULT_ASR_MODEL
    end_silence_s: float = EndpointOptions.end_silence_s
    max_answer_s: float = EndpointOptions.max_answer_s
    follow_up: bool = True
    captions: bool = True
    turn_model: bool = True
    nudge: bool = True
    barge_in: bool = True


def plan_questions(bank: Bank, options: PracticeOptions) -> list[tuple[Round, Question]]:
    """The questions to ask, in order, with their rounds."""
    rounds = [bank.round(options.round_id)] if options.round_id else list(bank.rounds)
    rng = random.Random(options.seed)
    plan: list[tuple[Round, Question]] = []
    for rnd in rounds:
        questions = list(rnd.questions)
        if options.shuffle:
            rng.shuffle(questions)
        plan += [(rnd, q) for q in questions[: options.per_round]]
    return plan[: options.questions] if options.questions else plan


@dataclass
class AnswerOutcome:
    """One recorded answer (main or follow-up)."""

    status: str  # "answered", "skipped", "quit", "failed", "repeat"
    audio: Audio | None = None
    transcript: Transcript | None = None
    error: str | None = None
    latency_s: float | None = None  # end of answer -> transcript ready
    reason: str | None = None  # why the answer ended
    final: bool = False  # the transcript is the one pass over the whole answer


@dataclass
class QuestionResult:
    question: Question
    evaluation: Evaluation | None = None
    follow_up: FollowUp | None = None
    status: str = "pending"
    extra: dict[str, Any] = field(default_factory=dict)


def _session_status(outcome: str) -> QuestionStatus:
    """How an answer's outcome is recorded: a quit mid-answer keeps the partial answer."""
    if outcome == "skip":
        return "skipped"
    if outcome == "failed":
        return "failed"
    return "answered"


class _OpenAnswer:
    """One answer being recorded, or closed but still heard until the interviewer speaks.

    Holds everything of the answer: its microphone (and the ``with`` block that opened it),
    endpointer, streaming transcription, audio and WAV writer. :meth:`run` listens until the
    endpointer ends the answer; :meth:`check` reads what the microphone heard since, and
    reopens the answer when the candidate started again; :meth:`seal` ends it for good.
    """

    def __init__(
        self,
        interview: Interview,
        question: Question,
        mic: Microphone,
        stack: ExitStack,
        writer: StreamingWavWriter | None,
    ) -> None:
        self.interview = interview
        self.question = question
        self.mic = mic
        self.stack = stack
        self.writer = writer
        self.endpointer = Endpointer(
            interview.detector(),
            interview.endpoint_options(),
            sample_rate=ASR_SAMPLE_RATE,
            turn=interview.turn_detector(),
        )
        self.stream = interview.pipeline.stream(question)
        # Pieces of >= 2 s go to the recogniser at once, so captions stay within ~3 s.
        self.batcher = StretchBatcher(ASR_SAMPLE_RATE, min_batch_s=2.0)
        self.blocks: list[np.ndarray] = []
        self._block_starts: list[int] = []  # sample count at the start of each block
        self.total = 0
        self.reason: str | None = None
        self.on_update: Callable[[AnswerOutcome], None] | None = None
        """Called with the new (provisional) outcome when a reopened answer ends again."""
        self.on_final: Callable[[AnswerOutcome], None] | None = None
        """Called with the final outcome (the full pass) once the candidate is done."""
        self._final_through = -1  # the speech end the last final outcome covered
        self.context: Transcript | None = None
        """For a follow-up answer: the main answer, read together with it."""
        self._content_key: tuple[int, float | None] = (0, None)
        self._paced = getattr(mic, "realtime", 1.0) != 0
        self._ended_at = 0.0
        self._backlog: list[Audio] = []  # heard while the interviewer spoke, read first

    def prime(self, heard: list[Audio]) -> None:
        """What the microphone heard for this answer while the interviewer spoke (barge-in):
        read before anything else the microphone hands out."""
        self._backlog.extend(heard)

    def after_prompt(self, heard: Heard) -> None:
        """What the microphone heard while a prompt (a nudge, or the interviewer's next words
        on a late resume) played is this answer's, in order: the
        part before the candidate spoke is recorded but not listened to (it is the prompt's
        echo; the endpointer hears silence), their speech is read next, as usual. The reply
        window starts when the prompt has ended."""
        before = 0 if heard.before is None else heard.before.samples.size
        speech = 0 if heard.speech is None else heard.speech.samples.size
        self.endpointer.prompted(self.total + before + speech)
        if heard.before is not None:
            self._take(heard.before, listen=False)
        if heard.speech is not None:
            self._backlog.append(heard.speech)

    def _read(self, timeout_s: float) -> Audio | None:
        if self._backlog:
            return self._backlog.pop(0)
        return self.mic.read(timeout_s)

    # -- audio in ----------------------------------------------------------------------------
    def _take(self, block: Audio, listen: bool = True) -> list[EndpointEvent]:
        """Record ``block`` (answer.wav, the full pass); the endpointer hears it, or silence
        in its place when not ``listen``."""
        samples = block.resampled(ASR_SAMPLE_RATE).samples
        self.blocks.append(samples)
        self._block_starts.append(self.total)
        self.total += samples.shape[0]
        if self.writer is not None:
            self.writer.write(samples)
        return self.endpointer.feed(samples if listen else np.zeros_like(samples))

    def _submit(self, span: tuple[int, int] | None) -> None:
        if span is None:
            return
        # Only the blocks the span touches (not the whole answer, once per piece).
        first = bisect.bisect_right(self._block_starts, span[0]) - 1
        last = bisect.bisect_left(self._block_starts, span[1])
        base = self._block_starts[first]
        joined = np.concatenate(self.blocks[first:last])[span[0] - base : span[1] - base]
        self.stream.add_stretch(Audio(joined, ASR_SAMPLE_RATE), span[0] / ASR_SAMPLE_RATE)

    def _handle(self, events: list[EndpointEvent]) -> None:
        for event in events:
            if event.kind == "stretch_closed":
                assert event.start_sample is not None and event.end_sample is not None
                self._submit(self.batcher.close(event.start_sample, event.end_sample))
            elif event.kind == "turn_checked":
                self.interview.note_turn_model()
                # It may be the end: transcribe now what was said, to read it.
                self._submit(self.batcher.flush())
                if not self._paced:  # a file-fed input must not run ahead of the reading
                    self.stream.wait()
            elif event.kind == "nudge":
                self._submit(self.batcher.flush())
                self.after_prompt(self.interview.nudge(self.mic) or Heard())
            elif event.kind == "answer_ended":
                self.reason = event.reason or "silence"
                self._ended_at = time.perf_counter()
                self._submit(self.batcher.flush())
                if event.reason not in (None, "no_speech"):  # start the pass for good now
                    self.stream.full_pass(self.saved_audio(), self.speech_end())
            elif event.kind == "answer_reopened":
                self.reason = None
        self._submit(self.batcher.tick(self.total))
        self._report_content()

    def _report_content(self) -> None:
        """Tell the endpointer whether the transcript so far reads as a finished answer. Only
        read in a pause: while the candidate speaks, any verdict would be out of date."""
        if self.endpointer.state != "pausing":
            return
        key = (self.stream.queued, self.stream.covered_s())
        if key == self._content_key or key[1] is None:
            return
        self._content_key = key
        partial = self.stream.partial()
        finished = sure = done = False
        if partial is not None:
            if self.context is not None:
                partial = merge_follow_up(self.context, partial)
            evaluation = self.interview.pipeline.evaluate(partial, self.question)
            verdict = assess_completeness(evaluation, self.interview.rules)
            finished, sure, done = verdict.finished, verdict.sure, verdict.done
            logger.debug(
                "content so far: %s %s sure=%s done=%s", finished, verdict.reasons, sure, done
            )
        self.endpointer.set_content(finished, round(key[1] * ASR_SAMPLE_RATE), sure, done)

    # -- listening ---------------------------------------------------------------------------
    def run(self) -> AnswerOutcome:
        """Listen until the endpointer (or a key) ends the answer, transcribing as it goes."""
        iv = self.interview
        paused = False
        try:
            while self.reason is None:
                action = iv.keys.poll()
                events: list[EndpointEvent] = []
                if action == "done":
                    events = self.endpointer.stop()
                elif action in ("skip", "quit", "repeat"):
                    self.stream.cancel()
                    return AnswerOutcome(status=action)
                elif action == "pause":
                    paused = not paused
                    iv.display.message("Paused: press p to go on." if paused else "Go on.")
                block = self._read(0.1)
                if block is None and getattr(self.mic, "finished", False):
                    events += self.endpointer.stop()  # a file-fed input ran out
                if block is not None and not paused:
                    events += self._take(block)
                self._handle(events)
                iv.display.listening(
                    self.total / ASR_SAMPLE_RATE,
                    self.mic.level_dbfs,
                    "paused" if paused else self.endpointer.state,
                    self.stream.captions() if iv.options.captions else "",
                )
        except VoiceInterviewError as exc:  # device lost mid-answer: keep and score what we have
            logger.warning("recording stopped: %s", exc)
            iv.display.message(f"Recording stopped: {exc}. Scoring what was recorded.")
            self._handle(self.endpointer.stop())
            self.reason = "device-error"
        finally:
            iv.display.stop_listening()
        return self.outcome()

    def audio(self) -> Audio:
        """Everything the microphone gave this answer so far (what ``answer.wav`` holds)."""
        return Audio(
            np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.float32),
            ASR_SAMPLE_RATE,
        )

    def saved_audio(self) -> Audio:
        """:meth:`audio` exactly as ``answer.wav`` holds it (16-bit PCM): the full pass reads
        these samples, so it gives the words batch-scoring the file gives (tiny.en's beam
        search can turn on the last bit of a sample: up to 9.6 points of word error against
        batch on the pause benchmark's blind set when it read the float samples)."""
        audio = self.audio()
        return Audio.from_int16(audio.to_int16(), audio.sample_rate)

    def speech_end(self) -> int:
        """The end of the answer's last speech, with the endpointer's padding (samples)."""
        pad = round(self.endpointer.options.stretch_pad_s * ASR_SAMPLE_RATE)
        return min(self.total, self.endpointer.last_speech_end + pad)

    def outcome(self) -> AnswerOutcome:
        """The answer as it ended: the streaming pieces joined (a quick, provisional
        transcript; :meth:`final_outcome` is the one saved)."""
        audio = self.audio()
        if self.reason == "no_speech":
            self.stream.cancel()
            return AnswerOutcome(
                status="failed", audio=audio, error="no answer heard", reason=self.reason
            )
        try:
            transcript = self.stream.finish(audio.duration_s)
        except AudioError as exc:
            return AnswerOutcome(status="failed", audio=audio, error=str(exc), reason=self.reason)
        return AnswerOutcome(
            status="answered",
            audio=audio,
            transcript=transcript,
            latency_s=time.perf_counter() - self._ended_at,
            reason=self.reason,
        )

    @property
    def needs_final(self) -> bool:
        """The answer has speech that no final outcome covers yet."""
        return self.on_final is not None and self._final_through != self.endpointer.last_speech_end

    def final_outcome(self) -> AnswerOutcome:
        """The answer transcribed in one pass over its whole recording (waits for the pass
        started at its end, or starts one when the candidate went on since). If the full pass
        finds no words where the pieces did, the pieces are kept, with a warning."""
        audio = self.saved_audio()
        through = self.endpointer.last_speech_end
        t0 = time.perf_counter()
        try:
            transcript = self.stream.full_pass(audio, self.speech_end()).result()
            transcript = transcript.model_copy(update={"duration_s": audio.duration_s})
        except AudioError as exc:
            logger.warning("the full pass over the answer failed (%s): keeping the pieces", exc)
            quick = self.outcome()
            self._final_through = through
            return replace(quick, final=True)
        self._final_through = through
        return AnswerOutcome(
            status="answered",
            audio=audio,
            transcript=transcript,
            latency_s=time.perf_counter() - t0,
            reason=self.reason,
            final=True,
        )

    def quiet_s(self) -> float:
        """Silence heard since the last word of the answer."""
        return (self.total - self.endpointer.last_speech_end) / ASR_SAMPLE_RATE

    def check(self) -> bool:
        """Before the interviewer speaks: read what the microphone heard since the answer
        ended, and keep listening until :attr:`Endpointer.reply_after_s` of silence has
        followed the last word (longer when the end was in doubt; a key stops the wait). True
        when the candidate started speaking again (the answer is open again: call
        :meth:`run`)."""
        if not self.endpointer.reopenable:
            return False
        hold_s = self.endpointer.reply_after_s
        if self._paced and self.quiet_s() < hold_s - 1.0:  # a file-fed demo: no wait
            self.interview.display.message(
                f"(Still listening: go on if there is more. Moving on after {hold_s:.0f} s "
                'of silence; press Enter or say "that\'s my answer" when you are done.)'
            )
        deadline = time.monotonic() + hold_s + 1.0  # a stalled input never blocks the loop
        try:
            while True:
                if self.interview.keys.poll() is not None:  # Enter (any key): move on now
                    return False
                # a burst just begun (not yet long enough to reopen) holds the interviewer
                # too, and so does what was heard as it began speaking (late resume)
                quiet = (
                    self.quiet_s() >= hold_s
                    and not self.endpointer.hearing_speech
                    and not self._backlog
                )
                if quiet and not self._paced:  # a file read at full speed: samples are time
                    return False
                # live: what was captured before now is in the past, so it is read first
                block = self._read(0.0 if quiet else 0.05)
                if block is None:
                    finished = getattr(self.mic, "finished", False)
                    if quiet or finished or time.monotonic() > deadline:
                        return False
                    continue
                self._handle(self._take(block))
                if self.endpointer.state != "ended":
                    return True
        except VoiceInterviewError as exc:
            logger.warning("microphone lost after the answer: %s", exc)
        return False

    def seal(self) -> None:
        """The interviewer speaks now: the answer is over for good."""
        self.endpointer.stop()
        self.stream.close()
        try:
            if self.writer is not None:
                for block in self._backlog:  # heard, never read (a key ended the answer)
                    self.writer.write(block.resampled(ASR_SAMPLE_RATE).samples)
                self._backlog.clear()
                self.writer.close()
        finally:
            self.stack.close()


class Interview:
    """Runs a mock interview. Engines and devices are passed in; nothing here opens them."""

    def __init__(
        self,
        *,
        bank: Bank,
        options: PracticeOptions,
        pipeline: AnswerPipeline,
        voice: Synthesizer,
        speaker: Speaker,
        microphone: Callable[[Question, bool], AbstractContextManager[Microphone]],
        detector: Callable[[], SpeechDetector],
        display: Display,
        keys: Keys | None = None,
        session: Session | None = None,
        turn: TurnModel | None = None,
        endpointing: EndpointOptions | None = None,
    ) -> None:
        self.bank = bank
        self.options = options
        self.pipeline = pipeline
        self.voice = voice
        self.microphone = microphone
        self.detector = detector
        self.display = display
        self.keys = keys or NoKeys()
        self.session = session
        self.phrasings = load_phrasings()
        self.rules = load_turn_taking()
        self.results: list[QuestionResult] = []
        self.latencies: list[float] = []
        """End of each answer -> its quick (provisional) score on screen, in seconds."""
        self.final_latencies: list[float] = []
        """Final end of each answer (candidate done) -> the full pass scored, in seconds."""
        self.nudges = 0
        self.late_resumes = 0
        """How often the candidate went on just as the interviewer began (see :meth:`say`)."""
        self.speaking = Speaking(speaker, detector, display, barge_in=options.barge_in)
        """The interviewer's voice (and barge-in)."""
        self._carried: list[Audio] = []  # said over the last question: the answer's start
        self._turn = turn if options.turn_model else None
        self._turn_warned = False
        self._open: _OpenAnswer | None = None
        self._endpointing = endpointing
        if self._turn is not None and not self._turn.try_load():
            self.note_turn_model()

    # -- turn taking -------------------------------------------------------------------------
    def endpoint_options(self) -> EndpointOptions:
        """How answers end: ``endpointing`` when given (benchmarks compare policies), else the
        defaults with the practice options applied."""
        if self._endpointing is not None:
            return self._endpointing
        defaults = EndpointOptions()
        return replace(
            defaults,
            end_silence_s=self.options.end_silence_s,
            max_answer_s=self.options.max_answer_s,
            nudge_reply_s=defaults.nudge_reply_s if self.options.nudge else 0.0,
        )

    def turn_detector(self) -> TurnDetector | None:
        return self._turn if self._turn is not None and self._turn.problem is None else None

    def note_turn_model(self) -> None:
        """Say once, visibly, that the turn model is off and the silence rule decides."""
        if self._turn is not None and self._turn.problem is not None and not self._turn_warned:
            self._turn_warned = True
            wait = EndpointOptions().fallback_silence_s
            self.display.message(
                f"Warning: {self._turn.problem}. The interviewer now waits {wait:.0f} s of "
                "silence before answering."
            )

    def nudge(self, mic: Microphone) -> Heard:
        """A long silence on an unfinished answer: a gentle prompt (the answer stays open).
        Returns what the microphone heard while the prompt played (with barge-in on), which
        belongs to the answer."""
        text = self.rules.nudges[self.nudges % len(self.rules.nudges)]
        self.nudges += 1
        self.display.message(f"Interviewer: {text}")
        try:
            return self.speaking.play(self.voice.synthesize(text), mic, question=False)
        except VoiceInterviewError as exc:
            logger.warning("could not speak the prompt: %s", exc)
            return Heard()

    def _settle(self) -> bool:
        """Before the interviewer speaks: if the candidate started again since their answer
        ended, that answer goes on (one answer, one file, one score). True if it did."""
        answer = self._open
        reopened = False
        while answer is not None and answer.check():
            reopened = True
            self.display.message("(Go on: still the same answer.)")
            outcome = answer.run()
            if outcome.status != "answered" or answer.on_update is None:
                break
            answer.on_update(outcome)
        return reopened

    def _hold(self) -> bool:
        """Wait until the candidate is done with the open answer, then score it for good
        (the full pass); again if they went on while it was being scored. True if the
        answer was reopened."""
        reopened = False
        while True:
            reopened |= self._settle()
            answer = self._open
            if answer is None or not answer.needs_final or answer.on_final is None:
                return reopened
            answer.on_final(answer.final_outcome())

    def _seal(self) -> None:
        answer, self._open = self._open, None
        if answer is not None:
            answer.seal()

    # -- speaking --------------------------------------------------------------------------
    def say(
        self,
        text: str | Callable[[], str],
        mic: Microphone | None = None,
        *,
        resumable: bool = True,
    ) -> Audio:
        """Speak ``text`` (or what ``text()`` says, asked again each time it is spoken) once
        the candidate is silent. The microphone (if open) is muted so the interviewer isn't
        recorded, or, with barge-in, listens on: what the candidate said over the interviewer
        waits in :attr:`_carried` for the next answer.

        Late resume (``resumable``, with barge-in): the interviewer speaks while the previous
        answer could still reopen, listening on its microphone. If the candidate speaks within
        :attr:`BargeInOptions.resume_s` of the start, they were still answering: the
        interviewer stops, what was heard joins that answer, it goes on, and ``text`` is said
        again once they are done. Returns the audio last spoken."""
        while True:
            if callable(text):  # the words depend on the answers: once they are final
                self._hold()
                audio = self.voice.synthesize(text())
            else:  # synthesized while the candidate may still go on
                audio = self.voice.synthesize(text)
                self._hold()
            previous = self._open
            if (
                resumable
                and previous is not None
                and previous.endpointer.reopenable
                and (mic is None or mic is previous.mic)
                and self.speaking.listens(previous.mic)
            ):
                heard = self.speaking.play(audio, previous.mic, question=False)
                if self._went_on(previous, heard):
                    continue
                self._seal()
            else:
                self._seal()
                heard = self.speaking.play(audio, mic)
            if heard.speech is not None:
                self._carried.append(heard.speech)
            return audio

    def _went_on(self, answer: _OpenAnswer, heard: Heard) -> bool:
        """Whether what was heard as the interviewer began is ``answer`` going on (speech
        within ``resume_s`` of the start); if so it joins the answer, which is open again."""
        began = heard.speech_at_s
        if heard.speech is None or began is None or began > BargeInOptions().resume_s:
            return False
        self.late_resumes += 1
        self.display.message("(Sorry, go on: the same answer continues.)")
        answer.after_prompt(heard)  # the next check() reads it and reopens the answer
        return True

    # -- listening -------------------------------------------------------------------------
    def _open_answer(self, question: Question, follow_up: bool) -> _OpenAnswer:
        """The microphone for an answer, opened before its question is spoken (the answer's
        file is started once the question has been asked: :meth:`_record`)."""
        stack = ExitStack()
        try:
            mic = stack.enter_context(self.microphone(question, follow_up))
        except BaseException:
            stack.close()
            raise
        return _OpenAnswer(self, question, mic, stack, None)

    def _record(self, answer: _OpenAnswer, index: int, follow_up: bool) -> None:
        if self.session is not None:
            answer.writer = self.session.answer_writer(index, follow_up=follow_up)

    def _score(
        self, transcript: Transcript, question: Question, outcome: AnswerOutcome
    ) -> tuple[Evaluation, float]:
        """Score ``transcript``; with the time from the end of ``outcome`` to the score."""
        t0 = time.perf_counter()
        evaluation = self.pipeline.evaluate(transcript, question)
        latency = (outcome.latency_s or 0.0) + time.perf_counter() - t0
        (self.final_latencies if outcome.final else self.latencies).append(latency)
        return evaluation, latency

    # -- one question ----------------------------------------------------------------------
    def ask(self, index: int, total: int, question: Question) -> QuestionResult:
        result = QuestionResult(question)
        while True:
            answer = self._open_answer(question, follow_up=False)
            self.display.question(index + 1, total, question.text)
            spoken = self.say(question.text, answer.mic)
            if self.session is not None:
                self.session.save_question_audio(index, spoken)
            self._record(answer, index, follow_up=False)
            answer.prime(self._carried)
            self._carried = []
            outcome = answer.run()
            if outcome.status != "repeat":
                break
            answer.seal()
        result.status = outcome.status
        if outcome.status != "answered" or outcome.transcript is None:
            answer.seal()
            result.extra["error"] = outcome.error
            if self.session is not None:
                self.session.mark(index, _session_status(outcome.status), error=outcome.error)
            return result

        main = outcome

        def score_main(new: AnswerOutcome) -> None:
            nonlocal main
            assert new.transcript is not None
            evaluation, latency = self._score(new.transcript, question, new)
            self.display.feedback(evaluation, latency, final=new.final)
            if new.final:
                main = new
                if self.session is not None:
                    self.session.save_transcript(index, new.transcript)
                    self.session.save_evaluation(index, evaluation)
            result.evaluation = evaluation

        score_main(outcome)
        answer.on_update = answer.on_final = score_main
        self._open = answer

        follow: FollowUp | None = None
        while self.options.follow_up and result.evaluation is not None:
            self._hold()  # the follow-up is chosen from the final score
            follow = choose_follow_up(result.evaluation, question)
            if follow is None:
                break
            self._prepare([follow.text])
            if not self._settle():  # the candidate is quiet: ask it
                break
        if follow is not None:
            result.follow_up = follow
            if self.session is not None:
                self.session.set_follow_up(index, follow.text, reason=follow.reason)
            extra_answer = self._open_answer(question, follow_up=True)
            extra_answer.context = main.transcript
            self.display.question(index + 1, total, follow.text, follow_up=True)
            spoken = self.say(follow.text, extra_answer.mic, resumable=False)
            if self.session is not None:
                self.session.save_question_audio(index, spoken, follow_up=True)
            self._record(extra_answer, index, follow_up=True)
            extra_answer.prime(self._carried)
            self._carried = []
            extra = extra_answer.run()
            if extra.status == "answered" and extra.transcript is not None:

                def score_follow_up(new: AnswerOutcome) -> None:
                    assert new.transcript is not None and main.transcript is not None
                    combined = merge_follow_up(main.transcript, new.transcript)
                    evaluation, latency = self._score(combined, question, new)
                    self.display.feedback(evaluation, latency, final=new.final)
                    if new.final and self.session is not None:
                        self.session.save_transcript(index, new.transcript, follow_up=True)
                        self.session.save_evaluation(index, evaluation, follow_up=True)
                    result.evaluation = evaluation

                score_follow_up(extra)
                extra_answer.on_update = extra_answer.on_final = score_follow_up
                self._open = extra_answer
            else:
                extra_answer.seal()
                if extra.status == "quit":
                    result.status = "quit"
            if self.session is not None:
                self.session.mark(
                    index, _session_status(extra.status), error=extra.error, follow_up=True
                )
        self._hold()  # the candidate is done: the answer is final before anything else
        if self.session is not None:
            self.session.mark(index, "answered")
        return result

    # -- the interview ---------------------------------------------------------------------
    def _prepare(self, texts: list[str]) -> None:
        for text in texts:
            try:
                self.voice.synthesize(text)  # fills the disk cache
            except VoiceInterviewError as exc:
                logger.warning("could not prepare a question: %s", exc)
                return

    def run(self, plan: list[tuple[Round, Question]], start_index: int = 0) -> list[QuestionResult]:
        """Ask ``plan`` from ``start_index`` on (a resumed session starts past its last
        answer); says each round's intro when the round changes."""
        current_round: str | None = plan[start_index - 1][0].id if start_index else None
        # Synthesize the questions ahead on a worker thread, so each one starts at once.
        threading.Thread(
            target=self._prepare, args=([q.text for _, q in plan[start_index:]],), daemon=True
        ).start()
        for index, (rnd, question) in enumerate(plan):
            if index < start_index:
                continue
            if rnd.id != current_round:
                template = self.phrasings.get("transitions", {}).get("round_intro", "{title}.")
                intro = (
                    f"{rnd.title}." if current_round is None else template.format(title=rnd.title)
                )
                current_round = rnd.id
                self.display.message(f"\n== {rnd.title} ==\n{rnd.purpose}")
                self.say(f"{intro} {rnd.purpose}")
            result = self.ask(index, len(plan), question)
            self.results.append(result)
            if result.status == "quit":
                break
        self._hold()  # the last answer may still go on; then it is scored for good
        if self.session is not None:
            quit_early = bool(self.results) and self.results[-1].status == "quit"
            self.session.finish("quit" if quit_early else "completed")
        self.summarize()
        return self.results

    def summary_text(self) -> str:
        scored = [r for r in self.results if r.evaluation is not None]
        if not scored:
            return "That's the end of the interview. No answers were scored."
        mean = round(sum(r.evaluation.overall for r in scored if r.evaluation) / len(scored))
        best = max(scored, key=lambda r: r.evaluation.overall if r.evaluation else 0)
        worst = min(scored, key=lambda r: r.evaluation.overall if r.evaluation else 0)
        intro = self.phrasings.get("closing", {}).get("summary_intro", ["Here is a short summary."])
        intro_text = intro[0] if isinstance(intro, list) else str(intro)
        parts = [
            intro_text,
            f"You answered {len(scored)} questions with an average score of {mean}.",
        ]
        if best is not worst and best.evaluation and worst.evaluation:
            parts.append(f"Your strongest answer scored {best.evaluation.overall}.")
            if worst.evaluation.tips:
                parts.append(f"To improve most: {worst.evaluation.tips[0]}")
        return " ".join(parts)

    def scorecard(self) -> str:
        """One line per question: score, band, and the first tip."""
        lines = ["", "Scorecard:"]
        for r in self.results:
            e = r.evaluation
            if e is None:
                lines.append(f"  {r.question.id:<22} {r.status}")
            else:
                lines.append(f"  {r.question.id:<22} {e.overall:>3}/100  {e.band}")
        return "\n".join(lines)

    def summarize(self) -> None:
        def summary() -> str:  # again after a late resume: the last score may have changed
            text = self.summary_text()
            self.display.message(self.scorecard())
            self.display.message("\n" + text)
            return text

        try:
            self.say(summary)
        except VoiceInterviewError as exc:
            logger.warning("could not speak the summary: %s", exc)
        finally:
            self._seal()
