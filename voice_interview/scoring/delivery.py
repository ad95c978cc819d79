"""Delivery metrics: how an answer was spoken (pace, fillers, long pauses, hedges) and a score.

Pure logic on a :class:`Transcript`; the only I/O is reading the lexicon and norms from
``prompts/scoring/delivery.toml`` once per process (its header documents every key).

Definitions (all deterministic; see :func:`measure_delivery`):

* **Words** are the normalised words of the transcript text (:func:`normalize_text`), fillers
  included. Word timestamps are used only for pauses, speaking time and filler times.
* **Long pauses** are silences of ``long_pause_s`` or more (to the millisecond) between the end
  of one word and the start of the next, plus the silence before the first word and after the
  last one (``include_edge_silence``). Speaking time is the duration minus the long pauses.
* **Fillers**: ``always`` words and phrases count wherever they occur ("um", "you know"); "so"
  counts only in "so yeah". ``set_off`` words ("like", "actually", "basically", "kind of",
  "sort of") count only when set off by punctuation on both sides ("it's, like, a cache"; the
  start and end of the answer count as punctuation) or directly followed by an ``always``
  filler ("like um"); never straight after a word listed for them in ``[not_after]``
  ("I like Redis", "a kind of cache"). ``tag_questions`` ("right?") count only as a tag after
  punctuation. Longer phrases win; a word counts once.
* **Hedges** ("I think", "maybe", "kind of") count wherever they occur, except on words
  already counted as fillers.
* **Score** (0-100): four parts in [0, 1], each monotone in its figure: pace (speaking pace, or
  overall pace without word times; 1 inside the norm, falling linearly to 0 at
  ``zero_below_wpm``/``zero_above_wpm``), fillers per 100 words, long pauses per minute and
  hedges per 100 words (1 up to ``good_max``, falling linearly to 0 at ``zero_at``).
  ``score = round(100 * sum(weight * part) / sum(weight))`` over the parts that could be
  measured: typed answers (no timing) are scored on fillers and hedges only. An answer with no
  words scores 0.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from voice_interview.content.folders import data_folder
from voice_interview.content.tomlfile import StrictModel, load_toml_model
from voice_interview.core.text import normalize_text
from voice_interview.core.transcript import Transcript, Word
from voice_interview.errors import DeliveryLexiconError
from voice_interview.scoring.result import Delivery

__all__ = [
    "DeliveryLexicon",
    "DeliveryLexiconError",
    "DeliveryOptions",
    "default_lexicon_path",
    "load_delivery_lexicon",
    "measure_delivery",
]

MAX_TOP_FILLERS = 5


# --------------------------------------------------------------------------- lexicon file


def _key(phrase: str) -> str:
    """Matching key of a lexicon phrase: its normalised words ("I'm not sure" -> "i'm not sure")."""
    return " ".join(_tokenize(phrase).words)


def _check_phrases(phrases: Sequence[str], where: str) -> None:
    for phrase in phrases:
        if not _key(phrase):
            raise ValueError(f"{where}: {phrase!r} has no words")


def _check_template(template: str, where: str, **sample: Any) -> None:
    try:
        template.format(**sample)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"{where}: bad placeholder in {template!r} ({exc!r}); "
            f"known names: {', '.join(sorted(sample))}"
        ) from exc


class FillerLexicon(StrictModel):
    always: tuple[str, ...]
    set_off: tuple[str, ...] = ()
    tag_questions: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _valid(self) -> FillerLexicon:
        _check_phrases(self.always, "always")
        _check_phrases(self.set_off, "set_off")
        _check_phrases(self.tag_questions, "tag_questions")
        return self


class HedgeLexicon(StrictModel):
    phrases: tuple[str, ...]

    @model_validator(mode="after")
    def _valid(self) -> HedgeLexicon:
        _check_phrases(self.phrases, "phrases")
        return self


class PaceNorm(StrictModel):
    good_min_wpm: float = Field(gt=0)
    good_max_wpm: float
    zero_below_wpm: float = Field(ge=0)
    zero_above_wpm: float
    shown: str

    @model_validator(mode="after")
    def _valid(self) -> PaceNorm:
        if not self.zero_below_wpm < self.good_min_wpm <= self.good_max_wpm < self.zero_above_wpm:
            raise ValueError("need zero_below_wpm < good_min_wpm <= good_max_wpm < zero_above_wpm")
        _check_template(self.shown, "shown", **self.model_dump(exclude={"shown"}))
        return self

    @property
    def text(self) -> str:
        return self.shown.format(**self.model_dump(exclude={"shown"}))


class RateNorm(StrictModel):
    """A 'lower is better' rate: full marks up to ``good_max``, 0 from ``zero_at``."""

    good_max: float = Field(ge=0)
    zero_at: float
    distracting: float | None = None
    shown: str

    @model_validator(mode="after")
    def _valid(self) -> RateNorm:
        if not self.good_max < self.zero_at:
            raise ValueError("need good_max < zero_at")
        if self.distracting is not None and not self.good_max <= self.distracting <= self.zero_at:
            raise ValueError("need good_max <= distracting <= zero_at")
        _check_template(self.shown, "shown", **self._fields(2.0))
        return self

    def _fields(self, long_pause_s: float) -> dict[str, Any]:
        return {**self.model_dump(exclude={"shown"}), "long_pause_s": long_pause_s}

    def text(self, long_pause_s: float = 2.0) -> str:
        return self.shown.format(**self._fields(long_pause_s))


class LengthNorm(StrictModel):
    min_s: float = Field(ge=0)
    max_s: float
    shown: str

    @model_validator(mode="after")
    def _valid(self) -> LengthNorm:
        if not self.min_s < self.max_s:
            raise ValueError("need min_s < max_s")
        _check_template(self.shown, "shown", **self.model_dump(exclude={"shown"}))
        return self

    @property
    def text(self) -> str:
        return self.shown.format(**self.model_dump(exclude={"shown"}))


class Norms(StrictModel):
    words_per_minute: PaceNorm
    fillers_per_100_words: RateNorm
    pauses_per_minute: RateNorm
    hedges_per_100_words: RateNorm
    answer_length: dict[str, LengthNorm] = Field(default_factory=dict)


class ScoreWeights(StrictModel):
    pace: float = Field(ge=0)
    fillers: float = Field(ge=0)
    pauses: float = Field(ge=0)
    hedges: float = Field(ge=0)

    @model_validator(mode="after")
    def _valid(self) -> ScoreWeights:
        if self.fillers + self.hedges <= 0:
            raise ValueError("fillers and hedges cannot both weigh 0 (typed answers use only them)")
        return self


class ScoreSettings(StrictModel):
    weights: ScoreWeights
    length_tip_weight: float = Field(default=0.2, ge=0)


class TipTemplates(StrictModel):
    fillers: str
    pace_fast: str
    pace_slow: str
    pauses: str
    hedges: str
    length_long: str
    length_short: str

    @model_validator(mode="after")
    def _valid(self) -> TipTemplates:
        pace = {"wpm": 150.0, "norm": "x"}
        length = {"minutes": 1.0, "norm": "x"}
        _check_template(
            self.fillers,
            "fillers",
            fillers="x",
            per_100_words=1.0,
            good_max=1.0,
            distracting=1.0,
        )
        _check_template(self.pace_fast, "pace_fast", **pace)
        _check_template(self.pace_slow, "pace_slow", **pace)
        _check_template(
            self.pauses,
            "pauses",
            count=1,
            times="once",
            long_pause_s=2.0,
            minutes=1.0,
            longest_s=1.0,
            context="x",
        )
        _check_template(self.hedges, "hedges", count=1, times="once", phrases="x")
        _check_template(self.length_long, "length_long", **length)
        _check_template(self.length_short, "length_short", **length)
        return self


class DeliveryLexicon(StrictModel):
    """The validated contents of ``prompts/scoring/delivery.toml`` (see its header)."""

    schema_version: Literal[1]
    fillers: FillerLexicon
    hedges: HedgeLexicon
    not_after: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    norms: Norms
    score: ScoreSettings
    tips: TipTemplates
    source: str | None = Field(None, description="File it was read from, for messages.")

    @model_validator(mode="after")
    def _valid(self) -> DeliveryLexicon:
        f = self.fillers
        known = {_key(p) for p in (*f.always, *f.set_off, *f.tag_questions, *self.hedges.phrases)}
        for phrase, words in self.not_after.items():
            if _key(phrase) not in known:
                raise ValueError(f"not_after: {phrase!r} is not a listed filler or hedge")
            _check_phrases(words, f"not_after.{phrase}")
        return self


def default_lexicon_path() -> Path:
    return data_folder("prompts") / "scoring" / "delivery.toml"


def load_delivery_lexicon(path: str | Path | None = None) -> DeliveryLexicon:
    """Read and validate a delivery lexicon (the bundled one, read once and cached, if None)."""
    if path is None:
        return _bundled_lexicon()
    return _read_lexicon(Path(path))


@lru_cache(maxsize=1)
def _bundled_lexicon() -> DeliveryLexicon:
    return _read_lexicon(default_lexicon_path())


def _read_lexicon(file: Path) -> DeliveryLexicon:
    return load_toml_model(
        file, DeliveryLexicon, DeliveryLexiconError, "delivery lexicon", extra={"source": str(file)}
    )


# --------------------------------------------------------------------------- options


@dataclass(frozen=True)
class DeliveryOptions:
    """How delivery is measured. Defaults are defined here once.

    Attributes:
        long_pause_s: a silence of this many seconds or more between words is a long pause
            (counted, reported and excluded from the speaking pace).
        include_edge_silence: also count the silence before the first word and after the
            last word as pauses when they are that long. Set False when the recorder
            already trims silence at the ends of an answer.
        answer_kind: question kind whose answer-length norm is shown and tipped on (a key of
            ``[norms.answer_length]``: ``behavioral`` or ``technical`` in the bundled file).
            None shows every kind's norm and gives no length tip.
        max_tips: at most this many tips, the worst part first.
        lexicon: fillers, hedges, norms, weights and tip texts; None = the bundled
            ``prompts/scoring/delivery.toml``.
    """

    long_pause_s: float = 2.0
    include_edge_silence: bool = True
    answer_kind: str | None = None
    max_tips: int = 2
    lexicon: DeliveryLexicon | None = field(default=None, hash=False)

    def __post_init__(self) -> None:
        if not self.long_pause_s > 0:
            raise ValueError(f"long_pause_s must be positive, got {self.long_pause_s}")
        if self.max_tips < 0:
            raise ValueError(f"max_tips must be 0 or more, got {self.max_tips}")


# --------------------------------------------------------------------------- tokens

_PIECE = re.compile(r"[\w'’]+")
_BREAK_CHARS = frozenset(",;:.!?…—–()[]")


def _is_break(separator: str) -> bool:
    """Punctuation that sets words apart; a lone hyphen joins a compound ("real-time")."""
    return any(c in _BREAK_CHARS for c in separator) or ("-" in separator and separator != "-")


@dataclass(frozen=True)
class _Tokens:
    """Normalised words and what separates them: ``seps[i]`` is the raw text before word i
    (``seps[len(words)]`` the text after the last), ``breaks[i]`` whether it is punctuation
    (the start and the end of the text count as punctuation)."""

    words: list[str]
    seps: list[str]
    breaks: list[bool]


@lru_cache(maxsize=8192)
def _words_of(piece: str) -> tuple[str, ...]:
    """Normalised words of a short piece of text, edge apostrophes stripped (cached)."""
    return tuple(w for t in normalize_text(piece).split() if (w := t.strip("'")))


def _tokenize(text: str) -> _Tokens:
    words: list[str] = []
    seps: list[str] = []
    last_end = 0
    for match in _PIECE.finditer(text):
        parts = _words_of(match.group())
        if not parts:
            continue  # a lone apostrophe: leave it in the separator
        seps.append(text[last_end : match.start()])
        seps.extend("" for _ in parts[1:])
        words.extend(parts)
        last_end = match.end()
    seps.append(text[last_end:])
    breaks = [_is_break(s) for s in seps]
    breaks[0] = breaks[-1] = True
    return _Tokens(words, seps, breaks)


# --------------------------------------------------------------------------- matching

_Rule = Literal["always", "set_off", "tag", "hedge"]


@dataclass(frozen=True)
class _Phrase:
    words: tuple[str, ...]
    display: str
    rule: _Rule
    not_after: frozenset[str] = frozenset()


def _index(phrases: list[_Phrase]) -> dict[str, tuple[_Phrase, ...]]:
    by_first: dict[str, list[_Phrase]] = {}
    for phrase in phrases:
        by_first.setdefault(phrase.words[0], []).append(phrase)
    # longest first; stable, so ties keep file order
    return {k: tuple(sorted(v, key=lambda p: -len(p.words))) for k, v in by_first.items()}


@dataclass(frozen=True)
class _Matcher:
    fillers: dict[str, tuple[_Phrase, ...]]
    always: dict[str, tuple[_Phrase, ...]]
    hedges: dict[str, tuple[_Phrase, ...]]


@lru_cache(maxsize=8)
def _compile(lexicon_json: str) -> _Matcher:
    lexicon = DeliveryLexicon.model_validate_json(lexicon_json)
    not_after = {_key(k): frozenset(_key(w) for w in v) for k, v in lexicon.not_after.items()}

    def phrases(entries: Sequence[str], rule: _Rule) -> list[_Phrase]:
        out = []
        for entry in entries:
            key = _key(entry)
            out.append(_Phrase(tuple(key.split()), entry, rule, not_after.get(key, frozenset())))
        return out

    always = phrases(lexicon.fillers.always, "always")
    fillers = [
        *always,
        *phrases(lexicon.fillers.set_off, "set_off"),
        *phrases(lexicon.fillers.tag_questions, "tag"),
    ]
    return _Matcher(
        fillers=_index(fillers),
        always=_index(always),
        hedges=_index(phrases(lexicon.hedges.phrases, "hedge")),
    )


def _matches(phrase: _Phrase, tokens: _Tokens, i: int) -> bool:
    n = len(phrase.words)
    if tuple(tokens.words[i : i + n]) != phrase.words:
        return False
    preceded = i > 0 and not tokens.breaks[i] and tokens.words[i - 1] in phrase.not_after
    return not preceded


def _starts_always_filler(matcher: _Matcher, tokens: _Tokens, i: int) -> bool:
    if i >= len(tokens.words):
        return False
    return any(_matches(p, tokens, i) for p in matcher.always.get(tokens.words[i], ()))


def _is_filler_use(matcher: _Matcher, phrase: _Phrase, tokens: _Tokens, i: int) -> bool:
    end = i + len(phrase.words)
    if phrase.rule == "always":
        return True
    if phrase.rule == "tag":
        return tokens.breaks[i] and "?" in tokens.seps[end]
    # set_off: punctuation on both sides, or straight before an always-filler
    return (tokens.breaks[i] and tokens.breaks[end]) or _starts_always_filler(matcher, tokens, end)


def _find(
    index: Mapping[str, tuple[_Phrase, ...]],
    tokens: _Tokens,
    accept: Callable[[_Phrase, int], bool],
    taken: set[int] | None = None,
) -> list[tuple[int, _Phrase]]:
    """Greedy left-to-right, longest-phrase-first, non-overlapping matches."""
    found: list[tuple[int, _Phrase]] = []
    i, n = 0, len(tokens.words)
    while i < n:
        hit = None
        for phrase in index.get(tokens.words[i], ()):
            span = range(i, i + len(phrase.words))
            if taken is not None and any(k in taken for k in span):
                continue
            if _matches(phrase, tokens, i) and accept(phrase, i):
                hit = phrase
                break
        if hit is None:
            i += 1
        else:
            found.append((i, hit))
            i += len(hit.words)
    return found


def _ranked(displays: Sequence[str]) -> list[tuple[str, int]]:
    """(display, count), most common first; ties in order of first use."""
    counts = Counter(displays)
    first = {d: k for k, d in reversed(list(enumerate(displays)))}
    return sorted(counts.items(), key=lambda item: (-item[1], first[item[0]]))


# --------------------------------------------------------------------------- timing


def _word_starts(text_words: list[str], timed_words: Sequence[Word]) -> list[float | None]:
    """Start time of each text word, from the recogniser's Word objects (None if unmatched)."""
    flat: list[str] = []
    starts: list[float] = []
    for word in timed_words:
        for token in _words_of(word.text):
            flat.append(token)
            starts.append(word.start_s)
    out: list[float | None] = list(starts)
    if flat == text_words:
        return out
    out = [None] * len(text_words)
    matcher = difflib.SequenceMatcher(None, text_words, flat, autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            out[block.a + k] = starts[block.b + k]
    return out


@dataclass(frozen=True)
class _Pause:
    start_s: float
    end_s: float
    next_word: int  # index (in transcript.words) of the word after the silence

    @property
    def length_s(self) -> float:
        return round(self.end_s - self.start_s, 3)


def _silences(words: Sequence[Word], duration_s: float, edges: bool) -> list[_Pause]:
    """Every silence between consecutive words (and at the ends when ``edges``), in order.

    Overlapping word times give a negative length; they never count as pauses.
    """
    silences: list[_Pause] = []
    if edges:
        silences.append(_Pause(0.0, round(words[0].start_s, 3), 0))
    last_end = words[0].end_s
    for k, word in enumerate(words[1:], start=1):
        silences.append(_Pause(round(last_end, 3), round(word.start_s, 3), k))
        last_end = max(last_end, word.end_s)
    if edges:
        silences.append(_Pause(round(last_end, 3), round(duration_s, 3), len(words)))
    return silences


def _quote(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words).strip(' ,.;:!?…—–-"')


def _pause_context(words: Sequence[Word], pause: _Pause) -> str:
    if pause.next_word == 0:
        return f'before "{_quote(words[:4])}"'
    return f'after "{_quote(words[max(0, pause.next_word - 4) : pause.next_word])}"'


# --------------------------------------------------------------------------- score and tips


@dataclass(frozen=True)
class _Figures:
    """Unrounded figures of one answer; the timing ones are None when unknown."""

    text_words: list[str]  # normalised words of the text
    fillers: list[tuple[int, _Phrase]]
    hedges: list[tuple[int, _Phrase]]
    duration_s: float | None
    words: Sequence[Word]  # timed words; empty without word timestamps
    silences: list[_Pause] | None
    pauses: list[_Pause] | None
    wpm: float | None
    wpm_speaking: float | None

    @property
    def word_count(self) -> int:
        return len(self.text_words)

    @property
    def minutes(self) -> float | None:
        return self.duration_s / 60 if self.duration_s is not None else None

    @property
    def pace_wpm(self) -> float | None:
        """The pace that is scored: speaking pace when known (pauses are scored apart)."""
        return self.wpm_speaking if self.wpm_speaking is not None else self.wpm

    def per_100_words(self, count: int) -> float:
        return 100 * count / self.word_count if self.word_count else 0.0

    @property
    def pauses_per_minute(self) -> float | None:
        if self.pauses is None or not self.minutes:
            return None
        return len(self.pauses) / self.minutes


def _pace_part(wpm: float, norm: PaceNorm) -> float:
    if wpm < norm.good_min_wpm:
        return _clamp((wpm - norm.zero_below_wpm) / (norm.good_min_wpm - norm.zero_below_wpm))
    if wpm > norm.good_max_wpm:
        return _clamp((norm.zero_above_wpm - wpm) / (norm.zero_above_wpm - norm.good_max_wpm))
    return 1.0


def _rate_part(rate: float, norm: RateNorm) -> float:
    if rate <= norm.good_max:
        return 1.0
    return _clamp((norm.zero_at - rate) / (norm.zero_at - norm.good_max))


def _clamp(x: float) -> float:
    return min(1.0, max(0.0, x))


def _parts(figures: _Figures, norms: Norms) -> dict[str, float]:
    """Each measurable part of the score in [0, 1] (1 = inside the norm)."""
    parts: dict[str, float] = {}
    if figures.pace_wpm is not None:
        parts["pace"] = _pace_part(figures.pace_wpm, norms.words_per_minute)
    parts["fillers"] = _rate_part(
        figures.per_100_words(len(figures.fillers)), norms.fillers_per_100_words
    )
    if figures.pauses_per_minute is not None:
        parts["pauses"] = _rate_part(figures.pauses_per_minute, norms.pauses_per_minute)
    parts["hedges"] = _rate_part(
        figures.per_100_words(len(figures.hedges)), norms.hedges_per_100_words
    )
    return parts


def _score(figures: _Figures, parts: Mapping[str, float], weights: ScoreWeights) -> int:
    if not figures.word_count:
        return 0
    weight: dict[str, float] = weights.model_dump()
    total = sum(weight[k] for k in parts)
    weighted = sum(weight[k] * v for k, v in parts.items()) / total
    return math.floor(100 * weighted + 0.5)


def _shown_norms(
    figures: _Figures, norms: Norms, length_norm: LengthNorm | None, long_pause_s: float
) -> dict[str, str]:
    """The norm beside each figure that was measured, keyed by the Delivery field name."""
    shown: dict[str, str] = {}
    length_text = (
        length_norm.text
        if length_norm is not None
        else "; ".join(n.text for n in norms.answer_length.values())
    )
    if figures.duration_s is not None and length_text:
        shown["duration_s"] = length_text
    if figures.wpm is not None:
        shown["words_per_minute"] = norms.words_per_minute.text
    if figures.wpm_speaking is not None:
        shown["words_per_minute_speaking"] = norms.words_per_minute.text
    shown["fillers_per_100_words"] = norms.fillers_per_100_words.text()
    if figures.pauses is not None:
        shown["pause_count"] = norms.pauses_per_minute.text(long_pause_s)
    shown["hedge_count"] = norms.hedges_per_100_words.text()
    return shown


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"


def _tips(
    figures: _Figures,
    parts: Mapping[str, float],
    lexicon: DeliveryLexicon,
    length_norm: LengthNorm | None,
    options: DeliveryOptions,
) -> tuple[str, ...]:
    """At most ``options.max_tips`` tips, worst first.

    A part below full marks is as bad as ``weight x (1 - part)``; an answer outside its length
    norm as ``length_tip_weight x min(1, distance / norm width)``. Ties keep the order fillers,
    pace, pauses, hedges, length.
    """
    if not figures.word_count:
        return ()
    norms, templates = lexicon.norms, lexicon.tips
    weight: dict[str, float] = lexicon.score.weights.model_dump()
    candidates: list[tuple[float, int, str]] = []

    def below_norm(part: str) -> bool:
        return part in parts and parts[part] < 1.0

    def add(part: str, order: int, text: str) -> None:
        candidates.append((weight[part] * (1.0 - parts[part]), order, text))

    if below_norm("fillers"):
        top = _ranked([p.display for _, p in figures.fillers])[:2]
        text = templates.fillers.format(
            fillers=" and ".join(f'"{d}" {_times(c)}' for d, c in top),
            per_100_words=figures.per_100_words(len(figures.fillers)),
            good_max=norms.fillers_per_100_words.good_max,
            distracting=norms.fillers_per_100_words.distracting,
        )
        add("fillers", 0, text)
    if below_norm("pace") and figures.pace_wpm is not None:
        fast = figures.pace_wpm > norms.words_per_minute.good_max_wpm
        template = templates.pace_fast if fast else templates.pace_slow
        add("pace", 1, template.format(wpm=figures.pace_wpm, norm=norms.words_per_minute.text))
    if below_norm("pauses") and figures.pauses and figures.minutes:
        longest = max(figures.pauses, key=lambda p: p.length_s)
        text = templates.pauses.format(
            count=len(figures.pauses),
            times=_times(len(figures.pauses)),
            long_pause_s=options.long_pause_s,
            minutes=figures.minutes,
            longest_s=longest.length_s,
            context=_pause_context(figures.words, longest),
        )
        add("pauses", 2, text)
    if below_norm("hedges"):
        top = _ranked([p.display for _, p in figures.hedges])[:3]
        phrases = ", ".join(f'"{d}" {_times(c)}' for d, c in top)
        count = len(figures.hedges)
        add("hedges", 3, templates.hedges.format(count=count, times=_times(count), phrases=phrases))
    if length_norm is not None and figures.duration_s is not None:
        duration = figures.duration_s
        long = duration > length_norm.max_s
        off = duration - length_norm.max_s if long else length_norm.min_s - duration
        if off > 0:
            badness = lexicon.score.length_tip_weight * min(
                1.0, off / (length_norm.max_s - length_norm.min_s)
            )
            template = templates.length_long if long else templates.length_short
            text = template.format(minutes=duration / 60, norm=length_norm.text)
            candidates.append((badness, 4, text))
    candidates.sort(key=lambda c: (-c[0], c[1]))
    return tuple(text for _, _, text in candidates[: options.max_tips])


# --------------------------------------------------------------------------- entry point


def _length_norm(lexicon: DeliveryLexicon, answer_kind: str | None) -> LengthNorm | None:
    if answer_kind is None:
        return None
    kinds = lexicon.norms.answer_length
    if answer_kind not in kinds:
        raise ValueError(
            f"answer_kind {answer_kind!r} has no [norms.answer_length] entry in "
            f"{lexicon.source or 'the delivery lexicon'}; choose one of: "
            f"{', '.join(kinds) or '(none defined)'}"
        )
    return kinds[answer_kind]


def _measure(transcript: Transcript, matcher: _Matcher, options: DeliveryOptions) -> _Figures:
    tokens = _tokenize(transcript.text)

    def filler_use(phrase: _Phrase, i: int) -> bool:
        return _is_filler_use(matcher, phrase, tokens, i)

    fillers = _find(matcher.fillers, tokens, filler_use)
    taken = {i + k for i, p in fillers for k in range(len(p.words))}
    hedges = _find(matcher.hedges, tokens, lambda p, i: True, taken)

    word_count = len(tokens.words)
    timed = transcript.model != "text" and transcript.duration_s > 0
    duration_s = transcript.duration_s if timed else None
    words = transcript.words if timed else ()
    silences = pauses = None
    wpm = wpm_speaking = None
    if duration_s is not None:
        wpm = word_count / (duration_s / 60)
    if duration_s is not None and words:
        silences = _silences(words, duration_s, options.include_edge_silence)
        pauses = [p for p in silences if p.length_s >= options.long_pause_s]
        speaking_s = duration_s - sum(p.length_s for p in pauses)
        wpm_speaking = word_count / (speaking_s / 60) if speaking_s > 0 else None
    return _Figures(
        text_words=tokens.words,
        fillers=fillers,
        hedges=hedges,
        duration_s=duration_s,
        words=words,
        silences=silences,
        pauses=pauses,
        wpm=wpm,
        wpm_speaking=wpm_speaking,
    )


def _filler_times(figures: _Figures) -> tuple[float, ...]:
    if not figures.words or not figures.fillers:
        return ()
    starts = _word_starts(figures.text_words, figures.words)
    return tuple(round(s, 3) for i, _ in figures.fillers if (s := starts[i]) is not None)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def measure_delivery(transcript: Transcript, options: DeliveryOptions | None = None) -> Delivery:
    """Measure how ``transcript`` was spoken; see the module docstring for every definition.

    Timing figures (duration, pace, fillers per minute) are None for typed answers
    (``model == "text"`` or a zero duration); pause figures also need word timestamps.
    ``filler_times_s`` holds the start of each filler whose words are among the timed words
    (all of them for a recogniser transcript; none for a typed one). ``longest_pause_s`` is
    the longest silence between words, even when it is shorter than a long pause.
    Raises ValueError for an ``answer_kind`` the lexicon has no norm for.
    """
    opts = options or DeliveryOptions()
    lexicon = opts.lexicon or load_delivery_lexicon()
    length_norm = _length_norm(lexicon, opts.answer_kind)
    figures = _measure(transcript, _compile(lexicon.model_dump_json()), opts)
    parts = _parts(figures, lexicon.norms)
    minutes = figures.minutes
    silences, pauses = figures.silences, figures.pauses
    return Delivery(
        duration_s=_round(figures.duration_s, 3),
        word_count=figures.word_count,
        words_per_minute=_round(figures.wpm, 1),
        words_per_minute_speaking=_round(figures.wpm_speaking, 1),
        filler_count=len(figures.fillers),
        fillers_per_100_words=round(figures.per_100_words(len(figures.fillers)), 2),
        fillers_per_minute=round(len(figures.fillers) / minutes, 2) if minutes else None,
        top_fillers=tuple(_ranked([p.display for _, p in figures.fillers])[:MAX_TOP_FILLERS]),
        filler_times_s=_filler_times(figures),
        pause_count=None if pauses is None else len(pauses),
        longest_pause_s=None
        if silences is None
        else max((max(0.0, p.length_s) for p in silences), default=0.0),
        pauses=tuple((p.start_s, p.end_s) for p in pauses or ()),
        hedge_count=len(figures.hedges),
        hedges=tuple(dict.fromkeys(p.display for _, p in figures.hedges)),
        norms=_shown_norms(figures, lexicon.norms, length_norm, opts.long_pause_s),
        score=_score(figures, parts, lexicon.score.weights),
        tips=_tips(figures, parts, lexicon, length_norm, opts),
    )
