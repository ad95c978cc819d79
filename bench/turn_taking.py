"""Turn-taking benchmark: does the interviewer wait through thinking pauses, and answer fast?

Usage: ``.venv/bin/python bench/turn_taking.py [--runs new:tiny.en new:base old:tiny.en
pipecat:tiny.en] [--set bench|dev2|blind]``.

Answers (made in the same run, the same for every policy):

* real human speech (tests/data/real-speech): clips joined into answers to a technical
  question, finished, or with a pause of 3-8 s inserted mid-sentence (at a word boundary found
  by the recogniser in the middle of a clip) or between sentences early in the answer;
* the sample answers of ``prompts/samples/answers.toml`` spoken by Piper (joe) and by espeak-ng
  (a second, robotic voice): finished, or with a pause mid-sentence (the sentence in the middle
  of the answer, split at its middle word), between sentences mid-story (after the situation,
  before any action) or between sentences early in a technical answer.

``--set dev2`` / ``--set blind``: typed answers of a labeled set spoken the same way (see
:func:`labeled_cases`; ``bench/turn_signals.py`` says which set may be tuned on).

Each answer is played in real time through the file-fed microphone into the real practice loop
(one question, no follow-up), 1 s of silence before it. Policies, each in a fresh subprocess:

* ``new``: the default (Silero VAD + Smart Turn + the transcript's content, 8.5 s longest wait);
* ``old``: the fixed rule before this change: the answer ends after 3 s of silence;
* ``pipecat``: pipecat's style: 0.2 s of silence, then Smart Turn decides; 3 s when it says
  the turn is not over (no content awareness).

Measured per answer: whether the interviewer's next audio (here: the closing summary) started
before the candidate's last word (a false cut), premature closes that reopening recovered,
last word -> feedback (the score on screen), last word -> the interviewer's next audio, how
much of the candidate's voice is not yet captioned while they speak (speech seconds, pauses not
counted), the CPU of
listening (VAD + turn model, % of one core) and of the recogniser (x real time), and whether
any interviewer audio (a nudge, the summary) overlapped the candidate's speech.
Writes ``bench/results/turn-taking-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

RATE = 16_000
LEAD_S = 1.0


@dataclass
class Case:
    name: str
    kind: str  # finished | mid-sentence | mid-story | early-technical
    voice: str  # real | piper | espeak
    question: str
    audio: Any  # Audio at 16 kHz
    speech: list[tuple[float, float]]  # candidate speech intervals, s from the audio start
    pause_s: float = 0.0


def _speech_span(samples: np.ndarray, floor: float = 0.01) -> tuple[float, float]:
    loud = np.flatnonzero(np.abs(samples) > floor)
    if not loud.size:
        return 0.0, 0.0
    return loud[0] / RATE, (loud[-1] + 1) / RATE


def _join(parts: list[Any], gaps: list[float]) -> tuple[Any, list[tuple[float, float]]]:
    """Lead-in silence, the parts with the given gaps between them; their speech intervals."""
    from voice_interview.core.audio import Audio, concatenate

    pieces = [Audio.silence(LEAD_S, RATE)]
    spans = []
    t = LEAD_S
    for i, part in enumerate(parts):
        a, b = _speech_span(part.samples)
        spans.append((t + a, t + b))
        pieces.append(part)
        t += part.duration_s
        if i < len(gaps):
            pieces.append(Audio.silence(gaps[i], RATE))
            t += gaps[i]
    return concatenate(pieces), spans


def _piece(samples: np.ndarray) -> Any:
    from voice_interview.core.audio import Audio

    return Audio(np.ascontiguousarray(samples, dtype=np.float32), RATE)


def _trim(audio: Any) -> Any:
    """Cut a voice's own leading/trailing silence down to 0.15 s, so inserted pauses are the
    pauses said."""
    a, b = _speech_span(audio.samples)
    lo, hi = max(0, round((a - 0.15) * RATE)), round((b + 0.15) * RATE)
    return _piece(audio.samples[lo:hi])


def _espeak(text: str) -> Any:
    from voice_interview.adapters.audio_files import load_audio

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "e.wav"
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "160", "-w", str(out), text],
            check=True,
            capture_output=True,
        )
        return load_audio(out).resampled(RATE)


def _sentences(text: str) -> list[str]:
    """The sentences of ``text``; the sample answers' "..." pause marks are dropped (the bench
    inserts its own pauses), so that a mark is never taken for a sentence."""
    import re

    text = re.sub(r"\s*\.\.\.(?=\s|$)", "", text)
    return re.split(r"(?<=[.!?])\s+", text.strip())


def _split_mid_sentence(text: str) -> tuple[str, str]:
    """Split the middle sentence of ``text`` at its middle word."""
    sentences = _sentences(text)
    i = len(sentences) // 2
    words = sentences[i].split()
    k = max(2, len(words) // 2)
    first = " ".join([*sentences[:i], " ".join(words[:k])])
    second = " ".join([" ".join(words[k:]), *sentences[i + 1 :]])
    return first, second


def _split_sentences(text: str, after: int) -> tuple[str, str]:
    sentences = _sentences(text)
    return " ".join(sentences[:after]), " ".join(sentences[after:])


def _real_cut(clip: Any, transcriber: Any) -> tuple[Any, Any]:
    """A real clip cut at the word boundary nearest its middle (times from the recogniser)."""
    words = transcriber.transcribe(clip).words
    middle = clip.duration_s / 2
    gaps = [((a.end_s + b.start_s) / 2, a, b) for a, b in itertools.pairwise(words)]
    cut, _, _ = min(gaps, key=lambda g: abs(g[0] - middle))
    at = round(cut * RATE)
    return _piece(clip.samples[:at]), _piece(clip.samples[at:])


LABELED = {
    "dev2": "evaluator_devset2.jsonl",  # looked at while the policy was designed
    "blind": "evaluator_devset3.jsonl",  # kept blind until the policy was fixed
}


def labeled_cases(which: str, count: int = 24, seed: int = 7) -> list[Case]:
    """Typed answers of a labeled set (grade >= 2, >= 40 words: real answers) spoken by Piper
    and espeak-ng in turn: finished, or with a 3-8 s pause mid-sentence, mid-story (after
    the situation) or early in a technical answer (after its first sentence)."""
    import random
    import re

    from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
    from voice_interview.content.banks import load_bank

    bank = load_bank()
    path = REPO / "tests" / "data" / LABELED[which]
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    rows = [r for r in rows if int(r.get("grade", 0)) >= 2 and len(r["text"].split()) >= 40]
    random.Random(seed).shuffle(rows)
    piper = PiperSynthesizer(SpeechOptions(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0))
    cases: list[Case] = []
    for i, row in enumerate(rows[:count]):
        question = row["question_id"]
        voice = "piper" if i % 2 == 0 else "espeak"
        text = row["text"]
        sentences = re.split(r"(?<=[.!?])\s+", text)
        if i % 3 == 0:
            kind, first, rest = "finished", text, ""
        elif i % 3 == 1:
            kind, (first, rest) = "mid-sentence", _split_mid_sentence(text)
        elif bank.question(question).kind == "behavioral" and len(sentences) > 3:
            kind, (first, rest) = "mid-story", _split_sentences(text, 2)
        else:
            kind, (first, rest) = "early-technical", _split_sentences(text, 1)

        def spoken(t: str, voice: str = voice) -> Any:
            audio = piper.synthesize(t) if voice == "piper" else _espeak(t)
            return _trim(audio.resampled(RATE))

        parts = [spoken(first)] + ([spoken(rest)] if rest else [])
        pause = 0.0 if kind == "finished" else float(3 + i % 6)
        audio, speech = _join(parts, [pause] if rest else [])
        name = f"{which}-{i:02d}-{voice}-{kind}"
        cases.append(Case(name, kind, voice, question, audio, speech, pause))
    return cases


def build_cases(which: str = "bench") -> list[Case]:
    """The answers of a set: ``bench`` (real speech, Piper and espeak-ng on the sample
    answers) or one of :data:`LABELED`."""
    if which != "bench":
        return labeled_cases(which)
    from asr import load_real_speech  # bench/asr.py

    from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
    from voice_interview.adapters.whisper import TranscribeOptions, WhisperTranscriber
    from voice_interview.practice.wiring import load_sample_answers

    clips = [a.resampled(RATE) for a, _ in load_real_speech()]
    asr = WhisperTranscriber(TranscribeOptions(model="tiny.en", domain_prompt=False))
    piper = PiperSynthesizer(SpeechOptions(length_scale=1.1, noise_scale=0.0, noise_w_scale=0.0))
    samples = load_sample_answers()

    def spoken(voice: str, text: str) -> Any:
        audio = piper.synthesize(text) if voice == "piper" else _espeak(text)
        return _trim(audio.resampled(RATE))

    cases: list[Case] = []

    def add(name: str, kind: str, voice: str, question: str, parts: list[Any], pause: float):
        gaps = [0.6] * (len(parts) - 1)
        if kind != "finished":
            gaps[0 if kind != "mid-sentence-real" else 1] = pause
        audio, speech = _join(parts, gaps)
        cases.append(Case(name, kind.replace("-real", ""), voice, question, audio, speech, pause))

    # Real speech (read aloud: JFK, LibriSpeech, LibriVox) as answers to a technical question.
    q_real = "caching-strategies"
    add("real-finished-1", "finished", "real", q_real, [clips[0], clips[5], clips[6]], 0)
    add("real-finished-2", "finished", "real", q_real, [clips[1], clips[7], clips[8]], 0)
    head, tail = _real_cut(clips[0], asr)
    add("real-mid-5s", "mid-sentence-real", "real", q_real, [clips[5], head, tail, clips[6]], 5.0)
    head, tail = _real_cut(clips[2], asr)
    add("real-mid-8s", "mid-sentence-real", "real", q_real, [clips[8], head, tail, clips[9]], 8.0)
    add("real-early-3s", "early-technical", "real", q_real, [clips[3], clips[5], clips[6]], 3.0)
    add("real-early-7s", "early-technical", "real", q_real, [clips[4], clips[7], clips[8]], 7.0)

    # Synthesized answers to their own questions.
    for voice, fin, story, mid, early in (
        ("piper", "connection-pooling", "ownership", "dive-deep", "caching-strategies"),
        ("espeak", "disagree-and-commit", "dive-deep", "sync-vs-async", "nosql-dynamodb"),
    ):
        text = samples[fin]["text"]
        add(f"{voice}-finished", "finished", voice, fin, [spoken(voice, text)], 0)
        first, rest = _split_sentences(samples[story]["text"], 2)
        pause = 5.0 if voice == "piper" else 8.0
        parts = [spoken(voice, first), spoken(voice, rest)]
        add(f"{voice}-story-{pause:.0f}s", "mid-story", voice, story, parts, pause)
        first, rest = _split_mid_sentence(samples[mid]["text"])
        pause = 8.0 if voice == "piper" else 4.0
        parts = [spoken(voice, first), spoken(voice, rest)]
        add(f"{voice}-mid-{pause:.0f}s", "mid-sentence", voice, mid, parts, pause)
        first, rest = _split_sentences(samples[early]["text"], 1)
        pause = 6.0 if voice == "piper" else 3.0
        parts = [spoken(voice, first), spoken(voice, rest)]
        add(f"{voice}-early-{pause:.0f}s", "early-technical", voice, early, parts, pause)
    return cases


def policy_options(policy: str) -> Any:
    from voice_interview.core.endpointing import EndpointOptions

    if policy == "new":
        return EndpointOptions()
    if policy == "old":  # before: silence alone, 3 s
        return EndpointOptions(
            end_silence_s=3.0,
            fallback_silence_s=3.0,
            nudge_reply_s=0.0,
            wait_for_content=False,
            stretch_gap_s=0.6,
            max_stretch_s=float("inf"),
        )
    if policy == "pipecat":  # 0.2 s silence, then Smart Turn; 3 s when it says "not done"
        return EndpointOptions(
            end_silence_s=3.0,
            finished_silence_s=0.2,
            nudge_reply_s=0.0,
            wait_for_content=False,
            stretch_gap_s=0.2,
        )
    raise ValueError(policy)


def worker(policy: str, model: str, only: str = "", which: str = "bench") -> dict[str, Any]:
    from voice_interview.adapters.devices import FileMicrophone
    from voice_interview.adapters.piper import PiperSynthesizer
    from voice_interview.adapters.turn import SmartTurnDetector
    from voice_interview.adapters.vad import SileroSpeechDetector
    from voice_interview.content.banks import load_bank
    from voice_interview.pipeline import build_pipeline
    from voice_interview.practice.display import PlainDisplay
    from voice_interview.practice.interview import Interview, PracticeOptions

    cases = [c for c in build_cases(which) if only in c.name]
    bank = load_bank()
    pipeline = build_pipeline(model, bank)
    pipeline.transcriber.load()  # type: ignore[attr-defined]
    pipeline.score_text("warm up the evaluator", bank.question("ownership"))
    voice = PiperSynthesizer()
    turn = SmartTurnDetector() if policy in ("new", "pipecat") else None
    if turn is not None:
        turn.load()
    asr_busy = [0.0]
    real_transcribe = pipeline.transcriber.transcribe

    def timed_transcribe(audio: Any, question: Any = None) -> Any:
        t = time.perf_counter()
        try:
            return real_transcribe(audio, question)
        finally:
            asr_busy[0] += time.perf_counter() - t

    pipeline.transcriber.transcribe = timed_transcribe  # type: ignore[method-assign]
    vad_busy = [0.0]

    class TimedSilero(SileroSpeechDetector):
        def speech_probability(self, frame: Any) -> float:
            t = time.perf_counter()
            try:
                return super().speech_probability(frame)
            finally:
                vad_busy[0] += time.perf_counter() - t

    rows = []
    # The closures below read this iteration's lists; each case runs to its end before the next.
    for case in cases:
        voice.synthesize(bank.question(case.question).text)  # cached: the question plays at once
        plays: list[tuple[float, float, str]] = []  # (start, end) monotonic, what
        feedback_at: list[float] = []
        lags: list[float] = []
        streams: list[Any] = []
        mics: list[Any] = []

        class Speaker:
            def play(self, audio: Any) -> None:
                start = time.monotonic()
                # the round's intro (before the microphone opens), then the question (the
                # first audio once it is open; played at once, so the answer file starts on
                # time), then nudges (short), then the closing summary
                if not mics:
                    what = "intro"
                elif not any(p[2] == "question" for p in plays):
                    what = "question"
                else:
                    what = "nudge" if audio.duration_s < 4 else "summary"
                if what == "nudge":
                    time.sleep(audio.duration_s)  # a prompt takes its time
                plays.append((start, start + audio.duration_s, what))

        class Display(PlainDisplay):
            def listening(self, elapsed_s: float, level: float, state: str, cap: str) -> None:
                # While the candidate speaks: how much of their voice is not captioned yet
                # (speech time between the end of the captions and now; pauses not counted).
                if streams and any(a <= elapsed_s <= b for a, b in case.speech):
                    covered = streams[-1].covered_s() or 0.0
                    lags.append(
                        sum(max(0.0, min(b, elapsed_s) - max(a, covered)) for a, b in case.speech)
                    )

            def feedback(self, evaluation: Any, latency_s: float, final: bool = True) -> None:
                feedback_at.append(time.monotonic())

        real_stream = pipeline.stream

        def stream(question: Any) -> Any:
            s = real_stream(question)
            streams.append(s)
            return s

        pipeline.stream = stream  # type: ignore[method-assign]

        @contextmanager
        def microphone(question: Any, follow_up: bool, audio: Any = case.audio) -> Iterator[Any]:
            with FileMicrophone(audio, realtime=1.0, trailing_silence_s=16.0) as mic:
                mics.append(mic)
                yield mic

        options = PracticeOptions(questions=1, follow_up=False, model=model, max_answer_s=600)
        interview = Interview(
            bank=bank,
            options=options,
            pipeline=pipeline,
            voice=voice,
            speaker=Speaker(),
            microphone=microphone,
            detector=TimedSilero,
            display=Display(out=open("/dev/null", "w")),  # noqa: SIM115
            turn=turn,
            endpointing=policy_options(policy),
        )
        vad0, asr0, turn0 = vad_busy[0], asr_busy[0], turn.seconds if turn else 0.0
        began = time.monotonic()
        rnd = next(r for r in bank.rounds if any(q.id == case.question for q in r.questions))
        interview.run([(rnd, bank.question(case.question))])
        wall = time.monotonic() - began
        pipeline.stream = real_stream  # type: ignore[method-assign]
        opened = mics[0]._opened_at
        last_word = opened + case.speech[-1][1]
        speech = [(opened + a, opened + b) for a, b in case.speech]
        after = [p for p in plays if p[2] not in ("intro", "question")]
        next_audio = next((p[0] for p in after if p[2] == "summary"), None)
        overlaps = sum(1 for p0, p1, _ in after for a, b in speech if p0 < b and a < p1)
        audio_s = case.audio.duration_s
        rows.append(
            {
                "case": case.name,
                "kind": case.kind,
                "voice": case.voice,
                "pause_s": case.pause_s,
                "false_cut": bool(next_audio is not None and next_audio < last_word),
                "closes": len(feedback_at),
                "nudges": interview.nudges,
                "last_word_to_feedback_s": feedback_at[-1] - last_word if feedback_at else None,
                "last_word_to_interviewer_s": next_audio - last_word if next_audio else None,
                "caption_lag_median_s": statistics.median(lags) if lags else None,
                "caption_lag_p90_s": float(np.percentile(lags, 90)) if lags else None,
                "overlaps": int(overlaps),
                "listen_cpu_pct": 100
                * (vad_busy[0] - vad0 + (turn.seconds - turn0 if turn else 0))
                / wall,
                "asr_busy_s": asr_busy[0] - asr0,
                "audio_s": audio_s,
                "words": len(interview.results[0].evaluation.transcript.text.split())
                if interview.results and interview.results[0].evaluation
                else 0,
            }
        )
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return {"policy": policy, "model": model, "rows": rows}


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    rows = run["rows"]
    finished = [r for r in rows if r["kind"] == "finished"]
    latencies = [r["last_word_to_feedback_s"] for r in rows if not r["false_cut"]]
    latencies = [x for x in latencies if x is not None]
    fin_lat = [r["last_word_to_feedback_s"] for r in finished if r["last_word_to_feedback_s"]]
    speaks = [r.get("last_word_to_interviewer_s") for r in rows if not r["false_cut"]]
    speaks = [x for x in speaks if x is not None]
    lags = [r["caption_lag_median_s"] for r in rows if r["caption_lag_median_s"] is not None]
    lag90 = [r["caption_lag_p90_s"] for r in rows if r["caption_lag_p90_s"] is not None]
    paused = [r for r in rows if r["kind"] != "finished"]
    return {
        "policy": run["policy"],
        "model": run["model"],
        "false_cuts": f"{sum(r['false_cut'] for r in paused)}/{len(paused)}",
        "recovered_closes": sum(max(0, r["closes"] - 1) for r in rows),
        "latency_median_s": statistics.median(latencies) if latencies else None,
        "latency_p90_s": float(np.percentile(latencies, 90)) if latencies else None,
        "finished_latency_median_s": statistics.median(fin_lat) if fin_lat else None,
        "interviewer_median_s": statistics.median(speaks) if speaks else None,
        "interviewer_p90_s": float(np.percentile(speaks, 90)) if speaks else None,
        "finished_latency_p90_s": float(np.percentile(fin_lat, 90)) if fin_lat else None,
        "caption_lag_median_s": statistics.median(lags) if lags else None,
        "caption_lag_p90_s": max(lag90) if lag90 else None,
        "listen_cpu_pct": statistics.mean(r["listen_cpu_pct"] for r in rows),
        "asr_x_realtime": sum(r["audio_s"] for r in rows) / sum(r["asr_busy_s"] for r in rows),
        "overlaps": sum(r["overlaps"] for r in rows),
        "nudges": sum(r["nudges"] for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", nargs="+", default=["new:tiny.en", "old:tiny.en", "pipecat:tiny.en", "new:base"]
    )
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--only", default="", help="answers whose name contains this")
    parser.add_argument(
        "--set", default="bench", choices=["bench", *LABELED], help="which answers (see above)"
    )
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.worker:
        print(json.dumps(worker(*args.worker)))
        return 0

    from asr import cpu_name  # bench/asr.py

    from voice_interview.adapters.whisper import available_cores

    runs = []
    for spec in args.runs:
        policy, model = spec.split(":")
        print(f"running {policy} with {model} ...", file=sys.stderr, flush=True)
        proc = subprocess.run(
            [sys.executable, __file__, "--worker", policy, model, args.only, args.set],
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    summaries = [summarize(r) for r in runs]

    def f(x: float | None, unit: str = " s") -> str:
        return "-" if x is None else f"{x:.2f}{unit}"

    stamp = f"{datetime.now(UTC):%Y-%m-%d}"
    if args.set != "bench":
        stamp = f"{args.set}-{stamp}"
    lines = [
        f"# Turn-taking benchmark {stamp} (answers: {args.set})",
        "",
        f"CPU: {cpu_name()}; cores available: {available_cores()}; python "
        f"{platform.python_version()}; recogniser threads: all cores; Smart Turn and Silero: "
        "1 thread each. Every answer played once in real time through the file-fed microphone.",
        "Targets: 0 false cuts (pauses up to 8 s); last word -> feedback <= 1.0 s median and "
        "<= 1.5 s p90 with tiny.en, <= 1.5 s median with base; captions <= 3 s behind "
        "(uncaptioned speech); "
        "listening < 5 % of one core; no interviewer audio over the candidate.",
        "",
        "| policy | model | false cuts | closes recovered by reopening | last word -> feedback "
        "median / p90 (all answers not cut) | finished answers median / p90 | last word -> "
        "interviewer speaks median / p90 | uncaptioned speech median / worst p90 | listening "
        "CPU (% of a core) | recogniser x real time | overlaps | nudges |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in summaries:
        lines.append(
            f"| {s['policy']} | {s['model']} | {s['false_cuts']} | {s['recovered_closes']} | "
            f"{f(s['latency_median_s'])} / {f(s['latency_p90_s'])} | "
            f"{f(s['finished_latency_median_s'])} / {f(s['finished_latency_p90_s'])} | "
            f"{f(s['interviewer_median_s'])} / {f(s['interviewer_p90_s'])} | "
            f"{f(s['caption_lag_median_s'])} / {f(s['caption_lag_p90_s'])} | "
            f"{s['listen_cpu_pct']:.2f} | {s['asr_x_realtime']:.1f}x | {s['overlaps']} | "
            f"{s['nudges']} |"
        )
    lines += [
        "",
        "Per answer (false cut; last word -> feedback; -> interviewer speaks; closes; nudges):",
        "",
    ]
    lines.append("| answer | " + " | ".join(f"{r['policy']}:{r['model']}" for r in runs) + " |")
    lines.append("|---|" + "---|" * len(runs))
    for i, row in enumerate(runs[0]["rows"]):
        cells = []
        for r in runs:
            x = r["rows"][i]
            cut = "CUT" if x["false_cut"] else "ok"
            speaks = f(x.get("last_word_to_interviewer_s"))
            cells.append(
                f"{cut} {f(x['last_word_to_feedback_s'])} / {speaks} c{x['closes']} n{x['nudges']}"
            )
        label = f"{row['case']} ({row['kind']}, {row['pause_s']:.0f} s)"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"turn-taking-{stamp}.md").write_text(text)
    (out / f"turn-taking-{stamp}.json").write_text(
        json.dumps({"summaries": summaries, "runs": runs}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
