"""The HTML report and the history: pure chart and aggregation logic, then the real page.

The page tests build a session with real parts (the deterministic Piper voice speaks the
answers, tiny.en transcribes them, the local evaluator scores them, SessionStore saves them),
render it, and open it from a file:// URL in Debian's headless Chromium driven by playwright.
Screenshots are kept in tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from voice_interview.adapters.audio_files import load_audio
from voice_interview.content.banks import Bank, load_bank
from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio
from voice_interview.core.transcript import Segment, Transcript, Word, merge_transcripts
from voice_interview.report import ReportOptions, build_report, render_html, write_report
from voice_interview.report.charts import (
    ChartBox,
    clip_spans,
    clip_times,
    delivery_chart,
    history_chart,
    nice_step,
    pace_windows,
)
from voice_interview.report.history import ScorePoint, aggregate, sparkline
from voice_interview.report.views import (
    answers_from_results,
    label_words,
    locate_quote,
)
from voice_interview.scoring.result import (
    ConceptResult,
    Delivery,
    Evaluation,
    EvaluatorInfo,
    StarSentence,
)
from voice_interview.store.sessions import Session, SessionStore

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
SCRIPT = "<script>document.title='pwned';window.__pwned=1</script>"


def words_at(*starts: float, length_s: float = 0.3) -> list[Word]:
    return [
        Word(text=f"w{i}", start_s=s, end_s=s + length_s, probability=0.9)
        for i, s in enumerate(starts)
    ]


# --- chart data ----------------------------------------------------------------------------------


def test_pace_windows_count_word_starts_per_window() -> None:
    # 30 s answer: 10 words in 0-10 s, 5 in 10-20 s, none in 20-30 s.
    starts = [i * 1.0 for i in range(10)] + [10 + 2.0 * i for i in range(5)]
    windows = pace_windows(words_at(*starts), 30.0, window_s=10.0, step_s=10.0)
    assert [(w.start_s, w.end_s, w.words) for w in windows] == [
        (0.0, 10.0, 10),
        (10.0, 20.0, 5),
        (20.0, 30.0, 0),
    ]
    assert [w.wpm for w in windows] == [60.0, 30.0, 0.0]
    assert windows[0].mid_s == 5.0


def test_pace_windows_slide_and_cut_the_tail() -> None:
    starts = [i * 0.5 for i in range(24)]  # 2 words a second for 12 s
    windows = pace_windows(words_at(*starts), 12.0, window_s=10.0, step_s=5.0)
    # 0-10 and 5-12 (cut at the end, 7 s >= half a window); 10-12 is only 2 s: dropped.
    assert [(w.start_s, w.end_s) for w in windows] == [(0.0, 10.0), (5.0, 12.0)]
    assert windows[0].words == 20 and windows[1].words == 14
    assert windows[0].wpm == pytest.approx(120.0) and windows[1].wpm == pytest.approx(120.0)


def test_pace_windows_short_answer_and_no_timing() -> None:
    (only,) = pace_windows(words_at(0.5, 1.0, 1.5), 4.0)
    assert (only.start_s, only.end_s, only.words) == (0.0, 4.0, 3)
    assert only.wpm == pytest.approx(45.0)
    assert pace_windows(words_at(0.5), 0.0) == []
    with pytest.raises(ValueError, match="positive"):
        pace_windows([], 10.0, window_s=0)


def test_pauses_and_fillers_are_placed_on_the_time_axis() -> None:
    box = ChartBox(width=520.0, left=10.0, right=10.0)  # 500 units for the whole answer
    chart = delivery_chart(
        words_at(*[i * 0.5 for i in range(40)]),
        50.0,
        pauses=[(20.0, 25.0), (49.0, 60.0)],
        fillers=[(10.0, "um"), (45.0, "uh"), (70.0, "late")],
        good_wpm=(120.0, 160.0),
        box=box,
    )
    assert chart is not None
    (a, b) = chart.pauses
    assert (a.x, a.w, a.start_s, a.end_s) == (210.0, 50.0, 20.0, 25.0)
    assert (b.x, b.w) == (500.0, 10.0)  # clamped at the end of the answer
    assert [(m.x, m.label) for m in chart.fillers] == [(110.0, "um"), (460.0, "uh")]
    # x ticks every 10 s (50 s, at most 8 intervals), labelled as a clock
    assert [t.label for t in chart.x_ticks] == ["0:00", "0:10", "0:20", "0:30", "0:40", "0:50"]
    assert chart.x_ticks[1].pos == 110.0
    # pace axis 0-200 wpm: the good band 120-160 sits between those heights
    top, bottom = chart.norm_band or (0.0, 0.0)
    assert chart.wpm_max == 200.0
    assert top == pytest.approx(box.y1 - (box.y1 - box.y0) * 0.8)
    assert bottom == pytest.approx(box.y1 - (box.y1 - box.y0) * 0.6)
    assert delivery_chart([], 0.0, [], []) is None


def test_a_turn_of_a_combined_answer_is_clipped_to_its_own_axis() -> None:
    # main answer 0-30 s, follow-up 30-45 s on the combined axis
    assert clip_spans([(5.0, 8.0), (28.0, 33.0), (40.0, 41.0)], 30.0, 45.0) == [
        (0.0, 3.0),
        (10.0, 11.0),
    ]
    assert clip_spans([(5.0, 8.0), (28.0, 33.0)], 0.0, 30.0) == [(5.0, 8.0), (28.0, 30.0)]
    assert clip_times([1.0, 29.9, 30.0, 44.0, 45.0], 30.0, 45.0) == [0.0, 14.0]


def test_nice_step_gives_clock_friendly_ticks() -> None:
    assert nice_step(7.0) == 1.0
    assert nice_step(50.0) == 10.0
    assert nice_step(100.0) == 15.0
    assert nice_step(170.0) == 30.0
    assert nice_step(3000.0) == 600.0


# --- transcript highlights -----------------------------------------------------------------------


def hand_evaluation(
    words: list[Word],
    *,
    kind: str = "behavioral",
    sentences: tuple[StarSentence, ...] | None = None,
    concepts: tuple[ConceptResult, ...] | None = None,
    fillers: tuple[float, ...] = (),
    pauses: tuple[tuple[float, float], ...] = (),
) -> Evaluation:
    text = " ".join(w.text for w in words)
    duration = words[-1].end_s + 1.0
    transcript = Transcript(
        text=text,
        segments=(Segment(text=text, start_s=0.0, end_s=duration, words=tuple(words)),),
        duration_s=duration,
        model="tiny.en",
    )
    delivery = Delivery(
        duration_s=duration,
        word_count=len(words),
        words_per_minute=120.0,
        filler_count=len(fillers),
        fillers_per_100_words=0.0,
        fillers_per_minute=0.0,
        filler_times_s=fillers,
        pauses=pauses,
        score=80,
    )
    return Evaluation(
        question_id="ownership",
        kind=kind,  # type: ignore[arg-type]
        overall=70,
        band="solid",
        star_sentences=sentences,
        concepts=concepts,
        delivery=delivery,
        evaluator=EvaluatorInfo(name="local", version="test"),
        transcript=transcript,
    )


def timed(text: str, start: float = 0.0, step: float = 0.5) -> list[Word]:
    return [
        Word(text=t, start_s=start + i * step, end_s=start + i * step + 0.4, probability=0.9)
        for i, t in enumerate(text.split())
    ]


def test_words_get_the_star_part_of_their_sentence_and_filler_marks() -> None:
    words = timed("Last year our export failed. Um, I fixed it myself.")
    sentences = (
        StarSentence(
            text="Last year our export failed.", label="situation", start_s=0.0, end_s=2.4
        ),
        StarSentence(text="Um, I fixed it myself.", label="action", start_s=2.5, end_s=4.9),
    )
    evaluation = hand_evaluation(words, sentences=sentences, fillers=(2.5,))
    labeled = label_words(words, evaluation)
    assert [w.star for w in labeled] == ["situation"] * 5 + ["action"] * 5
    assert [w.text for w in labeled if w.filler] == ["Um,"]
    assert labeled[5].css == "w filler" and "filler" in labeled[5].title
    assert label_words(words, None)[0].star is None


def test_concept_evidence_without_times_is_found_by_its_words() -> None:
    words = timed("So, a pool keeps connections open. And it caps them at ten.")
    concepts = (
        ConceptResult(
            id="reuse",
            label="Reuses open connections",
            status="covered",
            evidence="a pool keeps connections open.",
        ),
        ConceptResult(id="cap", label="Caps the count", status="partial", evidence="caps them"),
        ConceptResult(id="timeout", label="Timeouts", status="missing"),
    )
    assert locate_quote(words, "A pool keeps connections open") == (0.5, 2.9)
    assert locate_quote(words, "never said") is None
    labeled = label_words(words, hand_evaluation(words, kind="technical", concepts=concepts))
    assert [w.concept for w in labeled] == [
        None,
        *["covered"] * 5,
        None,
        None,
        "partial",
        "partial",
        None,
        None,
    ]
    assert labeled[1].concept_labels == ("Reuses open connections",)


def test_evidence_times_map_to_the_turn_whose_audio_holds_them() -> None:
    from voice_interview.report.media import EmbeddedAudio
    from voice_interview.report.views import AnswerView, TurnView

    clip = EmbeddedAudio("data:audio/ogg;base64,", "audio/ogg", 0, 30.0)
    view = AnswerView(
        anchor="q1",
        number=1,
        question_id="ownership",
        question_text="?",
        kind="behavioral",
        turns=[
            TurnView("Answer", "?", "q1-answer", answer_audio=clip, offset_s=0.0),
            TurnView("Follow-up", "?", "q1-followup", answer_audio=clip, offset_s=30.0),
        ],
        evidence_s={"main quote": 3.0, "follow-up quote": 35.5},
    )
    assert view.seek("main quote") == ("q1-answer", 3.0, "")
    assert view.seek("follow-up quote") == ("q1-followup", 5.5, "follow-up ")
    assert view.seek("never quoted") is None and view.seek(None) is None
    view.turns[0].answer_audio = None  # a missing recording: the time is shown, not linked
    assert view.seek("main quote") == (None, 3.0, "")


def test_evaluation_json_contract_round_trips_with_words_in_their_segments() -> None:
    words = timed("one two three four five six")
    original = hand_evaluation(words, sentences=())
    two_segments = original.transcript.model_copy(
        update={
            "segments": (
                Segment(text="one two three", start_s=0.0, end_s=1.5, words=tuple(words[:3])),
                Segment(text="four five six", start_s=1.5, end_s=3.0, words=tuple(words[3:])),
            )
        }
    )
    original = original.model_copy(update={"transcript": two_segments})
    back = Evaluation.from_json_dict(json.loads(json.dumps(original.to_json_dict())))
    assert back.to_json_dict() == original.to_json_dict()
    assert [len(s.words) for s in back.transcript.segments] == [3, 3]
    with pytest.raises(ValueError, match="transcript"):
        Evaluation.from_json_dict({"overall": 3})


# --- history -------------------------------------------------------------------------------------


def point(day: int, round_id: str, question: str, overall: int, session: str = "") -> ScorePoint:
    when = datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=day)
    return ScorePoint(session or f"s{day}", when, round_id, question, overall, "solid")


def test_history_groups_scores_by_session_round_and_question() -> None:
    points = [
        point(2, "tech", "pooling", 80),
        point(0, "tech", "pooling", 40),
        point(0, "tech", "caching", 60),
        point(0, "lp", "ownership", 50),
        point(1, "lp", "ownership", 70),
    ]
    history = aggregate(points, skipped=["s9: damaged"])
    assert history.rounds == ("tech", "lp")
    assert [s.session_id for s in history.sessions] == ["s0", "s1", "s2"]
    first = history.sessions[0]
    assert first.round_means == {"tech": 50.0, "lp": 50.0} and first.mean == 50.0
    assert first.scored == 3
    assert history.sessions[1].round_means == {"lp": 70.0}
    trends = {t.question_id: t for t in history.questions}
    assert [t.question_id for t in history.questions] == ["caching", "pooling", "ownership"]
    assert trends["pooling"].scores == (("s0", 40), ("s2", 80))
    assert (trends["pooling"].first, trends["pooling"].best, trends["pooling"].change) == (
        40,
        80,
        40,
    )
    assert history.skipped == ("s9: damaged",)

    chart = history.chart()
    assert [line.name for line in chart.lines] == ["tech", "lp", "all questions"]
    assert [line.dashed for line in chart.lines] == [False, False, True]
    tech = chart.lines[0]
    assert [round(v) for _, _, v, _ in tech.points] == [50, 80]  # s1 has no tech answer
    assert tech.points[0][1] == pytest.approx(chart.box.y1 - (chart.box.y1 - chart.box.y0) * 0.5)
    data = history.to_json_dict()
    assert data["sessions"][0]["round_means"] == {"tech": 50.0, "lp": 50.0}
    assert data["questions"][1]["scores"] == [
        {"session": "s0", "overall": 40},
        {"session": "s2", "overall": 80},
    ]


def test_history_chart_spaces_sessions_and_checks_series_length() -> None:
    chart = history_chart(["a", "b", "c"], [("x", [10.0, None, 90.0])])
    xs = [p[0] for p in chart.lines[0].points]
    assert len(xs) == 2 and xs[0] < xs[1]
    assert [(t.label, anchor) for t, anchor in chart.x_ticks] == [
        ("a", "start"),
        ("b", "middle"),
        ("c", "end"),
    ]
    with pytest.raises(ValueError, match="2 values for 3 sessions"):
        history_chart(["a", "b", "c"], [("x", [1.0, 2.0])])
    assert sparkline([0, 50, 100]) == "▁▄█"


# --- a real session, rendered and opened in Chromium ---------------------------------------------

STORY = (
    "Last year at my previous company, our nightly billing export kept failing, and the team "
    "that owned it had moved on. I decided to take it on. Um, I read the logs, I found a schema "
    "change that broke the job, and I wrote a fix and an alert."
)
FOLLOW = "The failures went from three a week to zero, and finance got its reports on time."
TECH = (
    "A connection pool keeps a set of open database connections and lends them to requests, "
    "so we don't pay the handshake every time. I cap the pool size and set a timeout."
)


@dataclass
class Built:
    session: Session
    bank: Bank
    final: Evaluation  # question 1, after the follow-up
    tech: Evaluation  # question 2, with a <script> word in its transcript
    folder: Path
    pipeline: Any


def _answer(session: Session, index: int, audio: Audio, follow_up: bool = False) -> None:
    with session.answer_writer(index, follow_up=follow_up) as writer:
        writer.write(audio.resampled(ASR_SAMPLE_RATE))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, synthesizer: Any) -> Built:
    from voice_interview.pipeline import build_pipeline

    bank = load_bank()
    pipeline = build_pipeline("tiny.en", bank)
    root = tmp_path_factory.mktemp("report") / "sessions"
    session = SessionStore(root).create(
        bank, ["ownership", "connection-pooling", "dive-deep"], {"model": "tiny.en"}
    )
    ownership, pooling, dive = (
        bank.question(q) for q in ("ownership", "connection-pooling", "dive-deep")
    )

    # 1: behavioral answer with a follow-up, scored together as practice does
    session.save_question_audio(0, synthesizer.synthesize(ownership.text))
    _answer(session, 0, synthesizer.synthesize(STORY))
    main_tr = pipeline.transcribe_file(session.folder / "q01-ownership" / "answer.wav", ownership)
    session.save_transcript(0, main_tr)
    session.save_evaluation(0, pipeline.evaluate(main_tr, ownership))
    session.set_follow_up(0, "And what was the result?", reason="star:result")
    session.save_question_audio(
        0, synthesizer.synthesize("And what was the result?"), follow_up=True
    )
    _answer(session, 0, synthesizer.synthesize(FOLLOW), follow_up=True)
    follow_tr = pipeline.transcribe_file(
        session.folder / "q01-ownership" / "followup-answer.wav", ownership
    )
    combined = merge_transcripts(
        [(0.0, main_tr), (main_tr.duration_s, follow_tr)],
        main_tr.duration_s + follow_tr.duration_s,
    )
    final = pipeline.evaluate(combined, ownership)
    session.save_transcript(0, follow_tr, follow_up=True)
    session.save_evaluation(0, final, follow_up=True)
    session.mark(0, "answered", follow_up=True)
    session.mark(0, "answered")

    # 2: technical answer; one recognised word is replaced by markup, which must show as text
    session.save_question_audio(1, synthesizer.synthesize(pooling.text))
    _answer(session, 1, synthesizer.synthesize(TECH))
    heard = pipeline.transcribe_file(
        session.folder / "q02-connection-pooling" / "answer.wav", pooling
    )
    first = heard.segments[0]
    hacked = first.model_copy(
        update={
            "text": first.text.replace(first.words[1].text.strip(), SCRIPT, 1),
            "words": (
                first.words[0],
                first.words[1].model_copy(update={"text": SCRIPT}),
                *first.words[2:],
            ),
        }
    )
    segments = (hacked, *heard.segments[1:])
    heard = heard.model_copy(
        update={"segments": segments, "text": " ".join(s.text.strip() for s in segments)}
    )
    tech = pipeline.evaluate(heard, pooling)
    session.save_transcript(1, heard)
    session.save_evaluation(1, tech)
    session.mark(1, "answered")

    # 3: interrupted mid-answer: part of the audio on disk, no transcript, no evaluation
    session.save_question_audio(2, synthesizer.synthesize(dive.text))
    writer = session.answer_writer(2)
    writer.write(
        synthesizer.synthesize("There was a time when our latency").resampled(ASR_SAMPLE_RATE)
    )
    writer.close()  # the process "died" here: the question stays "answering"
    return Built(session, bank, final, tech, root, pipeline)


@pytest.fixture(scope="module")
def session_html(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = build_report(built.session.folder, built.bank, ReportOptions(history=True))
    return write_report(report, tmp_path_factory.mktemp("html") / "session.html")


@pytest.fixture(scope="module")
def results_jsonl(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results.jsonl as `score --out` writes it, from the real evaluations above."""
    folder = tmp_path_factory.mktemp("batch")
    settings = {"model": "tiny.en", "evaluator": "local"}
    lines = []
    for name, evaluation, candidate in (
        ("q01-ownership/answer.wav", built.final, "ana"),
        ("q02-connection-pooling/answer.wav", built.tech, "bo"),
    ):
        file = built.session.folder / name
        lines.append(
            {
                **evaluation.to_json_dict(),
                "file": str(file),
                "candidate": candidate,
                "audio_sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
                "settings": settings,
            }
        )
    gone = {**built.tech.to_json_dict(), "file": str(folder / "gone.wav"), "candidate": "cy"}
    gone["overall"] = 12
    text = "\n".join(json.dumps(x) for x in (*lines, gone)) + "\n{not json\n"
    path = folder / "results.jsonl"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Page:
    page: Any
    console: list[tuple[str, str]]
    requests: list[str]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} missing: run `make system-deps` (Debian chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


def open_page(browser: Any, path: Path) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    opened = Page(page, [], [])
    page.on("console", lambda m: opened.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: opened.console.append(("pageerror", str(e))))
    page.on("request", lambda r: opened.requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    # every answer player has decoded its embedded audio
    page.wait_for_function(
        "Array.from(document.querySelectorAll('audio')).every(a => a.readyState >= 1)",
        timeout=30_000,
    )
    yield opened
    context.close()


@pytest.fixture
def session_page(browser: Any, session_html: Path) -> Iterator[Page]:
    yield from open_page(browser, session_html)


@pytest.fixture
def batch_page(browser: Any, built: Built, results_jsonl: Path, tmp_path: Path) -> Iterator[Page]:
    report = build_report(results_jsonl, built.bank)
    yield from open_page(browser, write_report(report, tmp_path / "batch.html"))


def test_session_page_loads_offline_without_errors(session_page: Page, built: Built) -> None:
    page = session_page.page
    errors = [m for m in session_page.console if m[0] in ("error", "pageerror", "warning")]
    assert errors == []
    assert [u for u in session_page.requests if not u.startswith("data:")] == [page.url]
    # the embedded Opus answers decode in Chromium, at their recorded length
    duration = page.evaluate("document.getElementById('q1-answer').duration")
    recorded = load_audio(
        built.session.folder / "q01-ownership" / "answer.wav", reject_silent=False
    )
    assert duration == pytest.approx(recorded.duration_s, abs=0.1)
    assert page.evaluate("document.getElementById('q1-answer').src").startswith("data:audio/ogg")
    # three questions, the follow-up, the scorecard, STAR parts highlighted, charts drawn
    assert page.locator("section.answer").count() == 3
    q1 = page.locator("#q1")
    assert q1.locator(".turn").count() == 2
    assert str(built.final.overall) in q1.locator(".qhead .score").inner_text()
    assert q1.locator(".run.s-situation").count() >= 1 and q1.locator(".run.s-action").count() >= 1
    assert q1.locator("svg.chart polyline.pace").count() == 2
    assert page.locator("#q2 .missing-list:not(.partial) li").count() == sum(
        1 for c in built.tech.concepts or () if c.status == "missing"
    )
    assert "Model answer" in page.locator("#q2 details.model summary").first.inner_text()
    # the points lost, itemised as the evaluator gave them, next to the tips
    lost = page.locator("#q2 .deductions li")
    assert lost.count() == len(built.tech.deductions) > 0
    assert built.tech.deductions[0].reason in lost.first.inner_text()
    assert f"{built.tech.deductions[0].points}" in lost.first.inner_text()
    # the interrupted answer still renders, with the gap stated and its partial audio playable
    q3 = page.locator("#q3").inner_text()
    assert "interrupted" in q3 and "not scored" in q3
    assert page.evaluate("document.getElementById('q3-answer').duration") > 1.0
    assert page.locator("#history svg.chart circle").count() >= 1

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-session.png"), full_page=True)
    assert (ARTIFACTS / "report-session.png").stat().st_size > 50_000


def test_clicking_a_word_seeks_the_answer_to_its_start(session_page: Page, built: Built) -> None:
    page = session_page.page
    audio = "document.getElementById('q1-answer')"
    main_words = [w for w in built.final.transcript.words]
    target = main_words[12]  # a word of the main answer, from the saved transcript JSON
    word = page.locator("#q1 .turn").first.locator(".w").nth(12)
    assert word.inner_text() == target.text
    assert float(word.get_attribute("data-t")) == pytest.approx(target.start_s, abs=1e-3)
    word.click()
    now = page.evaluate(f"{audio}.currentTime")
    assert target.start_s - 0.01 <= now <= target.start_s + 0.6
    # it plays from there (Chromium decodes the Opus), and the spoken word is highlighted
    page.wait_for_function(f"{audio}.currentTime > {target.start_s + 0.3}", timeout=10_000)
    assert page.locator("#q1 .w.now").count() == 1
    page.evaluate(f"{audio}.pause()")

    # a follow-up word seeks the follow-up's own audio, on its own time axis
    offset = load_audio(
        built.session.folder / "q01-ownership" / "answer.wav", reject_silent=False
    ).duration_s
    follow = [w for w in built.final.transcript.words if w.start_s >= offset - 1e-3][3]
    word = page.locator("#q1 .turn").nth(1).locator(".w").nth(3)
    assert word.inner_text() == follow.text
    word.click()
    now = page.evaluate("document.getElementById('q1-followup').currentTime")
    assert follow.start_s - offset - 0.01 <= now <= follow.start_s - offset + 0.6


def test_markup_in_a_transcript_shows_as_text_and_does_not_run(session_page: Page) -> None:
    page = session_page.page
    assert SCRIPT in page.locator("#q2 .transcript").inner_text()
    assert page.evaluate("window.__pwned") is None
    assert page.title() != "pwned"
    assert page.locator("#q2 .transcript script").count() == 0


def test_batch_table_sorts_and_links_to_each_answer(batch_page: Page, built: Built) -> None:
    page = batch_page.page
    assert [m for m in batch_page.console if m[0] in ("error", "pageerror")] == []
    assert [u for u in batch_page.requests if not u.startswith("data:")] == [page.url]
    rows = page.locator("#batch-table tbody tr")
    assert rows.count() == 4  # two answers, one whose audio is gone, one bad line

    def overall_column() -> list[str]:
        return [rows.nth(i).locator("td").nth(4).inner_text() for i in range(rows.count())]

    header = page.locator("#batch-table th", has_text="overall")
    header.click()
    expected = sorted([built.final.overall, built.tech.overall, 12])
    assert overall_column() == [*map(str, expected), ""]  # the failed line sorts last
    header.click()
    assert overall_column() == [*map(str, reversed(expected)), ""]
    # each scored row links to its answer section; the one with a missing file says so
    link = page.locator("#batch-table a", has_text="answer.wav").first
    assert page.locator(link.get_attribute("href")).count() == 1
    assert "missing" in page.locator("#a3").inner_text()
    assert "not a JSON object" in page.locator("#batch-table").inner_text()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "report-batch.png"), full_page=True)


