"""What the speech recogniser returns: a concrete, serialisable transcript.

Pydantic models so that a transcript saved in a session (or printed with ``--json``) can be read
back and validated. Times are in seconds from the start of the answer audio.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Segment", "Transcript", "Word", "merge_follow_up", "merge_transcripts"]


_EPS = 1e-3  # s: a word that starts this close to a segment's end belongs to the next one


class Word(BaseModel):
    """One recognised word with its time range and the model's probability for it."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(
        description="The word as written by the recogniser, without surrounding spaces."
    )
    start_s: float
    end_s: float
    probability: float = Field(ge=0.0, le=1.0)


class Segment(BaseModel):
    """A stretch of speech the recogniser decoded as one unit (roughly a sentence or phrase)."""

    model_config = ConfigDict(frozen=True)

    text: str
    start_s: float
    end_s: float
    words: tuple[Word, ...] = ()
    avg_logprob: float | None = None
    no_speech_prob: float | None = None

    def shifted(self, offset_s: float) -> Segment:
        """This segment with its own and its words' times moved by ``offset_s`` seconds."""
        return self.model_copy(
            update={
                "start_s": self.start_s + offset_s,
                "end_s": self.end_s + offset_s,
                "words": tuple(
                    w.model_copy(
                        update={"start_s": w.start_s + offset_s, "end_s": w.end_s + offset_s}
                    )
                    for w in self.words
                ),
            }
        )


class Transcript(BaseModel):
    """A finished transcript: text, segments, words, and how it was produced."""

    model_config = ConfigDict(frozen=True)

    text: str
    segments: tuple[Segment, ...] = ()
    duration_s: float = Field(ge=0.0, description="Length of the audio that was transcribed.")
    language: str | None = None
    model: str = Field(description="Model name or path that produced it; 'text' for typed answers.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="The effective options used (echoed, never ignored)."
    )
    discarded: tuple[Segment, ...] = Field(
        default=(),
        description="Segments dropped as recogniser inventions (kept for inspection).",
    )

    @property
    def words(self) -> tuple[Word, ...]:
        return tuple(w for s in self.segments for w in s.words)

    @classmethod
    def from_text(cls, text: str) -> Transcript:
        """A transcript for a typed answer: text only, no timing."""
        clean = " ".join(text.split())
        return cls(text=clean, duration_s=0.0, model="text")

    @classmethod
    def from_json_dict(cls, data: dict[str, Any]) -> Transcript:
        """The transcript back from :meth:`to_json_dict`'s shape.

        That shape lists the words flat and the segments without their words; each word goes
        back into the segment whose time range holds its start (the last segment takes any
        left over; words with no segment at all get one of their own).

        Raises:
            ValueError: not a transcript object (pydantic's ValidationError is one).
        """
        if not isinstance(data, dict):
            raise ValueError("a transcript must be a JSON object")
        words = [Word.model_validate(w) for w in data.get("words") or ()]
        raw_segments = data.get("segments") or []
        segments: list[Segment] = []
        k = 0
        for n, seg in enumerate(raw_segments):
            last = n == len(raw_segments) - 1
            mine = []
            while k < len(words) and (last or words[k].start_s < float(seg["end_s"]) - _EPS):
                mine.append(words[k])
                k += 1
            segments.append(
                Segment(
                    text=seg["text"], start_s=seg["start_s"], end_s=seg["end_s"], words=tuple(mine)
                )
            )
        if k < len(words):
            segments.append(
                Segment(
                    text=data.get("text", ""),
                    start_s=words[k].start_s,
                    end_s=words[-1].end_s,
                    words=tuple(words[k:]),
                )
            )
        return cls(
            text=data.get("text", ""),
            segments=tuple(segments),
            duration_s=data.get("duration_s") or 0.0,
            language=data.get("language"),
            model=data.get("model") or "unknown",
            options=data.get("options") or {},
            discarded=tuple(Segment.model_validate(d) for d in data.get("discarded") or ()),
        )

    def to_json_dict(self) -> dict[str, Any]:
        """The documented JSON shape (``transcribe --json`` and the evaluator's ``transcript``)."""
        return {
            "text": self.text,
            "duration_s": round(self.duration_s, 3),
            "language": self.language,
            "model": self.model,
            "words": [
                {
                    "text": w.text,
                    "start_s": round(w.start_s, 3),
                    "end_s": round(w.end_s, 3),
                    "probability": round(w.probability, 4),
                }
                for w in self.words
            ],
            "segments": [
                {"text": s.text, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3)}
                for s in self.segments
            ],
            "options": self.options,
            "discarded": [
                {"text": s.text, "start_s": round(s.start_s, 3), "end_s": round(s.end_s, 3)}
                for s in self.discarded
            ],
        }


def merge_transcripts(parts: list[tuple[float, Transcript]], duration_s: float) -> Transcript:
    """Join transcripts of consecutive stretches of one answer into one transcript.

    Each part comes with its offset in seconds from the start of the answer; segment and word
    times are shifted by it. Options, model and language come from the first part.
    """
    if not parts:
        raise ValueError("merge_transcripts() needs at least one part")
    segments: list[Segment] = []
    discarded: list[Segment] = []

    floor = -math.inf  # start of the latest word so far
    for offset, part in sorted(parts, key=lambda p: p[0]):
        for segment in part.segments:
            segments.append(_not_before(segment.shifted(offset), floor))
            floor = max([floor, *(w.start_s for w in segments[-1].words[-1:])])
        discarded += [s.shifted(offset) for s in part.discarded]
    first = parts[0][1]
    return Transcript(
        text=" ".join(s.text for s in segments if s.text).strip(),
        segments=tuple(segments),
        duration_s=duration_s,
        language=first.language,
        model=first.model,
        options={**first.options, "streamed_stretches": len(parts)},
        discarded=tuple(discarded),
    )


def _not_before(segment: Segment, floor: float) -> Segment:
    """Keep word times in order across parts: the recogniser may time a word at the very end of
    a piece cut inside speech a little past where the next piece's first word starts, so no
    word of ``segment`` starts before ``floor``."""
    if not segment.words or segment.words[0].start_s >= floor:
        return segment
    words = []
    for w in segment.words:
        start = max(w.start_s, floor)
        words.append(w.model_copy(update={"start_s": start, "end_s": max(w.end_s, start)}))
        floor = start
    start = max(segment.start_s, words[0].start_s)
    return segment.model_copy(
        update={"words": tuple(words), "start_s": start, "end_s": max(segment.end_s, start)}
    )


def merge_follow_up(main: Transcript, extra: Transcript) -> Transcript:
    """The main answer followed by the answer to its follow-up, as one transcript (the
    follow-up's times shifted past the main answer): what a follow-up is scored on."""
    return merge_transcripts(
        [(0.0, main), (main.duration_s, extra)], main.duration_s + extra.duration_s
    )
