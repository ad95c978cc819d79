"""Sentence-embedder cost on this machine: WordLlama (the default) vs all-MiniLM-L6-v2 in numpy.

Usage: ``.venv/bin/python bench/embedder_speed.py [--rounds 3] [--repeats 3] [--threads 1 2]``.

Workload: the answers of ``tests/data/evaluator_devset.jsonl`` (field ``text``; no other file
of tests/data is read). Each answer is split into sentences at ``.``, ``!`` and ``?``; the new
texts one scored answer needs are every sentence, every consecutive pair of sentences joined
by a space, and the whole answer (MiniLM truncates it at 256 tokens, as the model does). They
go to one ``embed()`` call with an empty cache, so every text is computed.

Each (model, threads) cell runs in a fresh subprocess with ``OMP_NUM_THREADS``,
``OPENBLAS_NUM_THREADS`` and ``MKL_NUM_THREADS`` (numpy's BLAS) and ``RAYON_NUM_THREADS`` (the
tokenizers' pool) set to the thread count. The subprocess imports numpy and both embedder
modules first (the RSS baseline, alike for both), then times the model load and reads RSS
(``VmRSS`` of /proc/self/status) after it; then embeds one answer as a warm-up (timed apart:
``first ms``), then makes ``--repeats`` passes over all answers, clearing the cache before each
answer; an answer's time is its median over the passes, and the cell reports the median and
p90 over answers, RSS after embedding and the peak (``VmHWM``). Rounds interleave all cells
(round 1: every cell, round 2: every cell, ...) so load from other users of the shared machine
hits both models alike; the table shows medians over rounds and the MiniLM/WordLlama ratio is
the median of the per-round ratios.

MiniLM unpacks its zip once per cache folder; that one-time cost is timed apart, in a
subprocess with an empty temporary ``VOICE_INTERVIEW_CACHE``.

Writes ``bench/results/embedder-speed-<date>.md``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

DEVSET = REPO / "tests" / "data" / "evaluator_devset.jsonl"
MODELS = ("wordllama", "minilm")
LABEL = {"wordllama": "WordLlama l2_supercat 256-d", "minilm": "all-MiniLM-L6-v2 (numpy) 384-d"}
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def answer_texts(answer: str) -> list[str]:
    """Sentences, consecutive sentence pairs and the whole answer, each text once."""
    sentences = [s.strip() for s in _SENTENCE_END.split(answer.strip()) if s.strip()]
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(sentences)]
    return list(dict.fromkeys([*sentences, *pairs, answer.strip()]))


def load_answers() -> list[str]:
    with DEVSET.open(encoding="utf-8") as handle:
        return [json.loads(line)["text"] for line in handle if line.strip()]


def _status_mb() -> dict[str, float]:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024  # kB -> MB
    return values


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    rank = 0.9 * (len(ordered) - 1)  # linear interpolation, as numpy.percentile
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# --- one cell, in its own process ---------------------------------------------------------------


def worker(model: str, repeats: int) -> dict[str, Any]:
    import numpy as np  # noqa: F401  (part of the baseline for both models)
    from minilm_embedder import MiniLMEmbedder

    from voice_interview.scoring.semantic import WordLlamaEmbedder

    workload = [answer_texts(a) for a in load_answers()]
    base = _status_mb()["VmRSS"]
    embedder: Any = WordLlamaEmbedder() if model == "wordllama" else MiniLMEmbedder()
    start = time.perf_counter()
    embedder._load()
    load_s = time.perf_counter() - start
    loaded = _status_mb()["VmRSS"]

    start = time.perf_counter()
    vectors = embedder.embed(workload[0])
    first_ms = 1000 * (time.perf_counter() - start)
    if vectors.shape != (len(workload[0]), embedder.dim):
        raise RuntimeError(f"{model}: embed returned shape {vectors.shape}")
    per_answer: list[list[float]] = [[] for _ in workload]
    for _ in range(repeats):
        for i, texts in enumerate(workload):
            embedder._cache.clear()
            start = time.perf_counter()
            embedder.embed(texts)
            per_answer[i].append(1000 * (time.perf_counter() - start))
    answer_ms = [statistics.median(times) for times in per_answer]
    after = _status_mb()
    return {
        "load_s": load_s,
        "rss_load_mb": loaded - base,
        "rss_embed_mb": after["VmRSS"] - base,
        "peak_mb": after["VmHWM"] - base,
        "first_ms": first_ms,
        "median_ms": statistics.median(answer_ms),
        "p90_ms": _p90(answer_ms),
    }


def run_cell(model: str, threads: int, repeats: int, cache: str | None = None) -> dict[str, Any]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "RAYON_NUM_THREADS"):
        env[name] = str(threads)
    if cache is not None:
        env["VOICE_INTERVIEW_CACHE"] = cache
    done = subprocess.run(
        [sys.executable, __file__, "--worker", model, str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{model} x{threads} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def unpack_time() -> float:
    """Seconds for MiniLM's first-ever use: unpack the zip, check sha256, load."""
    with tempfile.TemporaryDirectory(prefix="minilm-unpack-") as cache:
        code = (
            "import sys, time; sys.path.insert(0, 'bench'); import minilm_embedder as m; "
            "t = time.perf_counter(); m.model_folder(); print(time.perf_counter() - t)"
        )
        env = {**os.environ, "VOICE_INTERVIEW_CACHE": cache}
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return float(out.stdout.strip().splitlines()[-1])