def test_results_lines_become_rows_notes_and_failures(built: Built, results_jsonl: Path) -> None:
    extra = results_jsonl.read_text().splitlines()[0]
    path = results_jsonl.with_name("twice.jsonl")
    path.write_text(results_jsonl.read_text() + extra + "\n")
    answers, rows, notes = answers_from_results(path, built.bank)
    assert len(answers) == 3
    assert [r.line for r in rows] == [2, 3, 4, 5]  # line 1 was scored again on line 5
    assert rows[2].error is not None and rows[2].overall is None
    assert len(notes) == 1 and "line 5" in notes[0]


def test_rendered_html_escapes_every_text(built: Built) -> None:
    html = render_html(build_report(built.session.folder, built.bank))
    assert SCRIPT not in html
    assert "&lt;script&gt;document.title=&#39;pwned&#39;" in html
    assert html.count("<script>") == 1  # the page's own script only


def test_a_damaged_evaluation_is_stated_and_the_rest_still_renders(
    built: Built, tmp_path: Path
) -> None:
    import shutil

    copy = tmp_path / built.session.folder.name
    shutil.copytree(built.session.folder, copy)
    (copy / "q02-connection-pooling" / "evaluation.json").write_text("{broken")
    report = build_report(copy, built.bank)
    q1, q2, _ = report.answers
    assert q1.evaluation is not None and q1.evaluation.overall == built.final.overall
    assert q2.evaluation is None
    assert any("cannot be read" in n and "evaluation.json" in n for n in q2.notes)
    assert q2.turns[0].words and q2.turns[0].answer_audio is not None  # transcript and audio stay
    assert "cannot be read" in render_html(report)


