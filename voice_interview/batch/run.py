"""Batch scoring: many recorded answers through the one answer pipeline, crash-safe and resumable.

The parts, each usable on its own:

* **discovery** (:func:`discover`): files, folders (recursive), globs, session folders and a
  manifest become :class:`BatchItem` s, one per audio file, in a stable order;
* **question assignment** (:func:`assign_question`): which bank question each file answers;
* **scoring** (:func:`score_item`): one file through the one ``AnswerPipeline``
  (never a copy of it), every failure turned into a one-line :class:`Failure` with a reason;
* **parallel scorers** (:class:`InProcessScorer`, :class:`ProcessPoolScorer`): where the
  pipeline runs; workers each load their own model once;
* **results** (:class:`ResultsLog`, :func:`read_results`, :func:`resume_key`): ``results.jsonl``
  is appended and fsync'd one line per answer as it is done, so a crash loses no finished
  result and ``--resume`` skips what is there (a line cut short by a crash is dropped);
* **reports** (:func:`write_csv`, :func:`summarize`, :func:`summary_markdown`): pure functions of
  the result lines.

:func:`run_batch` ties them together for the ``score`` command.
"""

from __future__ import annotations

import csv
import glob
import hashlib
import io
import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from voice_interview.adapters.durable import fsync_dir, write_atomic
from voice_interview.errors import AudioError, BankError, BatchError, VoiceInterviewError

if TYPE_CHECKING:
    from voice_interview.content.banks import Bank
    from voice_interview.pipeline import AnswerPipeline
    from voice_interview.scoring.judge import JudgeConfig

__all__ = [
    "AUDIO_EXTENSIONS",
    "DEFAULT_ASR_BATCH_SIZE",
    "DEFAULT_JOBS",
    "DEFAULT_OUT_DIR",
    "FAILURES_FILE",
    "RESULTS_CSV",
    "RESULTS_FILE",
    "SUMMARY_FILE",
    "BatchError",
    "BatchItem",
    "BatchOptions",
    "BatchReport",
    "Failure",
    "GroupStats",
    "InProcessScorer",
    "Outcome",
    "ProcessPoolScorer",
    "ResultsLog",
    "assign_question",
    "batch_settings",
    "discover",
    "file_sha256",
    "is_batch",
    "read_manifest",
    "read_results",
    "resume_key",
    "run_batch",
    "score_item",
    "summarize",
    "summary_markdown",
    "weakest_parts",
    "write_csv",
]

logger = logging.getLogger(__name__)

DEFAULT_OUT_DIR = "batch-results"
RESULTS_FILE = "results.jsonl"
FAILURES_FILE = "failures.jsonl"
RESULTS_CSV = "results.csv"
SUMMARY_FILE = "summary.md"

DEFAULT_JOBS = 2
"""Worker processes, one recogniser thread each (with :data:`DEFAULT_ASR_BATCH_SIZE`).
Measured on 2 cores with 1-3 minute answers (``bench/results/batch-2026-11-26.md``): two
single-threaded processes with the batched recogniser used the least CPU per audio second
(tiny.en 0.048, base 0.087 CPU s per audio s, against 0.077/0.109 for one process with two
threads) and were the fastest (median 13.4x real time with tiny.en, 6.0x with base, evaluation
included, on a machine shared with other load)."""

DEFAULT_ASR_BATCH_SIZE = 8
"""Speech chunks decoded together by faster-whisper's BatchedInferencePipeline in batch scoring.
Besides the speed, it kept long answers accurate: 5.2 % WER with tiny.en on the benchmark's
1-3 minute answers, against 15.3 % decoding window by window (the live-practice settings)."""

AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".flac", ".mp3", ".ogg", ".oga", ".opus", ".m4a", ".webm", ".aac", ".aif", ".aiff",
     ".wma", ".mp4", ".mka", ".mkv", ".mov", ".amr", ".3gp", ".caf", ".spx"}
)  # fmt: skip
"""What a folder scan picks up (explicit files and glob matches are tried whatever their name)."""

