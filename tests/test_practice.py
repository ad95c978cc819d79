"""The mock-interview loop on the demo's path: file-fed microphone, real models, real files."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jiwer
import pytest
from sample_clock import CountingMic, SampleClockSpeaker

from voice_interview.adapters.devices import FileMicrophone
from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
from voice_interview.adapters.vad import SileroSpeechDetector
from voice_interview.content.banks import Question, load_bank
from voice_interview.core.audio import Audio, concatenate
from voice_interview.core.text import normalize_text
from voice_interview.pipeline import build_pipeline
from voice_interview.practice.display import PlainDisplay
from voice_interview.practice.interview import Interview, PracticeOptions, plan_questions
from voice_interview.practice.wiring import SilentSpeaker
from voice_interview.store.sessions import SessionStore

BANK = load_bank()


def test_plan_follows_round_count_and_shuffle_options() -> None:
    assert len(plan_questions(BANK, PracticeOptions())) == 9
    one_each = plan_questions(BANK, PracticeOptions(per_round=1))
    assert [r.id for r, _ in one_each] == [
        "technical-fundamentals",
        "system-design",
        "leadership-principles",
    ]
    rnd = plan_questions(BANK, PracticeOptions(round_id="leadership-principles", questions=2))
    assert [q.id for _, q in rnd] == ["ownership", "dive-deep"]
    a = plan_questions(BANK, PracticeOptions(shuffle=True, seed=3))
    b = plan_questions(BANK, PracticeOptions(shuffle=True, seed=3))
    assert [q.id for _, q in a] == [q.id for _, q in b]
    assert next(r.id for r, _ in a) == "technical-fundamentals"  # rounds keep their order


class ScriptedKeys:
    """Protocol fake for the keyboard: returns the scripted actions, one per poll."""

    def __init__(self, actions: list[str | None]) -> None:
        self.actions = actions

    def poll(self) -> str | None:
        return self.actions.pop(0) if self.actions else None


@pytest.fixture(scope="module")
def candidate() -> PiperSynthesizer:
    return PiperSynthesizer(SpeechOptions(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0))


def make_interview(
    tmp_path: Path,
    answers: dict[tuple[str, bool], Audio],
    options: PracticeOptions,
    keys: Any = None,
    speaker: SampleClockSpeaker | None = None,
) -> tuple[Interview, Any]:
    """The interview on file-fed microphones read at full speed. With ``speaker`` (sample
    time), the microphones cancel echo: practice listens while the interviewer speaks."""
    plan = plan_questions(BANK, options)
    session = SessionStore(tmp_path).create(BANK, [q.id for _, q in plan], {"test": True})

    @contextmanager
    def microphone(question: Question, follow_up: bool) -> Iterator[FileMicrophone]:
        audio = answers.get((question.id, follow_up)) or Audio.silence(0.5)
        trailing = options.end_silence_s + 5.0  # room for a nudge and its reply
        with CountingMic(audio, realtime=0.0, trailing_silence_s=trailing) as m:
            if speaker is not None:
                m.echo_cancelled = True
                speaker.mic = m
            yield m

    interview = Interview(
        bank=BANK,
        options=options,
        pipeline=build_pipeline("tiny.en", BANK),
        voice=PiperSynthesizer(),
        speaker=speaker or SilentSpeaker(),
        microphone=microphone,
        detector=SileroSpeechDetector,
        display=PlainDisplay(),
        keys=keys,
        session=session,
    )
    return interview, session


STORY = (
    "Last year at my previous company, our nightly billing export kept failing, and the team "
    "that owned it had moved on. I decided to take it on. I read the logs, I found a schema "
    "change that broke the job, and I wrote a fix and an alert."
)
FOLLOW = "The failures went from three a week to zero, and finance got its reports on time."


def test_interview_asks_listens_scores_follows_up_and_saves(
    tmp_path: Path, candidate: PiperSynthesizer
) -> None:
    options = PracticeOptions(round_id="leadership-principles", questions=1)
    answers = {
        ("ownership", False): candidate.synthesize(STORY),
        ("ownership", True): candidate.synthesize(FOLLOW),
    }
    interview, session = make_interview(tmp_path, answers, options)
    results = interview.run(plan_questions(BANK, options))

    assert len(results) == 1 and results[0].status == "answered"
    follow = results[0].follow_up
    assert follow is not None and follow.reason == "star:result"  # the story had no result
    evaluation = results[0].evaluation
    assert evaluation is not None and evaluation.star is not None
    assert evaluation.star["result"].present  # the follow-up answer filled the gap
    heard = normalize_text(evaluation.transcript.text)
    assert jiwer.wer(normalize_text(STORY + " " + FOLLOW), heard) <= 0.25, heard

    record = json.loads((session.folder / "session.json").read_text())
    assert record["status"] == "completed"
    q = record["questions"][0]
    assert q["status"] == "answered" and q["follow_up"]["status"] == "answered"
    folder = session.folder / "q01-ownership"
    for name in (
        "question.wav",
        "answer.wav",
        "transcript.json",
        "evaluation.json",
        "followup-question.wav",
        "followup-answer.wav",
        "followup-evaluation.json",
    ):
        assert (folder / name).is_file(), name
    saved = json.loads((folder / "followup-evaluation.json").read_text())
    assert saved["overall"] == evaluation.overall


def test_a_thinking_pause_does_not_end_the_answer(
    tmp_path: Path, candidate: PiperSynthesizer
) -> None:
    first = candidate.synthesize("A cache keeps hot data in memory.")
    second = candidate.synthesize("I would invalidate entries when the data changes.")
    answer = concatenate([first, Audio.silence(2.0, first.sample_rate), second])
    options = PracticeOptions(
        round_id="technical-fundamentals", questions=1, follow_up=False, end_silence_s=3.0
    )
    interview, _ = make_interview(tmp_path, {("sync-vs-async", False): answer}, options)
    results = interview.run(plan_questions(BANK, options))
    text = normalize_text(results[0].evaluation.transcript.text)  # type: ignore[union-attr]
    assert "invalidate" in text and "memory" in text


def test_skip_and_quit_keys_and_resume(tmp_path: Path, candidate: PiperSynthesizer) -> None:
    options = PracticeOptions(round_id="leadership-principles", follow_up=False)
    answers = {("ownership", False): candidate.synthesize(STORY)}
    interview, session = make_interview(
        tmp_path, answers, options, keys=ScriptedKeys(["skip", "quit"])
    )
    results = interview.run(plan_questions(BANK, options))
    assert [r.status for r in results] == ["skip", "quit"]
    reopened = SessionStore(tmp_path).open(session.folder)
    assert reopened.record.status == "quit"
    statuses = [q.status for q in reopened.record.questions]
    assert statuses == ["skipped", "answered", "pending"]  # quit keeps the partial answer
    assert reopened.resume() == 2


@pytest.mark.heavy  # the demo command on the bundled speech models
def test_demo_command_runs_a_whole_interview(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "voice_interview",
            "demo",
            "--round",
            "system-design",
            "--questions",
            "1",
            "--no-follow-up",
            "--sessions-dir",
            str(tmp_path),
            "--plain",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    assert "Session saved in" in out.stdout and "Score" in out.stdout
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    record = json.loads((folder / "session.json").read_text())
    assert record["status"] == "completed"
    assert (folder / "q01-scalable-backend" / "evaluation.json").is_file()


class SureTurn:
    """TurnDetector fake at the protocol boundary: every pause sounds finished, so the only
    thing that keeps the answer open is what the candidate does next."""

    window_samples = 8 * 16_000
    problem: str | None = None

    def try_load(self) -> bool:
        return True

    def end_of_turn_probability(self, samples: Any) -> float:
        return 0.99


RESULT = "As a result, the failures went from three a week to zero."
MORE = "And what I learned is to ask who owns a job before it goes live."


def story_then_more(candidate: PiperSynthesizer, pause_s: float) -> Audio:
    """A story that reads finished, ``pause_s`` of thinking, then one more sentence."""
    first = candidate.synthesize(f"{STORY} {RESULT}")
    return concatenate(
        [first, Audio.silence(pause_s, first.sample_rate), candidate.synthesize(MORE)]
    )


def test_speech_after_a_premature_close_reopens_the_same_answer(
    tmp_path: Path, candidate: PiperSynthesizer
) -> None:
    answer = story_then_more(candidate, 1.0)
    options = PracticeOptions(round_id="leadership-principles", questions=1, follow_up=False)
    interview, session = make_interview(tmp_path, {("ownership", False): answer}, options)
    interview._turn = SureTurn()  # type: ignore[assignment]
    shown: list[str] = []
    interview.display.message = shown.append  # type: ignore[method-assign]
    results = interview.run(plan_questions(BANK, options))

    assert "(Go on: still the same answer.)" in shown  # it closed at the pause, then reopened
    assert len(interview.latencies) == 2  # scored at the close, and again at the real end
    evaluation = results[0].evaluation
    assert evaluation is not None
    heard = normalize_text(evaluation.transcript.text)
    assert "learned" in heard and "billing" in heard  # one transcript: both parts
    folder = session.folder / "q01-ownership"
    assert not (folder / "followup-answer.wav").exists()  # not a second answer
    saved = json.loads((folder / "evaluation.json").read_text())
    assert saved["overall"] == evaluation.overall and "learned" in saved["transcript"]["text"]
    from voice_interview.adapters.audio_files import load_audio

    recorded = load_audio(folder / "answer.wav")
    assert recorded.duration_s >= answer.duration_s - 0.1  # one file, no gap


def test_an_unfinished_story_is_not_cut_at_a_long_pause_and_gets_a_nudge(
    tmp_path: Path, candidate: PiperSynthesizer
) -> None:
    situation = candidate.synthesize(
        "Last year at my previous company our nightly billing export kept failing, and"
    )
    rest = candidate.synthesize(
        "the team that owned it had moved on. I decided to take it on. I read the logs and "
        "fixed the job. As a result the failures went from three a week to zero."
    )
    answer = concatenate([situation, Audio.silence(6.0, situation.sample_rate), rest])
    options = PracticeOptions(round_id="leadership-principles", questions=1, follow_up=False)
    interview, _ = make_interview(tmp_path, {("ownership", False): answer}, options)
    interview._turn = SureTurn()  # type: ignore[assignment]  # even a sure-sounding pause
    results = interview.run(plan_questions(BANK, options))
    assert len(interview.latencies) == 1  # never closed at the 6 s pause
    heard = normalize_text(results[0].evaluation.transcript.text)  # type: ignore[union-attr]
    assert "billing" in heard and "zero" in heard
    assert interview.nudges == 0  # 6 s < end_silence_s: no prompt either


class DoubtfulTurn(SureTurn):
    """Every pause sounds unfinished."""

    def end_of_turn_probability(self, samples: Any) -> float:
        return 0.1


@pytest.mark.parametrize("turn", [DoubtfulTurn, SureTurn])
def test_a_finished_reading_story_gets_a_quick_score_and_a_5_s_pause_still_goes_on(
    tmp_path: Path, candidate: PiperSynthesizer, turn: type[SureTurn]
) -> None:
    # The story reads finished at the pause: a provisional score at once, but the
    # interviewer waits (reply_after_s, sure or not), so the candidate can go on.
    answer = story_then_more(candidate, 5.0)
    options = PracticeOptions(round_id="leadership-principles", questions=1, follow_up=False)
    interview, _ = make_interview(tmp_path, {("ownership", False): answer}, options)
    interview._turn = turn()  # type: ignore[assignment]
    results = interview.run(plan_questions(BANK, options))
    heard = normalize_text(results[0].evaluation.transcript.text)  # type: ignore[union-attr]
    assert "billing" in heard and "learned" in heard
    # scored when the story read finished (at the pause), and again at the real end
    assert len(interview.latencies) == 2
    assert len(interview.final_latencies) == 1  # and once for good, on the whole answer


def test_a_closing_phrase_ends_the_answer_at_once(
    tmp_path: Path, candidate: PiperSynthesizer
) -> None:
    done = concatenate(
        [candidate.synthesize(STORY + " " + FOLLOW + " That's my answer."), Audio.silence(0.2)]
    )
    options = PracticeOptions(round_id="leadership-principles", questions=1, follow_up=False)
    interview, _ = make_interview(tmp_path, {("ownership", False): done}, options)
    interview._turn = SureTurn()  # type: ignore[assignment]
    shown: list[str] = []
    interview.display.message = shown.append  # type: ignore[method-assign]
    interview.run(plan_questions(BANK, options))
    assert not any("Moving on after" in m for m in shown)  # no wait for a silence
    assert len(interview.latencies) == 1 and len(interview.final_latencies) == 1


def test_the_saved_transcript_is_one_pass_over_the_whole_answer(
    tmp_path: Path, candidate: PiperSynthesizer
) -> None:
    """Not the streaming pieces joined: the same words as batch-scoring answer.wav."""
    from voice_interview.adapters.audio_files import load_audio

    answer = story_then_more(candidate, 3.0)
    options = PracticeOptions(round_id="leadership-principles", questions=1, follow_up=False)
    interview, session = make_interview(tmp_path, {("ownership", False): answer}, options)
    interview.run(plan_questions(BANK, options))
    folder = session.folder / "q01-ownership"
    saved = json.loads((folder / "transcript.json").read_text())["text"]
    ownership = BANK.question("ownership")
    batch = interview.pipeline.transcribe(load_audio(folder / "answer.wav"), ownership)
    said = normalize_text(f"{STORY} {RESULT} {MORE}")
    wer_saved = jiwer.wer(said, normalize_text(saved))
    assert wer_saved <= jiwer.wer(said, normalize_text(batch.text)) + 0.02, saved
    evaluation = json.loads((folder / "evaluation.json").read_text())
    assert evaluation["transcript"]["text"] == saved


def test_speech_just_as_the_interviewer_begins_goes_on_with_the_same_answer(
    tmp_path: Path, candidate: PiperSynthesizer
) -> None:
    """Late resume, in sample time with barge-in: a 7.6 s pause after a story that reads
    finished; the interviewer begins its next words (here the summary) after 7 s of silence,
    the candidate goes on 0.6 s later. The interviewer stops, the answer reopens and keeps
    every word, and the summary is said again (scored on the whole answer) once they are
    done."""
    options = PracticeOptions(round_id="leadership-principles", questions=1, follow_up=False)
    speaker = SampleClockSpeaker()
    rate = candidate.synthesize("Yes.").sample_rate
    asked = PiperSynthesizer().synthesize(BANK.question("ownership").text)
    lead = Audio.silence(asked.duration_s + 1.0, rate)  # the question is said over it
    told = story_then_more(candidate, 7.6)
    answer = concatenate([lead, told])
    interview, session = make_interview(
        tmp_path, {("ownership", False): answer}, options, speaker=speaker
    )
    shown: list[str] = []
    interview.display.message = shown.append  # type: ignore[method-assign]
    results = interview.run(plan_questions(BANK, options))

    assert interview.late_resumes == 1, shown
    assert "(Sorry, go on: the same answer continues.)" in shown
    more_at = lead.duration_s + told.duration_s - candidate.synthesize(MORE).duration_s
    stopped = [p for p in speaker.plays if p[0] / 16_000 < more_at < p[1] / 16_000 + 1.0]
    assert len(stopped) == 1, speaker.plays  # the summary began before MORE, and stopped
    assert stopped[0][1] / 16_000 - more_at < 0.6, "the interviewer went on over the candidate"
    assert sum(1 for m in shown if "Scorecard:" in m) == 2  # said again after the answer
    evaluation = results[0].evaluation
    assert evaluation is not None
    heard = normalize_text(evaluation.transcript.text)
    assert "billing" in heard and "learned" in heard, heard
    folder = session.folder / "q01-ownership"
    saved = json.loads((folder / "transcript.json").read_text())["text"]
    assert "learned" in normalize_text(saved)
    from voice_interview.adapters.audio_files import load_audio

    assert load_audio(folder / "answer.wav").duration_s >= answer.duration_s - 0.1
