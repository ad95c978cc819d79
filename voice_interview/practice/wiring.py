"""Wiring: builds a live practice session or the demo from the adapters.

The live session and the demo run the same
:class:`~voice_interview.practice.interview.Interview`; the demo swaps the microphone for a
file-fed one (Piper speaking sample answers from ``prompts/samples/answers.toml``) and, unless
asked to play, a silent speaker.
"""

from __future__ import annotations

import logging
import sys
import tomllib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from voice_interview.content.banks import Bank, Question, Round
from voice_interview.content.folders import data_folder
from voice_interview.core.audio import Audio
from voice_interview.errors import BankError

if TYPE_CHECKING:
    from voice_interview.adapters.echo import EchoCanceller, FarEnd
    from voice_interview.practice.display import Display
    from voice_interview.practice.interview import Interview, Keys, PracticeOptions
    from voice_interview.practice.speaking import Microphone, Speaker
    from voice_interview.store.sessions import Session

    MicrophoneFor = Callable[[Question, bool], AbstractContextManager[Microphone]]

__all__ = ["SilentSpeaker", "load_sample_answers", "run_demo", "run_practice"]

logger = logging.getLogger(__name__)


class SilentSpeaker:
    """An output that plays nothing (the demo without --play; the audio is still saved)."""

    def play(self, audio: Audio) -> None:
        return None


def load_sample_answers() -> dict[str, dict[str, str]]:
    """Question id -> {"text": main answer, "follow_up": answer to the follow-up}."""
    path = data_folder("prompts") / "samples" / "answers.toml"
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    return {
        qid: {k: " ".join(str(v).split()) for k, v in entry.items()}
        for qid, entry in raw["answers"].items()
    }


def _display(plain: bool, captions: bool) -> Display:
    from voice_interview.practice.display import PlainDisplay, RichDisplay

    if plain or not sys.stdout.isatty():
        return PlainDisplay()
    return RichDisplay(captions=captions)


def _session_and_plan(
    bank: Bank,
    options: PracticeOptions,
    sessions_dir: Path,
    resume: str | None,
) -> tuple[Session, list[tuple[Round, Question]], int]:
    from voice_interview.practice.interview import plan_questions
    from voice_interview.store.sessions import SessionStore

    store = SessionStore(sessions_dir)
    if resume:
        session = store.open(resume)
        plan = [
            (bank.round(q.round_id), bank.question(q.question_id)) for q in session.record.questions
        ]
        start = session.resume()
        if start is None:
            raise BankError(f"{session.folder}: every question of this session is done already")
        return session, plan, start
    plan = plan_questions(bank, options)
    if not plan:
        raise BankError("no questions to ask with these options")
    session = store.create(bank, [q.id for _, q in plan], asdict(options))
    return session, plan, 0


def run_practice(
    *,
    bank: Bank,
    options: PracticeOptions,
    sessions_dir: Path,
    resume: str | None,
    input_device: str | None,
    output_device: str | None,
    plain: bool,
) -> Path:
    """A live mock interview at the microphone. Returns the session folder."""
    from voice_interview.adapters import devices
    from voice_interview.practice.display import KeyReader

    session, plan, start = _session_and_plan(bank, options, sessions_dir, resume)
    far_end, canceller = _echo_cancellation(options)
    speaker = devices.Speaker(_device(output_device), far_end=far_end)
    # One input stream for the whole interview: the microphone keeps listening between an
    # answer and the interviewer's next words (a candidate who goes on is heard), and a device
    # that allows one stream at a time is never opened twice.
    mic = devices.Microphone(_device(input_device), far_end=far_end, canceller=canceller)
    with mic as shared, KeyReader() as keys:

        def microphone(question: Question, follow_up: bool) -> AbstractContextManager[Microphone]:
            return nullcontext(shared)

        _interview(bank, options, session, speaker, microphone, plain, keys).run(plan, start)
    print(f"Session saved in {session.folder}")
    return Path(session.folder)