# --- the report ---------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}"


def report(
    cells: dict[tuple[str, int], list[dict[str, Any]]],
    threads: list[int],
    meta: dict[str, Any],
) -> str:
    keys = ("load_s", "rss_load_mb", "rss_embed_mb", "peak_mb", "first_ms", "median_ms", "p90_ms")
    med = {
        cell: {k: statistics.median(r[k] for r in runs) for k in keys}
        for cell, runs in cells.items()
    }
    lines = [
        f"# Sentence embedders: WordLlama vs all-MiniLM-L6-v2 (numpy), {meta['date']}",
        "",
        f"Machine: {meta['cpu']}, {meta['cores']} cores available; Python {meta['python']}, "
        f"numpy {meta['numpy']} ({meta['blas']}). Load average {meta['load_before']} before, "
        f"{meta['load_after']} after (shared machine: medians).",
        "",
        f"Workload: the {meta['answers']} answers of tests/data/evaluator_devset.jsonl; per "
        f"answer every sentence, every consecutive pair and the whole answer "
        f"(median {meta['texts_median']} texts, {meta['words_median']} words per answer), one "
        f"`embed()` call with an empty cache. {meta['rounds']} rounds x {meta['repeats']} "
        "passes; per answer the median over passes, then median / p90 over answers, then the "
        "median over rounds. Threads = OMP/OPENBLAS/MKL/RAYON_NUM_THREADS of the subprocess. "
        "Memory: RSS growth over the same baseline (numpy and both modules imported). MiniLM's "
        f"one-time unpack of the zip into the cache (with sha256 check): "
        f"{_fmt(meta['unpack_s'], 2)} s, not in `load s`.",
        "",
        "| model | threads | load s | RSS after load MB | RSS after embedding MB | peak MB "
        "| first answer ms | median ms / answer | p90 ms / answer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for model in MODELS:
        for n in threads:
            m = med[(model, n)]
            lines.append(
                f"| {LABEL[model]} | {n} | {_fmt(m['load_s'], 2)} | {_fmt(m['rss_load_mb'])} "
                f"| {_fmt(m['rss_embed_mb'])} | {_fmt(m['peak_mb'])} | {_fmt(m['first_ms'])} "
                f"| {_fmt(m['median_ms'], 2)} | {_fmt(m['p90_ms'], 2)} |"
            )
    lines += [
        "",
        "Ratio MiniLM / WordLlama (median of the per-round ratios, same run):",
        "",
        "| threads | load | RSS after embedding | median ms / answer | p90 ms / answer |",
        "|---|---|---|---|---|",
    ]
    for n in threads:
        mini, word = cells[("minilm", n)], cells[("wordllama", n)]

        def ratio(
            key: str, mini: list[dict[str, Any]] = mini, word: list[dict[str, Any]] = word
        ) -> str:
            values = [a[key] / b[key] for a, b in zip(mini, word, strict=True) if b[key] > 0]
            return f"{statistics.median(values):.1f}x" if values else "n/a"

        lines.append(
            f"| {n} | {ratio('load_s')} | {ratio('rss_embed_mb')} | {ratio('median_ms')} "
            f"| {ratio('p90_ms')} |"
        )
    lines += [
        "",
        "2 threads vs 1 (median ms / answer): "
        + "; ".join(
            f"{LABEL[model].split()[0]} {_fmt(med[(model, 1)]['median_ms'], 2)} -> "
            f"{_fmt(med[(model, 2)]['median_ms'], 2)}"
            for model in MODELS
            if 1 in threads and 2 in threads
        ),
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="passes per cell (default 3)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="default: 1 2")
    parser.add_argument("--out", type=Path, default=None, help="default: bench/results/...")
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "REPEATS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]))))
        return 0

    import numpy as np
    from asr import cpu_name  # bench/asr.py

    from voice_interview.adapters.whisper import available_cores

    answers = load_answers()
    texts = [answer_texts(a) for a in answers]
    date = datetime.now(UTC).date().isoformat()
    blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    meta: dict[str, Any] = {
        "date": date,
        "cpu": cpu_name(),
        "cores": available_cores(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": f"{blas.get('name')} {blas.get('version')}",
        "load_before": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "answers": len(answers),
        "texts_median": statistics.median(len(t) for t in texts),
        "words_median": statistics.median(len(a.split()) for a in answers),
        "rounds": args.rounds,
        "repeats": args.repeats,
    }
    meta["unpack_s"] = unpack_time()
    from minilm_embedder import model_folder

    model_folder()  # the real cache is unpacked before anything is timed
    cells: dict[tuple[str, int], list[dict[str, Any]]] = {
        (m, n): [] for m in MODELS for n in args.threads
    }
    for round_no in range(1, args.rounds + 1):
        for cell in cells:
            result = run_cell(cell[0], cell[1], args.repeats)
            cells[cell].append(result)
            print(
                f"round {round_no} {cell[0]} x{cell[1]}: load {result['load_s']:.2f} s, "
                f"median {result['median_ms']:.2f} ms, p90 {result['p90_ms']:.2f} ms, "
                f"RSS +{result['rss_embed_mb']:.0f} MB",
                flush=True,
            )
    meta["load_after"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    text = report(cells, args.threads, meta)
    print()
    print(text)
    out = args.out or REPO / "bench" / "results" / f"embedder-speed-{date}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
