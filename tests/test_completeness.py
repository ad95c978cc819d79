"""The content half of turn taking: does a partial transcript read as a finished answer?

Real evaluator on typed transcripts (as the recogniser would punctuate them); the rules are
``prompts/turn_taking.toml``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voice_interview.content.banks import load_bank
from voice_interview.core.transcript import Segment, Transcript, Word
from voice_interview.scoring.completeness import assess_completeness, load_turn_taking
from voice_interview.scoring.evaluator import LocalEvaluator

BANK = load_bank()
EVALUATOR = LocalEvaluator(BANK)
TECHNICAL = BANK.question("connection-pooling")
STORY = BANK.question("ownership")

POOLING = (
    "A connection pool keeps a set of open database connections that requests borrow and "
    "return, so you skip the TCP and TLS handshake and the authentication on every request. "
    "You size it from the database's connection limit divided by the number of app servers"
)


def verdict(text: str, question=TECHNICAL, last_p: float | None = None):  # type: ignore[no-untyped-def]
    words = []
    if last_p is not None:
        words = [Word(text=w, start_s=i * 0.3, end_s=i * 0.3 + 0.25, probability=0.99)
                 for i, w in enumerate(text.split())]  # fmt: skip
        words[-1] = words[-1].model_copy(update={"probability": last_p})
    end = len(text.split()) * 0.3
    segments = [Segment(text=text, start_s=0.0, end_s=end, words=words)] if words else []
    transcript = Transcript(text=text, duration_s=end, model="typed", segments=segments)
    return assess_completeness(EVALUATOR.evaluate(transcript, question))


def test_a_finished_technical_answer_reads_finished() -> None:
    v = verdict(POOLING + ".")
    assert v.finished and v.reasons == () and v.sure


@pytest.mark.parametrize(
    ("ending", "reason"),
    [
        ("", "unpunctuated"),  # a sentence cut off by the pause: no full stop
        (",", "unpunctuated"),
        (" and...", "ellipsis"),
        ("...", "ellipsis"),
    ],
)
def test_what_the_recogniser_leaves_open_reads_unfinished(ending: str, reason: str) -> None:
    v = verdict(POOLING + ending)
    assert not v.finished and reason in v.reasons


def test_words_that_never_end_a_sentence_read_unfinished_even_with_a_full_stop() -> None:
    v = verdict(POOLING + ", and the.")
    assert not v.finished and "trailing:the" in v.reasons


@pytest.mark.parametrize("ending", [" than it was.", " by about 40%.", " for.", ' in flight."'])
def test_words_that_can_end_a_sentence_do_not(ending: str) -> None:
    assert verdict(POOLING + ending).finished, ending


def test_a_short_technical_answer_and_a_story_without_its_action_read_unfinished() -> None:
    assert verdict("A pool keeps connections open.").reasons == ("short:5<30",)
    story = verdict(
        "Last year our nightly billing export kept failing, and it was owned by another team "
        "that had moved on to a new project. Nobody was on the hook for it.",
        STORY,
    )
    assert not story.finished and "star:action" in story.reasons


def test_an_unsure_last_word_puts_the_verdict_in_doubt() -> None:
    assert verdict(POOLING + ".", last_p=0.9).sure
    doubtful = verdict(POOLING + ".", last_p=0.2)
    assert doubtful.finished and not doubtful.sure


def test_a_concise_technical_answer_reads_finished_in_doubt() -> None:
    concise = (
        "A cache keeps hot data in memory so reads skip the database. I'd use Redis with "
        "cache-aside and a TTL, and delete the key on writes. The trade-off is stale reads "
        "against load."
    )  # 35 words: between technical_min_words (30) and [doubt] technical_words (40)
    v = verdict(concise, BANK.question("caching-strategies"))
    assert v.finished and not v.sure


def test_broken_rules_name_the_file(tmp_path: Path) -> None:
    good = (Path(__file__).parents[1] / "prompts" / "turn_taking.toml").read_text()
    for broken in (
        good.replace('final_punctuation = [".", "!", "?"]', "final_punctuation = []"),
        good.replace("min_last_word_probability = 0.5", "min_last_word_probability = 5"),
        good.replace("[doubt]", "[doubts]"),
    ):
        path = tmp_path / "rules.toml"
        path.write_text(broken)
        load_turn_taking.cache_clear()
        with pytest.raises(ValueError, match=r"rules\.toml"):
            load_turn_taking(path)
    load_turn_taking.cache_clear()


@pytest.mark.parametrize(
    "closing",
    ["That's my answer.", "and that's it.", "That\u2019s all.", "I'm done", "My answer."],
)
def test_a_closing_phrase_says_done_whatever_the_rest_reads_like(closing: str) -> None:
    v = verdict(f"A pool keeps connections open. {closing}")  # short: unfinished otherwise
    assert v.done and v.finished
    assert not verdict("A pool keeps connections open, and that's it for now").done
    assert not verdict("A pool keeps connections open; my answer is a pool").done


def test_a_technical_answer_without_any_trade_off_is_in_doubt() -> None:
    basics = (
        "A cache keeps hot data in memory so that reads skip the database. I would put Redis "
        "in front of the database with cache-aside: read the cache first, and on a miss read "
        "the database and store the value in the cache. That makes reads much faster and "
        "takes load off the database."
    )
    caching = BANK.question("caching-strategies")
    no_tradeoff = verdict(basics, caching)
    with_tradeoff = verdict(
        basics + " The catch is stale data, so I set a TTL and delete the key on every write.",
        caching,
    )
    assert no_tradeoff.finished and with_tradeoff.finished
    assert with_tradeoff.sure and not no_tradeoff.sure