def test_a_rescored_interrupted_answer_shows_its_current_version(
    built: Built, tmp_path: Path
) -> None:
    """replay --rescore stores new versions; the report reads them through load_evaluation."""
    import shutil

    copy = tmp_path / built.session.folder.name
    shutil.copytree(built.session.folder, copy)
    session = SessionStore(tmp_path).open(copy)
    dive = built.bank.question("dive-deep")
    rescored = built.pipeline.score_file(copy / "q03-dive-deep" / "answer.wav", dive)
    session.save_version(
        2, rescored.transcript, rescored, retranscribed=True, bank_id=built.bank.id
    )
    report = build_report(copy, built.bank, ReportOptions(history=True))
    q3 = report.answers[2]
    assert q3.evaluation is not None and q3.evaluation.overall == rescored.overall
    assert any("version 2" in n for n in q3.notes)
    assert any("kept and scored" in n for n in q3.notes)
    assert [w.text for w in q3.turns[0].words] == [w.text for w in rescored.transcript.words]
    assert report.history is not None
    assert {t.question_id for t in report.history.questions} == {
        "ownership",
        "connection-pooling",
        "dive-deep",
    }


def test_rescored_versions_count_as_saved() -> None:
    from types import SimpleNamespace

    from voice_interview.report.views import has_saved

    original = SimpleNamespace(evaluation="q01-x/evaluation.json", versions=[])
    interrupted_then_rescored = SimpleNamespace(evaluation=None, versions=[object()])
    never = SimpleNamespace(evaluation=None, versions=[])
    older_schema = SimpleNamespace(evaluation=None)  # session.json schema 1: no versions
    assert has_saved(original, "evaluation") and has_saved(interrupted_then_rescored, "evaluation")
    assert not has_saved(never, "evaluation") and not has_saved(older_schema, "evaluation")
    assert not has_saved(None, "evaluation")


