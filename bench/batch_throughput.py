"""Batch scoring throughput on this machine: which parallelism pays for 1-3 minute answers.

Usage: ``.venv/bin/python bench/batch_throughput.py [--models tiny.en base] [--repeats 3]``.

Answers: real human speech (tests/data/real-speech, 10 LibriSpeech/JFK clips) joined with
1.5 s thinking pauses into answers of 60, 120, 180 and 120 s (each starts at a different clip),
written as 16 kHz WAV files, so decoding is part of the measurement. Each mode runs in a fresh
subprocess that first starts up (loads models, spawns workers, warms up: timed apart as
``startup_s``), then scores the whole folder once. Repeats are interleaved (round 1: every
mode, round 2: every mode, ...) so that load from other users of the shared machine hits all
modes alike; throughput = audio seconds per wall second, median over the rounds, and the
ratio against the baseline is the median of the per-round ratios.

Modes (every one except the baseline goes through ``voice_interview.batch.run.run_batch``, i.e.
decode, the one AnswerPipeline -- transcription with our settings *and evaluation* -- and the
fsync'd results.jsonl/csv/summary):

* ``baseline``: a plain loop calling faster-whisper per file with its defaults:
  ``WhisperModel(path, device="cpu", compute_type="int8")`` then ``model.transcribe(file)``
  (beam 5, no VAD, no word timestamps); no evaluation.
* ``threads``: one process, the recogniser with 2 threads, files one after another (``--jobs 1``).
* ``processes``: two spawned worker processes, 1 recogniser thread each, each loading its own
  model once (``--jobs 2``).
* ``batched``: one process, 2 threads, faster-whisper's ``BatchedInferencePipeline``
  (batch_size 8) in place of ``WhisperModel.transcribe``, same prompt, VAD and word timestamps
  (``TranscribeOptions.batch_size``).
* ``batched-processes``: both: two processes of 1 thread, each with the batched pipeline
  (the local engine's default).
* ``ray-1node``: the Ray engine (``--engine ray``) on one Ray node with 2 CPUs: two actors of
  1 thread with the batched pipeline, i.e. ``batched-processes`` on Ray.
* ``ray-2nodes``: the Ray engine on two Ray nodes of 1 CPU each, on this machine.
* ``ray-data-1node``: the alternative the engine did not take, measured to choose: Ray Data's
  actor pool (``Dataset.map_batches`` with a callable class, ``concurrency`` = 2 actors of one
  CPU, ``batch_size`` 1, results read back with ``iter_rows``) around the same
  ``InProcessScorer``, behind the same ``run_batch`` (:class:`RayDataScorer`), on the node of
  ``ray-1node``. A dataset starts its actors when it runs, so its model loads fall inside
  ``wall_s``; compare ``startup + wall`` too (the table shows it).

The Ray modes run inside a network namespace with only loopback (``unshare --net``, as root),
because Ray registers its nodes under the machine's network address; the cluster is started
for each run and not counted in ``startup_s`` (the actors loading their models is).

Writes ``bench/results/batch-<date>.md`` and ``.json`` with the CPU model and thread counts.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

MODES = (
    "baseline",
    "threads",
    "processes",
    "batched",
    "batched-processes",
    "ray-1node",
    "ray-2nodes",
    "ray-data-1node",
)
RAY_NODES = {"ray-1node": (2,), "ray-2nodes": (1, 1), "ray-data-1node": (2,)}  # CPUs per node
RAY_PORT = 6392
SETUP = {  # mode: (worker processes, recogniser threads each, ASR batch size)
    "threads": (1, 0, 0),
    "processes": (2, 1, 0),
    "batched": (1, 0, 8),
    "batched-processes": (2, 1, 8),
}
TARGET = {"tiny.en": 12.0, "base": 6.0}
QUESTION = "scalable-backend"


def make_answers(folder: Path, lengths: list[float]) -> list[dict[str, Any]]:
    """Write one WAV per length (rotated real clips + pauses); returns path, seconds, reference."""
    from asr import load_real_speech, long_answer  # bench/asr.py

    from voice_interview.adapters.audio_files import write_wav

    speech = load_real_speech()
    rows = []
    for i, length in enumerate(lengths):
        rotated = speech[i % len(speech) :] + speech[: i % len(speech)]
        audio, reference = long_answer(rotated, length)
        path = write_wav(audio, folder / f"candidate{i + 1}__{QUESTION}.wav")
        rows.append({"path": str(path), "audio_s": audio.duration_s, "reference": reference})
    return rows


def in_loopback_cluster(command: list[str], cpus: tuple[int, ...], folder: Path) -> list[str]:
    """``command`` wrapped to run inside a new network namespace (only ``lo``) with a Ray
    cluster of ``len(cpus)`` nodes started for it and stopped after it."""
    import shlex

    ray = shlex.quote(str(Path(sys.executable).with_name("ray")))
    temp = tempfile.mkdtemp(prefix="vi-ray-", dir="/tmp")  # Ray's socket paths must be short
    common = "--disable-usage-stats --object-store-memory 100000000"
    starts = [
        f"{ray} start --head --port {RAY_PORT} --num-cpus {cpus[0]} {common} "
        f"--include-dashboard=false --temp-dir {temp} >{temp}/head.log 2>&1"
    ] + [
        f"{ray} start --address 127.0.0.1:{RAY_PORT} --num-cpus {n} {common} "
        f">>{temp}/nodes.log 2>&1"
        for n in cpus[1:]
    ]
    script = "\n".join(
        [
            "set -e",
            "ip link set lo up",
            f"export RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0 RAY_TMPDIR={temp}",
            f"trap '{ray} stop --force >/dev/null 2>&1; rm -rf {temp}' EXIT",
            *starts,
            shlex.join(command),
        ]
    )
    return ["unshare", "--net", "bash", "-c", script]


class _DataWorker:
    """Ray Data's actor: the Ray engine's own actor body (one InProcessScorer, one thread,
    loaded once), one file per batch. Jobs and outcomes travel pickled (Ray Data's rows are
    Arrow tables)."""

    def __init__(self, spec: Any) -> None:
        from voice_interview.batch.ray_engine import _Worker

        self.body = _Worker(spec)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[bytes]]:
        import pickle

        outcomes = [self.body.score(*pickle.loads(blob), None) for blob in batch["job"]]
        return {"outcome": [pickle.dumps(outcome) for outcome in outcomes]}


class RayDataScorer:
    """The Scorer protocol on Ray Data's actor pool (bench only: see the module docstring)."""

    def __init__(self, spec: Any, address: str) -> None:
        from voice_interview.batch.work import InProcessScorer

        self.settings = InProcessScorer(spec, cpu_threads=1).settings
        self._spec = spec
        self.address = address

    def start(self) -> None:
        import logging

        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, logging_level=logging.ERROR, log_to_driver=False)
            ray.data.DataContext.get_current().enable_progress_bars = False

    def run(self, jobs: Any) -> Any:
        import pickle

        import ray

        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        rows = [{"job": pickle.dumps(job)} for job in jobs]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
            _DataWorker,
            fn_constructor_args=(self._spec,),
            batch_size=1,
            concurrency=cpus,
            num_cpus=1,
        )
        for row in dataset.iter_rows():
            yield pickle.loads(row["outcome"])

    def close(self) -> None:
        import ray

        ray.shutdown()


