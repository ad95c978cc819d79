"""Going back over a saved session: play it, show it, and optionally re-score it.

For each question (main answer, then its follow-up if one was asked) :func:`replay_session`
plays the interviewer's question and the candidate's answer, highlighting the word being heard
(:class:`~voice_interview.core.highlight.WordHighlighter`, fed the speaker's own sample count),
then shows the saved evaluation. With ``rescore`` it transcribes the saved answer audio again
and scores it through the one :class:`~voice_interview.pipeline.AnswerPipeline`, stores the
result as a new version of the turn (the originals stay as they are), and shows old and new
side by side.

What is missing is said, not hidden: an answer interrupted mid-recording (a partial
``answer.wav`` with no transcript) plays as far as it was saved, and ``rescore`` transcribes
and scores it. When the answer audio is gone but a transcript exists (a typed answer, or a
deleted recording), ``rescore`` re-evaluates that transcript only. Every problem (a missing
or damaged file) is one line naming the file and the fix; replay goes on with the next turn and
nothing already stored is changed.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Protocol

from voice_interview.core.audio import Audio
from voice_interview.core.highlight import WordHighlighter
from voice_interview.core.transcript import Transcript, merge_follow_up
from voice_interview.errors import VoiceInterviewError

if TYPE_CHECKING:
    from voice_interview.content.banks import Bank
    from voice_interview.pipeline import AnswerPipeline
    from voice_interview.scoring.result import Evaluation
    from voice_interview.store.sessions import Session

__all__ = [
    "PLAYBACK_BUFFER_S",
    "Player",
    "ReplayOptions",
    "ReplayReport",
    "ReplayView",
    "RescoreResult",
    "default_model",
    "replay_session",
    "rescore_turn",
    "run_replay",
]

logger = logging.getLogger(__name__)

_POLL_S = 0.04
"""How often the display reads the speaker's sample count while an answer plays."""

PLAYBACK_BUFFER_S = 0.4
"""Output buffer for replay: long enough that a busy CPU does not cut gaps into the audio; the
highlight subtracts the device's reported latency, so words still light up when heard."""


@dataclass(frozen=True)
class ReplayOptions:
    """What ``voice-interview replay`` does.

    Attributes:
        question: replay only this question, numbered from 1 as the ``q01-...`` folders are;
            None = every question.
        audio: play the question and answer audio (False: print transcripts only).
        rescore: transcribe and score every answer again and store the result as a new version.
        model: ASR model for ``rescore``; None = the model the session was recorded with.
    """

    question: int | None = None
    audio: bool = True
    rescore: bool = False
    model: str | None = None


class Player(Protocol):
    """A speaker that reports how many samples it has handed to the device (adapters.devices
    Speaker)."""

    def play(self, audio: Audio, blocking: bool = True) -> None: ...
    def wait(self) -> None: ...
    def stop(self) -> None: ...
    @property
    def samples_written(self) -> int: ...
    @property
    def sample_rate(self) -> int: ...
    @property
    def latency_s(self) -> float: ...


class ReplayView(Protocol):
    """Where replay shows things (terminal.RichReplayView, terminal.PlainReplayView)."""

    def heading(self, text: str) -> None: ...
    def note(self, text: str) -> None: ...
    def problem(self, text: str) -> None: ...
    def transcript(self, transcript: Transcript) -> None: ...
    def start_words(self, transcript: Transcript) -> None: ...
    def highlight(self, index: int | None, position_s: float) -> None: ...
    def end_words(self) -> None: ...
    def evaluation(self, evaluation: Evaluation, title: str) -> None: ...
    def comparison(
        self, old: Evaluation | None, new: Evaluation, old_label: str, new_label: str
    ) -> None: ...


@dataclass
class RescoreResult:
    """One turn re-scored: the result before (None when nothing was scored) and after."""

    old: Evaluation | None
    new: Evaluation
    old_version: int
    new_version: int
    retranscribed: bool