NAME_SEPARATOR = "__"
"""File-name convention: ``<candidate>__<question-id>.<ext>`` or ``<question-id>.<ext>``."""

_SESSION_FILE = "session.json"
_GLOB_CHARS = frozenset("*?[")

Source = Literal["manifest", "session", "--question", "file-name", "none"]


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
        asr_batch_size: speech chunks the recogniser decodes together (faster-whisper's
            BatchedInferencePipeline); 0 = window by window as in live practice. See
            :data:`DEFAULT_ASR_BATCH_SIZE` for why 8.
    """

    out_dir: Path = Path(DEFAULT_OUT_DIR)
    jobs: int = DEFAULT_JOBS
    resume: bool = False
    model: str = "tiny.en"
    max_file_mb: float = 100.0
    max_duration_s: float = 900.0
    asr_batch_size: int = DEFAULT_ASR_BATCH_SIZE

    def __post_init__(self) -> None:
        if self.jobs < 1:
            raise ValueError(f"jobs must be >= 1, got {self.jobs}")
        if self.asr_batch_size < 0:
            raise ValueError(f"asr_batch_size must be >= 0, got {self.asr_batch_size}")
        if not self.max_file_mb > 0 or not self.max_duration_s > 0:
            raise ValueError("max_file_mb and max_duration_s must be positive")


# --- discovery and question assignment -----------------------------------------------------------


@dataclass(frozen=True)
class BatchItem:
    """One audio file to score. ``file`` is absolute; ``question_id`` None means unassigned."""

    file: Path
    question_id: str | None = None
    candidate: str | None = None
    source: Source = "none"


@dataclass(frozen=True)
class Failure:
    """A file that could not be scored: one line in failures.jsonl and on stderr."""

    file: str
    reason: str
    error: str

    def to_json_dict(self) -> dict[str, str]:
        return {"file": self.file, "reason": self.reason, "error": self.error}


@dataclass
class Discovery:
    """What :func:`discover` found: the items in order, failures found while looking (a glob
    matching nothing, a damaged session.json), and files a folder scan passed over."""

    items: list[BatchItem] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def is_batch(paths: Sequence[str], question_id: str | None, *, batch_options_given: bool) -> bool:
    """Whether ``score PATH...`` runs a batch. One existing or plain file path with a question
    and no batch option is a single answer (printed, as ``score FILE --question ID`` always
    was); anything else (several paths, a folder, a glob, no question, a batch option) is a
    batch. With no paths at all it is a batch only if batch options (a manifest) say so."""
    if not paths:
        return batch_options_given
    if len(paths) > 1 or question_id is None or batch_options_given:
        return True
    path = Path(paths[0])
    return path.is_dir() or (not path.exists() and bool(_GLOB_CHARS & set(paths[0])))


def _absolute(path: str | os.PathLike[str]) -> Path:
    return Path(os.path.abspath(path))


def read_manifest(path: str | os.PathLike[str]) -> list[BatchItem]:
    """Rows of a CSV (header ``file,question_id[,candidate]``) or JSONL manifest (objects with
    the same keys). Relative ``file`` paths are relative to the manifest's folder.

    Raises:
        BatchError: the manifest is missing, unreadable, or has no ``file`` column/key; the
            message names the manifest and the line.
    """
    manifest = Path(path)
    try:
        text = manifest.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchError(f"{manifest}: cannot read the manifest ({exc}); check the path") from exc
    rows: list[tuple[int, dict[str, Any]]] = []
    if manifest.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise BatchError(
                    f"{manifest}:{number}: not valid JSON ({exc.msg}); "
                    'write one object per line: {"file": "...", "question_id": "..."}'
                ) from exc
            if not isinstance(row, dict):
                raise BatchError(f"{manifest}:{number}: expected a JSON object per line")
            rows.append((number, row))
    else:
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None or "file" not in [f.strip() for f in reader.fieldnames]:
            raise BatchError(
                f"{manifest}: the CSV needs a header row with a 'file' column "
                "(file,question_id,candidate)"
            )
        for number, row in enumerate(reader, 2):
            rows.append((number, {(k or "").strip(): v for k, v in row.items()}))
    base = manifest.parent
    items = []
    for number, row in rows:
        name = str(row.get("file") or "").strip()
        if not name:
            raise BatchError(f"{manifest}:{number}: the row has no 'file'")
        question = str(row.get("question_id") or "").strip() or None
        candidate = str(row.get("candidate") or "").strip() or None
        items.append(BatchItem(_absolute(base / name), question, candidate, "manifest"))
    return items


def _name_convention(file: Path, bank: Bank) -> tuple[str | None, str | None]:
    """(question_id, candidate) from ``<candidate>__<question-id>.<ext>`` or
    ``<question-id>.<ext>``; (None, None) when the name follows neither."""
    stem = file.stem
    if NAME_SEPARATOR in stem:
        candidate, question = stem.rsplit(NAME_SEPARATOR, 1)
        return question, candidate or None
    ids = {q.id for q in bank.questions}
    return (stem, None) if stem in ids else (None, None)


def assign_question(item: BatchItem, bank: Bank, default_question: str | None) -> BatchItem:
    """Fill in which question ``item`` answers. First rule that applies: a manifest row, the
    session's session.json, ``--question ID``, the file name (``<candidate>__<question-id>``).
    """
    if item.question_id is not None:
        return item
    if default_question is not None:
        return BatchItem(item.file, default_question, item.candidate, "--question")
    question, candidate = _name_convention(item.file, bank)
    if question is not None:
        return BatchItem(item.file, question, item.candidate or candidate, "file-name")
    return item


def _session_items(folder: Path) -> tuple[list[BatchItem], list[Failure]]:
    from voice_interview.store.sessions import SessionStore

    try:
        session = SessionStore(folder.parent).open(folder)
    except VoiceInterviewError as exc:
        return [], [Failure(str(folder / _SESSION_FILE), "bad-session", str(exc))]
    items = []
    for q in session.record.questions:
        if q.answer_audio is None:
            continue  # never answered (pending or skipped): nothing to score
        items.append(
            BatchItem(_absolute(session.resolve(q.answer_audio)), q.question_id, None, "session")
        )
    return items, []


def _walk(folder: Path, found: Discovery) -> None:
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        if _SESSION_FILE in files:
            items, failures = _session_items(here)
            found.items += items
            found.failures += failures
            dirs.clear()  # the session says which files are answers (not question.wav)
            continue
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = here / name
            if name.startswith("."):
                continue
            if path.suffix.lower() in AUDIO_EXTENSIONS:
                found.items.append(BatchItem(_absolute(path)))
            else:
                found.ignored.append(path)


def discover(
    paths: Sequence[str],
    bank: Bank,
    *,
    question_id: str | None = None,
    manifest: str | os.PathLike[str] | None = None,
) -> Discovery:
    """Every file to score, each once, in order: the manifest's rows, then ``paths`` (files,
    folders scanned recursively for audio, glob patterns, session folders), each with its
    question assigned (see :func:`assign_question`).

    A path that does not exist is kept as an item (it fails later as ``missing``), a glob that
    matches nothing becomes a failure, and non-audio files met in folders are listed in
    ``ignored``.
    """
    found = Discovery()
    if manifest is not None:
        found.items += read_manifest(manifest)
    for given in paths:
        path = Path(given)
        if path.is_dir():
            _walk(path, found)
        elif not path.exists() and _GLOB_CHARS & set(given):
            matches = sorted(glob.glob(given, recursive=True))
            if not matches:
                found.failures.append(
                    Failure(given, "missing", f"{given}: no files match; check the pattern")
                )
            for match in matches:
                if Path(match).is_dir():
                    _walk(Path(match), found)
                else:
                    found.items.append(BatchItem(_absolute(match)))
        else:
            found.items.append(BatchItem(_absolute(path)))
    seen: dict[Path, BatchItem] = {}
    for item in found.items:  # the first mention wins: a manifest row before a folder scan
        seen.setdefault(item.file, item)
    found.items = [assign_question(i, bank, question_id) for i in seen.values()]
    return found


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

    judge = getattr(getattr(pipeline.evaluator, "judge", None), "config", None)
    return {
        "model": model_name,
        "bank_id": bank.id,
        "bank_sha256": hashlib.sha256(
            bank.model_dump_json(exclude={"source"}).encode("utf-8")
        ).hexdigest(),
        "evaluator": {"name": pipeline.evaluator.name, "version": pipeline.evaluator.version},
        "judge_model": getattr(judge, "model", None),
        "asr_batch_size": getattr(
            getattr(pipeline.transcriber, "options", None), "batch_size", None
        ),
        "app_version": __version__,
    }


@dataclass(frozen=True)
class Outcome:
    """The result of one file: ``record`` (a results.jsonl line) or ``failure``; with the wall
    and CPU time (all threads of the scoring process) it took."""

    item: BatchItem
    record: dict[str, Any] | None = None
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

    def failed(reason: str, error: str) -> Outcome:
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
    record = {
        **evaluation.to_json_dict(),
        "file": where,
        "candidate": item.candidate,
        "audio_sha256": sha256 if sha256 is not None else file_sha256(item.file),
        "settings": settings,
    }
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
        self.model_name = self.pipeline.transcriber.resolved_model.name  # type: ignore[attr-defined]
        self.settings = batch_settings(self.pipeline, bank, self.model_name)

    def start(self) -> None:
        """Load the recogniser and warm the evaluator, so the first file pays no load time."""
        self.pipeline.transcriber.load()  # type: ignore[attr-defined]
        self.pipeline.score_text("warming up the evaluator", self.bank.questions[0])

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        for item, sha in jobs:
            yield score_item(self.pipeline, self.bank, item, sha, self.settings, self.options)

    def close(self) -> None:
        pass


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


Scorer = InProcessScorer | ProcessPoolScorer


def make_scorer(model: str, bank: Bank, judge: JudgeConfig | None, options: BatchOptions) -> Scorer:
    """``jobs == 1``: in this process with every core; else ``jobs`` processes sharing them."""
    if options.jobs == 1:
        return InProcessScorer(model, bank, judge, options)
    from voice_interview.adapters.whisper import available_cores

    threads = max(1, available_cores() // options.jobs)
    return ProcessPoolScorer(model, bank, judge, options, threads=threads)


# --- results on disk -----------------------------------------------------------------------------


def resume_key(record: dict[str, Any]) -> str:
    """What makes a result reusable: same file, same bytes, same question, same settings."""
    return json.dumps(
        [record.get("file"), record.get("audio_sha256"), record.get("question_id"),
         record.get("settings")],
        sort_keys=True,
    )  # fmt: skip


def read_results(path: Path, *, repair: bool = False) -> list[dict[str, Any]]:
    """The result lines of a results.jsonl, oldest first.

    A last line without its newline was cut short by a crash mid-write: it is ignored, and
    with ``repair`` the file is truncated to drop it so appending continues on a clean line.
    Other lines that are not JSON objects are skipped with a warning.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise BatchError(f"{path}: cannot read the results ({exc.strerror or exc})") from exc
    complete_end = data.rfind(b"\n") + 1
    if complete_end < len(data):
        logger.warning("%s: ignoring an unfinished last line (interrupted write)", path)
        if repair:
            with path.open("r+b") as handle:
                handle.truncate(complete_end)
                os.fsync(handle.fileno())
    records = []
    for number, line in enumerate(data[:complete_end].decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            logger.warning("%s:%d: skipping a line that is not JSON", path, number)
            continue
        if isinstance(record, dict):
            records.append(record)
    return records


class ResultsLog:
    """An append-only JSON-lines file; each line is flushed and fsync'd before ``append``
    returns, so a crash (even ``kill -9``) keeps every line appended before it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            created = not path.exists()
            self._handle = path.open("a", encoding="utf-8")
            if created:
                fsync_dir(path.parent)
        except OSError as exc:
            raise BatchError(
                f"{path}: cannot write ({exc.strerror or exc}); check that the folder is "
                "writable and the disk has space"
            ) from exc

    def append(self, record: dict[str, Any]) -> None:
        try:
            self._handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            self._handle.flush()
            os.fsync(self._handle.fileno())
        except OSError as exc:
            raise BatchError(
                f"{self.path}: cannot write ({exc.strerror or exc}); free disk space and run "
                "again with --resume"
            ) from exc

    def close(self) -> None:
        self._handle.close()


def _write_text_atomic(path: Path, text: str) -> None:
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError as exc:
        raise BatchError(f"{path}: cannot write ({exc.strerror or exc})") from exc


def latest_per_file(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per file: the last one written (a file rescored after a change), in order."""
    by_file: dict[str, dict[str, Any]] = {}
    for record in records:
        by_file.pop(str(record.get("file")), None)
        by_file[str(record.get("file"))] = record
    return list(by_file.values())


# --- reports (pure) ------------------------------------------------------------------------------


def weakest_parts(record: dict[str, Any]) -> list[str]:
    """The weak spots of one answer: missing rubric concepts (technical), else the partial ones;
    STAR parts that are absent or score under 50 (behavioral)."""
    if record.get("kind") == "behavioral":
        star = record.get("star") or {}
        return [p for p, c in star.items() if not c.get("present") or c.get("score", 0) < 50]
    concepts = record.get("concepts") or []
    missing = [c["label"] for c in concepts if c.get("status") == "missing"]
    return missing or [c["label"] for c in concepts if c.get("status") == "partial"]


_DELIVERY_COLUMNS = (
    "duration_s", "word_count", "words_per_minute", "filler_count", "fillers_per_100_words",
    "pause_count", "longest_pause_s", "hedge_count",
)  # fmt: skip
CSV_COLUMNS = (
    "file", "candidate", "question_id", "kind", "overall", "band", "content_score",
    "delivery_score", *_DELIVERY_COLUMNS, "weakest", "model", "audio_sha256",
)  # fmt: skip


def csv_row(record: dict[str, Any]) -> dict[str, Any]:
    delivery = record.get("delivery") or {}
    details = record.get("details") or {}
    return {
        "file": record.get("file"),
        "candidate": record.get("candidate") or "",
        "question_id": record.get("question_id"),
        "kind": record.get("kind"),
        "overall": record.get("overall"),
        "band": record.get("band"),
        "content_score": details.get("content_score"),
        "delivery_score": details.get("delivery_score"),
        **{k: delivery.get(k) for k in _DELIVERY_COLUMNS},
        "weakest": "; ".join(weakest_parts(record)),
        "model": (record.get("settings") or {}).get("model"),
        "audio_sha256": record.get("audio_sha256"),
    }


def write_csv(records: Sequence[dict[str, Any]], path: Path) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for record in records:
        writer.writerow(csv_row(record))
    _write_text_atomic(path, out.getvalue())


@dataclass(frozen=True)
class GroupStats:
    """Scores of one question or one candidate."""

    key: str
    count: int
    mean: float
    min: int
    max: int
    weakest: tuple[tuple[str, int], ...]
    """Most frequent weak spots (concepts or STAR parts) with how many answers had them."""


@dataclass(frozen=True)
class BatchSummary:
    by_question: tuple[GroupStats, ...]
    by_candidate: tuple[GroupStats, ...]
    count: int
    mean: float | None


def _group(key: str, records: Sequence[dict[str, Any]], top: int) -> GroupStats:
    scores = [int(r["overall"]) for r in records]
    weak = Counter(part for r in records for part in weakest_parts(r))
    return GroupStats(
        key=key,
        count=len(scores),
        mean=round(sum(scores) / len(scores), 1),
        min=min(scores),
        max=max(scores),
        weakest=tuple(sorted(weak.items(), key=lambda kv: (-kv[1], kv[0]))[:top]),
    )


def summarize(records: Sequence[dict[str, Any]], top: int = 3) -> BatchSummary:
    """Per question and per candidate (``(none)`` when unknown): count, mean, min, max and the
    ``top`` most frequent weak spots."""

    def groups(key: Callable[[dict[str, Any]], str]) -> tuple[GroupStats, ...]:
        buckets: dict[str, list[dict[str, Any]]] = {}
        for r in records:
            buckets.setdefault(key(r), []).append(r)
        return tuple(_group(k, v, top) for k, v in sorted(buckets.items()))

    scores = [int(r["overall"]) for r in records]
    return BatchSummary(
        by_question=groups(lambda r: str(r.get("question_id"))),
        by_candidate=groups(lambda r: str(r.get("candidate") or "(none)")),
        count=len(scores),
        mean=round(sum(scores) / len(scores), 1) if scores else None,
    )


def format_weakest(stats: GroupStats) -> str:
    return ", ".join(f"{name} ({n})" for name, n in stats.weakest) or "-"


def summary_markdown(summary: BatchSummary, failures: int = 0) -> str:
    lines = [
        "# Batch summary",
        "",
        f"Scored answers: {summary.count}"
        + (f", mean {summary.mean}" if summary.mean is not None else "")
        + f"; failed in the last run: {failures}.",
    ]
    for title, rows in (("question", summary.by_question), ("candidate", summary.by_candidate)):
        lines += [
            "",
            f"## Per {title}",
            "",
            f"| {title} | count | mean | min | max | weakest (answers) |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {s.key} | {s.count} | {s.mean} | {s.min} | {s.max} | {format_weakest(s)} |"
            for s in rows
        ]
    return "\n".join(lines) + "\n"


def summary_json(summary: BatchSummary) -> dict[str, Any]:
    def rows(groups: Sequence[GroupStats]) -> list[dict[str, Any]]:
        return [
            {"key": s.key, "count": s.count, "mean": s.mean, "min": s.min, "max": s.max,
             "weakest": [list(w) for w in s.weakest]}
            for s in groups
        ]  # fmt: skip

    return {
        "count": summary.count,
        "mean": summary.mean,
        "by_question": rows(summary.by_question),
        "by_candidate": rows(summary.by_candidate),
    }


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
    if previous and not options.resume:
        raise BatchError(
            f"{results_path}: holds {len(previous)} result(s) of an earlier batch; pass --resume "
            "to continue it, or choose another --out"
        )
    report = BatchReport(out_dir=out, ignored=found.ignored)
    started = time.perf_counter()
    own_scorer = scorer is None
    scorer = scorer or make_scorer(options.model, bank, judge, options)
    done = {resume_key(r) for r in previous}
    log = ResultsLog(results_path)
    failures_path = out / FAILURES_FILE
    failures_path.unlink(missing_ok=True)  # it lists the failures of the latest run
    failures_log = ResultsLog(failures_path)
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
            sha = file_sha256(item.file)
            key = resume_key(
                {"file": str(item.file), "audio_sha256": sha, "question_id": item.question_id,
                 "settings": scorer.settings}
            )  # fmt: skip
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
    records = latest_per_file(read_results(results_path))
    write_csv(records, out / RESULTS_CSV)
    report.summary = summarize(records)
    _write_text_atomic(out / SUMMARY_FILE, summary_markdown(report.summary, len(report.failures)))
    return report
