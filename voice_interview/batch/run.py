"""Batch scoring: many recorded answers through the one answer pipeline, crash-safe and resumable.

* **discovery and assignment** (:mod:`voice_interview.batch.discover`);
* **the work item and its scoring** (:mod:`voice_interview.batch.work`): one file through
  the one ``AnswerPipeline`` (never a copy of it), every failure turned into a one-line
  :class:`Failure` with a reason, by the :class:`InProcessScorer` every engine runs;
* **engines**: this process, :class:`ProcessPoolScorer` here, or Ray
  (:mod:`voice_interview.batch.ray_engine`); workers each load their own model once, from one
  :class:`BatchSpec`;
* **results** (:mod:`voice_interview.store.results`): ``results.jsonl`` is appended and fsync'd
  one :class:`~voice_interview.store.results.BatchRecord` per answer as it is done, so a crash
  loses no finished result and ``--resume`` skips what is there;
* **reports** (:mod:`voice_interview.batch.summary`): CSV and summaries.

:func:`run_batch` ties them together for the ``score`` command.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from voice_interview.batch.discover import AUDIO_EXTENSIONS, BatchItem, Failure, discover
from voice_interview.batch.summary import (
    BatchSummary,
    summarize,
    summary_json,
    summary_markdown,
    write_csv,
    write_text_atomic,
)
from voice_interview.batch.work import (
    DEFAULT_JOBS,
    DEFAULT_OUT_DIR,
    BatchOptions,
    BatchSpec,
    InProcessScorer,
    Job,
    Outcome,
    Scorer,
    batch_settings,
    file_sha256,
    question_failure,
    score_item,
)
from voice_interview.errors import BatchError
from voice_interview.store.results import JsonLinesLog, read_results, resume_key

if TYPE_CHECKING:
    from voice_interview.adapters.judge import JudgeConfig
    from voice_interview.content.banks import Bank

__all__ = [
    "DEFAULT_JOBS",
    "DEFAULT_OUT_DIR",
    "FAILURES_FILE",
    "RESULTS_CSV",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "BatchOptions",
    "BatchReport",
    "BatchSpec",
    "InProcessScorer",
    "Job",
    "Outcome",
    "ProcessPoolScorer",
    "Progress",
    "Scorer",
    "batch_settings",
    "file_sha256",
    "run_batch",
    "score_item",
]

logger = logging.getLogger(__name__)

RESULTS_FILE = "results.jsonl"
FAILURES_FILE = "failures.jsonl"
RESULTS_CSV = "results.csv"
SUMMARY_FILE = "summary.md"

# --- a pool of worker processes ---------------------------------------------------------------


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """``OMP_NUM_THREADS=1`` for the worker processes started inside: each worker already uses
    one recogniser thread, and the OpenMP/BLAS libraries under it read this variable once, at
    import. It is what Ray gives an actor with one CPU, and the recogniser's output depends on
    it (measured: other words on 1-3 minute answers with it unset), so the local and the Ray
    engine give the same transcripts and scores (tests/test_ray.py)."""
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = "1"
    try:
        yield
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = before


_worker: InProcessScorer | None = None


def _worker_init(spec: BatchSpec, threads: int) -> None:
    global _worker
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    _worker = InProcessScorer(spec, cpu_threads=threads)
    _worker.start()


def _worker_ready() -> int:
    time.sleep(0.05)  # hold this worker so the next check reaches another one
    return os.getpid()


def _worker_score(item: BatchItem, sha: str | None) -> Outcome:
    assert _worker is not None, "worker not initialised"
    return next(_worker.run([(item, sha)]))


class ProcessPoolScorer:
    """Scores files in ``jobs`` worker processes (spawned, so no forked model state), each
    with its own pipeline and ``threads`` recogniser threads, loaded once per worker.

    Results come back as each file finishes (not in input order). At most ``2 * jobs`` files
    are in flight, so a batch of thousands does not queue everything at once.
    """

    def __init__(self, spec: BatchSpec, threads: int = 1) -> None:
        import multiprocessing

        local = InProcessScorer(spec)  # resolves the model, loads nothing
        self.settings = local.settings
        self.jobs = spec.options.jobs
        self._pool = ProcessPoolExecutor(
            max_workers=spec.options.jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(spec, threads),
        )

    def start(self) -> None:
        """Start every worker and wait until each has loaded its model (a task runs only once
        its worker's initializer is done, so seeing every worker's pid means all are ready)."""
        ready: set[int] = set()
        with one_openmp_thread():  # the workers are spawned here and inherit it
            for _ in range(100):
                futures = [self._pool.submit(_worker_ready) for _ in range(self.jobs)]
                ready |= {f.result() for f in futures}
                if len(ready) >= self.jobs:
                    return
        logger.debug("only %d of %d workers answered the start check", len(ready), self.jobs)

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        from concurrent.futures import FIRST_COMPLETED, wait
        from concurrent.futures.process import BrokenProcessPool

        pending: set[Future[Outcome]] = set()
        queue = iter(jobs)
        exhausted = False
        while True:
            while not exhausted and len(pending) < 2 * self.jobs:
                job = next(queue, None)
                if job is None:
                    exhausted = True
                else:
                    pending.add(self._pool.submit(_worker_score, *job))
            if not pending:
                return
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    yield future.result()
                except BrokenProcessPool as exc:
                    raise BatchError(
                        f"a scoring worker process died ({exc}); the finished results are kept, "
                        "run the same command with --resume (and --jobs 1 if it happens again)"
                    ) from exc

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_scorer(spec: BatchSpec) -> Scorer:
    """``engine == "ray"``: Ray actors; ``jobs == 1``: in this process with every core; else
    ``jobs`` processes sharing them."""
    options = spec.options
    if options.engine == "ray":
        from voice_interview.batch.ray_engine import RayScorer, ray_address

        return RayScorer(spec, ray_address(options.ray_address))
    if options.jobs == 1:
        return InProcessScorer(spec)
    from voice_interview.adapters.whisper import available_cores

    threads = max(1, available_cores() // options.jobs)
    return ProcessPoolScorer(spec, threads=threads)


# --- the whole batch -----------------------------------------------------------------------------


@dataclass
class BatchReport:
    """What one run did. ``exit_code`` is 1 when any file failed, else 0."""

    out_dir: Path
    scored: int = 0
    skipped: int = 0
    failures: list[Failure] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)
    summary: BatchSummary | None = None
    audio_s: float = 0.0
    wall_s: float = 0.0
    cpu_s: float = 0.0
    """CPU time spent scoring (all threads and worker processes), for benchmarks."""

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0

    def to_json_dict(self) -> dict[str, Any]:
        """``score --json`` for a batch."""
        return {
            "out_dir": str(self.out_dir),
            "scored": self.scored,
            "skipped": self.skipped,
            "failed": [f.to_json_dict() for f in self.failures],
            "summary": summary_json(self.summary) if self.summary else None,
        }


class Progress:
    """Progress callbacks of :func:`run_batch` (the CLI shows a bar; tests may record)."""

    def start(self, total: int) -> None:
        pass

    def advance(self, outcome: Outcome | None, skipped: bool = False) -> None:
        pass

    def failure(self, failure: Failure) -> None:
        pass

    def stop(self) -> None:
        pass


def run_batch(
    paths: Sequence[str],
    bank: Bank,
    options: BatchOptions,
    *,
    question_id: str | None = None,
    manifest: str | None = None,
    judge: JudgeConfig | None = None,
    progress: Progress | None = None,
    scorer: Scorer | None = None,
) -> BatchReport:
    """Score every file found in ``paths`` (and ``manifest``) into ``options.out_dir``.

    With ``options.jobs > 1`` the workers are *spawned* processes: a script calling this must
    do so under ``if __name__ == "__main__":`` (the ``voice-interview`` command does).

    Raises:
        BatchError: nothing to score, a bad manifest, or results already in ``out_dir``
            without ``resume``. Per-file problems never raise: they are in the report.
    """
    progress = progress or Progress()
    if question_id is not None:
        bank.question(question_id)  # an unknown id for all files is a usage error
    found = discover(paths, bank, question_id=question_id, manifest=manifest)
    if not found.items and not found.failures:
        raise BatchError(
            f"no audio files found in {', '.join(paths) or manifest}; "
            f"pass files, folders or globs of {', '.join(sorted(AUDIO_EXTENSIONS)[:6])}, ..."
        )
    out = options.out_dir
    results_path = out / RESULTS_FILE
    previous = read_results(results_path, repair=options.resume)
    if (previous.records or previous.bad) and not options.resume:
        held = len(previous.records) + len(previous.bad)
        raise BatchError(
            f"{results_path}: holds {held} result(s) of an earlier batch; pass --resume "
            "to continue it, or choose another --out"
        )
    report = BatchReport(out_dir=out, ignored=found.ignored)
    started = time.perf_counter()
    own_scorer = scorer is None
    scorer = scorer or make_scorer(BatchSpec(bank, options, judge))
    done = {record.resume_key for _, record in previous.records}
    log = JsonLinesLog(results_path)
    failures_path = out / FAILURES_FILE
    failures_path.unlink(missing_ok=True)  # it lists the failures of the latest run
    failures_log = JsonLinesLog(failures_path)
    try:

        def fail(failure: Failure) -> None:
            report.failures.append(failure)
            failures_log.append(failure.to_json_dict())
            progress.failure(failure)

        progress.start(len(found.items) + len(found.failures))
        for failure in found.failures:
            fail(failure)
            progress.advance(None)
        jobs: list[Job] = []
        for item in found.items:
            bad = question_failure(item, bank)
            if bad is not None:
                fail(bad)
                progress.advance(None)
                continue
            # Hashing reads the whole file: here only to compare with earlier results; else the
            # worker hashes it as it scores it (score_item), so scoring starts at once.
            sha = file_sha256(item.file) if done else None
            key = resume_key(str(item.file), sha, item.question_id or "", scorer.settings)
            if sha is not None and key in done:
                report.skipped += 1
                progress.advance(None, skipped=True)
                continue
            jobs.append((item, sha))
        if jobs:
            scorer.start()
        for outcome in scorer.run(jobs):
            if outcome.record is not None:
                log.append(outcome.record)
                report.scored += 1
                report.audio_s += outcome.audio_s
                report.cpu_s += outcome.cpu_s
            elif outcome.failure is not None:
                fail(outcome.failure)
            progress.advance(outcome)
    finally:
        progress.stop()
        log.close()
        failures_log.close()
        if own_scorer:
            scorer.close()
    report.wall_s = time.perf_counter() - started
    records = [record for _, record in read_results(results_path).latest()]
    write_csv(records, out / RESULTS_CSV)
    report.summary = summarize(records)
    write_text_atomic(out / SUMMARY_FILE, summary_markdown(report.summary, len(report.failures)))
    return report
