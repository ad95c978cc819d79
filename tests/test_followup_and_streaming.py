"""Follow-up choice, and streaming transcription of an answer in stretches."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from voice_interview.content.banks import load_bank
from voice_interview.core.audio import Audio, concatenate
from voice_interview.core.transcript import Segment, Transcript, Word, merge_transcripts
from voice_interview.pipeline import AnswerPipeline
from voice_interview.scoring.evaluator import LocalEvaluator
from voice_interview.scoring.followup import choose_follow_up

BANK = load_bank()
EVALUATOR = LocalEvaluator(BANK)


def evaluate(question_id: str, text: str) -> Any:
    question = BANK.question(question_id)
    return EVALUATOR.evaluate(Transcript.from_text(text), question), question


def test_story_without_a_result_is_asked_for_one() -> None:
    evaluation, question = evaluate(
        "ownership",
        "Last year at my company the nightly export kept failing and nobody owned it. "
        "I decided to take it on. I read the logs, I found the schema change and I fixed the job.",
    )
    follow = choose_follow_up(evaluation, question)
    assert follow is not None and follow.reason == "star:result"
    assert "?" in follow.text


def test_we_only_story_is_asked_about_the_candidates_part() -> None:
    evaluation, question = evaluate(
        "ownership",
        "Last year at my company the nightly export kept failing. We decided to own it. "
        "We read the logs, we found the bug and we fixed it. As a result failures dropped "
        "from five a week to zero.",
    )
    follow = choose_follow_up(evaluation, question)
    assert follow is not None and follow.reason == "check:first-person-actions"


def test_hypothetical_answer_is_asked_for_a_real_time() -> None:
    evaluation, question = evaluate(
        "disagree-and-commit",
        "I always try to listen first. If I disagree I would set up a meeting and bring data. "
        "In general I think it is important to disagree and commit.",
    )
    follow = choose_follow_up(evaluation, question)
    assert follow is not None and follow.reason == "star:situation"


def test_technical_answer_is_asked_about_a_missing_required_concept() -> None:
    evaluation, question = evaluate(
        "caching-strategies",
        "A cache keeps frequently read data in memory, like Redis, so reads are fast and the "
        "database gets fewer queries. I would use cache-aside: read the cache first and on a "
        "miss load from the database and put it in the cache.",
    )
    follow = choose_follow_up(evaluation, question)
    assert follow is not None and follow.reason.startswith("concept:")
    concept = next(c for c in question.concepts if c.id == follow.reason.split(":", 1)[1])
    assert concept.required and follow.text == concept.follow_up
    status = {c.id: c.status for c in evaluation.concepts}
    assert status[concept.id] in {"missing", "partial"}


def test_off_topic_answer_gets_no_follow_up() -> None:
    evaluation, question = evaluate(
        "connection-pooling",
        "Authentication proves who you are with a password or a token, and authorization "
        "decides what you may do, for example with roles and permissions checked on every "
        "request, returning 401 or 403.",
    )
    assert evaluation.band == "off-topic"
    assert choose_follow_up(evaluation, question) is None


def _words(text: str, start: float) -> Transcript:
    ws = tuple(
        Word(text=w, start_s=start + i * 0.5, end_s=start + i * 0.5 + 0.4, probability=0.9)
        for i, w in enumerate(text.split())
    )
    return Transcript(
        text=text,
        segments=(Segment(text=text, start_s=ws[0].start_s, end_s=ws[-1].end_s, words=ws),),
        duration_s=ws[-1].end_s,
        model="m",
    )


def test_merge_shifts_times_by_each_stretch_offset() -> None:
    merged = merge_transcripts(
        [(10.0, _words("and then done", 0.0)), (0.0, _words("first part", 0.2))], 14.0
    )
    assert merged.text == "first part and then done"
    assert [round(w.start_s, 2) for w in merged.words] == [0.2, 0.7, 10.0, 10.5, 11.0]
    assert merged.duration_s == 14.0 and merged.options["streamed_stretches"] == 2


def test_merge_keeps_word_times_in_order_across_a_cut_inside_speech() -> None:
    # The first piece's last word is timed up to 2.6 s, past the cut at 2.5 s where the second
    # piece's first word starts.
    merged = merge_transcripts(
        [(0.0, _words("so we cached", 1.6)), (2.5, _words("the reads", 0.0))], 4.0
    )
    starts = [w.start_s for w in merged.words]
    assert starts == sorted(starts)
    assert merged.text == "so we cached the reads"
    assert all(w.end_s >= w.start_s for w in merged.words)


class RecordingTranscriber:
    """Protocol fake: 'hears' a fixed word per stretch and records the stretch lengths."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    def transcribe(self, audio: Audio, question: Any = None) -> Transcript:
        self.seen.append(round(audio.duration_s, 3))
        if audio.peak < 0.01:
            return Transcript(text="", duration_s=audio.duration_s, model="fake")
        return _words(f"part{len(self.seen)}", 0.0)


def test_streaming_answer_transcribes_stretches_and_merges() -> None:
    fake = RecordingTranscriber()
    pipeline = AnswerPipeline(fake, EVALUATOR)
    stream = pipeline.stream(BANK.question("ownership"))
    tone = Audio(np.full(8000, 0.2, dtype=np.float32), 16000)
    stream.add_stretch(tone, 0.0)
    stream.add_stretch(Audio(np.full(4000, 0.001, dtype=np.float32), 16000), 2.0)  # a click
    stream.add_stretch(concatenate([tone, tone]), 5.0)
    transcript = stream.finish(8.0)
    assert fake.seen == [0.5, 1.0]  # the near-silent click never reaches the recogniser
    assert transcript.text == "part1 part2"
    assert [w.start_s for w in transcript.words] == [0.0, 5.0]


def test_streaming_answer_with_no_words_is_an_error() -> None:
    from voice_interview.errors import AudioError

    stream = AnswerPipeline(RecordingTranscriber(), EVALUATOR).stream(BANK.question("ownership"))
    stream.add_stretch(Audio(np.zeros(1600, dtype=np.float32), 16000), 0.0)
    with pytest.raises(AudioError) as err:
        stream.finish(3.0)
    assert err.value.reason == "no-speech"
