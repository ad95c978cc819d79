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

from dataclasses import dataclass

import numpy as np
import snowballstemmer
from rapidfuzz import fuzz, process

from voice_interview.bank import Concept, Question
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
        misconception_min: similarity to a misconception statement to flag it. WordLlama
            cannot tell "A before B" from "B before A", so this is set high and rarely fires
            (measured: correct answers reach 0.68-0.71 against misconceptions); the LLM judge is
            the tool for catching wrong statements.
        named_only_credit: credit for a concept that is named but never explained (a covered
            concept earns 1, one partly explained by meaning 0.5).
        full_marks_share: share of the rubric's weight that earns 100. A strong 2-minute answer
            covers most concepts, not all; the rubric lists more than anyone says at once.
    """

    alias_min_ratio: float = 85.0
    meaning_partial: float = 0.55
    meaning_covered: float = 0.68
    meaning_with_alias: float = 0.45
    misconception_min: float = 0.72
    full_marks_share: float = 0.6
    named_only_credit: float = 0.25


# Words that show a sentence explains or relates things rather than listing them.
_EXPLAINING_WORDS = """
is are was were means mean lets let keeps keep uses use used so because when which that if can
could will would to instead than then since while by without where who how why does do did
reduces avoids helps makes gives
"""
_EXPLAINING = frozenset(_EXPLAINING_WORDS.split())


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
class ConceptAssessment:
    results: tuple[ConceptResult, ...]
    score: int  # weighted coverage 0-100 before penalties
    misconceptions: tuple[tuple[str, str], ...]  # (concept label, the candidate's sentence)
    list_like_share: float  # share of named concepts that were only named in lists
    named_terms: tuple[str, ...]  # aliases found in list-like sentences, for tips


_stemmer = snowballstemmer.stemmer("english")


def stem_tokens(text: str) -> list[str]:
    """Normalised, Snowball-stemmed words ("reuses connections" -> ["reus", "connect"])."""
    return list(_stemmer.stemWords(normalize_text(text).split()))


def _token_positions(token: str, tokens: list[str], min_ratio: float) -> list[int]:
    if len(token) <= 3:  # short words and acronyms (tls, jwt, 401) must match exactly
        return [i for i, t in enumerate(tokens) if t == token]
    found = process.extract(token, tokens, scorer=fuzz.ratio, score_cutoff=min_ratio, limit=None)
    return [index for _, _, index in found]


def alias_in(alias: list[str], tokens: list[str], min_ratio: float) -> bool:
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
    for n in (1, 2, 3):
        for i in range(len(tokens) - n + 1):
            if fuzz.ratio(joined, "".join(tokens[i : i + n])) >= min_ratio:
                return True
    return False


def assess_concepts(
    question: Question,
    sentences: list[TimedSentence],
    embedder: Embedder,
    options: ConceptOptions | None = None,
) -> ConceptAssessment:
    opts = options or ConceptOptions()
    concepts: tuple[Concept, ...] = question.concepts
    if not sentences:
        empty = tuple(
            ConceptResult(
                id=c.id, label=c.label, status="missing", required=c.required, weight=c.weight
            )
            for c in concepts
        )
        return ConceptAssessment(empty, 0, (), 0.0, ())
    sent_vecs = embedder.embed([s.text for s in sentences])
    sent_tokens = [stem_tokens(s.text) for s in sentences]
    explanatory = [is_explanatory(s.text) for s in sentences]
    results: list[ConceptResult] = []
    misconceptions: list[tuple[str, str]] = []
    named_only_in_lists = 0
    named = 0
    list_terms: list[str] = []
    total_weight = sum(c.weight for c in concepts) or 1.0
    earned = 0.0
    for c in concepts:
        sims = cosine_matrix(sent_vecs, embedder.embed([*c.paraphrases, c.label])).max(axis=1)
        best_i = int(np.argmax(sims))
        best_sim = float(sims[best_i])
        alias_sentences: dict[int, str] = {}
        for alias in c.aliases:
            stems = stem_tokens(alias)
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
            if not explained_hits:
                named_only_in_lists += 1
                list_terms.extend(alias_sentences.values())
        credit = {"covered": 1.0, "partial": 0.5, "missing": 0.0}[status]
        if status == "partial" and match == "alias":
            credit = opts.named_only_credit  # named, never explained
        earned += c.weight * credit
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
                weight=c.weight,
                match=match,
            )
        )
        if c.misconceptions:
            mis = cosine_matrix(sent_vecs, embedder.embed(list(c.misconceptions)))
            row, col = (int(x) for x in np.unravel_index(int(np.argmax(mis)), mis.shape))
            worst = float(mis[row, col])
            if worst >= opts.misconception_min and worst > float(sims[row]):
                misconceptions.append((c.label, sentences[row].text))
    return ConceptAssessment(
        results=tuple(results),
        score=round(min(100.0, 100 * earned / (opts.full_marks_share * total_weight))),
        misconceptions=tuple(misconceptions),
        list_like_share=named_only_in_lists / named if named else 0.0,
        named_terms=tuple(dict.fromkeys(list_terms)),
    )