def _wer(references: list[str], hypotheses: list[str]) -> float:
    import jiwer

    from voice_interview.core.text import normalize_text

    return float(
        jiwer.wer([normalize_text(r) for r in references], [normalize_text(h) for h in hypotheses])
    )


def worker(model: str, mode: str, repeats: int, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """Runs in a fresh subprocess: start up, then score every answer ``repeats`` times
    (the main program asks for one run per subprocess)."""
    from voice_interview.adapters.whisper import available_cores

    paths = [a["path"] for a in answers]
    audio_s = sum(a["audio_s"] for a in answers)
    times: list[float] = []
    cpu_times: list[float] = []
    texts: dict[str, str] = {}
    scores: dict[str, int] = {}
    t0 = time.perf_counter()
    if mode == "baseline":
        from faster_whisper import WhisperModel

        from voice_interview.adapters.models import resolve_asr_model

        fw = WhisperModel(str(resolve_asr_model(model).path), device="cpu", compute_type="int8")
        startup_s = time.perf_counter() - t0
        threads = "faster-whisper default (cpu_threads=0)"
        for _ in range(repeats):
            t = time.perf_counter()
            cpu = time.process_time()
            for p in paths:
                segments, _ = fw.transcribe(p)
                texts[p] = " ".join(s.text.strip() for s in segments)
            times.append(time.perf_counter() - t)
            cpu_times.append(time.process_time() - cpu)
    else:
        from voice_interview.batch.run import (
            BatchOptions,
            BatchSpec,
            InProcessScorer,
            ProcessPoolScorer,
            Scorer,
            run_batch,
        )
        from voice_interview.content.banks import load_bank
        from voice_interview.store.results import read_results

        bank = load_bank()
        scorer: Scorer
        if mode == "ray-data-1node":
            jobs = sum(RAY_NODES[mode])
            options = BatchOptions(model=model, engine="ray", ray_address=f"127.0.0.1:{RAY_PORT}")
            scorer = RayDataScorer(BatchSpec(bank, options), f"127.0.0.1:{RAY_PORT}")
            threads = f"Ray Data actor pool: node of 2 CPU, {jobs} actors x 1 thread, batched(8)"
        elif mode in RAY_NODES:
            from voice_interview.batch.ray_engine import RayScorer

            jobs, batch_size = sum(RAY_NODES[mode]), 8
            options = BatchOptions(model=model, engine="ray", ray_address=f"127.0.0.1:{RAY_PORT}")
            scorer = RayScorer(BatchSpec(bank, options), options.ray_address)
            nodes = " + ".join(f"{c} CPU" for c in RAY_NODES[mode])
            threads = f"Ray: nodes of {nodes}, {jobs} actors x 1 thread, batched(8)"
        else:
            jobs, threads_each, batch_size = SETUP[mode]
            options = BatchOptions(jobs=jobs, model=model, asr_batch_size=batch_size)
            if jobs > 1:
                scorer = ProcessPoolScorer(BatchSpec(bank, options), threads=threads_each)
            else:
                scorer = InProcessScorer(BatchSpec(bank, options), cpu_threads=threads_each)
            threads = f"{jobs} process(es) x {threads_each or available_cores()} thread(s)" + (
                f", BatchedInferencePipeline({batch_size})" if batch_size else ""
            )
        scorer.start()
        startup_s = time.perf_counter() - t0
        try:
            for _ in range(repeats):
                out = Path(tempfile.mkdtemp(prefix="vi-batch-bench-"))
                t = time.perf_counter()
                report = run_batch(
                    paths,
                    bank,
                    replace(options, out_dir=out),
                    scorer=scorer,
                )
                times.append(time.perf_counter() - t)
                cpu_times.append(report.cpu_s)
                if report.failures:
                    raise RuntimeError(f"{mode}: failures {report.failures}")
                for _, r in read_results(out / "results.jsonl").records:
                    texts[r.file] = r.evaluation.transcript.text
                    scores[r.file] = r.evaluation.overall
                shutil.rmtree(out)
        finally:
            scorer.close()
    wall = statistics.median(times)
    return {
        "model": model,
        "mode": mode,
        "threads": threads,
        "evaluation": mode != "baseline",
        "files": len(paths),
        "audio_s": round(audio_s, 1),
        "startup_s": round(startup_s, 2),
        "wall_s_runs": [round(t, 2) for t in times],
        "wall_s": round(wall, 2),
        "audio_s_per_wall_s": round(audio_s / wall, 2),
        "cpu_s": round(statistics.median(cpu_times), 2),
        "cpu_s_per_audio_s": round(statistics.median(cpu_times) / audio_s, 4),
        "cores_busy": round(
            statistics.median(c / w for c, w in zip(cpu_times, times, strict=True)), 2
        ),
        "wer": round(_wer([a["reference"] for a in answers], [texts[p] for p in paths]), 4),
        "overall": {Path(p).name: scores.get(p) for p in paths},
        "peak_rss_mb_main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main() -> int:
    from asr import cpu_name  # bench/asr.py

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    parser.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    parser.add_argument("--lengths", nargs="+", type=float, default=[60, 120, 180, 120])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(REPO / "bench" / "results"))
    args = parser.parse_args()
    import logging

    logging.basicConfig(level=logging.WARNING)
    if args.worker:
        model, mode, answers_file = args.worker
        answers = json.loads(Path(answers_file).read_text())
        print(json.dumps(worker(model, mode, args.repeats, answers)))
        return 0

    from voice_interview.adapters.whisper import available_cores

    folder = Path(tempfile.mkdtemp(prefix="vi-batch-answers-"))
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {}
    try:
        answers = make_answers(folder, args.lengths)
        answers_file = folder / "answers.json"
        answers_file.write_text(json.dumps(answers))
        for model in args.models:
            for round_ in range(args.repeats):
                for mode in args.modes:
                    print(f"{model} round {round_ + 1} {mode} ...", file=sys.stderr, flush=True)
                    command = [sys.executable, __file__, "--worker", model, mode,
                               str(answers_file), "--repeats", "1"]  # fmt: skip
                    if mode in RAY_NODES:
                        command = in_loopback_cluster(command, RAY_NODES[mode], folder)
                    proc = subprocess.run(command, capture_output=True, text=True)
                    if proc.returncode != 0:
                        print(proc.stderr, file=sys.stderr)
                        raise SystemExit(f"{model} {mode} failed")
                    run = json.loads(proc.stdout.strip().splitlines()[-1])
                    run["loadavg_1min"] = os.getloadavg()[0]
                    print(f"  {run['audio_s_per_wall_s']}x", file=sys.stderr, flush=True)
                    runs.setdefault((model, mode), []).append(run)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    rows: list[dict[str, Any]] = []
    for (model, _mode), rs in runs.items():
        base = runs.get((model, "baseline"))
        ratios = (
            [
                r["audio_s_per_wall_s"] / b["audio_s_per_wall_s"]
                for r, b in zip(rs, base, strict=True)
            ]
            if base
            else []
        )
        rows.append(
            {
                **{k: rs[0][k] for k in ("model", "mode", "threads", "evaluation", "files")},
                "audio_s": rs[0]["audio_s"],
                "startup_s": round(statistics.median(r["startup_s"] for r in rs), 2),
                "wall_s_runs": [r["wall_s"] for r in rs],
                "wall_s": round(statistics.median(r["wall_s"] for r in rs), 2),
                "total_s": round(statistics.median(r["startup_s"] + r["wall_s"] for r in rs), 2),
                "audio_s_per_wall_s": round(
                    statistics.median(r["audio_s_per_wall_s"] for r in rs), 2
                ),
                "vs_baseline": round(statistics.median(ratios), 3) if ratios else None,
                "cpu_s_per_audio_s": statistics.median(r["cpu_s_per_audio_s"] for r in rs),
                "cores_busy_runs": [r["cores_busy"] for r in rs],
                "wer": rs[0]["wer"],
                "overall": rs[0]["overall"],
                "loadavg_1min_runs": [round(r["loadavg_1min"], 1) for r in rs],
            }
        )

    load = os.getloadavg()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    lines = [
        f"# Batch scoring throughput {stamp}",
        "",
        f"CPU: {cpu_name()}; cores available: {available_cores()}; python "
        f"{platform.python_version()}; repeats: {args.repeats} (medians); load average at the "
        f"end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min). The machine is shared "
        "with other engineers' test runs, so numbers carry noise; the per-run times are in the "
        ".json.",
        "",
        f"Answers: {len(answers)} files of {', '.join(f'{x:.0f}' for x in args.lengths)} s "
        f"({sum(a['audio_s'] for a in answers):.0f} s of real speech with pauses), 16 kHz WAV. "
        "Throughput = audio seconds per wall second over the whole folder, after start-up "
        "(start-up = loading models / spawning workers, shown apart). Every mode except the "
        "baseline includes decoding, transcription with our settings (prompt, VAD, word "
        "timestamps), evaluation and writing results. CPU s per audio s = CPU time of every "
        "thread and worker process while scoring (lower = less work, independent of how much "
        "of the CPU other users took); cores busy = CPU s / wall s (at most 2 here: below "
        "that, the mode was starved by other load or could not keep both cores busy).",
        "",
        "| model | mode | threads | evaluation | startup s | wall s (median) | startup + wall s "
        "| audio s / wall s | vs baseline | target | CPU s per audio s | cores busy | WER |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        ratio = r["vs_baseline"] if r["vs_baseline"] is not None else float("nan")
        lines.append(
            f"| {r['model']} | {r['mode']} | {r['threads']} | {'yes' if r['evaluation'] else 'no'}"
            f" | {r['startup_s']:.1f} | {r['wall_s']:.1f} | {r['total_s']:.1f} | "
            f"{r['audio_s_per_wall_s']:.1f}x | "
            f"{ratio:.2f} | {TARGET.get(r['model'], 0):.0f}x | {r['cpu_s_per_audio_s']:.3f} | "
            f"{statistics.median(r['cores_busy_runs']):.2f} | {r['wer']:.1%} |"
        )
    for model in args.models:  # issue 12: Ray's overhead on one machine <= 15 % of throughput
        local = runs.get((model, "batched-processes"))
        for mode in ("ray-1node", "ray-2nodes"):
            ray_runs = runs.get((model, mode))
            if local and ray_runs:
                ratio = statistics.median(
                    r["audio_s_per_wall_s"] / b["audio_s_per_wall_s"]
                    for r, b in zip(ray_runs, local, strict=True)
                )
                cpu = statistics.median(r["cpu_s_per_audio_s"] for r in ray_runs) / (
                    statistics.median(b["cpu_s_per_audio_s"] for b in local)
                )
                lines.append(
                    f"\n{model}: {mode} against the local engine (batched-processes), same "
                    f"rounds: throughput x{ratio:.2f} (overhead {1 - ratio:.0%}; target <= "
                    f"15%), CPU s per audio s x{cpu:.2f}."
                )
        core, data = runs.get((model, "ray-1node")), runs.get((model, "ray-data-1node"))
        if core and data:  # issue 12: Ray Data's actor pool or Ray Core actors, measured

            def _ratio(key: Any, a: list[dict[str, Any]], b: list[dict[str, Any]]) -> float:
                return statistics.median(key(x) / key(y) for x, y in zip(a, b, strict=True))

            lines.append(
                f"\n{model}: Ray Data's actor pool (ray-data-1node) against Ray Core actors "
                f"(ray-1node), same rounds: throughput after start-up "
                f"x{_ratio(lambda r: r['audio_s_per_wall_s'], data, core):.2f}, start-up + "
                f"scoring time x{_ratio(lambda r: r['startup_s'] + r['wall_s'], data, core):.2f}, "
                f"same overall scores: "
                f"{'yes' if data[0]['overall'] == core[0]['overall'] else 'NO'}."
            )
    report = "\n".join(lines) + "\n"
    print(report)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"batch-{stamp}.md").write_text(report)
    (out / f"batch-{stamp}.json").write_text(
        json.dumps(
            {"cpu": cpu_name(), "cores": available_cores(), "loadavg": load, "rows": rows},
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