def _interview(
    bank: Bank,
    options: PracticeOptions,
    session: Session,
    speaker: Speaker,
    microphone: MicrophoneFor,
    plain: bool,
    keys: Keys | None,
) -> Interview:
    """The interview loop with the real engines; only the devices differ between callers."""
    from voice_interview.adapters.piper import PiperSynthesizer
    from voice_interview.adapters.turn import SmartTurnDetector
    from voice_interview.adapters.vad import SileroSpeechDetector
    from voice_interview.pipeline import build_pipeline
    from voice_interview.practice.interview import Interview

    return Interview(
        bank=bank,
        options=options,
        pipeline=build_pipeline(options.model, bank),
        voice=PiperSynthesizer(),
        speaker=speaker,
        microphone=microphone,
        detector=SileroSpeechDetector,
        display=_display(plain, options.captions),
        keys=keys,
        session=session,
        turn=SmartTurnDetector() if options.turn_model else None,
    )


def _echo_cancellation(options: PracticeOptions) -> tuple[FarEnd | None, EchoCanceller | None]:
    """The speaker's reference and the echo canceller, for barge-in; (None, None) when off or
    when the canceller cannot load (then the microphone is muted while the interviewer
    speaks, as without barge-in, and the start-up line says so)."""
    from voice_interview.adapters.echo import EchoCanceller, EchoError, FarEnd

    if not options.barge_in:
        print(
            "The microphone is muted while the interviewer speaks (--no-barge-in): wait for "
            "the end of each question before you answer."
        )
        return None, None
    try:
        canceller = EchoCanceller().load()
    except EchoError as exc:
        print(f"Warning: {exc}. The microphone is muted while the interviewer speaks.")
        return None, None
    print(
        "You can interrupt: the microphone listens while the interviewer speaks (its voice is "
        "cancelled). Headphones work best; in an echoey room use them, or --no-barge-in."
    )
    return FarEnd(), canceller


def _device(name: str | None) -> int | str | None:
    if name is None:
        return None
    return int(name) if name.isdigit() else name


def run_demo(
    *,
    bank: Bank,
    options: PracticeOptions,
    sessions_dir: Path,
    play: bool,
    plain: bool,
) -> Path:
    """The whole mock interview with a simulated candidate (no microphone). Same loop."""
    from voice_interview.adapters import devices
    from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
    from voice_interview.core.endpointing import EndpointOptions

    answers = load_sample_answers()
    session, plan, start = _session_and_plan(bank, options, sessions_dir, None)
    missing = [q.id for _, q in plan if q.id not in answers]
    if missing:
        raise BankError(
            f"no sample answer for {', '.join(missing)} in prompts/samples/answers.toml"
        )
    candidate = PiperSynthesizer(SpeechOptions(length_scale=1.1))

    @contextmanager
    def microphone(question: Question, follow_up: bool) -> Iterator[Microphone]:
        entry = answers[question.id]
        text = entry.get("follow_up", "") if follow_up else entry["text"]
        audio = candidate.synthesize(text or "I'm not sure.")
        # Not paced (realtime 0): the demo runs as fast as the machine, and the loop reads
        # each answer's transcript before it listens on (see practice._OpenAnswer). Enough
        # trailing silence for an unfinished-sounding answer to be nudged and end.
        trailing = options.end_silence_s + EndpointOptions().nudge_reply_s + 1.0
        mic = devices.FileMicrophone(audio, realtime=0.0, trailing_silence_s=trailing)
        with mic:
            yield mic

    speaker: Speaker = devices.Speaker() if play else SilentSpeaker()
    interview = _interview(bank, options, session, speaker, microphone, plain, None)
    interview.run(plan, start)
    if interview.latencies:
        ordered = sorted(interview.latencies)
        median = ordered[len(ordered) // 2]
        print(f"\nEnd of answer -> feedback: median {median:.2f} s over {len(ordered)} answers")
    print(f"Session saved in {session.folder}")
    return Path(session.folder)
