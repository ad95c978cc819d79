"""ASR benchmark: WER, speed and memory of our transcriber against plain faster-whisper.

Usage: ``make bench`` or ``.venv/bin/python bench/asr.py [--models tiny.en base] [--repeats 3]``.

For each model it runs, each in a fresh subprocess (so peak RSS is per configuration):

* ``ours``: :class:`voice_interview.adapters.whisper.WhisperTranscriber` with its defaults
  (int8, beam 5, all cores, Silero VAD, word timestamps, hesitation prompt);
* ``baseline``: faster-whisper called the way its README shows:
  ``WhisperModel(path, device="cpu", compute_type="int8")`` and
  ``model.transcribe(audio, beam_size=5)``, no prompt, no word timestamps.

Measured: WER on tests/data/real-speech (10 real utterances, 57 s), real-time factor (audio
seconds per wall second) on those short clips and on a 2-minute answer made by joining the real
clips with 1.5 s thinking pauses, model load time, peak RSS. Times are medians over
``--repeats`` runs. Results go to stdout and ``bench/results/asr-<date>.md`` + ``.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

WER_REFERENCE = {"tiny.en": 0.053, "base": 0.040}  # faster-whisper int8 beam 5, 2 threads
RTF_TARGET = {"tiny.en": 12.0, "base": 6.0}  # x real time on 1-3 minute answers


REAL_SPEECH = REPO / "tests" / "data" / "real-speech"  # ten real recordings, their licences: README


def load_real_speech() -> list[tuple[Any, str]]:
    from voice_interview.adapters.audio_files import load_audio

    rows = [json.loads(x) for x in (REAL_SPEECH / "manifest.jsonl").read_text().splitlines() if x]
    return [(load_audio(REAL_SPEECH / r["audio"]), r["reference"]) for r in rows]


def long_answer(speech: list[tuple[Any, str]], target_s: float = 120.0) -> tuple[Any, str]:
    """Real clips joined with 1.5 s pauses, repeated until ``target_s`` s; with its reference."""
    from voice_interview.core.audio import Audio, concatenate

    parts: list[Audio] = []
    refs: list[str] = []
    total = 0.0
    while total < target_s:
        for clip, ref in speech:
            parts += [clip, Audio.silence(1.5)]
            refs.append(ref)
            total += clip.duration_s + 1.5
            if total >= target_s:
                break
    return concatenate(parts), " ".join(refs)


def worker(model: str, mode: str, repeats: int) -> dict[str, Any]:
    """Runs in a subprocess: load, transcribe everything, report timings and peak RSS."""
    import jiwer

    from voice_interview.adapters.models import resolve_asr_model
    from voice_interview.adapters.whisper import TranscribeOptions, WhisperTranscriber
    from voice_interview.core.text import normalize_text

    speech = load_real_speech()
    clips = [a for a, _ in speech]
    refs = [r for _, r in speech]
    long, long_ref = long_answer(speech)
    path = str(resolve_asr_model(model).path)

    t0 = time.perf_counter()
    if mode == "ours":
        transcriber = WhisperTranscriber(TranscribeOptions(model=model))
        transcriber.load()
        threads = transcriber.options.effective_threads

        def run(audio: Any) -> str:
            return str(transcriber.transcribe(audio).text)
    else:
        from faster_whisper import WhisperModel

        fw = WhisperModel(path, device="cpu", compute_type="int8")
        threads = 0  # CTranslate2's own default

        def run(audio: Any) -> str:
            segments, _ = fw.transcribe(audio.samples, beam_size=5)
            return " ".join(s.text.strip() for s in segments)

    load_s = time.perf_counter() - t0

    short_times, long_times, hyps = [], [], []
    for i in range(repeats):
        t = time.perf_counter()
        out = [run(a) for a in clips]
        short_times.append(time.perf_counter() - t)
        if i == 0:
            hyps = out
        t = time.perf_counter()
        long_hyp = run(long)
        long_times.append(time.perf_counter() - t)
    wer = float(jiwer.wer([normalize_text(r) for r in refs], [normalize_text(h) for h in hyps]))
    long_wer = float(jiwer.wer(normalize_text(long_ref), normalize_text(long_hyp)))
    short_audio = sum(a.duration_s for a in clips)
    return {
        "model": model,
        "mode": mode,
        "threads": threads,
        "load_s": load_s,
        "wer": wer,
        "long_wer": long_wer,
        "short_audio_s": short_audio,
        "short_wall_s": statistics.median(short_times),
        "short_rtf": short_audio / statistics.median(short_times),
        "long_audio_s": long.duration_s,
        "long_wall_s": statistics.median(long_times),
        "long_rtf": long.duration_s / statistics.median(long_times),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], args.worker[1], args.repeats)))
        return 0

    from voice_interview.adapters.whisper import available_cores

    rows = []
    for model in args.models:
        for mode in ("baseline", "ours"):
            print(f"running {model} {mode} ...", file=sys.stderr, flush=True)
            proc = subprocess.run(
                [sys.executable, __file__, "--worker", model, mode, "--repeats", str(args.repeats)],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    header = (
        f"# ASR benchmark {stamp}\n\nCPU: {cpu_name()}; cores available: {available_cores()}; "
        f"repeats: {args.repeats} (medians); numpy {np.__version__}; python "
        f"{platform.python_version()}.\n\n"
        "Short = the 10 real-speech clips (transcribed one by one); long = a 2-minute answer of "
        "the same clips joined with 1.5 s pauses. RTF = audio seconds per wall second "
        "(higher is faster). Baseline = faster-whisper as its README shows it "
        "(int8, beam 5, no VAD, no prompt, no word timestamps).\n\n"
    )
    lines = [
        "| model | mode | threads | WER | WER ref | long WER | load s | short RTF | long RTF | "
        "target | long RTF vs baseline | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        base = next(b for b in rows if b["model"] == r["model"] and b["mode"] == "baseline")
        lines.append(
            f"| {r['model']} | {r['mode']} | {r['threads'] or 'ct2 default'} | {r['wer']:.1%} | "
            f"{WER_REFERENCE.get(r['model'], float('nan')):.1%} | {r['long_wer']:.1%} | "
            f"{r['load_s']:.2f} | "
            f"{r['short_rtf']:.1f}x | {r['long_rtf']:.1f}x | "
            f"{RTF_TARGET.get(r['model'], 0):.0f}x | "
            f"{r['long_rtf'] / base['long_rtf']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    report = header + "\n".join(lines) + "\n"
    print(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"asr-{stamp}.md").write_text(report)
    (out / f"asr-{stamp}.json").write_text(json.dumps({"cpu": cpu_name(), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
