"""Concept coverage of technical and system-design answers against the question's rubric.

A concept is found two ways, and the status says how well:

* **by name** (``alias``): each Snowball-stemmed alias word is fuzzy-matched (rapidfuzz) to
  the sentence's words, all within a short window, so word forms ("reuses connections") and
  ASR misspellings ("connection booling") still match; words of <= 3 letters ("TLS", "JWT")
  must match exactly;
* **by meaning** (``meaning``): WordLlama cosine similarity between each sentence and the
  concept's paraphrases.

``covered`` needs an explanation: the concept's meaning is there, or it is named inside a
sentence that explains something (not a bare list of terms). Naming it in a list of buzzwords
earns ``partial`` at most, so a buzzword list cannot score like an explanation.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import snowballstemmer
from rapidfuzz import fuzz, process

from voice_interview.content.banks import Concept, Question
from voice_interview.core.text import normalize_text
from voice_interview.scoring.result import ConceptResult
from voice_interview.scoring.semantic import Embedder, cosine_matrix
from voice_interview.scoring.sentences import TimedSentence

__all__ = [
    "ConceptAssessment",
    "ConceptOptions",
    "alias_in",
    "assess_concepts",
    "is_explanatory",
    "signal_in",
    "stem_tokens",
]


@dataclass(frozen=True)
class ConceptOptions:
    """Thresholds of concept matching (cosine similarities are WordLlama's, in [-1, 1]).

    Attributes:
        alias_min_ratio: rapidfuzz ratio (0-100) for an alias word to match a sentence word.
        meaning_partial: similarity to a paraphrase for ``partial`` by meaning alone.
        meaning_covered: similarity for ``covered`` by meaning alone.
        meaning_with_alias: similarity that, with the concept named, makes it ``covered`` even
            in a sentence that looks like a list.
        (Misconceptions are found by their ``signals`` only, ordered words not negated:
        similarity in meaning cannot tell "A before B" from "B before A"; measured, a correct
        cache-aside sentence was 0.72 similar to the cache-aside misconception.)
        signal_extra_span: how many words beyond its own a signal may spread over in a
            sentence ("are pretty much the same thing" matches "are the same thing").
        named_only_credit: credit for a concept that is named but never explained (a covered
            concept earns 1, one partly explained by meaning 0.5).
        full_marks_share: share of the rubric's weight that earns 100. A strong 2-minute answer
            covers most concepts, not all; the rubric lists more than anyone says at once.
        soft_margin: the soft credit by meaning (``ConceptResult.credit``, what the calibrated
            score uses) rises from ``meaning_partial - soft_margin`` to ``meaning_covered``.
    """

    alias_min_ratio: float = 85.0
    meaning_partial: float = 0.55
    meaning_covered: float = 0.68
    meaning_with_alias: float = 0.45
    signal_extra_span: int = 6
    full_marks_share: float = 0.6
    named_only_credit: float = 0.25
    soft_margin: float = 0.05


# Words that show a sentence explains or relates things rather than listing them.
_EXPLAINING_WORDS = """
is are was were means mean lets let keeps keep uses use used so because when which that if can
could will would to instead than then since while by without where who how why does do did
reduces avoids helps makes gives
"""
_EXPLAINING = frozenset(_EXPLAINING_WORDS.split())


_FRAGMENT = 4  # words: sentences this short, one after another, are a list of terms


def is_listing(sentence: str) -> bool:
    """True for a comma-separated run of terms that explains nothing ("Redis, TTL, LRU, ...")."""
    words = normalize_text(sentence).split()
    return sentence.count(",") >= max(2, len(words) / 4) or (
        len(words) >= 3 and sum(w in _EXPLAINING for w in words) < 2 and sentence.count(",") >= 2
    )


def is_explanatory(sentence: str) -> bool:
    """True for a sentence that says something: >= 7 words, >= 2 connecting words, and not a
    comma-separated run of terms (fewer than one comma per four words)."""
    words = normalize_text(sentence).split()
    commas = sentence.count(",")
    return (
        len(words) >= 7
        and sum(w in _EXPLAINING for w in words) >= 2
        and commas < max(2, len(words) / 4)
    )


@dataclass(frozen=True)
class MisconceptionFound:
    """A wrong statement of the rubric heard in the answer."""

    concept: str  # the concept's label
    statement: str  # the misconception as the bank states it
    sentence: TimedSentence  # where the candidate said it


@dataclass(frozen=True)
class ConceptAssessment:
    results: tuple[ConceptResult, ...]
    score: int  # weighted coverage 0-100 before penalties
    misconceptions: tuple[MisconceptionFound, ...]
    list_like_share: float  # share of named concepts that were only named in lists
    named_terms: tuple[str, ...]  # aliases found in list-like sentences, for tips


_stemmer = snowballstemmer.stemmer("english")


_stemmer_lock = threading.Lock()  # a Snowball stemmer keeps state while it stems a word


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    # Snowball is pure Python; spoken answers reuse a small vocabulary, so stems are cached.
    with _stemmer_lock:
        return str(_stemmer.stemWord(word))


def stem_tokens(text: str) -> list[str]:
    """Normalised, Snowball-stemmed words ("reuses connections" -> ["reus", "connect"])."""
    return [_stem(w) for w in normalize_text(text).split()]


@lru_cache(maxsize=1024)
def _joined_ngrams(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Runs of 1-3 words written together, to find "pg bouncer" as "pgbouncer"."""
    return tuple("".join(tokens[i : i + n]) for n in (1, 2, 3) for i in range(len(tokens) - n + 1))


@lru_cache(maxsize=8192)
def _phrase_stems(phrase: str) -> tuple[str, ...]:
    """Stems of a bank phrase (alias, signal), computed once per phrase."""
    return tuple(stem_tokens(phrase))


_SHORT = 7  # words: a sentence shorter than this is read with its neighbours
_CONTINUATION = re.compile(
    r"^\W*(?:so|and|because|which|but|then|since|whereas|otherwise)\b", re.IGNORECASE
)

_CLAUSE_BREAK = re.compile(r"[,;:]|\s(?:and|but|so|because|which|while|whereas)\s", re.I)


def split_clauses(sentence: str, min_words: int = 4) -> list[str]:
    """The clauses of a long sentence (split at commas and joining words), each at least
    ``min_words`` long (shorter pieces join the next); none for a sentence that is one clause."""
    pieces = [p.strip() for p in _CLAUSE_BREAK.split(sentence) if p.strip()]
    clauses: list[str] = []
    pending = ""
    for piece in pieces:
        pending = f"{pending} {piece}".strip()
        if len(pending.split()) >= min_words:
            clauses.append(pending)
            pending = ""
    if pending and clauses:
        clauses[-1] = f"{clauses[-1]} {pending}"
    return clauses if len(clauses) > 1 else []


def _token_positions(token: str, tokens: list[str], min_ratio: float) -> list[int]:
    if len(token) <= 3:  # short words and acronyms (tls, jwt, 401) must match exactly
        return [i for i, t in enumerate(tokens) if t == token]
    found = process.extract(token, tokens, scorer=fuzz.ratio, score_cutoff=min_ratio, limit=None)
    return [index for _, _, index in found]


def alias_in(alias: Sequence[str], tokens: list[str], min_ratio: float) -> bool:
    """Whether the stemmed ``alias`` occurs in ``tokens``: each alias word fuzzily, all of them
    within a window two words longer than the alias (so "keeps database connections open"
    names "keeps connections open"), or the alias with its spaces removed matching as many
    joined words ("pg bouncer" / "pgbouncer")."""
    if not alias or not tokens:
        return False
    positions = [_token_positions(t, tokens, min_ratio) for t in alias]
    if all(positions):
        span = len(alias) + 2
        for start in positions[0]:
            if all(any(abs(p - start) < span for p in ps) for ps in positions[1:]):
                return True
    joined = "".join(alias)
    if len(joined) <= 4:
        return False
    found = process.extractOne(
        joined, _joined_ngrams(tuple(tokens)), scorer=fuzz.ratio, score_cutoff=min_ratio
    )
    return found is not None


# Words that negate what follows them, and words that mark a sentence as refuting a claim
# ("a common myth is that ..."). Compared with Snowball stems.
_NEGATING_WORDS = """
not never no nor cannot can't don't doesn't didn't isn't aren't wasn't weren't won't wouldn't
shouldn't couldn't mustn't hardly without
"""
_REFUTING_WORDS = "myth misconception mistake wrong pitfall trap fallacy"
_HEDGING_WORDS = "um uh er erm hmm mm like basically honestly actually really just pretty"
_NEGATORS = frozenset(_stemmer.stemWords(_NEGATING_WORDS.split()))
_REFUTING = frozenset(_stemmer.stemWords(_REFUTING_WORDS.split()))
_HEDGES = frozenset(_stemmer.stemWords(_HEDGING_WORDS.split()))
_ELSE = frozenset(_stemmer.stemWords(["else"]))


def signal_in(signal: Sequence[str], tokens: list[str], extra_span: int = 6) -> bool:
    """Whether the stemmed ``signal`` words occur in ``tokens`` in order, spread over at most
    ``len(signal) + extra_span`` words, not followed by "else" ("a shared cache for everything
    else" is not "cache everything"), with no negating word among or just before them and no
    refuting word ("myth", "mistake") in the sentence. Hesitations and hedges ("um",
    "basically", "honestly") are ignored on both sides.

    Words match exactly (after stemming), not fuzzily: "asynchronous" must not pass for
    "synchronous" when the two mean opposite things.

    "authentication and authorization are the same thing" matches its signal; "authentication
    and authorization are not the same thing" does not.
    """
    signal = [t for t in signal if t not in _HEDGES]
    if not signal or not tokens or _REFUTING.intersection(tokens):
        return False
    tokens = [t for t in tokens if t not in _HEDGES]
    positions = [[i for i, t in enumerate(tokens) if t == word] for word in signal]
    if not all(positions):
        return False
    own = set(signal)
    for start in positions[0]:
        chosen = [start]
        for ps in positions[1:]:
            nxt = [p for p in ps if p > chosen[-1]]
            if not nxt:
                break
            chosen.append(nxt[0])
        else:
            end = chosen[-1]
            if end - start + 1 > len(signal) + extra_span:
                continue
            if end + 1 < len(tokens) and tokens[end + 1] in _ELSE:
                # "cache ... everything else" is not "cache everything"
                continue
            around = tokens[max(0, start - 3) : end + 1]
            if not any(t in _NEGATORS and t not in own for t in around):
                return True
    return False


def find_misconceptions(
    concepts: tuple[Concept, ...],
    sentences: list[TimedSentence],
    sent_tokens: list[list[str]],
    options: ConceptOptions,
) -> tuple[MisconceptionFound, ...]:
    """Misconceptions of the rubric said in the answer, found by their signals."""
    found: list[MisconceptionFound] = []
    for c in concepts:
        for m in c.misconceptions:
            signals = [_phrase_stems(s) for s in m.signals]
            hit = next(
                (
                    i
                    for i, tokens in enumerate(sent_tokens)
                    if any(signal_in(sig, tokens, options.signal_extra_span) for sig in signals)
                ),
                None,
            )
            if hit is not None:
                found.append(MisconceptionFound(c.label, m.statement, sentences[hit]))
    return tuple(found)


def assess_concepts(
    question: Question,
    sentences: list[TimedSentence],
    embedder: Embedder,
    options: ConceptOptions | None = None,
    concepts: tuple[Concept, ...] | None = None,
) -> ConceptAssessment:
    """Coverage of ``concepts`` (default: the question's rubric) by the answer's sentences."""
    opts = options or ConceptOptions()
    if concepts is None:
        concepts = question.concepts
    if not sentences:
        empty = tuple(
            ConceptResult(
                id=c.id,
                label=c.label,
                status="missing",
                required=c.required,
                tradeoff=c.tradeoff,
                weight=c.weight,
            )
            for c in concepts
        )
        return ConceptAssessment(empty, 0, (), 0.0, ())
    sent_vecs = embedder.embed([s.text for s in sentences])
    # Long spoken sentences carry several ideas; a concept is matched against each clause too,
    # so one idea is not diluted by the rest of its sentence. The recogniser, on the other hand,
    # often cuts one thought into short sentences ("They check your ID. That's
    # authentication."), so each short sentence is also matched together with its neighbours.
    units = [(i, c) for i, s in enumerate(sentences) for c in split_clauses(s.text)]
    # The recogniser also starts a new sentence at "So ..." / "And ..." / "Because ..." where
    # a writer would go on with a comma: such a sentence is read with the one before it.
    continues = [False] + [_CONTINUATION.match(s.text) is not None for s in sentences[1:]]
    for i in range(len(sentences) - 1):
        short = min(len(sentences[i].text.split()), len(sentences[i + 1].text.split())) < _SHORT
        if short or continues[i + 1]:
            pair = f"{sentences[i].text} {sentences[i + 1].text}"
            units += [(i, pair), (i + 1, pair)]
    unit_vecs = (
        np.vstack([sent_vecs, embedder.embed([c for _, c in units])]) if units else sent_vecs
    )
    unit_owner = np.array([*range(len(sentences)), *(i for i, _ in units)])
    sent_tokens = [stem_tokens(s.text) for s in sentences]
    explanatory = [
        is_explanatory(s.text)
        or any(
            is_explanatory(f"{sentences[j].text} {sentences[k].text}")
            for j, k in ((i - 1, i), (i, i + 1))
            if j >= 0 and k < len(sentences) and (len(s.text.split()) < _SHORT or continues[k])
        )
        for i, s in enumerate(sentences)
    ]
    listing = [is_listing(s.text) for s in sentences]
    for i in range(len(sentences)):  # a run of fragments ("Event loop. Callbacks. Promises.")
        words = len(sentences[i].text.split())
        near = [len(sentences[j].text.split()) for j in (i - 1, i + 1) if 0 <= j < len(sentences)]
        if words <= _FRAGMENT and any(n <= _FRAGMENT for n in near):
            listing[i] = True
    results: list[ConceptResult] = []
    misconceptions = list(find_misconceptions(concepts, sentences, sent_tokens, opts))
    named_only_in_lists = 0
    named = 0
    list_terms: list[str] = []
    total_weight = sum(c.weight for c in concepts) or 1.0
    earned = 0.0
    for c in concepts:
        unit_sims = cosine_matrix(unit_vecs, embedder.embed([*c.paraphrases, c.label])).max(axis=1)
        sims = np.full(len(sentences), -1.0)
        np.maximum.at(sims, unit_owner, unit_sims)
        best_i = int(np.argmax(sims))
        best_sim = float(sims[best_i])
        alias_sentences: dict[int, str] = {}
        for alias in c.aliases:
            stems = _phrase_stems(alias)
            for i, tokens in enumerate(sent_tokens):
                if i not in alias_sentences and alias_in(stems, tokens, opts.alias_min_ratio):
                    alias_sentences[i] = alias
        explained_hits = [i for i in alias_sentences if explanatory[i]]
        status: str
        evidence_i: int | None
        match: str | None
        if explained_hits:
            evidence_i = max(explained_hits, key=lambda i: float(sims[i]))
            status, match = "covered", "alias"
            if best_sim >= opts.meaning_partial:
                match = "alias+meaning"
        elif best_sim >= opts.meaning_covered:
            status, match, evidence_i = "covered", "meaning", best_i
        elif alias_sentences:
            evidence_i = max(alias_sentences, key=lambda i: float(sims[i]))
            strong = float(sims[evidence_i]) >= opts.meaning_with_alias and explanatory[evidence_i]
            status, match = ("covered" if strong else "partial"), "alias"
        elif best_sim >= opts.meaning_partial:
            status, match, evidence_i = "partial", "meaning", best_i
        else:
            status, match, evidence_i = "missing", None, None
        if alias_sentences:
            named += 1
            if not explained_hits and any(listing[i] for i in alias_sentences):
                named_only_in_lists += 1
                list_terms.extend(alias_sentences.values())
        credit = {"covered": 1.0, "partial": 0.5, "missing": 0.0}[status]
        if status == "partial" and match == "alias":
            credit = opts.named_only_credit  # named, never explained
        earned += c.weight * credit
        # The same, without steps: by meaning, the credit rises linearly across the
        # similarity thresholds, so a recognition error that moves a similarity by 0.01 moves
        # the calibrated score a little instead of flipping a status.
        soft = credit
        if status != "covered" or match == "meaning":
            low, high = opts.meaning_partial - opts.soft_margin, opts.meaning_covered
            ramp = min(1.0, max(0.0, (best_sim - low) / (high - low)))
            soft = max(opts.named_only_credit if alias_sentences else 0.0, ramp)
            if status == "covered":
                soft = max(soft, 0.5)
        ev = sentences[evidence_i] if evidence_i is not None else None
        results.append(
            ConceptResult(
                id=c.id,
                label=c.label,
                status=status,
                evidence=ev.text if ev else None,
                start_s=ev.start_s if ev else None,
                end_s=ev.end_s if ev else None,
                required=c.required,
                tradeoff=c.tradeoff,
                weight=c.weight,
                match=match,
                credit=round(soft, 4),
            )
        )
    return ConceptAssessment(
        results=tuple(results),
        score=round(min(100.0, 100 * earned / (opts.full_marks_share * total_weight))),
        misconceptions=tuple(misconceptions),
        list_like_share=named_only_in_lists / named if named else 0.0,
        named_terms=tuple(dict.fromkeys(list_terms)),
    )
