"""Practice loop benchmark: end of answer -> scored feedback, streaming vs. after the fact.

Usage: ``.venv/bin/python bench/practice_latency.py [--lengths 30 120 240] [--repeats 1]``.

Each configuration runs in a fresh subprocess (so peak RSS is per configuration):

* ``streaming``: the real loop (:class:`voice_interview.practice.interview.Interview`)
  listening to a file-fed microphone paced at real time; stretches are transcribed while the
  "candidate" is still speaking. Latency = from the endpointer's end-of-answer decision to the
  scored evaluation (what the candidate waits for once the interviewer knows they finished).
* ``after-end``: the whole answer transcribed and scored only after it ends, the way a
  non-streaming tool would (the baseline, measured in the same run).

Answers are real human speech (tests/data/real-speech) joined with 1.2 s thinking pauses up
to the target length. Writes ``bench/results/practice-<date>.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))


def answer_audio(target_s: float) -> Any:
    from asr import load_real_speech, long_answer  # bench/asr.py

    audio, _ = long_answer(load_real_speech(), target_s)
    return audio


def worker(mode: str, model: str, length_s: float) -> dict[str, Any]:
    from voice_interview.adapters.devices import FileMicrophone
    from voice_interview.adapters.piper import PiperSynthesizer
    from voice_interview.adapters.vad import SileroSpeechDetector
    from voice_interview.content.banks import load_bank
    from voice_interview.pipeline import build_pipeline
    from voice_interview.practice.display import PlainDisplay
    from voice_interview.practice.interview import Interview, PracticeOptions, plan_questions
    from voice_interview.practice.wiring import SilentSpeaker

    bank = load_bank()
    audio = answer_audio(length_s)
    options = PracticeOptions(
        round_id="system-design", questions=1, follow_up=False, model=model, max_answer_s=600
    )
    pipeline = build_pipeline(model, bank)
    question = bank.question("scalable-backend")
    pipeline.transcriber.load()  # type: ignore[attr-defined]  # both modes start warm
    pipeline.score_text("warm up the evaluator", question)

    if mode == "after-end":
        t = time.perf_counter()
        evaluation = pipeline.score_audio(audio, question)
        latency = time.perf_counter() - t
    else:

        @contextmanager
        def microphone(q: Any, follow_up: bool) -> Iterator[Any]:
            with FileMicrophone(audio, realtime=1.0, trailing_silence_s=5.0) as mic:
                yield mic

        class Quiet(PlainDisplay):
            def listening(self, *args: Any) -> None:
                pass

        interview = Interview(
            bank=bank,
            options=options,
            pipeline=pipeline,
            voice=PiperSynthesizer(),
            speaker=SilentSpeaker(),
            microphone=microphone,
            detector=SileroSpeechDetector,
            display=Quiet(out=open("/dev/null", "w")),  # noqa: SIM115
        )
        interview.summarize = lambda: None  # type: ignore[method-assign]
        results = interview.run(plan_questions(bank, options))
        evaluation = results[0].evaluation
        latency = interview.latencies[0]
    return {
        "mode": mode,
        "model": model,
        "length_s": round(audio.duration_s, 1),
        "latency_s": latency,
        "overall": evaluation.overall if evaluation else None,
        "words": len(evaluation.transcript.text.split()) if evaluation else 0,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", nargs="+", type=float, default=[30, 120, 240])
    parser.add_argument("--models", nargs="+", default=["tiny.en"])
    parser.add_argument("--rss-model", default="base", help="also run 2 min streaming with it")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    if args.worker:
        mode, model, length = args.worker
        print(json.dumps(worker(mode, model, float(length))))
        return 0

    from asr import cpu_name  # bench/asr.py

    from voice_interview.adapters.whisper import available_cores

    configs = [
        (m, model, n)
        for model in args.models
        for n in args.lengths
        for m in ("after-end", "streaming")
    ]
    if args.rss_model:
        configs.append(("streaming", args.rss_model, 120.0))
    rows: list[dict[str, Any]] = []
    for mode, model, length in configs:
        runs = []
        for _ in range(args.repeats):
            print(f"running {mode} {model} {length:.0f} s ...", file=sys.stderr, flush=True)
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", mode, model, str(length)],
                capture_output=True,
                text=True,
                check=True,
            )
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        latencies = [r["latency_s"] for r in runs]
        rows.append(
            {
                **runs[0],
                "latency_median_s": statistics.median(latencies),
                "latency_max_s": max(latencies),
                "repeats": len(runs),
            }
        )

    stamp = f"{datetime.now(UTC):%Y-%m-%d}"
    lines = [
        f"# Practice loop benchmark {stamp}",
        "",
        f"CPU: {cpu_name()}; cores available: {available_cores()}; repeats: {args.repeats}; "
        f"python {platform.python_version()}.",
        "Latency = end-of-answer decision -> scored evaluation. streaming = the real loop with "
        "a real-time file-fed microphone; after-end = transcribe and score the whole answer "
        "after it ends (baseline, same run). Target: <= 1.0 s median for 2 min with tiny.en.",
        "",
        "| model | answer | after-end latency | streaming latency | speed-up | peak RSS MB "
        "(streaming) |",
        "|---|---|---|---|---|---|",
    ]
    for model in [*args.models, args.rss_model]:
        for length in sorted({r["length_s"] for r in rows if r["model"] == model}):
            base = next(
                (
                    r
                    for r in rows
                    if r["model"] == model and r["length_s"] == length and r["mode"] == "after-end"
                ),
                None,
            )
            stream = next(
                (
                    r
                    for r in rows
                    if r["model"] == model and r["length_s"] == length and r["mode"] == "streaming"
                ),
                None,
            )
            if stream is None:
                continue
            after = f"{base['latency_median_s']:.2f} s" if base else "-"
            ratio = f"{base['latency_median_s'] / stream['latency_median_s']:.1f}x" if base else "-"
            lines.append(
                f"| {model} | {length:.0f} s | {after} | {stream['latency_median_s']:.2f} s | "
                f"{ratio} | {stream['peak_rss_mb']:.0f} |"
            )
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"practice-{stamp}.md").write_text(text)
    (out / f"practice-{stamp}.json").write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
