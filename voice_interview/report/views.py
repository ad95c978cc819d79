"""What the report shows, built from a session folder or a batch ``results.jsonl``.

These are plain view objects for the template: every transcript word with its time and the
highlights it gets, each turn's chart data, the scorecard, the model answer from the bank, and
a sentence for every gap (an interrupted answer, a missing evaluation, a missing file). Nothing
here writes HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

from voice_interview.content.banks import Bank, Question
from voice_interview.core.text import normalize_text
from voice_interview.core.transcript import Transcript, Word
from voice_interview.errors import BankError, BatchError, ReportError, VoiceInterviewError
from voice_interview.report.charts import DeliveryChart, clip_spans, clip_times, delivery_chart
from voice_interview.report.media import EmbeddedAudio, try_embed
from voice_interview.scoring.result import ConceptResult, Evaluation
from voice_interview.store.results import BatchRecord, read_results
from voice_interview.store.schema import Turn
from voice_interview.store.sessions import Session, SessionError

__all__ = [
    "AnswerView",
    "BatchRow",
    "ReportError",
    "TurnView",
    "WordView",
    "answers_from_results",
    "answers_from_session",
    "evidence_times",
    "label_words",
    "locate_quote",
]

logger = logging.getLogger(__name__)

STAR_NAMES = {"situation": "Situation", "task": "Task", "action": "Action", "result": "Result"}
_EPS = 1e-3


# --- words and highlights ------------------------------------------------------------------------


@dataclass(frozen=True)
class WordView:
    text: str
    start_s: float
    end_s: float
    star: str | None = None  # situation / task / action / result
    concept: str | None = None  # covered / partial
    concept_labels: tuple[str, ...] = ()
    filler: bool = False

    @property
    def css(self) -> str:
        classes = ["w"]
        if self.concept:
            classes.append(f"c-{self.concept}")
        if self.filler:
            classes.append("filler")
        return " ".join(classes)

    @property
    def title(self) -> str:
        parts = [f"{self.start_s:.2f} s"]
        if self.star:
            parts.append(STAR_NAMES[self.star])
        if self.concept_labels:
            how = "explained" if self.concept == "covered" else "only named"
            parts.append(f"{how}: " + "; ".join(self.concept_labels))
        if self.filler:
            parts.append("filler")
        return " · ".join(parts)

    def shifted(self, offset_s: float) -> WordView:
        return WordView(
            self.text,
            round(self.start_s - offset_s, 3),
            round(self.end_s - offset_s, 3),
            self.star,
            self.concept,
            self.concept_labels,
            self.filler,
        )


def _inside(t: float, start: float | None, end: float | None) -> bool:
    return start is not None and end is not None and start - _EPS <= t <= end + _EPS


def locate_quote(words: Sequence[Word], quote: str) -> tuple[float, float] | None:
    """Time range of the first run of ``words`` that says ``quote`` (normalised text), or None.

    For evidence whose times the evaluator left out (its sentence split did not line up with
    the recogniser's words): the quote is verbatim transcript text, so its words are found.
    """
    target = normalize_text(quote).split()
    if not target:
        return None
    flat: list[tuple[str, int]] = [
        (token, k) for k, w in enumerate(words) for token in normalize_text(w.text).split()
    ]
    tokens = [t for t, _ in flat]
    n = len(target)
    for i in range(len(tokens) - n + 1):
        if tokens[i : i + n] == target:
            return words[flat[i][1]].start_s, words[flat[i + n - 1][1]].end_s
    return None


def _span(
    words: Sequence[Word], text: str | None, start: float | None, end: float | None
) -> tuple[float, float] | None:
    if start is not None and end is not None:
        return start, end
    return locate_quote(words, text) if text else None


def evidence_times(words: Sequence[Word], evaluation: Evaluation | None) -> dict[str, float]:
    """Start time of each evidence quote of ``evaluation`` (STAR parts and concepts)."""
    if evaluation is None:
        return {}
    quotes: list[tuple[str | None, float | None, float | None]] = [
        (c.evidence, c.start_s, c.end_s) for c in (evaluation.star or {}).values()
    ]
    quotes += [(c.evidence, c.start_s, c.end_s) for c in evaluation.concepts or ()]
    out = {}
    for text, start, end in quotes:
        span = _span(words, text, start, end)
        if text and span is not None:
            out[text] = span[0]
    return out


def label_words(words: Sequence[Word], evaluation: Evaluation | None) -> list[WordView]:
    """Each word with the STAR part of its sentence (behavioral), the concepts whose evidence
    it is part of (technical: covered before partial) and whether it starts a filler.

    Matching is by time: a word belongs to a labeled sentence or a concept's evidence when its
    middle falls inside that time range (found from the quoted text when the evaluator gave
    no times); a filler time is the start of its first word.
    """
    sentences: list[tuple[str, tuple[float, float]]] = []
    concepts: list[tuple[ConceptResult, tuple[float, float]]] = []
    fillers: tuple[float, ...] = ()
    if evaluation is not None:
        for s in evaluation.star_sentences or ():
            span = _span(words, s.text, s.start_s, s.end_s) if s.label != "other" else None
            if span is not None:
                sentences.append((s.label, span))
        for c in evaluation.concepts or ():
            span = _span(words, c.evidence, c.start_s, c.end_s) if c.status != "missing" else None
            if span is not None:
                concepts.append((c, span))
        fillers = evaluation.delivery.filler_times_s
    out = []
    for w in words:
        mid = (w.start_s + w.end_s) / 2
        star = next((label for label, (a, b) in sentences if _inside(mid, a, b)), None)
        hits = [c for c, (a, b) in concepts if _inside(mid, a, b)]
        status = None
        if hits:
            status = "covered" if any(c.status == "covered" for c in hits) else "partial"
        out.append(
            WordView(
                text=w.text,
                start_s=w.start_s,
                end_s=w.end_s,
                star=star,
                concept=status,
                concept_labels=tuple(dict.fromkeys(c.label for c in hits)),
                filler=any(abs(t - w.start_s) <= _EPS for t in fillers),
            )
        )
    return out


# --- one turn (the main answer or the follow-up) -------------------------------------------------


@dataclass
class TurnView:
    """One ask-and-answer exchange as shown: players, transcript, delivery chart, gaps."""

    label: str
    question_text: str
    audio_id: str
    question_audio: EmbeddedAudio | None = None
    answer_audio: EmbeddedAudio | None = None
    words: list[WordView] = field(default_factory=list)
    plain_text: str | None = None  # a transcript without word times (a typed answer)
    chart: DeliveryChart | None = None
    notes: list[str] = field(default_factory=list)
    reason: str | None = None
    offset_s: float = 0.0  # where this turn starts on the scored (combined) transcript's axis

    @property
    def duration_s(self) -> float | None:
        return self.answer_audio.duration_s if self.answer_audio else None

    @property
    def runs(self) -> list[tuple[str | None, list[WordView]]]:
        """Consecutive words grouped by STAR part, so a part is shaded as one stretch."""
        out: list[tuple[str | None, list[WordView]]] = []
        for w in self.words:
            if out and out[-1][0] == w.star:
                out[-1][1].append(w)
            else:
                out.append((w.star, [w]))
        return out


def _filler_words(words: Sequence[WordView]) -> dict[float, str]:
    return {w.start_s: w.text.strip(" ,.?!").lower() for w in words if w.filler}


def _turn_chart(
    words: Sequence[WordView], duration_s: float, evaluation: Evaluation | None, window: Window
) -> DeliveryChart | None:
    if duration_s <= 0 or not words:
        return None
    timed = [Word(text=w.text, start_s=w.start_s, end_s=w.end_s, probability=1.0) for w in words]
    pauses: list[tuple[float, float]] = []
    fillers: list[tuple[float, str]] = []
    if evaluation is not None:
        lo, hi = window
        pauses = clip_spans(evaluation.delivery.pauses, lo, hi)
        names = _filler_words(words)
        fillers = [
            (t, names.get(t, "filler"))
            for t in clip_times(evaluation.delivery.filler_times_s, lo, hi)
        ]
    return delivery_chart(timed, duration_s, pauses, fillers, good_wpm=_good_wpm())


def _good_wpm() -> tuple[float, float] | None:
    try:
        from voice_interview.scoring.delivery import load_delivery_lexicon

        norm = load_delivery_lexicon().norms.words_per_minute
    except VoiceInterviewError as exc:
        logger.warning("no pace norm on the charts: %s", exc)
        return None
    return norm.good_min_wpm, norm.good_max_wpm


Window = tuple[float, float]


def _split_words(labeled: Sequence[WordView], windows: Sequence[Window]) -> list[list[WordView]]:
    """The words of each window (by start time), shifted to the window's own time axis."""
    out: list[list[WordView]] = []
    for k, (lo, hi) in enumerate(windows):
        last = k == len(windows) - 1
        out.append(
            [w.shifted(lo) for w in labeled if lo - _EPS <= w.start_s and (last or w.start_s < hi)]
        )
    return out


# --- one question --------------------------------------------------------------------------------


@dataclass
class AnswerView:
    """One question (session) or one answer file (batch) with everything shown about it."""

    anchor: str
    number: int
    question_id: str
    question_text: str
    kind: str
    round_title: str = ""
    status: str = ""
    turns: list[TurnView] = field(default_factory=list)
    evaluation: Evaluation | None = None  # the final one (after the follow-up, if scored)
    first_overall: int | None = None  # the main answer's score before the follow-up
    model_answer: str = ""
    strong_answer: tuple[str, ...] = ()
    principles: tuple[str, ...] = ()
    bank_note: str | None = None
    notes: list[str] = field(default_factory=list)
    file: str | None = None
    candidate: str | None = None
    evidence_s: dict[str, float] = field(default_factory=dict)  # quote -> start (scored axis)

    @property
    def missing(self) -> list[ConceptResult]:
        if self.evaluation is None or self.evaluation.concepts is None:
            return []
        return [c for c in self.evaluation.concepts if c.status == "missing"]

    def seek(self, quote: str | None) -> tuple[str | None, float, str] | None:
        """Where an evidence quote starts: (audio element id or None when that turn's audio
        is not in the page, time in that turn's audio, the turn's label), if known."""
        t = self.evidence_s.get(quote) if quote else None
        if t is None or not self.turns:
            return None
        turn = next((x for x in reversed(self.turns) if x.offset_s <= t + _EPS), self.turns[0])
        audio_id = turn.audio_id if turn.answer_audio is not None else None
        label = "" if turn is self.turns[0] else f"{turn.label.lower()} "
        return audio_id, round(max(0.0, t - turn.offset_s), 3), label


def _bank_lookup(bank: Bank | None, question_id: str) -> tuple[Question | None, str | None]:
    if bank is None:
        return None, "no question bank was loaded, so the model answer is not shown"
    try:
        return bank.question(question_id), None
    except BankError:
        return None, (
            f"question {question_id!r} is not in the bank {bank.source or bank.id}, "
            "so the model answer is not shown (pass the bank with --bank FILE)"
        )


def _apply_bank(view: AnswerView, bank: Bank | None) -> None:
    question, note = _bank_lookup(bank, view.question_id)
    view.bank_note = note
    if question is None or bank is None:
        return
    view.model_answer = question.model_answer
    view.strong_answer = question.strong_answer
    view.principles = question.principles
    view.round_title = next((r.title for r in bank.rounds if r.id == question.round_id), "")
    view.kind = question.kind.value


_STATUS_TEXT = {
    "pending": "not asked",
    "asked": "asked, not answered",
    "answering": "interrupted while answering",
    "answered": "answered",
    "skipped": "skipped",
    "failed": "failed",
}


def answers_from_session(
    session: Session, bank: Bank | None, *, audio: bool = True
) -> list[AnswerView]:
    """Every question of a session, with a note for each gap. Reads the current version of
    each evaluation through :meth:`Session.load_evaluation`. ``audio=False`` leaves the
    recordings out (no players; a much smaller page)."""
    return [_session_answer(session, q.index, bank, audio) for q in session.record.questions]


def _no_audio(path: Path | None, what: str) -> tuple[EmbeddedAudio | None, str | None]:
    return None, None


def has_saved(turn: Turn | None, what: Literal["transcript", "evaluation"]) -> bool:
    """Whether a session turn has a saved ``transcript`` or ``evaluation``: the file practice
    wrote or, once ``replay --rescore`` has run, a newer version of it (the turn's
    ``versions``; an interrupted answer can have a version and no original)."""
    # (getattr: a turn read from an older schema may lack ``versions``)
    return turn is not None and (
        getattr(turn, what, None) is not None or bool(getattr(turn, "versions", None))
    )


def _version_note(turn: Turn | None, label: str) -> str | None:
    versions = getattr(turn, "versions", None) or []
    if not versions:
        return None
    v = versions[-1]
    return (
        f"{label}: re-scored result, version {v.version} of {v.created_at:%Y-%m-%d %H:%M} "
        f"(model {v.model}, evaluator {v.evaluator}); earlier versions are kept in the session."
    )


@overload
def _load(
    session: Session, index: int, follow_up: bool, what: Literal["transcript"], notes: list[str]
) -> Transcript | None: ...


@overload
def _load(
    session: Session, index: int, follow_up: bool, what: Literal["evaluation"], notes: list[str]
) -> Evaluation | None: ...


def _load(
    session: Session,
    index: int,
    follow_up: bool,
    what: Literal["transcript", "evaluation"],
    notes: list[str],
) -> Transcript | Evaluation | None:
    turn = session.record.questions[index]
    rec = turn.follow_up if follow_up else turn
    if not has_saved(rec, what):
        return None
    try:
        if what == "evaluation":
            return session.load_evaluation(index, follow_up=follow_up)
        return session.load_transcript(index, follow_up=follow_up)
    except SessionError as exc:
        notes.append(f"The saved {what} cannot be read: {exc}")
        return None


def _session_answer(session: Session, index: int, bank: Bank | None, audio: bool) -> AnswerView:
    embed = try_embed if audio else _no_audio
    q = session.record.questions[index]
    view = AnswerView(
        anchor=f"q{index + 1}",
        number=index + 1,
        question_id=q.question_id,
        question_text=q.text,
        kind=q.kind.value,
        status=_STATUS_TEXT.get(q.status, q.status),
    )
    _apply_bank(view, bank)
    notes = view.notes
    if q.error:
        notes.append(f"Recording problem: {q.error}")
    if q.status == "answering":
        notes.append(
            "The session stopped while this answer was being recorded; the audio up to that "
            "moment was kept"
            + (" and scored." if has_saved(q, "evaluation") else " but not scored.")
        )
    for label, saved in (("Answer", q), ("Follow-up", q.follow_up)):
        note = _version_note(saved, label)
        if note:
            notes.append(note)
    main_eval: Evaluation | None = _load(session, index, False, "evaluation", notes)
    main_tr: Transcript | None = (
        main_eval.transcript if main_eval else _load(session, index, False, "transcript", notes)
    )
    fu = q.follow_up
    follow_eval: Evaluation | None = (
        _load(session, index, True, "evaluation", notes) if fu is not None else None
    )
    final = follow_eval or main_eval
    view.evaluation = final
    if follow_eval is not None and main_eval is not None:
        view.first_overall = main_eval.overall
    if q.status == "answered" and final is None:
        notes.append(
            "This answer has no evaluation"
            + (" (the recording had no speech or could not be transcribed)." if q.error else ".")
            + " Re-score it from its answer audio."
        )
    # Turns, on the scored transcript's time axis: the main answer, then the follow-up.
    turns = [
        TurnView(
            label="Answer",
            question_text=q.text,
            audio_id=f"{view.anchor}-answer",
        )
    ]
    if fu is not None:
        turns.append(
            TurnView(
                label="Follow-up",
                question_text=fu.text,
                audio_id=f"{view.anchor}-followup",
                reason=fu.reason or None,
            )
        )
    for k, turn in enumerate(turns):
        rec = q if k == 0 else fu
        assert rec is not None
        audio_path = session.resolve(rec.question_audio) if rec.question_audio else None
        turn.question_audio, _ = embed(audio_path, "question audio")
        answer_path = session.resolve(rec.answer_audio) if rec.answer_audio else None
        if rec.status in ("pending", "asked", "skipped") and answer_path is None:
            turn.notes.append(f"Not answered ({_STATUS_TEXT.get(rec.status, rec.status)}).")
            continue
        turn.answer_audio, why = embed(answer_path, "answer audio")
        if why:
            turn.notes.append(why[0].upper() + why[1:] + ".")
        if k == 1 and rec.error:
            turn.notes.append(f"Recording problem: {rec.error}")
        if k == 1 and rec.status == "answering":
            turn.notes.append("The session stopped while this follow-up answer was recorded.")

    main_len = main_tr.duration_s if main_tr is not None else (turns[0].duration_s or 0.0)
    if final is not None:
        labeled = label_words(final.transcript.words, final)
        view.evidence_s = evidence_times(final.transcript.words, final)
        end = final.transcript.duration_s
        windows: list[Window] = [(0.0, main_len)]
        if follow_eval is not None:
            windows.append((main_len, max(end, main_len)))
        else:
            windows[0] = (0.0, max(end, main_len))
        for turn, words, window in zip(
            turns, _split_words(labeled, windows), windows, strict=False
        ):
            turn.words = words
            turn.offset_s = window[0]
            length = turn.duration_s or (window[1] - window[0])
            turn.chart = _turn_chart(words, length, final, window)
            if not final.transcript.words and turn is turns[0]:
                turn.plain_text = final.transcript.text
    elif main_tr is not None:
        turns[0].words = label_words(main_tr.words, None)
        turns[0].notes.append("Transcribed but not scored; no highlights.")
    if fu is not None and follow_eval is None:
        follow_tr: Transcript | None = _load(session, index, True, "transcript", notes)
        if follow_tr is not None:
            turns[1].words = label_words(follow_tr.words, None)
            turns[1].notes.append("The follow-up answer was transcribed but not scored.")
        elif fu.status == "answered" or fu.answer_audio:
            turns[1].notes.append("The follow-up answer has no transcript or evaluation.")
    view.turns = turns
    return view


# --- batch results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchRow:
    """One line of the batch table (a failed line has no evaluation)."""

    anchor: str | None
    line: int
    file: str
    candidate: str
    question_id: str
    kind: str
    overall: int | None
    band: str
    content: int | None
    delivery: int | None
    duration_s: float | None
    wpm: float | None
    fillers_per_100: float | None
    error: str | None = None


def answers_from_results(
    path: Path, bank: Bank | None, *, audio: bool = True
) -> tuple[list[AnswerView], list[BatchRow], list[str]]:
    """Answers, table rows and notes from a batch ``results.jsonl``.

    A line that is not a valid result becomes a failed row with the reason; a file scored
    again later in the file (``--resume`` after a change) shows only its last result.

    Raises:
        ReportError: the file cannot be read.
    """
    try:
        lines = read_results(path)
    except BatchError as exc:
        raise ReportError(
            f"{exc}; pass the results.jsonl that `voice-interview score --out DIR` wrote"
        ) from exc
    notes = [
        f"{record.file}: scored again on line {later}; the earlier result (line {earlier}) "
        "is not shown."
        for earlier, later, record in lines.replaced()
    ]
    rows = [
        _failed_row(bad.line, str((bad.raw or {}).get("file") or f"line {bad.line}"), bad.reason,
                    bad.raw)
        for bad in lines.bad
    ]  # fmt: skip
    answers: list[AnswerView] = []
    for number, record in lines.latest():
        evaluation = record.evaluation
        view = _batch_answer(len(answers) + 1, path.parent, record, bank, audio)
        answers.append(view)
        d = evaluation.delivery
        rows.append(
            BatchRow(
                anchor=view.anchor,
                line=number,
                file=record.file,
                candidate=record.candidate or "",
                question_id=evaluation.question_id,
                kind=view.kind,
                overall=evaluation.overall,
                band=evaluation.band,
                content=_int(evaluation.details.get("content_score")),
                delivery=d.score,
                duration_s=d.duration_s,
                wpm=d.words_per_minute,
                fillers_per_100=d.fillers_per_100_words,
            )
        )
    rows.sort(key=lambda r: r.line)
    return answers, rows, notes


def _int(value: Any) -> int | None:
    return round(value) if isinstance(value, int | float) else None


def _failed_row(
    number: int, file: str, error: str, record: dict[str, Any] | None = None
) -> BatchRow:
    record = record or {}
    return BatchRow(
        anchor=None,
        line=number,
        file=file,
        candidate=str(record.get("candidate") or ""),
        question_id=str(record.get("question_id") or ""),
        kind=str(record.get("kind") or ""),
        overall=None,
        band="failed",
        content=None,
        delivery=None,
        duration_s=None,
        wpm=None,
        fillers_per_100=None,
        error=error,
    )


def _batch_answer(
    number: int, base: Path, record: BatchRecord, bank: Bank | None, audio: bool
) -> AnswerView:
    file, evaluation = record.file, record.evaluation
    question, _ = _bank_lookup(bank, evaluation.question_id)
    view = AnswerView(
        anchor=f"a{number}",
        number=number,
        question_id=evaluation.question_id,
        question_text=question.text if question else evaluation.question_id,
        kind=evaluation.kind,
        status=evaluation.band,
        evaluation=evaluation,
        file=file,
        candidate=record.candidate or None,
    )
    _apply_bank(view, bank)
    turn = TurnView(
        label="Answer", question_text=view.question_text, audio_id=f"{view.anchor}-answer"
    )
    audio_path = Path(file) if file else None
    if audio_path is not None and not audio_path.is_absolute():
        audio_path = base / audio_path
    if audio_path is None:
        turn.notes.append("The result names no audio file, so there is no player.")
    elif audio:
        turn.answer_audio, why = try_embed(audio_path, "answer audio")
        if why:
            turn.notes.append(why[0].upper() + why[1:] + "; the transcript is shown without it.")
    labeled = label_words(evaluation.transcript.words, evaluation)
    view.evidence_s = evidence_times(evaluation.transcript.words, evaluation)
    turn.words = labeled
    if not labeled:
        turn.plain_text = evaluation.transcript.text
    duration = turn.duration_s or evaluation.transcript.duration_s
    turn.chart = _turn_chart(labeled, duration, evaluation, (0.0, max(duration, 0.0)))
    view.turns = [turn]
    return view
