"""Batch scoring: many recorded answers through the one answer pipeline, crash-safe and resumable.

* **discovery and assignment** (:mod:`voice_interview.batch.discover`);
* **scoring** (:func:`score_item`): one file through the one ``AnswerPipeline``
  (never a copy of it), every failure turned into a one-line :class:`Failure` with a reason;
* **parallel scorers** (:class:`InProcessScorer`, :class:`ProcessPoolScorer`): where the
  pipeline runs; workers each load their own model once;
* **results** (:mod:`voice_interview.store.results`): ``results.jsonl`` is appended and fsync'd
  one :class:`~voice_interview.store.results.BatchRecord` per answer as it is done, so a crash
  loses no finished result and ``--resume`` skips what is there;
* **reports** (:mod:`voice_interview.batch.summary`): CSV and summaries.

:func:`run_batch` ties them together for the ``score`` command.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from voice_interview.adapters.models import DEFAULT_ASR_MODEL
from voice_interview.adapters.whisper import DEFAULT_BATCH_SIZE
from voice_interview.batch.discover import (
    AUDIO_EXTENSIONS,
    NAME_SEPARATOR,
    BatchItem,
    Failure,
    FailureReason,
    discover,
)
from voice_interview.batch.summary import (
    BatchSummary,
    summarize,
    summary_json,
    summary_markdown,
    write_csv,
    write_text_atomic,
)
from voice_interview.errors import AudioError, BankError, BatchError, VoiceInterviewError
from voice_interview.store.results import BatchRecord, JsonLinesLog, read_results, resume_key

if TYPE_CHECKING:
    from voice_interview.content.banks import Bank
    from voice_interview.pipeline import AnswerPipeline
    from voice_interview.scoring.judge import JudgeConfig

__all__ = [
    "DEFAULT_JOBS",
    "DEFAULT_OUT_DIR",
    "FAILURES_FILE",
    "RESULTS_CSV",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "BatchOptions",
    "BatchReport",
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

DEFAULT_OUT_DIR = "batch-results"
RESULTS_FILE = "results.jsonl"
FAILURES_FILE = "failures.jsonl"
RESULTS_CSV = "results.csv"
SUMMARY_FILE = "summary.md"

DEFAULT_JOBS = 2
"""Worker processes, one recogniser thread each: on 2 cores, two single-threaded workers with
the batched recogniser did the most audio per CPU second (docs/batch.md#parallelism)."""


# --- options -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs. Defaults are defined here once.

    Attributes:
        out_dir: where results.jsonl, failures.jsonl, results.csv and summary.md go.
        jobs: worker processes, one recogniser thread each; 1 = score in this process with
            every core. See :data:`DEFAULT_JOBS` for why 2.
        resume: continue the batch in ``out_dir``: files already scored with the same audio
            hash, question and settings are skipped. Without it an ``out_dir`` that already
            holds results is refused, so nothing is overwritten.
        model: ASR model name (as for ``transcribe``).
        max_file_mb: larger files fail with reason ``too-large`` before they are read.
        max_duration_s: longer recordings fail with reason ``too-long`` before transcription.
        engine: ``local`` (this machine: :data:`DEFAULT_JOBS` processes) or ``ray`` (Ray
            actors, one per CPU of the cluster: :mod:`voice_interview.batch.ray_engine`).
        ray_address: the Ray cluster (``host:port``); None: ``RAY_ADDRESS``, else a local Ray
            started for this run.
        asr_batch_size: speech chunks the recogniser decodes together (faster-whisper's
            BatchedInferencePipeline); 0 = window by window as in live practice. See
            :data:`~voice_interview.adapters.whisper.DEFAULT_BATCH_SIZE` for why 8.
    """

    out_dir: Path = Path(DEFAULT_OUT_DIR)
    jobs: int = DEFAULT_JOBS
    resume: bool = False
    model: str = DEFAULT_ASR_MODEL
    max_file_mb: float = 100.0
    max_duration_s: float = 900.0
    asr_batch_size: int = DEFAULT_BATCH_SIZE
    engine: Literal["local", "ray"] = "local"
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {self.jobs}")
        if self.asr_batch_size < 0:
            raise ValueError(f"asr_batch_size must be >= 0, got {self.asr_batch_size}")
        if not self.max_file_mb > 0 or not self.max_duration_s > 0:
            raise ValueError("max_file_mb and max_duration_s must be positive")


# --- scoring one file ----------------------------------------------------------------------------


def file_sha256(path: Path) -> str | None:
    """SHA-256 of the file's bytes, or None when it cannot be read (scoring then says why)."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return None
    return digest.hexdigest()


def batch_settings(pipeline: AnswerPipeline, bank: Bank, model_name: str) -> dict[str, Any]:
    """What a result depends on besides the audio; a resumed batch rescores when it changed."""
    from voice_interview import __version__

    return {
        "model": model_name,
        "bank_id": bank.id,
        "bank_sha256": hashlib.sha256(
            bank.model_dump_json(exclude={"source"}).encode("utf-8")
        ).hexdigest(),
        "evaluator": {"name": pipeline.evaluator.name, "version": pipeline.evaluator.version},
        "judge_model": pipeline.evaluator.judge_model,
        "asr_batch_size": pipeline.transcriber.batch_size,
        "app_version": __version__,
    }


@dataclass(frozen=True)
class Outcome:
    """The result of one file: ``record`` (a results.jsonl line) or ``failure``; with the wall
    and CPU time (all threads of the scoring process) it took."""

    item: BatchItem
    record: BatchRecord | None = None
    failure: Failure | None = None
    elapsed_s: float = 0.0
    audio_s: float = 0.0
    cpu_s: float = 0.0


def question_failure(item: BatchItem, bank: Bank) -> Failure | None:
    """The failure of a file whose question is missing or not in the bank, else None."""
    if item.question_id is None:
        return Failure(
            str(item.file),
            "no-question",
            f"{item.file}: no question for this file; pass --question ID, list it in a "
            f"--manifest, or name it <candidate>{NAME_SEPARATOR}<question-id>{item.file.suffix}",
        )
    try:
        bank.question(item.question_id)
    except BankError as exc:
        return Failure(str(item.file), "unknown-question", f"{item.file}: {exc}")
    return None


def score_item(
    pipeline: AnswerPipeline,
    bank: Bank,
    item: BatchItem,
    sha256: str | None,
    settings: dict[str, Any],
    options: BatchOptions,
) -> Outcome:
    """Score one file through ``pipeline``; every error becomes a one-line :class:`Failure`."""
    from voice_interview.adapters.audio_files import load_audio

    start = time.perf_counter()
    cpu_start = time.process_time()
    where = str(item.file)

    def failed(reason: FailureReason, error: str) -> Outcome:
        message = " ".join(error.splitlines())
        return Outcome(item, failure=Failure(where, reason, message), elapsed_s=_since(start))

    bad_question = question_failure(item, bank)
    if bad_question is not None:
        return Outcome(item, failure=bad_question)
    assert item.question_id is not None
    question = bank.question(item.question_id)
    try:
        size_mb = item.file.stat().st_size / 1e6
    except OSError:
        size_mb = 0.0  # load_audio names the problem
    if size_mb > options.max_file_mb:
        return failed(
            "too-large",
            f"{where}: {size_mb:.1f} MB is over the {options.max_file_mb:g} MB limit; "
            "split the recording or raise --max-file-mb",
        )
    try:
        audio = load_audio(item.file)
        if audio.duration_s > options.max_duration_s:
            return failed(
                "too-long",
                f"{where}: {audio.duration_s:.0f} s is over the {options.max_duration_s:g} s "
                "limit; split the recording or raise --max-duration-s",
            )
        evaluation = pipeline.score_audio(audio, question)
    except AudioError as exc:
        text = str(exc)
        return failed(exc.reason, text if text.startswith(where) else f"{where}: {text}")
    except VoiceInterviewError as exc:
        return failed("error", f"{where}: {exc}")
    except Exception as exc:  # a bug must not stop the other files of the batch
        logger.debug("scoring %s failed", where, exc_info=True)
        return failed("internal-error", f"{where}: {type(exc).__name__}: {exc}")
    record = BatchRecord(
        evaluation,
        file=where,
        candidate=item.candidate,
        audio_sha256=sha256 if sha256 is not None else file_sha256(item.file),
        settings=settings,
    )
    return Outcome(
        item,
        record=record,
        elapsed_s=_since(start),
        audio_s=audio.duration_s,
        cpu_s=time.process_time() - cpu_start,
    )


def _since(start: float) -> float:
    return time.perf_counter() - start


# --- where scoring runs --------------------------------------------------------------------------

Job = tuple[BatchItem, str | None]


class InProcessScorer:
    """Scores files one after another in this process (the recogniser uses ``cpu_threads``,
    0 = every core). ``pipeline`` replaces the standard one (benchmarks try other engines)."""

    def __init__(
        self,
        model: str,
        bank: Bank,
        judge: JudgeConfig | None,
        options: BatchOptions,
        cpu_threads: int = 0,
        pipeline: AnswerPipeline | None = None,
    ) -> None:
        from voice_interview.pipeline import build_pipeline

        self.bank = bank
        self.options = options
        self.pipeline = pipeline or build_pipeline(
            model, bank, judge, cpu_threads=cpu_threads, batch_size=options.asr_batch_size
        )
        self.model_name = self.pipeline.transcriber.model_name
        self.settings = batch_settings(self.pipeline, bank, self.model_name)

    def start(self) -> None:
        """Load the recogniser and warm the evaluator, so the first file pays no load time."""
        self.pipeline.transcriber.load()
        self.pipeline.score_text("warming up the evaluator", self.bank.questions[0])

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        for item, sha in jobs:
            yield score_item(self.pipeline, self.bank, item, sha, self.settings, self.options)

    def close(self) -> None:
        pass


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


def _worker_init(
    model: str, bank: Bank, judge: JudgeConfig | None, options: BatchOptions, threads: int
) -> None:
    global _worker
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)
    _worker = InProcessScorer(model, bank, judge, options, cpu_threads=threads)
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

    def __init__(
        self,
        model: str,
        bank: Bank,
        judge: JudgeConfig | None,
        options: BatchOptions,
        threads: int = 1,
    ) -> None:
        import multiprocessing

        local = InProcessScorer(model, bank, judge, options)  # resolves the model, loads nothing
        self.settings = local.settings
        self.jobs = options.jobs
        self._pool = ProcessPoolExecutor(
            max_workers=options.jobs,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init,
            initargs=(model, bank, judge, options, threads),
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


class Scorer(Protocol):
    """Where a batch's files are scored: this process, a process pool, or a Ray cluster."""

    settings: dict[str, Any]
    """What every result depends on besides the audio (:func:`batch_settings`)."""

    def start(self) -> None:
        """Load the models; called once, before the first file."""
        ...

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        """Score the files, yielding each outcome as it finishes (any order)."""
        ...

    def close(self) -> None: ...


def make_scorer(model: str, bank: Bank, judge: JudgeConfig | None, options: BatchOptions) -> Scorer:
    """``engine == "ray"``: Ray actors; ``jobs == 1``: in this process with every core; else
    ``jobs`` processes sharing them."""
    if options.engine == "ray":
        from voice_interview.batch.ray_engine import RayScorer, ray_address

        return RayScorer(model, bank, judge, options, ray_address(options.ray_address))
    if options.jobs == 1:
        return InProcessScorer(model, bank, judge, options)
    from voice_interview.adapters.whisper import available_cores

    threads = max(1, available_cores() // options.jobs)
    return ProcessPoolScorer(model, bank, judge, options, threads=threads)


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
    scorer = scorer or make_scorer(options.model, bank, judge, options)
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
