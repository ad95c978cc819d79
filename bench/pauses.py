"""Pause benchmark: thinking pauses at random word boundaries, in answers the policy never saw.

Usage: ``.venv/bin/python bench/pauses.py [--set dev|blind] [--reply-after-s S]``.

Each set is made from a fixed seed (``SEEDS``, fixed before any tuning; ``blind`` must not be
tuned on: its first figures are recorded as ``pauses-blind-first-<date>``):

* 24 typed answers of labeled sets (dev and blind draw from different files), each spoken in
  one of several voices: Piper (joe, three speeds) and espeak-ng (five English voices, two
  speeds); half of them end with a closing phrase ("That's my answer.");
* 6 answers of real human speech (``tests/data/real-speech``, three clips joined);
* two pauses per answer, 3-8 s (uniform), each at a random word boundary of a kind drawn at
  random: mid-sentence, between sentences, or (behavioral answers) after a STAR part (where the
  evaluator's sentence label changes). Real speech: word times from the recogniser; inserted
  pauses carry noise at the clip's own floor.

Every answer runs through the real practice loop (one question, no follow-up, Silero VAD,
Smart Turn, tiny.en, the default turn policy) from a file-fed microphone read at full speed:
the endpointer is timed by samples, and the streaming transcription is waited for at every
pause, so the turn decisions are those of a machine that transcribes instantly. The time
figures here are in the answer's own samples (when the interviewer would speak), not CPU
latency; ``bench/turn_taking.py`` plays answers in real time for that.

Per pause: cut (the turn ended for good inside it: the candidate's next words came after the
interviewer started), lost seconds (speech after the end). Per answer: talk-overs (interviewer
audio, a nudge or the next question, overlapping the candidate's speech), provisional ends,
last word -> interviewer speaks (sample time), word error of the saved transcript and of
batch-scoring the saved ``answer.wav`` against what was said.
``--barge-in``: the interviewer's sounds take sample time (``SampleClockSpeaker``) and the
microphone listens over them, as practice does with echo cancellation: barge-in and late
resume (``Interview.say``) are in the figures, and talk-overs are measured, not inferred.
Writes ``bench/results/pauses-<set>-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

RATE = 16_000
LEAD_S = 1.0
SEEDS = {"dev": 11, "blind": 20261207}  # fixed on 2026-12-07, before any tuning
FILES = {
    "dev": ["evaluator_devset2.jsonl", "evaluator_devset4.jsonl", "evaluator_devset6.jsonl"],
    "blind": ["evaluator_devset11.jsonl", "evaluator_devset13.jsonl", "evaluator_final.jsonl"],
}
CLOSING = "That's my answer."
PIPER_SPEEDS = (0.95, 1.1, 1.25)
ESPEAK_VOICES = ("en-us", "en-gb", "en-gb-scotland", "en-029", "en-gb-x-rp")


@dataclass
class Case:
    name: str
    voice: str
    question: str
    audio: Any
    reference: str
    speech: list[tuple[float, float]]  # speech intervals, s from the file start
    pauses: list[tuple[str, float, float]]  # (kind, start s, end s)
    done_cue: bool = False
    info: dict[str, Any] = field(default_factory=dict)


def _espeak(text: str, voice: str, speed: int) -> Any:
    from voice_interview.adapters.audio_files import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "e.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text],
            check=True,
            capture_output=True,
        )
        return load_audio(out).resampled(RATE)


def _span(samples: np.ndarray, floor: float = 0.01) -> tuple[float, float]:
    loud = np.flatnonzero(np.abs(samples) > floor)
    if not loud.size:
        return 0.0, 0.0
    return loud[0] / RATE, (loud[-1] + 1) / RATE


def _trim(samples: np.ndarray) -> np.ndarray:
    a, b = _span(samples)
    return samples[max(0, round((a - 0.15) * RATE)) : round((b + 0.15) * RATE)]


def _silence(seconds: float, noise_rms: float, rng: np.random.Generator) -> np.ndarray:
    n = round(seconds * RATE)
    return (rng.standard_normal(n) * noise_rms).astype(np.float32)


def _assemble(
    parts: list[np.ndarray], gaps: list[tuple[str, float]], noise_rms: float, seed: int
) -> tuple[np.ndarray, list[tuple[float, float]], list[tuple[str, float, float]]]:
    rng = np.random.default_rng(seed)
    pieces = [_silence(LEAD_S, noise_rms, rng)]
    t = LEAD_S
    speech: list[tuple[float, float]] = []
    pauses: list[tuple[str, float, float]] = []
    for i, part in enumerate(parts):
        a, b = _span(part)
        speech.append((t + a, t + b))
        pieces.append(part.astype(np.float32))
        t += part.shape[0] / RATE
        if i < len(gaps):
            kind, seconds = gaps[i]
            pauses.append((kind, t, t + seconds))
            pieces.append(_silence(seconds, noise_rms, rng))
            t += seconds
    pieces.append(_silence(0.3, noise_rms, rng))
    return np.concatenate(pieces), speech, pauses


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+", " ".join(text.split())) if s]


def _boundaries(sentences: list[str], labels: list[str] | None) -> dict[str, list[tuple[int, int]]]:
    """Word boundaries by kind, as (sentence, word index after which to pause)."""
    kinds: dict[str, list[tuple[int, int]]] = {
        "mid-sentence": [],
        "between-sentences": [],
        "after-star-part": [],
    }
    for i, sentence in enumerate(sentences):
        n = len(sentence.split())
        kinds["mid-sentence"] += [(i, k) for k in range(2, n - 1)]
        if i < len(sentences) - 1:
            star = labels is not None and labels[i] != labels[i + 1] and labels[i] != "other"
            kinds["after-star-part" if star else "between-sentences"].append((i, n))
    return {k: v for k, v in kinds.items() if v}


def _split(sentences: list[str], cuts: list[tuple[int, int]]) -> list[str]:
    words: list[str] = []
    ends: list[int] = []
    for s in sentences:
        words += s.split()
        ends.append(len(words))
    flat = sorted((ends[i] - len(sentences[i].split()) + k) for i, k in cuts)
    parts, prev = [], 0
    for at in flat:
        parts.append(" ".join(words[prev:at]))
        prev = at
    parts.append(" ".join(words[prev:]))
    return parts


def typed_cases(which: str, count: int = 24) -> list[Case]:
    from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
    from voice_interview.content.banks import load_bank
    from voice_interview.core.transcript import Transcript
    from voice_interview.scoring.evaluator import LocalEvaluator

    rng = random.Random(SEEDS[which])
    bank = load_bank()
    evaluator = LocalEvaluator(bank)
    rows: list[dict[str, Any]] = []
    for name in FILES[which]:
        path = REPO / "tests" / "data" / name
        rows += [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    rows = [r for r in rows if int(r.get("grade", 0)) >= 1 and 50 <= len(r["text"].split()) <= 260]
    rng.shuffle(rows)
    cases: list[Case] = []
    for i, row in enumerate(rows[:count]):
        question = bank.question(row["question_id"])
        sentences = _sentences(row["text"])
        if len(sentences) < 3:
            continue
        labels = None
        if question.kind == "behavioral":
            ev = evaluator.evaluate(Transcript.from_text(row["text"]), question)
            found = [s.label for s in ev.star_sentences or ()]
            labels = found if len(found) == len(sentences) else None
        kinds = _boundaries(sentences, labels)
        cuts: list[tuple[int, int]] = []
        gaps: list[tuple[str, float]] = []
        while len(cuts) < 2:
            kind = rng.choice(sorted(kinds))
            cut = rng.choice(kinds[kind])
            if cut in cuts:
                continue
            cuts.append(cut)
            gaps.append((kind, round(rng.uniform(3.0, 8.0), 2)))
        order = sorted(range(2), key=lambda j: cuts[j])
        cuts = [cuts[j] for j in order]
        gaps = [gaps[j] for j in order]
        done = i % 2 == 0
        parts = _split(sentences, cuts)
        if done:
            parts[-1] = f"{parts[-1]} {CLOSING}"
        if i % 3 == 0:
            speed = PIPER_SPEEDS[(i // 3) % len(PIPER_SPEEDS)]
            voice = f"piper@{speed}"
            piper = PiperSynthesizer(
                SpeechOptions(length_scale=speed, noise_scale=0.4, noise_w_scale=0.6)
            )
            audio = [piper.synthesize(p).resampled(RATE).samples for p in parts]
        else:
            v = ESPEAK_VOICES[i % len(ESPEAK_VOICES)]
            speed = 150 if i % 2 else 175
            voice = f"espeak:{v}@{speed}"
            audio = [_espeak(p, v, speed).samples for p in parts]
        audio = [_trim(a) for a in audio]
        samples, speech, pauses = _assemble(audio, gaps, 0.0, SEEDS[which] + i)
        reference = " ".join(parts)
        cases.append(
            Case(
                f"{which}-{i:02d}-{row['id']}",
                voice,
                question.id,
                samples,
                reference,
                speech,
                pauses,
                done,
            )
        )
    return cases


def real_cases(which: str, count: int = 6) -> list[Case]:
    from asr import load_real_speech  # bench/asr.py

    from voice_interview.adapters.whisper import TranscribeOptions, WhisperTranscriber
    from voice_interview.core.audio import Audio

    rng = random.Random(SEEDS[which] + 1)
    clips = [(a.resampled(RATE).samples, ref) for a, ref in load_real_speech()]
    asr = WhisperTranscriber(TranscribeOptions(model="tiny.en", domain_prompt=False))
    cases: list[Case] = []
    for i in range(count):
        chosen = rng.sample(range(len(clips)), 3)
        gap = np.zeros(round(0.6 * RATE), np.float32)
        joined = np.concatenate([x for j in chosen for x in (clips[j][0], gap)])
        reference = " ".join(clips[j][1] for j in chosen)
        frames = joined[: joined.shape[0] // 320 * 320].reshape(-1, 320)
        rms = np.sqrt(np.mean(frames**2, axis=1))
        floor = float(np.percentile(rms[rms > 0], 5)) if np.any(rms > 0) else 1e-4
        words = asr.transcribe(Audio(joined, RATE)).words
        inner = list(itertools.pairwise(words[1:-1]))
        picks = sorted(rng.sample(inner, 2), key=lambda ab: ab[0].end_s)
        parts, prev = [], 0
        gaps: list[tuple[str, float]] = []
        for a, b in picks:
            at = round((a.end_s + b.start_s) / 2 * RATE)
            parts.append(joined[prev:at])
            prev = at
            kind = "between-sentences" if a.text.strip()[-1:] in ".!?" else "mid-sentence"
            gaps.append((kind, round(rng.uniform(3.0, 8.0), 2)))
        parts.append(joined[prev:])
        samples, speech, pauses = _assemble(parts, gaps, floor, SEEDS[which] + 100 + i)
        cases.append(
            Case(
                f"{which}-real-{i}",
                "real",
                "caching-strategies",
                samples,
                reference,
                speech,
                pauses,
            )
        )
    return cases


TALK_OVER_S = 0.5
"""``--barge-in``: a talk-over is the interviewer sounding this long or longer over the
candidate's speech (barge-in stops it about 0.3 s after their first word: that is yielding,
not talking over); every overlap is reported in ``over_speech_s``."""


def run_case(
    case: Case,
    interview_parts: dict[str, Any],
    reply_after_s: float | None,
    realtime: float = 0.0,
    barge_in: bool = False,
) -> dict:
    import time

    import jiwer
    from sample_clock import CountingMic, SampleClockSpeaker, over  # tests/sample_clock.py

    from voice_interview.adapters.audio_files import load_audio
    from voice_interview.core.audio import Audio
    from voice_interview.core.endpointing import EndpointOptions
    from voice_interview.core.text import normalize_text
    from voice_interview.practice import interview as iv
    from voice_interview.practice.display import PlainDisplay
    from voice_interview.store.sessions import SessionStore

    bank = interview_parts["bank"]
    pipeline = interview_parts["pipeline"]
    question = bank.question(case.question)
    seals: list[int] = []
    nudges: list[tuple[int, float]] = []
    feedbacks: list[tuple[int, bool]] = []
    feedback_at: list[tuple[float, bool]] = []  # (monotonic, final), for --realtime
    sealed_at: list[float] = []
    mics: list[Any] = []
    current: list[Any] = []
    real_run, real_seal = iv._OpenAnswer.run, iv._OpenAnswer.seal

    def run(self: Any) -> Any:
        current[:] = [self]
        if barge_in:  # the question was said (muted); from now on the microphone listens
            self.mic.echo_cancelled = True
        return real_run(self)

    def seal(self: Any) -> None:
        seals.append(self.total)
        sealed_at.append(time.monotonic())
        real_seal(self)

    class Display(PlainDisplay):
        def feedback(self, evaluation: Any, latency_s: Any, final: bool = True) -> None:
            feedbacks.append((current[0].total if current else 0, final))
            feedback_at.append((time.monotonic(), final))

    iv._OpenAnswer.run, iv._OpenAnswer.seal = run, seal  # type: ignore[method-assign]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            speaker = interview_parts["speaker"]
            if barge_in:
                speaker = SampleClockSpeaker()

            @contextmanager
            def microphone(q: Any, follow_up: bool) -> Any:
                with CountingMic(
                    Audio(case.audio, RATE), realtime=realtime, trailing_silence_s=20.0
                ) as mic:
                    mics.append(mic)
                    if barge_in:
                        speaker.mic = mic
                    yield mic

            session = SessionStore(Path(tmp)).create(bank, [question.id], {"bench": True})
            options = iv.PracticeOptions(questions=1, follow_up=False, model="tiny.en")
            endpointing = EndpointOptions()
            if reply_after_s is not None:
                endpointing = replace(endpointing, reply_after_s=reply_after_s)
            interview = iv.Interview(
                bank=bank,
                options=options,
                pipeline=pipeline,
                voice=interview_parts["voice"],
                speaker=speaker,
                microphone=microphone,
                detector=interview_parts["detector"],
                display=Display(out=open("/dev/null", "w")),  # noqa: SIM115
                session=session,
                turn=interview_parts["turn"],
                endpointing=endpointing,
            )
            real_nudge = interview.nudge

            def nudge(mic: Any) -> Any:
                text = interview.rules.nudges[interview.nudges % len(interview.rules.nudges)]
                nudges.append((current[0].total, interview.voice.synthesize(text).duration_s))
                return real_nudge(mic)

            interview.nudge = nudge  # type: ignore[method-assign]
            rnd = next(r for r in bank.rounds if any(q.id == question.id for q in r.questions))
            interview.run([(rnd, question)])
            folder = next(session.folder.glob("q01-*"))
            saved = json.loads((folder / "transcript.json").read_text())["text"]
            batch = pipeline.transcribe(load_audio(folder / "answer.wav"), question).text
            recorded_s = load_audio(folder / "answer.wav").duration_s
    finally:
        iv._OpenAnswer.run, iv._OpenAnswer.seal = real_run, real_seal  # type: ignore[method-assign]
    end_s = seals[0] / RATE if seals else float("inf")
    last_word = case.speech[-1][1]
    lost = sum(max(0.0, b - max(a, end_s)) for a, b in case.speech)
    pause_rows = [
        {"kind": kind, "pause_s": round(b - a, 2), "cut": a <= end_s < b + 1e-3}
        for kind, a, b in case.pauses
    ]
    played: dict[str, Any] = {}
    if barge_in:  # what the interviewer's sounds overlapped, in sample time
        overs = over(speaker.plays, case.speech)
        talk_overs = sum(1 for o in overs if o >= TALK_OVER_S)
        played = {
            "plays": len(speaker.plays),
            "over_speech_s": round(sum(overs), 2),
            "late_resumes": interview.late_resumes,
            "barge_ins": interview.speaking.barge_ins,
        }
    else:
        talk_overs = sum(
            1
            for at, d in nudges
            for a, b in case.speech
            if a < at / RATE + d and at / RATE < b  # a nudge over the candidate
        ) + (1 if lost > 0 else 0)  # the next question over the candidate's next words
    ref = normalize_text(case.reference)
    wall: dict[str, Any] = {}
    if realtime and mics and mics[0]._opened_at is not None:
        # wall clock: when the last word had been heard (the file-fed mic's own schedule)
        heard = mics[0]._opened_at + last_word / realtime
        after = [(t - heard, final) for t, final in feedback_at if t >= heard]
        quick = next((d for d, final in after if not final), None)
        final_at = next((d for d, final in after if final), None)
        wall = {
            "wall_to_first_feedback_s": round(min(d for d, _ in after), 2) if after else None,
            "wall_to_quick_feedback_s": None if quick is None else round(quick, 2),
            "wall_to_final_feedback_s": None if final_at is None else round(final_at, 2),
            "wall_to_next_s": round(sealed_at[0] - heard, 2) if sealed_at else None,
        }
    return {
        "case": case.name,
        "voice": case.voice,
        "question": case.question,
        "done_cue": case.done_cue,
        "pauses": pause_rows,
        "lost_s": round(lost, 2),
        "talk_overs": talk_overs,
        "nudges": len(nudges),
        "provisional_ends": sum(1 for _, final in feedbacks if not final),
        "last_word_to_interviewer_s": round(end_s - last_word, 2),
        "recorded_s": round(recorded_s, 2),
        "audio_s": round(case.audio.shape[0] / RATE, 2),
        "wer_saved": round(jiwer.wer(ref, normalize_text(saved)), 4),
        "wer_batch": round(jiwer.wer(ref, normalize_text(batch)), 4),
        **played,
        **wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", default="dev", choices=sorted(SEEDS))
    parser.add_argument("--reply-after-s", type=float, default=None)
    parser.add_argument("--label", default="")
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="play each answer in real time (wall-clock latency of feedback and final score)",
    )
    parser.add_argument(
        "--barge-in",
        action="store_true",
        help="the interviewer's sounds last in sample time and the microphone listens over "
        "them (barge-in, late resume); talk-overs: the interviewer >= 0.5 s over speech",
    )
    parser.add_argument(
        "--limit", type=int, default=0, help="only the first N typed answers and N/4 real ones"
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    from asr import cpu_name  # bench/asr.py

    from voice_interview.adapters.piper import PiperSynthesizer
    from voice_interview.adapters.turn import SmartTurnDetector
    from voice_interview.adapters.vad import SileroSpeechDetector
    from voice_interview.adapters.whisper import available_cores
    from voice_interview.content.banks import load_bank
    from voice_interview.core.endpointing import EndpointOptions
    from voice_interview.pipeline import build_pipeline
    from voice_interview.practice.wiring import SilentSpeaker

    typed, real = typed_cases(args.set), real_cases(args.set)
    if args.limit:
        typed, real = typed[: args.limit], real[: max(1, args.limit // 4)]
    cases = typed + real
    bank = load_bank()
    pipeline = build_pipeline("tiny.en", bank)
    turn = SmartTurnDetector()
    turn.load()
    parts = {
        "bank": bank,
        "pipeline": pipeline,
        "voice": PiperSynthesizer(),
        "speaker": SilentSpeaker(),
        "detector": SileroSpeechDetector,
        "turn": turn,
    }
    rows = []
    for case in cases:
        rows.append(
            run_case(case, parts, args.reply_after_s, 1.0 if args.realtime else 0.0, args.barge_in)
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)

    pauses = [p for r in rows for p in r["pauses"]]
    cut = sum(p["cut"] for p in pauses)
    gaps = [r["wer_saved"] - r["wer_batch"] for r in rows]
    cue = [r["last_word_to_interviewer_s"] for r in rows if r["done_cue"] and not r["lost_s"]]
    nocue = [r["last_word_to_interviewer_s"] for r in rows if not r["done_cue"] and not r["lost_s"]]

    def med(xs: list[float]) -> str:
        return f"{statistics.median(xs):.2f} s" if xs else "-"

    def p90(xs: list[float]) -> str:
        return f"{float(np.percentile(xs, 90)):.2f} s" if xs else "-"

    reply = args.reply_after_s if args.reply_after_s is not None else EndpointOptions.reply_after_s
    by_kind = {}
    for kind in sorted({p["kind"] for p in pauses}):
        these = [p for p in pauses if p["kind"] == kind]
        by_kind[kind] = f"{sum(p['cut'] for p in these)}/{len(these)}"
    summary = {
        "set": args.set,
        "seed": SEEDS[args.set],
        "reply_after_s": reply,
        "answers": len(rows),
        "pause_cases": len(pauses),
        "cut": cut,
        "cut_by_kind": by_kind,
        "talk_overs": sum(r["talk_overs"] for r in rows),
        "lost_s": round(sum(r["lost_s"] for r in rows), 2),
        "nudges": sum(r["nudges"] for r in rows),
        "provisional_ends": sum(r["provisional_ends"] for r in rows),
        "cue_interviewer_median": med(cue),
        "cue_interviewer_p90": p90(cue),
        "nocue_interviewer_median": med(nocue),
        "nocue_interviewer_p90": p90(nocue),
        "wer_saved_mean": round(statistics.mean(r["wer_saved"] for r in rows), 4),
        "wer_batch_mean": round(statistics.mean(r["wer_batch"] for r in rows), 4),
        "wer_gap_max": round(max(gaps), 4),
    }
    if args.barge_in:
        summary["over_speech_s"] = round(sum(r["over_speech_s"] for r in rows), 2)
        summary["over_speech_max_s"] = max(r["over_speech_s"] for r in rows)
        summary["late_resumes"] = sum(r["late_resumes"] for r in rows)
        summary["barge_ins"] = sum(r["barge_ins"] for r in rows)
    if args.realtime:
        for cue_name, cue_rows in (
            ("cue", [r for r in rows if r["done_cue"] and not r["lost_s"]]),
            ("nocue", [r for r in rows if not r["done_cue"] and not r["lost_s"]]),
        ):
            for key in ("first_feedback", "quick_feedback", "final_feedback", "next"):
                xs = [r[f"wall_to_{key}_s"] for r in cue_rows]
                xs = [x for x in xs if x is not None]
                summary[f"wall_{cue_name}_{key}_median"] = med(xs)
                summary[f"wall_{cue_name}_{key}_p90"] = p90(xs)
    stamp = f"{datetime.now(UTC):%Y-%m-%d}"
    modes = ("realtime" if args.realtime else "", "bargein" if args.barge_in else "", args.label)
    label = "-".join(x for x in modes if x)
    name = f"pauses-{args.set}{'-' + label if label else ''}-{stamp}"
    lines = [
        f"# Pause benchmark, set {args.set} (seed {SEEDS[args.set]}), {stamp}",
        "",
        f"CPU: {cpu_name()}; cores: {available_cores()}; python {platform.python_version()}; "
        "tiny.en, Silero VAD, Smart Turn; file-fed microphone "
        + (
            "in real time (wall_* figures: wall clock from the last word being heard)."
            if args.realtime
            else "at full speed (sample time)."
        ),
        f"Policy: defaults, reply_after_s = {reply} s. Targets: <= 1 cut in 60 pause cases, "
        "0 talk-overs, 0 s lost, saved-transcript WER within 2 points of batch.",
        *(
            [
                "",
                "Barge-in mode: the interviewer's sounds (nudges, the next words) last in sample "
                "time and the microphone listens over them; speech within "
                "BargeInOptions.resume_s of their start reopens the answer (late resume). A "
                f"talk-over is the interviewer sounding >= {TALK_OVER_S} s over speech; "
                "over_speech_s sums every overlap.",
            ]
            if args.barge_in
            else []
        ),
        "",
        "| figure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in summary.items()],
        "",
        "Last word -> interviewer speaks is in the answer's samples (when it would speak), not "
        "CPU latency.",
        "",
        "| answer | voice | cue | pauses (kind s: cut?) | lost s | talk-overs | nudges | "
        "provisional ends | last word -> interviewer | WER saved / batch |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ps = "; ".join(
            f"{p['kind']} {p['pause_s']:.1f}: {'CUT' if p['cut'] else 'ok'}" for p in r["pauses"]
        )
        lines.append(
            f"| {r['case']} | {r['voice']} | {'yes' if r['done_cue'] else 'no'} | {ps} | "
            f"{r['lost_s']} | {r['talk_overs']} | {r['nudges']} | {r['provisional_ends']} | "
            f"{r['last_word_to_interviewer_s']:.2f} s | {r['wer_saved']:.3f} / "
            f"{r['wer_batch']:.3f} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.md").write_text(text)
    (out / f"{name}.json").write_text(json.dumps({"summary": summary, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
