"""One batch work item and its scoring, shared by every engine (in this process, a process
pool, a Ray cluster): the options and the :class:`BatchSpec` an engine is started with, the
:data:`Job` it is handed, the :class:`Outcome` it gives back, and :class:`InProcessScorer`,
the one place a file is scored (:func:`score_item`). The engines import this module; none of
them imports another.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from voice_interview.adapters.models import DEFAULT_ASR_MODEL
from voice_interview.adapters.whisper import DEFAULT_BATCH_SIZE
from voice_interview.batch.discover import NAME_SEPARATOR, BatchItem, Failure, FailureReason
from voice_interview.errors import AudioError, BankError, VoiceInterviewError
from voice_interview.store.results import BatchRecord

if TYPE_CHECKING:
    from voice_interview.adapters.judge import JudgeConfig
    from voice_interview.content.banks import Bank
    from voice_interview.pipeline import AnswerPipeline

__all__ = [
    "BatchOptions",
    "BatchSpec",
    "InProcessScorer",
    "Job",
    "Outcome",
    "Scorer",
    "batch_settings",
    "file_sha256",
    "question_failure",
    "score_item",
]

logger = logging.getLogger(__name__)

DEFAULT_OUT_DIR = "batch-results"

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


@dataclass(frozen=True)
class BatchSpec:
    """What every engine needs to score a batch's files, in one value: the question bank, the
    options (``options.model`` is the recogniser) and the optional LLM judge. Frozen and
    picklable: it is what a worker process or a Ray actor is started with."""

    bank: Bank
    options: BatchOptions = field(default_factory=BatchOptions)
    judge: JudgeConfig | None = None


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


# --- the engine in this process -----------------------------------------------------------------

Job = tuple[BatchItem, str | None]


class InProcessScorer:
    """Scores files one after another in this process (the recogniser uses ``cpu_threads``,
    0 = every core). ``pipeline`` replaces the standard one (benchmarks try other engines)."""

    def __init__(
        self, spec: BatchSpec, cpu_threads: int = 0, pipeline: AnswerPipeline | None = None
    ) -> None:
        from voice_interview.pipeline import build_pipeline

        self.spec = spec
        self.bank = spec.bank
        self.options = spec.options
        self.pipeline = pipeline or build_pipeline(
            spec.options.model,
            spec.bank,
            spec.judge,
            cpu_threads=cpu_threads,
            batch_size=spec.options.asr_batch_size,
        )
        self.model_name = self.pipeline.transcriber.model_name
        self.settings = batch_settings(self.pipeline, spec.bank, self.model_name)

    def start(self) -> None:
        """Load the recogniser and warm the evaluator, so the first file pays no load time."""
        self.pipeline.transcriber.load()
        self.pipeline.score_text("warming up the evaluator", self.bank.questions[0])

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        for item, sha in jobs:
            yield score_item(self.pipeline, self.bank, item, sha, self.settings, self.options)

    def close(self) -> None:
        pass


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