@dataclass
class ReplayReport:
    """What a replay did: turns shown, versions stored, problems met (one line each)."""

    turns: int = 0
    rescored: list[RescoreResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Turn:
    index: int
    follow_up: bool


def replay_session(
    session: Session,
    options: ReplayOptions,
    view: ReplayView,
    *,
    player: Player | None = None,
    pipeline: Callable[[], AnswerPipeline] | None = None,
    bank: Bank | None = None,
) -> ReplayReport:
    """Replay (and with ``options.rescore`` re-score) the session's questions.

    ``player`` is needed when ``options.audio``; ``pipeline`` (built on first use, so models
    load only when re-scoring) and ``bank`` (today's questions) when ``options.rescore``.

    Raises:
        SessionError: ``options.question`` is not a question of the session.
    """
    from voice_interview.store.sessions import SessionError

    questions = session.record.questions
    total = len(questions)
    if options.question is not None and not 1 <= options.question <= total:
        raise SessionError(
            f"{session.session_file}: no question {options.question}; this session has "
            f"questions 1-{total} (--question N counts from 1, as the q01-... folders do)"
        )
    if options.audio and player is None:
        raise ValueError("replay with audio needs a player")
    if options.rescore and (pipeline is None or bank is None):
        raise ValueError("rescore needs a pipeline and a bank")
    report = ReplayReport()
    chosen = [questions[options.question - 1]] if options.question else questions
    built: list[AnswerPipeline] = []

    def get_pipeline() -> AnswerPipeline:
        if not built:
            assert pipeline is not None
            built.append(pipeline())
        return built[0]

    for q in chosen:
        turns = [_Turn(q.index, False)]
        if q.follow_up is not None:
            turns.append(_Turn(q.index, True))
        for turn in turns:
            report.turns += 1
            _show_turn(session, turn, total, options, view, player, report)
            if options.rescore:
                assert bank is not None
                record = q.follow_up if turn.follow_up else q
                assert record is not None
                if record.answer_audio is None and record.transcript is None:
                    if record.status != "pending":
                        view.note("  nothing was recorded for this answer: nothing to re-score")
                    continue
                try:
                    result = rescore_turn(session, turn.index, turn.follow_up, get_pipeline, bank)
                except VoiceInterviewError as exc:
                    _problem(view, report, str(exc))
                    continue
                report.rescored.append(result)
                if not result.retranscribed:
                    where = session.resolve(record.answer_audio) if record.answer_audio else None
                    view.note(
                        f"  (no answer audio{f' at {where}' if where else ''}: the saved "
                        "transcript was re-evaluated only)"
                    )
                view.comparison(
                    result.old,
                    result.new,
                    f"before (v{result.old_version})" if result.old else "before (not scored)",
                    f"after (v{result.new_version})",
                )
    return report


def _problem(view: ReplayView, report: ReplayReport, text: str) -> None:
    report.problems.append(text)
    view.problem(text)


def _show_turn(
    session: Session,
    turn: _Turn,
    total: int,
    options: ReplayOptions,
    view: ReplayView,
    player: Player | None,
    report: ReplayReport,
) -> None:
    from voice_interview.store.sessions import SessionError

    q = session.record.questions[turn.index]
    record = q.follow_up if turn.follow_up else q
    assert record is not None
    text = q.follow_up.text if turn.follow_up and q.follow_up is not None else q.text
    label = (
        "Follow-up" if turn.follow_up else f"Question {turn.index + 1}/{total} ({q.question_id})"
    )
    view.heading(f"{label} [{record.status}]: {text}")
    if record.status == "pending" and record.answer_audio is None and record.question_audio is None:
        view.note("  not asked (the session ended before it)")
        return

    if options.audio:
        assert player is not None
        audio = _load_turn_audio(session, record.question_audio, "question", view, report)
        if audio is not None:
            _play(player, audio, None, view, report)

    transcript: Transcript | None = None
    if record.transcript is not None or record.versions:
        try:
            transcript = session.load_transcript(turn.index, turn.follow_up)
        except SessionError as exc:
            _problem(view, report, str(exc))
    answer = (
        _load_turn_audio(session, record.answer_audio, "answer", view, report)
        if options.audio
        else None
    )
    if transcript is None and record.answer_audio is not None:
        why = (
            "the answer was interrupted"
            if record.status == "answering"
            else record.status + (f": {record.error}" if record.error else "")
        )
        view.note(
            f"  not transcribed ({why}); run replay with --rescore to transcribe and score it"
        )
    if answer is not None:
        assert player is not None
        _play(player, answer, transcript, view, report)
    elif transcript is not None:
        view.transcript(transcript)

    if record.evaluation is not None or record.versions:
        title = "Score with the follow-up answer" if turn.follow_up else "Score"
        version = session.latest_version(turn.index, turn.follow_up)
        if version > 1:
            title += f" (version {version}, re-scored)"
        try:
            view.evaluation(session.load_evaluation(turn.index, turn.follow_up), title)
        except SessionError as exc:
            _problem(view, report, str(exc))
    else:
        view.note("  no evaluation saved for this answer")


def _load_turn_audio(
    session: Session,
    relative: str | None,
    what: str,
    view: ReplayView,
    report: ReplayReport,
) -> Audio | None:
    from voice_interview.adapters.audio_files import load_audio
    from voice_interview.errors import AudioError

    if relative is None:
        view.note(f"  no {what} audio was recorded")
        return None
    path = session.resolve(relative)
    try:
        return load_audio(path, sample_rate=None, reject_silent=False)
    except AudioError as exc:
        fix = "; restore it from a backup" if exc.reason in ("missing", "corrupt", "empty") else ""
        _problem(view, report, f"cannot play the {what}: {exc}{fix}")
        return None


def _play(
    player: Player,
    audio: Audio,
    transcript: Transcript | None,
    view: ReplayView,
    report: ReplayReport,
) -> None:
    """Play ``audio`` to the end; with a timed transcript, highlight the word being heard."""
    words = transcript.words if transcript is not None else ()
    highlighter = WordHighlighter(words) if words else None
    failed: list[VoiceInterviewError] = []

    def wait() -> None:
        try:
            player.wait()
        except VoiceInterviewError as exc:
            failed.append(exc)

    try:
        player.play(audio, blocking=False)
    except VoiceInterviewError as exc:
        _problem(view, report, str(exc))
        if transcript is not None:
            view.transcript(transcript)
        return
    if transcript is not None and highlighter is None:
        view.transcript(transcript)  # typed: nothing to time
    waiter = threading.Thread(target=wait, name="voice-replay-wait", daemon=True)
    if highlighter is not None:
        assert transcript is not None
        view.start_words(transcript)
    try:
        waiter.start()
        while waiter.is_alive():
            if highlighter is not None and player.sample_rate > 0:
                index = highlighter.update(
                    player.samples_written, player.sample_rate, player.latency_s
                )
                view.highlight(index, highlighter.position_s)
            waiter.join(_POLL_S)
    finally:
        player.stop()
        waiter.join()
        if highlighter is not None:
            view.end_words()
    for error in failed:
        _problem(view, report, str(error))


def rescore_turn(
    session: Session,
    index: int,
    follow_up: bool,
    pipeline: Callable[[], AnswerPipeline],
    bank: Bank,
) -> RescoreResult:
    """Transcribe (from the saved answer audio) and score one turn again with today's
    pipeline and ``bank``, and store the result as the turn's next version.

    A follow-up is scored together with its main answer (its latest transcript), as practice
    does. Without answer audio (never recorded, or the file is gone) the latest saved
    transcript is re-evaluated only.

    Raises:
        AudioError: the answer audio is damaged, silent, or has no speech (names the file).
        SessionError: nothing to re-score (no audio, no transcript), or a file cannot be written.
        BankError: the question is not in ``bank``.
    """
    from voice_interview.errors import BankError
    from voice_interview.store.sessions import SessionError

    q = session.record.questions[index]
    record = q.follow_up if follow_up else q
    if record is None:
        raise ValueError(f"question {index} has no follow-up")
    try:
        question = bank.question(q.question_id)
    except BankError as exc:
        raise BankError(
            f"{session.session_file}: question {q.question_id!r} is not in the bank "
            f"{bank.id!r} ({bank.source}); pass --bank FILE with the bank the session used "
            f"({session.record.bank_source})"
        ) from exc
    old_version = session.latest_version(index, follow_up)
    old = None
    if record.evaluation is not None or record.versions:
        old = session.load_evaluation(index, follow_up)

    audio_path = session.resolve(record.answer_audio) if record.answer_audio else None
    if audio_path is not None and audio_path.exists():
        transcript = pipeline().transcribe_file(audio_path, question)
        retranscribed = True
    else:
        if record.transcript is None and not record.versions:
            where = audio_path or session.question_folder(index)
            raise SessionError(
                f"{where}: nothing to re-score: no answer audio and no saved transcript; "
                "restore the answer audio from a backup"
            )
        transcript = session.load_transcript(index, follow_up)
        retranscribed = False
    scored = transcript
    if follow_up:
        main = _main_transcript(session, index)
        if main is not None:
            scored = merge_follow_up(main, transcript)
    evaluation = pipeline().evaluate(scored, question)
    stored = session.save_version(
        index,
        transcript,
        evaluation,
        follow_up=follow_up,
        retranscribed=retranscribed,
        bank_id=bank.id,
    )
    logger.info("stored version %d of question %d (follow-up %s)", stored.version, index, follow_up)
    return RescoreResult(old, evaluation, old_version, stored.version, retranscribed)


def _main_transcript(session: Session, index: int) -> Transcript | None:
    """The latest transcript of the main answer, or None when it has none."""
    q = session.record.questions[index]
    if q.transcript is None and not q.versions:
        return None
    return session.load_transcript(index)


def default_model(session: Session, fallback: str) -> str:
    """The ASR model the session was recorded with (its options), else ``fallback``."""
    model = session.record.options.get("model")
    return model if isinstance(model, str) and model else fallback


def run_replay(
    sessions_dir: str | os.PathLike[str],
    session_ref: str,
    options: ReplayOptions,
    *,
    bank_file: str | None = None,
    output_device: str | None = None,
    plain: bool = False,
) -> ReplayReport:
    """Open a session (folder or id in ``sessions_dir``, as ``practice --resume`` does) and
    replay it on the speaker (``output_device``), in the terminal (rich, or plain lines
    without a terminal or with ``plain``).

    Raises:
        SessionError: no such session, or its session.json is damaged.
        BankError: ``rescore`` with a bank file that is missing or invalid.
    """
    from voice_interview.adapters.models import DEFAULT_ASR_MODEL
    from voice_interview.practice.display import PlainReplayView, RichReplayView
    from voice_interview.store.sessions import SessionStore

    session = SessionStore(sessions_dir).open(session_ref)
    view: ReplayView = PlainReplayView() if plain or not sys.stdout.isatty() else RichReplayView()
    bank = None
    make_pipeline: Callable[[], AnswerPipeline] | None = None
    if options.rescore:
        from voice_interview.adapters.judge import JudgeConfig
        from voice_interview.content.banks import load_bank
        from voice_interview.pipeline import build_pipeline

        bank = load_bank(bank_file)
        model = options.model or default_model(session, DEFAULT_ASR_MODEL)
        make_pipeline = partial(build_pipeline, model, bank, JudgeConfig.from_env())

    view.note(f"Session {session.record.id} ({session.folder}), {session.record.status}")
    if not options.audio:
        return replay_session(session, options, view, pipeline=make_pipeline, bank=bank)
    from voice_interview.adapters.devices import Speaker

    device = int(output_device) if output_device and output_device.isdigit() else output_device
    with Speaker(device, buffer_s=PLAYBACK_BUFFER_S) as speaker:
        return replay_session(
            session, options, view, player=speaker, pipeline=make_pipeline, bank=bank
        )
