"""Batch scoring on a Ray cluster (``score ... --engine ray``): the same scorer protocol as the
local engines, so discovery, question rules, outputs, resume and exit codes are run_batch's.

* **Workers** are Ray actors (Ray Core), one per CPU of the cluster, each holding one
  :class:`~voice_interview.batch.run.InProcessScorer` (its recogniser with one thread and its
  evaluator, loaded once) and scoring many files. Actors rather than Ray Data: the batch
  already streams its own items and writes each result as it arrives, which is what an actor
  pool with ``ray.wait`` gives directly; and measured (``bench/batch_throughput.py``, mode
  ``ray-data-1node``: the same scorer in Ray Data's actor pool) Ray Data had 0.74x (tiny.en)
  and 0.86x (base) the throughput of these actors on one machine (docs/batch.md).
* **Files**: a worker reads the file itself when the path is visible to it; otherwise it says
  so and the driver sends the bytes, so nodes need not share a file system.
* **Results** stream back as each file finishes; run_batch appends and fsyncs each one. Every
  result records ``worker``: ``{"node": <Ray node id>, "pid": <process id>}``.
* **Faults**: a worker that dies (its node lost, a crash) is dropped and its unfinished files
  go to the others; when its CPU frees up again (a crash on a node that is still there) a new
  worker takes its place (bounded); a file that was being scored by a worker that died twice
  fails alone (``worker-crashed``); nothing finished is lost or written twice (the driver
  writes each result once, when it arrives). An unreachable cluster is one line naming the
  address.

Ray is imported only here and only when this engine is used (``pip install
'voice-interview[distributed]'``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from voice_interview.batch.discover import BatchItem, Failure
from voice_interview.batch.work import BatchSpec, InProcessScorer, Job, Outcome
from voice_interview.errors import BatchError

__all__ = ["MAX_CRASHES", "RayScorer", "ray_address"]

logger = logging.getLogger(__name__)

MAX_CRASHES = 2
"""A file whose worker died this many times while scoring it fails alone (``worker-crashed``)."""

_IN_FLIGHT = 2  # files queued per worker, so one is ready when the other finishes
_PROBE_TIMEOUT_S = 3.0
_REPLACE_WAIT_S, _REPLACE_POLL_S = 60.0, 0.5  # how long a dead worker's CPU may take to free
_REPLACE_READY_S = 120.0  # a replacement's model load
_NEED_BYTES = "need-bytes"


def ray_address(option: str | None) -> str | None:
    """``--ray-address``, else ``RAY_ADDRESS``, else None (a local Ray started for this run)."""
    return (option or "").strip() or os.environ.get("RAY_ADDRESS", "").strip() or None


def _probe(address: str) -> None:
    """Fail fast, in one line, when nothing listens at a ``host:port`` cluster address."""
    if "://" in address or address == "auto" or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=_PROBE_TIMEOUT_S):
            return
    except (OSError, ValueError) as exc:
        raise BatchError(
            f"cannot reach the Ray cluster at {address} ({getattr(exc, 'strerror', None) or exc}); "
            "start it with `ray start --head`, or fix --ray-address / RAY_ADDRESS"
        ) from exc


class _Worker:
    """The body of a Ray actor: one pipeline, loaded once, scoring many files."""

    def __init__(self, spec: BatchSpec) -> None:
        import ray

        logging.getLogger("faster_whisper").setLevel(logging.WARNING)
        self.scorer = InProcessScorer(spec, cpu_threads=1)
        self.scorer.start()
        self.worker = {"node": ray.get_runtime_context().get_node_id(), "pid": os.getpid()}

    def ready(self) -> dict[str, Any]:
        return self.worker

    def score(self, item: BatchItem, sha: str | None, data: bytes | None) -> Outcome | str:
        if data is None:
            if not item.file.exists():
                return _NEED_BYTES  # not on this node's file system: the driver sends it
            outcome = next(self.scorer.run([(item, sha)]))
        else:
            with tempfile.TemporaryDirectory(prefix="vi-ray-") as folder:
                copy = Path(folder) / f"answer{item.file.suffix}"
                copy.write_bytes(data)
                outcome = next(self.scorer.run([(replace(item, file=copy), sha)]))
            outcome = _as_original(outcome, item)
        if outcome.record is not None:
            outcome = replace(outcome, record=replace(outcome.record, worker=self.worker))
        return outcome


def _first_failed(refs: list[Any]) -> Any:
    """Of a dead worker's files in flight (in the order sent, which is the order it ran them),
    the one it was scoring: the first whose result is the worker's death, not a result it
    finished just before dying."""
    import ray
    from ray.exceptions import RayActorError

    for ref in refs:
        try:
            ray.get(ref)
        except RayActorError:
            return ref
    return refs[0]


def _as_original(outcome: Outcome, item: BatchItem) -> Outcome:
    """An outcome scored from a temporary copy, named after the original file again."""
    record = outcome.record
    failure = outcome.failure
    if record is not None:
        record = replace(record, file=str(item.file))
    if failure is not None:
        copy = str(outcome.item.file)
        failure = replace(
            failure, file=str(item.file), error=failure.error.replace(copy, str(item.file))
        )
    return replace(outcome, item=item, record=record, failure=failure)


class RayScorer:
    """Scores a batch's files on a Ray cluster (see the module docstring)."""

    def __init__(
        self, spec: BatchSpec, address: str | None = None, worker: type[_Worker] | None = None
    ) -> None:
        """``worker`` replaces the actor class (tests: a worker that crashes on one file)."""
        # the settings every result records, computed here (the model is resolved, not loaded)
        self.settings = InProcessScorer(spec, cpu_threads=1).settings
        self._spec = spec
        self._worker_class = worker or _Worker
        self.address = address
        self._actors: list[Any] = []
        self._remote: Any = None
        self._node_of: dict[Any, str] = {}
        self._started_ray = False

    def start(self) -> None:
        """Join (or start) the cluster and wait until every worker has loaded its model; a
        second call does nothing (run_batch starts the scorer it is given)."""
        if self._started_ray:
            return
        try:
            import ray
        except ImportError as exc:
            raise BatchError(
                "the Ray engine needs Ray: pip install 'voice-interview[distributed]'"
            ) from exc
        if self.address is not None:
            _probe(self.address)
        try:
            ray.init(
                address=self.address,
                logging_level=logging.ERROR,
                log_to_driver=False,
                include_dashboard=False,
            )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = self.address or "a local Ray"
            raise BatchError(
                f"cannot start or join the Ray cluster at {where} ({exc}); check "
                "--ray-address / RAY_ADDRESS"
            ) from exc
        self._started_ray = True
        resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
        cpus = max(1, int(resources.get("CPU", 1)))
        self._remote = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(
            self._worker_class
        )
        self._actors = [self._remote.remote(self._spec) for _ in range(cpus)]
        # wait until each has loaded its model, so the first files pay no load time
        workers = ray.get([a.ready.remote() for a in self._actors])
        self._node_of = {a: w["node"] for a, w in zip(self._actors, workers, strict=True)}
        nodes = {w["node"] for w in workers}
        logger.info("Ray: %d workers on %d node(s)", len(workers), len(nodes))

    def run(self, jobs: Iterable[Job]) -> Iterator[Outcome]:
        import ray
        from ray.exceptions import RayActorError

        queue: list[tuple[BatchItem, str | None, bytes | None]] = [
            (item, sha, None) for item, sha in jobs
        ]
        queue.reverse()  # pop() from the end keeps the discovery order
        crashes: dict[Path, int] = {}
        replacements = 2 * len(self._actors)  # bounded: a crash loop must end
        alive = list(self._actors)
        # each worker's files in flight, in the order sent: an actor runs them one at a time in
        # that order, so when it dies, the first one without a result is the file it was
        # scoring and the later ones never started (only that one counts a crash)
        sent: dict[Any, list[Any]] = {a: [] for a in alive}
        blamed: set[Any] = set()
        running: dict[Any, tuple[Any, BatchItem, str | None, bytes | None]] = {}
        while queue or running:
            for actor in list(alive):
                while queue and len(sent[actor]) < _IN_FLIGHT:
                    item, sha, data = queue.pop()
                    ref = actor.score.remote(item, sha, data)
                    running[ref] = (actor, item, sha, data)
                    sent[actor].append(ref)
            if not running:
                if queue:
                    raise BatchError(
                        "every Ray worker is gone (the cluster lost its nodes); the finished "
                        "results are kept: start the cluster again and run with --resume"
                    )
                return
            done, _ = ray.wait(list(running), num_returns=1)
            ref = done[0]
            actor, item, sha, data = running.pop(ref)
            try:
                result = ray.get(ref)
            except RayActorError as exc:
                if actor in alive:
                    alive.remove(actor)
                    blamed.add(_first_failed(sent[actor]))
                    logger.warning("a Ray worker died: %s", exc)
                    if replacements > 0:  # a crash on a live node frees its CPU again
                        fresh = self._replacement(self._node_of.get(actor))
                        if fresh is not None:
                            replacements -= 1
                            alive.append(fresh)
                            sent[fresh] = []
                sent[actor].remove(ref)
                if ref not in blamed:
                    queue.append((item, sha, data))  # never started: not its fault
                    continue
                crashes[item.file] = crashes.get(item.file, 0) + 1
                if crashes[item.file] >= MAX_CRASHES:
                    yield Outcome(
                        item,
                        failure=Failure(
                            str(item.file),
                            "worker-crashed",
                            f"{item.file}: the worker scoring it died {MAX_CRASHES} times; "
                            "score it alone to see why (voice-interview score FILE --question ID)",
                        ),
                    )
                else:
                    queue.append((item, sha, data))
                continue
            sent[actor].remove(ref)
            if result == _NEED_BYTES:
                try:
                    payload = item.file.read_bytes()
                except OSError:
                    payload = b""  # the worker then names the problem as for any empty file
                queue.append((item, sha, payload))
                continue
            yield result

    def _replacement(self, node: str | None) -> Any | None:
        """A new worker where a dead one's CPU became free again (its node is alive), loaded
        and ready; None when the node itself was lost (or no CPU frees up in time)."""
        import ray

        deadline = time.monotonic() + _REPLACE_WAIT_S
        while time.monotonic() < deadline:
            nodes: list[dict[str, Any]] = ray.nodes()  # type: ignore[no-untyped-call]
            alive = {n["NodeID"] for n in nodes if n.get("Alive")}
            if node is not None and node not in alive:
                return None
            free: dict[str, float] = ray.available_resources()  # type: ignore[no-untyped-call]
            if free.get("CPU", 0) >= 1:
                actor = self._remote.remote(self._spec)
                ready = actor.ready.remote()
                done, _ = ray.wait([ready], timeout=_REPLACE_READY_S)
                if done:
                    self._actors.append(actor)
                    self._node_of[actor] = ray.get(ready)["node"]
                    return actor
                ray.kill(actor)
                return None
            time.sleep(_REPLACE_POLL_S)
        return None

    def close(self) -> None:
        if not self._started_ray:
            return
        import ray

        for actor in self._actors:
            with contextlib.suppress(Exception):  # already gone with its node
                ray.kill(actor)
        ray.shutdown()
        self._started_ray = False
