"""The spoken mock interview: ask, listen, transcribe while listening, score, dig once, save.

:class:`Interview` runs the whole loop against small interfaces, so the same code runs a live
session (sound card, microphone, keyboard) and the demo (a file-fed microphone): only the
device adapters differ. Every answer goes through the one :class:`AnswerPipeline`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from voice_interview.adapters.sessions import QuestionStatus, Session, StreamingWavWriter
from voice_interview.bank import Bank, Question, Round
from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio
from voice_interview.core.batching import StretchBatcher
from voice_interview.core.endpointing import Endpointer, EndpointOptions, SpeechDetector
from voice_interview.core.transcript import Transcript, merge_follow_up
from voice_interview.errors import AudioError, VoiceInterviewError
from voice_interview.pipeline import AnswerPipeline
from voice_interview.protocols import Synthesizer
from voice_interview.scoring.followup import FollowUp, choose_follow_up, load_phrasings
from voice_interview.scoring.result import Evaluation
from voice_interview.terminal import Display

__all__ = ["AnswerOutcome", "Interview", "PracticeOptions", "plan_questions"]

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
        end_silence_s: silence after speech that ends an answer (thinking pauses are shorter).
        max_answer_s: longest answer before the interviewer moves on.
        follow_up: ask one follow-up per question, aimed at the biggest gap.
        captions: show live captions while the candidate speaks.
    """

    round_id: str | None = None
    questions: int | None = None
    per_round: int | None = None
    shuffle: bool = False
    seed: int | None = None
    model: str = "tiny.en"
    end_silence_s: float = 3.0
    max_answer_s: float = 180.0
    follow_up: bool = True
    captions: bool = True


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
    ) -> None:
        self.bank = bank
        self.options = options
        self.pipeline = pipeline
        self.voice = voice
        self.speaker = speaker
        self.microphone = microphone
        self.detector = detector
        self.display = display
        self.keys = keys or NoKeys()
        self.session = session
        self.phrasings = load_phrasings()
        self.results: list[QuestionResult] = []
        self.latencies: list[float] = []

    # -- speaking --------------------------------------------------------------------------
    def say(self, text: str, mic: Microphone | None = None) -> Audio:
        """Speak ``text``; the microphone (if open) is muted so the interviewer isn't recorded."""
        audio = self.voice.synthesize(text)
        if mic is not None:
            mic.mute()
        try:
            self.speaker.play(audio)
        finally:
            if mic is not None:
                mic.unmute()
        return audio

    # -- listening -------------------------------------------------------------------------
    def listen(
        self, mic: Microphone, question: Question, writer: StreamingWavWriter | None
    ) -> AnswerOutcome:
        """Record one answer until the endpointer (or a key) ends it, transcribing as it goes."""
        endpointer = Endpointer(
            self.detector(),
            EndpointOptions(
                end_silence_s=self.options.end_silence_s, max_answer_s=self.options.max_answer_s
            ),
            sample_rate=ASR_SAMPLE_RATE,
        )
        stream = self.pipeline.stream(question)
        batcher = StretchBatcher(ASR_SAMPLE_RATE)
        blocks: list[np.ndarray] = []

        def submit(span: tuple[int, int]) -> None:
            joined = np.concatenate(blocks)[span[0] : span[1]]
            stream.add_stretch(Audio(joined, ASR_SAMPLE_RATE), span[0] / ASR_SAMPLE_RATE)

        total = 0
        paused = False
        ended_reason: str | None = None
        try:
            while ended_reason is None:
                action = self.keys.poll()
                events = []
                if action == "done":
                    events = endpointer.stop()
                elif action in ("skip", "quit", "repeat"):
                    stream.cancel()
                    return AnswerOutcome(status=action)
                elif action == "pause":
                    paused = not paused
                    self.display.message("Paused: press p to go on." if paused else "Go on.")
                block = mic.read(0.1)
                if block is None and getattr(mic, "finished", False):
                    events += endpointer.stop()  # a file-fed input ran out
                if block is not None and not paused:
                    samples = block.resampled(ASR_SAMPLE_RATE).samples
                    blocks.append(samples)
                    total += samples.shape[0]
                    if writer is not None:
                        writer.write(samples)
                    events += endpointer.feed(samples)
                spans: list[tuple[int, int] | None] = []
                for event in events:
                    if event.kind == "stretch_closed":
                        assert event.start_sample is not None and event.end_sample is not None
                        spans.append(batcher.close(event.start_sample, event.end_sample))
                    elif event.kind == "answer_ended":
                        ended_reason = event.reason or "silence"
                        spans.append(batcher.flush())
                spans.append(batcher.tick(total))
                for span in spans:
                    if span is not None:
                        submit(span)
                self.display.listening(
                    total / ASR_SAMPLE_RATE,
                    mic.level_dbfs,
                    "paused" if paused else endpointer.state,
                    stream.captions() if self.options.captions else "",
                )
        except VoiceInterviewError as exc:  # device lost mid-answer: keep and score what we have
            logger.warning("recording stopped: %s", exc)
            self.display.message(f"Recording stopped: {exc}. Scoring what was recorded.")
            ended_reason = "device-error"
            for event in endpointer.stop():
                if event.kind == "stretch_closed" and event.start_sample is not None:
                    assert event.end_sample is not None
                    batcher.close(event.start_sample, event.end_sample)
            span = batcher.flush()
            if span is not None:
                submit(span)
        finally:
            self.display.stop_listening()
        ended_at = time.perf_counter()
        audio = Audio(
            np.concatenate(blocks) if blocks else np.zeros(0, np.float32), ASR_SAMPLE_RATE
        )
        if ended_reason == "no_speech":
            stream.cancel()
            return AnswerOutcome(
                status="failed", audio=audio, error="no answer heard", reason=ended_reason
            )
        try:
            transcript = stream.finish(audio.duration_s)
        except AudioError as exc:
            return AnswerOutcome(status="failed", audio=audio, error=str(exc), reason=ended_reason)
        return AnswerOutcome(
            status="answered",
            audio=audio,
            transcript=transcript,
            latency_s=time.perf_counter() - ended_at,
            reason=ended_reason,
        )

    # -- one question ----------------------------------------------------------------------
    def ask(self, index: int, total: int, question: Question) -> QuestionResult:
        result = QuestionResult(question)
        with self.microphone(question, False) as mic:
            while True:
                self.display.question(index + 1, total, question.text)
                spoken = self.say(question.text, mic)
                if self.session is not None:
                    self.session.save_question_audio(index, spoken)
                writer = self.session.answer_writer(index) if self.session is not None else None
                try:
                    outcome = self.listen(mic, question, writer)
                finally:
                    if writer is not None:
                        writer.close()
                if outcome.status != "repeat":
                    break
        result.status = outcome.status
        if outcome.status != "answered" or outcome.transcript is None:
            result.extra["error"] = outcome.error
            if self.session is not None:
                self.session.mark(index, _session_status(outcome.status), error=outcome.error)
            return result
        t0 = time.perf_counter()
        evaluation = self.pipeline.evaluate(outcome.transcript, question)
        latency = (outcome.latency_s or 0.0) + time.perf_counter() - t0
        self.latencies.append(latency)
        self.display.feedback(evaluation, latency)
        if self.session is not None:
            self.session.save_transcript(index, outcome.transcript)
            self.session.save_evaluation(index, evaluation)
        result.evaluation = evaluation

        follow = choose_follow_up(evaluation, question) if self.options.follow_up else None
        if follow is not None:
            result.follow_up = follow
            if self.session is not None:
                self.session.set_follow_up(index, follow.text, reason=follow.reason)
            with self.microphone(question, True) as mic:
                self.display.question(index + 1, total, follow.text, follow_up=True)
                spoken = self.say(follow.text, mic)
                if self.session is not None:
                    self.session.save_question_audio(index, spoken, follow_up=True)
                writer = (
                    self.session.answer_writer(index, follow_up=True)
                    if self.session is not None
                    else None
                )
                try:
                    extra = self.listen(mic, question, writer)
                finally:
                    if writer is not None:
                        writer.close()
            if extra.status == "answered" and extra.transcript is not None:
                combined = merge_follow_up(outcome.transcript, extra.transcript)
                t0 = time.perf_counter()
                final = self.pipeline.evaluate(combined, question)
                self.display.feedback(final, (extra.latency_s or 0.0) + time.perf_counter() - t0)
                if self.session is not None:
                    self.session.save_transcript(index, extra.transcript, follow_up=True)
                    self.session.save_evaluation(index, final, follow_up=True)
                result.evaluation = final
            elif extra.status == "quit":
                result.status = "quit"
            if self.session is not None:
                self.session.mark(
                    index, _session_status(extra.status), error=extra.error, follow_up=True
                )
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
        text = self.summary_text()
        self.display.message(self.scorecard())
        self.display.message("\n" + text)
        try:
            self.say(text)
        except VoiceInterviewError as exc:
            logger.warning("could not speak the summary: %s", exc)
