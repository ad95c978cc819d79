"""The local evaluator on real text, with the real WordLlama model (no fakes)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from voice_interview.content.banks import load_bank
from voice_interview.core.transcript import Segment, Transcript, Word
from voice_interview.scoring.evaluator import LocalEvaluator
from voice_interview.scoring.result import STAR_PARTS

REPO = Path(__file__).resolve().parents[1]
BANK = load_bank()
EVALUATOR = LocalEvaluator(BANK)
DEVSET = [
    json.loads(line)
    for line in (REPO / "tests" / "data" / "evaluator_devset.jsonl").read_text().splitlines()
    if line.strip()
]


def spoken(text: str, seconds_per_word: float = 0.4) -> Transcript:
    """A recogniser-like transcript with evenly spaced word timestamps."""
    words = tuple(
        Word(
            text=w,
            start_s=i * seconds_per_word,
            end_s=(i + 0.8) * seconds_per_word,
            probability=0.9,
        )
        for i, w in enumerate(text.split())
    )
    segment = Segment(text=text, start_s=0.0, end_s=words[-1].end_s, words=words)
    return Transcript(
        text=text, segments=(segment,), duration_s=words[-1].end_s + 0.5, model="test"
    )


def devset(
    tag: str | None = None, grade: int | None = None, kind: str = "any"
) -> list[dict[str, Any]]:
    rows = DEVSET
    if tag is not None:
        rows = [r for r in rows if tag in r["tags"]]
    if grade is not None:
        rows = [r for r in rows if r["grade"] == grade]
    if kind != "any":
        rows = [r for r in rows if (r["star"] is not None) == (kind == "behavioral")]
    return rows


def score(row: dict[str, Any], timed: bool = False) -> Any:
    transcript = spoken(row["text"]) if timed else Transcript.from_text(row["text"])
    return EVALUATOR.evaluate(transcript, BANK.question(row["question_id"]))


def test_json_contract_and_determinism() -> None:
    row = devset(grade=3, kind="behavioral")[0]
    first = score(row, timed=True).to_json_dict()
    assert first == score(row, timed=True).to_json_dict()  # same input, same output
    assert {
        "question_id",
        "kind",
        "overall",
        "band",
        "star",
        "concepts",
        "delivery",
        "tips",
        "evaluator",
        "transcript",
        "judge",
    } <= set(first)
    assert first["kind"] == "behavioral" and first["concepts"] is None
    assert set(first["star"]) == set(STAR_PARTS)
    assert {"present", "score", "evidence"} <= set(first["star"]["action"])
    assert first["evaluator"] == {"name": "local", "version": EVALUATOR.version}
    assert first["band"] in {"strong", "solid", "needs work", "off-topic"}
    assert len(first["tips"]) <= 3
    json.dumps(first)  # serialisable

    tech = score(devset(grade=3, kind="technical")[0]).to_json_dict()
    assert tech["kind"] == "technical" and tech["star"] is None
    assert {"id", "label", "status", "evidence"} <= set(tech["concepts"][0])


def test_evidence_is_verbatim_with_time_ranges() -> None:
    for row in devset(grade=3):
        evaluation = score(row, timed=True)
        duration = evaluation.transcript.duration_s
        parts = list((evaluation.star or {}).values()) + list(evaluation.concepts or ())
        quoted = [p for p in parts if p.evidence]
        assert quoted
        for part in quoted:
            assert part.evidence in row["text"]
            assert part.start_s is not None and part.end_s is not None
            assert 0 <= part.start_s < part.end_s <= duration


def test_strong_stories_show_their_star_parts() -> None:
    complete = 0
    for row in devset(grade=3, kind="behavioral"):
        star = score(row).star
        assert star is not None
        found = {part for part, c in star.items() if c.present}
        assert {"situation", "action", "result"} <= found, row["id"]
        complete += found == set(STAR_PARTS)
        assert score(row).band in {"strong", "solid"}
    assert complete >= 3  # measured: 4 of 6 with the task found too


@pytest.mark.parametrize("row", devset("hypothetical"), ids=lambda r: r["id"])
def test_hypothetical_answer_is_called_out(row: dict[str, Any]) -> None:
    evaluation = score(row)
    checks = {c.id: c for c in evaluation.star_checks or ()}
    assert not checks["specific-situation"].passed
    # the rubric: "a purely hypothetical 'I always / I would'" is a 0, but it is on topic
    assert evaluation.band == "no signal" and evaluation.overall < 30
    assert any("specific time" in t for t in evaluation.tips)
    assert any(d.feature == "real_story" for d in evaluation.deductions)


def test_a_past_story_with_one_i_would_in_it_is_still_a_story() -> None:
    # reported speech ("I told their lead I'd take it") and no situation cue in the opening:
    # one "I'd" once made the whole story hypothetical (0 points); past actions outweigh it
    story = (
        "The short version is I kept a broadcaster's election coverage from going dark. "
        "The results ingest service, which the data team owned, had no failover at all. "
        "So I told their lead I'd take the failover work on. "
        "I containerized the service and ran two instances behind a queue group. "
        "Then I ran a fire drill where I killed the primary during a fake results feed. "
        "On the night the primary really died, and the second instance took over in under two "
        "seconds with zero missed results."
    )
    e = EVALUATOR.evaluate(Transcript.from_text(story), BANK.question("ownership"))
    checks = {c.id: c for c in e.star_checks or ()}
    assert e.star is not None and e.star["action"].present and e.star["result"].present
    assert checks["specific-situation"].evidence is None  # not called a habit
    assert not any(d.feature == "real_story" for d in e.deductions)
    # an answer that is all "I would" stays hypothetical
    plan = (
        "I would first talk to the owner of the service. I'd look at the logs and the metrics. "
        "If there was no failover, I would propose a design. I'd ask for a review."
    )
    e = EVALUATOR.evaluate(Transcript.from_text(plan), BANK.question("ownership"))
    assert any(d.feature == "real_story" for d in e.deductions)


def test_zero_is_a_number_and_spoken_learnings_are_heard() -> None:
    story = (
        "Last year at a port logistics company our customs certificate was about to expire and "
        "nobody owned the integration. I told my manager I would take it and made it my goal to "
        "renew it without a missed clearance. I found the renewal process, generated the new "
        "key pair and rewrote the loader so it could rotate without a redeploy. We renewed it "
        "with zero missed clearances. What stuck with me is that the dangerous systems are the "
        "ones nobody owns, so now I keep a list of everything with an expiry date."
    )
    e = EVALUATOR.evaluate(Transcript.from_text(story), BANK.question("ownership"))
    checks = {c.id: c.passed for c in e.star_checks or ()}
    assert checks["quantified-result"] and checks["learning"]


@pytest.mark.parametrize("row", devset("we-only"), ids=lambda r: r["id"])
def test_we_only_story_fails_first_person_check_quoting_a_we_sentence(row: dict[str, Any]) -> None:
    evaluation = score(row)
    check = next(c for c in evaluation.star_checks or () if c.id == "first-person-actions")
    assert not check.passed
    assert check.evidence is not None and check.evidence in row["text"]
    assert "we" in check.evidence.lower().split()
    strong = [score(r).overall for r in devset(grade=3) if r["question_id"] == row["question_id"]]
    assert evaluation.overall < min(strong)
    # a weak answer, not an off-topic one: "no personal ownership (only 'we')" is a 1
    assert evaluation.band in {"needs work", "no signal"}
    assert any(d.feature == "first_person" for d in evaluation.deductions)


def test_result_without_numbers_and_missing_parts_are_called_out() -> None:
    for row in devset("no-numbers"):
        evaluation = score(row)
        check = next(c for c in evaluation.star_checks or () if c.id == "quantified-result")
        assert not check.passed, row["id"]
    story = (
        "Last year at my company our deploys kept failing. I read the logs and fixed the script."
    )
    evaluation = EVALUATOR.evaluate(Transcript.from_text(story), BANK.question("ownership"))
    assert evaluation.star is not None and not evaluation.star["result"].present
    assert evaluation.star["result"].tip is not None
    # the missing result costs points; its tip is shown when it is among the three largest
    assert any(d.feature == "result" for d in evaluation.deductions)


def test_buzzword_list_never_beats_a_good_answer() -> None:
    for row in devset("buzzword-list"):
        listed = score(row)
        goods = [
            score(r).overall for r in devset(grade=3) if r["question_id"] == row["question_id"]
        ]
        assert listed.overall < min(goods), row["id"]
        assert any("without explaining" in t for t in listed.tips), listed.tips


def test_off_topic_answers_score_low() -> None:
    flagged = 0
    for row in devset("off-topic", kind="technical"):
        evaluation = score(row)
        assert evaluation.overall < 55, row["id"]  # never solid
        flagged += evaluation.band == "off-topic"
    # measured: 5 of 6 flagged by meaning; the sixth (scalable-backend-07, a fluent answer on
    # REST design) covers none of the rubric but is long and explains things: "needs work", 49
    assert flagged >= 4


def test_typed_answer_has_no_timing_but_a_delivery_score() -> None:
    evaluation = score(devset(grade=2, kind="technical")[0])
    d = evaluation.delivery
    assert d.duration_s is None and d.words_per_minute is None and d.pause_count is None
    assert d.word_count > 20 and 0 <= d.score <= 100


@pytest.mark.parametrize(
    ("name", "spearman_floor", "band_floor", "star_floor"),
    [
        ("devset", 0.92, 0.86, 0.95),
        ("devset2", 0.92, 0.80, 0.9),
        ("devset3", 0.91, 0.78, 0.9),
        ("devset4", 0.91, 0.80, 0.9),
        ("devset5", 0.80, 0.64, 0.92),
        ("devset6", 0.86, 0.75, 0.94),
        ("devset7", 0.84, 0.75, 0.94),
        ("devset8", 0.78, 0.60, 0.9),
        ("devset9", 0.86, 0.70, 0.92),
        ("devset10", 0.88, 0.62, 0.9),
    ],
)
def test_quality_on_the_tuning_sets_does_not_regress(
    name: str, spearman_floor: float, band_floor: float, star_floor: float
) -> None:
    """The benchmark's figures (bench/evaluator_quality.py) on the ten sets the calibration
    is fitted on, as floors under regressions (measured with the calibration fitted on all ten:
    Spearman 0.96 / 0.95 / 0.93 / 0.94 / 0.83 / 0.88 / 0.87 / 0.85 / 0.88 / 0.90, band matches
    grade 92 / 82 / 82 / 89 / 70 / 78 / 81 / 67 / 75 / 67 %, STAR macro-F1 0.97 / 0.94 / 0.93 /
    0.92 / 0.95 / 0.96 / 0.96 / 0.94 / 0.95 / 0.93). The honest figures are the untouched sets'
    (final, the newest blind set) in
    bench/results/."""
    sys.path.insert(0, str(REPO / "bench"))
    from evaluator_quality import load_devset, metrics  # type: ignore[import-not-found]

    rows = load_devset(REPO / "tests" / "data" / f"evaluator_{name}.jsonl")
    results = [score(r) for r in rows]
    m = metrics(rows, results)
    assert m["buzzword_wins"] == 0
    assert m["star_macro_f1"] >= star_floor
    assert m["spearman"] >= spearman_floor
    assert m["band_match"] >= band_floor
    # measured: none on most sets; blind5's two narrow grade-2 answers (HTTP caching only,
    # connection handling only) and one of blind8's sound more like another question's answer
    assert len(m["wrongly_off_topic"]) <= {"devset5": 2, "devset8": 1}.get(name, 0)
    assert m["buzzword_vs_grade2_wins"] == 0
    off_topic = [e for r, e in zip(rows, results, strict=True) if "off-topic" in r["tags"]]
    # measured: none solid in the first three sets; one each in blind4 and blind5 (an answer to
    # another question that still explains most of this one's required concepts); two in
    # blind9 (dive-deep stories about other principles that still show an investigation)
    limit = {"devset": 0, "devset2": 0, "devset9": 2}.get(name, 1)
    assert sum(e.overall >= 55 for e in off_topic) <= limit


def test_score_command_takes_text_and_transcript_files(tmp_path: Path) -> None:
    row = devset(grade=3, kind="behavioral")[0]
    answer = tmp_path / "answer.txt"
    answer.write_text(row["text"])
    for args in (["--transcript", str(answer)], ["--text", row["text"]]):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "voice_interview",
                "score",
                "--question",
                row["question_id"],
                *args,
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        assert data["question_id"] == row["question_id"] and data["star"]["action"]["present"]
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "voice_interview",
            "score",
            "--question",
            "ownership",
            "--transcript",
            str(empty),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and str(empty) in out.stderr and "empty" in out.stderr


def test_every_sentence_of_a_story_is_labeled() -> None:
    row = devset(grade=3, kind="behavioral")[0]
    evaluation = score(row, timed=True)
    labeled = evaluation.star_sentences
    assert labeled is not None and len(labeled) >= 5
    assert " ".join(x.text for x in labeled) == " ".join(row["text"].split())
    assert {x.label for x in labeled} <= {"situation", "task", "action", "result", "other"}
    assert all(x.start_s is not None for x in labeled)
    assert evaluation.to_json_dict()["star_sentences"][0]["label"] == labeled[0].label


# -- misconceptions and focus --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signal", "sentence", "expected"),
    [
        ("cache everything", "What I'd do is just cache everything, every query result.", True),
        ("cache everything", "You really can't cache everything, memory is finite.", False),
        ("cache everything", "A common mistake is to cache everything.", False),
        (
            "authentication authorization same thing",
            "Authentication and authorization are, um, basically the same thing.",
            True,
        ),
        (
            "authentication authorization same thing",
            "Authentication and authorization aren't the same thing at all.",
            False,
        ),
        (
            "authorization before authentication",
            "Authorization happens before authentication.",
            True,
        ),
        (
            "authorization before authentication",
            "Authentication comes before authorization.",
            False,
        ),
        # exact stems: "asynchronous" is not "synchronous"
        ("synchronous always slower", "Asynchronous is always slower to write.", False),
        # spread too far over a long sentence
        (
            "cache consistent",
            "The cache sits in front of the database and after every write you invalidate the key "
            "so readers stay consistent.",
            False,
        ),
        # "everything else" is not "everything" (blind14: a strong answer lost 45 points)
        (
            "cache everything",
            "And a shared cache like Redis or Memcached for everything else.",
            False,
        ),
        ("cache everything", "I'd just cache basically everything, every query result.", True),
    ],
)
def test_misconception_signals(signal: str, sentence: str, expected: bool) -> None:
    from voice_interview.scoring.concepts import signal_in, stem_tokens

    assert signal_in(stem_tokens(signal), stem_tokens(sentence)) is expected


CACHING = (
    "Caching means keeping a copy of frequently read data in a fast store like Redis so reads "
    "skip the database. With cache-aside the application checks the cache first and on a miss "
    "reads the database and fills the cache. You set a TTL so entries expire and you invalidate "
    "the key when the data changes, because otherwise readers see stale data. When memory fills "
    "up the cache evicts the least recently used entries. Write-through keeps the cache fresh "
    "but makes every write slower, write-back is faster but you can lose writes if the cache "
    "node dies. Caching fits read-heavy data that can be a little stale, so I would not cache "
    "an account balance. And when a hot key expires, a thousand requests can hit the database "
    "at once, a stampede, so one request refreshes it while the others wait or get the old "
    "value. Finally you watch the hit ratio to know whether the cache is earning its memory."
)


def test_a_misconception_costs_points_and_is_quoted() -> None:
    question = BANK.question("caching-strategies")
    wrong = "Honestly the cache is always consistent with the database, so stale data is no issue."
    right = EVALUATOR.evaluate(Transcript.from_text(CACHING), question)
    mistaken = EVALUATOR.evaluate(Transcript.from_text(f"{CACHING} {wrong}"), question)
    assert "misconceptions" not in right.details
    found = mistaken.details["misconceptions"]
    assert isinstance(found, list) and found[0]["evidence"] == wrong
    assert mistaken.overall <= right.overall - 15, (right.overall, mistaken.overall)
    # the rubric: "mostly wrong (misconceptions)" is a 1, whatever else the answer covers
    assert right.band in {"strong", "solid"} and mistaken.band == "needs work"
    assert any("misconception" in t and "always consistent" in t for t in mistaken.tips)
    lost = {d.feature: d.points for d in mistaken.deductions}
    assert lost["no_misconception"] >= 15 and "Invalidation and TTL" in next(
        d.reason for d in mistaken.deductions if d.feature == "no_misconception"
    )


def test_good_answers_in_the_dev_set_trigger_no_misconception() -> None:
    for row in devset(kind="technical"):
        if row["grade"] >= 2:
            assert "misconceptions" not in score(row).details, row["id"]


def test_a_story_about_another_principle_is_off_topic() -> None:
    story = (
        "Last year our team had a big launch coming and the deadline moved up by three weeks. "
        "I was the lead developer, so I cut the scope down to what customers needed on day one "
        "and moved reporting to a second phase. I set up a daily check-in with the partner team "
        "so blockers were cleared the same day. We shipped two days early and the second phase "
        "followed a month later, with zero incidents in the first quarter."
    )
    evaluation = EVALUATOR.evaluate(
        Transcript.from_text(story), BANK.question("disagree-and-commit")
    )
    # it shows none of the question's focus and its meaning is far from the question: a story
    # about something else (a "we"-only or part-missing story on the right topic is not)
    assert evaluation.band == "off-topic" and evaluation.overall <= 15
    assert "does not address the question" in evaluation.tips[0]
    assert [d.feature for d in evaluation.deductions] == ["on_topic"]
    focus = evaluation.details["focus"]
    assert isinstance(focus, list) and all(f["status"] == "missing" for f in focus)


def test_clauses_and_lists() -> None:
    from voice_interview.scoring.concepts import is_listing, split_clauses

    assert split_clauses("It blocks the thread, so the pool runs dry under load.") == [
        "It blocks the thread",
        "the pool runs dry under load.",
    ]
    assert split_clauses("Short one.") == []
    assert is_listing("Redis, Memcached, TTL, LRU, write-through.")
    assert not is_listing("The cache sits in front of the database and keeps hot rows.")


def test_the_embedding_cache_starts_afresh_without_losing_a_text(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A long batch fills the cache past its limit; the call that clears it must still embed
    the texts it had cached (a batch worker crashed with a KeyError on its 20,000th text)."""
    from voice_interview.scoring import semantic

    embedder = semantic.WordLlamaEmbedder()
    first = embedder.embed(["caching keeps hot data close", "a queue absorbs spikes"])
    monkeypatch.setattr(semantic, "_CACHE_LIMIT", 3)
    again = embedder.embed(["caching keeps hot data close", "tokens expire", "pools reuse"])
    assert again.shape == (3, embedder.dim)
    assert abs(float(again[0] @ first[0]) - 1.0) < 1e-5


def test_a_wrong_answer_to_this_question_is_weak_not_off_topic() -> None:
    """Its words sound like another question's (databases: the DynamoDB question), but it
    states a misconception this question's rubric names: a weak answer (blind13)."""
    answer = (
        "For a lot of concurrent users, honestly the simplest way is to get a really big server, "
        "like the largest EC2 instance, because vertical scaling doesn't have a limit on AWS, you "
        "can always go bigger. Then you store user sessions in the server's memory so it's fast. "
        "And you'd definitely avoid SQL databases because relational databases can't handle more "
        "than a few thousand users, so I'd use MongoDB, which scales automatically without any "
        "design work."
    )
    evaluation = EVALUATOR.evaluate(Transcript.from_text(answer), BANK.question("scalable-backend"))
    assert evaluation.band != "off-topic" and evaluation.overall < 55
    assert evaluation.details["misconceptions"]
    assert "does not answer this question" not in [d.reason for d in evaluation.deductions]