# --- the commands --------------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voice_interview", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_report_and_history_commands(built: Built, results_jsonl: Path, tmp_path: Path) -> None:
    out = run_cli("report", str(built.session.folder), "-o", str(tmp_path / "r.html"), "--history")
    assert out.returncode == 0, out.stderr
    assert "wrote" in out.stdout and (tmp_path / "r.html").stat().st_size > 10_000
    out = run_cli("report", str(results_jsonl))
    assert out.returncode == 0, out.stderr
    with_audio = (results_jsonl.parent / "report.html").stat().st_size
    out = run_cli("report", str(results_jsonl), "--no-audio", "-o", str(tmp_path / "small.html"))
    assert out.returncode == 0, out.stderr
    small = (tmp_path / "small.html").read_text()
    assert "<audio" not in small and "--no-audio" in small
    assert len(small.encode()) < with_audio / 2
    out = run_cli("report", str(built.folder))  # a folder of sessions: progress only
    assert out.returncode == 0, out.stderr
    assert "Progress across sessions" in (built.folder / "history.html").read_text()

    out = run_cli("history", "--sessions-dir", str(built.folder))
    assert out.returncode == 0, out.stderr
    assert "ownership" in out.stdout and "connection-pooling" in out.stdout
    out = run_cli("history", "--sessions-dir", str(built.folder), "--json")
    data = json.loads(out.stdout)
    scores = {q["question_id"]: q["scores"][0]["overall"] for q in data["questions"]}
    assert scores == {"ownership": built.final.overall, "connection-pooling": built.tech.overall}

    out = run_cli("report", str(tmp_path / "nope.jsonl"))
    assert out.returncode == 1 and out.stderr.count("\n") == 1 and "nope.jsonl" in out.stderr
    out = run_cli("report", "no-such-session", "--sessions-dir", str(built.folder))
    assert out.returncode == 1 and "no session" in out.stderr
