"""The Ray engine (``score --engine ray``) on a real two-node Ray cluster, on loopback only.

Ray registers each node under the machine's network address even when told 127.0.0.1, so the
cluster and the driver run inside a network namespace of their own with nothing but loopback
(``unshare --net``; CI runs as root). Files are on the shared file system (a network
namespace changes only the network), so each test reads the outputs directly."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
REAL_SPEECH = REPO / "tests" / "data" / "real-speech"
PORT = 6391

pytestmark = pytest.mark.heavy  # a Ray cluster and tiny.en in every worker


def _ray_bin() -> Path:
    ray = Path(sys.executable).with_name("ray")
    if not ray.exists():
        pytest.fail("Ray is not installed: run `make test` (it installs the distributed extra)")
    if shutil.which("unshare") is None:
        pytest.fail("`unshare` (util-linux) is needed to keep Ray on loopback")
    return ray


def in_loopback_cluster(
    tmp_path: Path, body: str, timeout: float = 900, hide_from_worker: Path | None = None
) -> str:
    """Run the shell ``body`` with a two-node Ray cluster (1 CPU each) inside a new network
    namespace that has only ``lo``; return its output. ``$VI`` runs voice-interview.
    ``hide_from_worker``: a folder the second node cannot see (an empty tmpfs over it, in a
    mount namespace of its own), as on a cluster whose nodes share no file system."""
    ray = _ray_bin()
    # Ray's socket paths must stay under 107 bytes: a short folder of its own, not tmp_path
    temp = Path(tempfile.mkdtemp(prefix="vi-ray-"))
    common = "--num-cpus 1 --disable-usage-stats --object-store-memory 100000000"
    worker_start = f"{ray} start --address 127.0.0.1:{PORT} {common}"
    if hide_from_worker is not None:
        worker_start = (
            f"unshare --mount --propagation private bash -c "
            f"'mount -t tmpfs none {hide_from_worker} && exec {worker_start}'"
        )
    script = textwrap.dedent(
        f"""\
        set -e
        ip link set lo up
        export RAY_AUTH_MODE=disabled RAY_USAGE_STATS_ENABLED=0 RAY_TMPDIR={temp}
        trap '{ray} stop --force >/dev/null 2>&1 || true' EXIT
        {ray} start --head --port {PORT} {common} --include-dashboard=false \\
            --temp-dir {temp} > {temp}/head.log 2>&1
        {worker_start} > {temp}/worker.log 2>&1
        VI="{sys.executable} -m voice_interview"
        """
    ) + textwrap.dedent(body)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        ["unshare", "--net", "bash", "-c", script],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=tmp_path,
    )
    logs = "".join(f"\n--- {p.name}\n{p.read_text()[-2000:]}" for p in sorted(temp.glob("*.log")))
    shutil.rmtree(temp, ignore_errors=True)
    return f"exit={out.returncode}\n{out.stdout}\n{out.stderr}{logs}"


def _free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _clips(tmp_path: Path, count: int, question: str) -> tuple[Path, list[str]]:
    """A folder of ``count`` real recordings answering ``question``, and their sorted paths."""
    folder = tmp_path / "answers"
    folder.mkdir()
    clips = sorted(p for p in REAL_SPEECH.iterdir() if p.suffix in (".flac", ".wav"))
    files = [
        shutil.copy(clip, folder / f"c{i}__{question}{clip.suffix}")
        for i, clip in enumerate(c for c in clips if c.name != "jfk.flac")
        if i < count
    ]
    return folder, sorted(str(f) for f in files)


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "answers"
    folder.mkdir()
    for name, clip in (
        ("ann__connection-pooling.flac", "1089-134686-0000.flac"),
        ("bob__ownership.flac", "1089-134691-0001.flac"),
        ("cy__caching-strategies.wav", "sense_and_sensibility_01_austen_64kb-0870.wav"),
        ("dee__dive-deep.wav", "sense_and_sensibility_01_austen_64kb-0890.wav"),
    ):
        shutil.copy(REAL_SPEECH / clip, folder / name)
    # a long answer too: the recogniser's output on it once depended on the worker's OpenMP
    # threads (batch.run.one_openmp_thread), which short clips did not show
    from voice_interview.adapters.audio_files import load_audio, write_wav
    from voice_interview.core.audio import Audio, concatenate

    manifest = [json.loads(x) for x in (REAL_SPEECH / "manifest.jsonl").read_text().splitlines()]
    clips = [load_audio(REAL_SPEECH / row["audio"]) for row in manifest]
    parts = [x for c in clips for x in (c, Audio.silence(1.5))] * 2  # about two minutes
    write_wav(concatenate(parts), folder / "gus__scalable-backend.wav")
    (folder / "eve__ownership.wav").write_bytes(b"")  # empty
    (folder / "fay__ownership.mp3").write_text("not audio at all")
    return folder


def test_two_nodes_score_a_folder_like_the_local_engine(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    local = subprocess.run(
        [sys.executable, "-m", "voice_interview", "score", str(folder), "--out",
         str(tmp_path / "local"), "--jobs", "2"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert local.returncode == 1, local.stderr  # two broken files
    log = in_loopback_cluster(
        tmp_path,
        f"""\
        set +e
        $VI score {folder} --out {tmp_path / "ray-out"} --engine ray --ray-address 127.0.0.1:{PORT}
        echo "score-exit=$?"
        """,
    )
    assert "score-exit=1" in log, log
    ray_results = _lines(tmp_path / "ray-out" / "results.jsonl")
    local_results = _lines(tmp_path / "local" / "results.jsonl")
    by_file = {r["file"]: r for r in local_results}
    assert sorted(r["file"] for r in ray_results) == sorted(by_file)  # each once
    for r in ray_results:  # the same scores for the same files and settings
        assert r["overall"] == by_file[r["file"]]["overall"], r["file"]
        assert r["transcript"]["text"] == by_file[r["file"]]["transcript"]["text"]
        assert r["settings"] == by_file[r["file"]]["settings"]
    nodes = {r["worker"]["node"] for r in ray_results}
    assert len(nodes) == 2, "both nodes scored files"
    failures = {f["file"]: f["reason"] for f in _lines(tmp_path / "ray-out" / "failures.jsonl")}
    assert failures == {
        str(folder / "eve__ownership.wav"): "empty",
        str(folder / "fay__ownership.mp3"): "not-audio",
    }
    for name in ("results.csv", "summary.md"):
        assert (tmp_path / "ray-out" / name).exists()
    assert f"error: {folder / 'eve__ownership.wav'}" in log


def test_a_node_that_cannot_see_the_files_gets_their_bytes_from_the_driver(
    tmp_path: Path,
) -> None:
    folder, expected = _clips(tmp_path, 6, "ownership")
    out = tmp_path / "out"
    log = in_loopback_cluster(
        tmp_path,
        f"""\
        set +e
        $VI score {folder} --out {out} --engine ray --ray-address 127.0.0.1:{PORT}
        echo "score-exit=$?"
        """,
        hide_from_worker=folder,
    )
    assert "score-exit=0" in log, log
    results = _lines(out / "results.jsonl")
    assert sorted(r["file"] for r in results) == expected  # named as on the driver
    assert len({r["worker"]["node"] for r in results}) == 2  # the blind node scored some too
    local = subprocess.run(
        [sys.executable, "-m", "voice_interview", "score", str(folder), "--out",
         str(tmp_path / "local"), "--jobs", "2"],
        capture_output=True, text=True, timeout=600, cwd=REPO,
    )  # fmt: skip
    assert local.returncode == 0, local.stderr
    by_file = {r["file"]: r for r in _lines(tmp_path / "local" / "results.jsonl")}
    for r in results:  # scored from the bytes exactly as from the file
        assert r["overall"] == by_file[r["file"]]["overall"], r["file"]
        assert r["transcript"]["text"] == by_file[r["file"]]["transcript"]["text"]
        assert r["audio_sha256"] == by_file[r["file"]]["audio_sha256"]


def test_a_worker_node_killed_mid_batch_loses_nothing_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    folder, expected = _clips(tmp_path, 8, "ownership")
    out = tmp_path / "out"
    results = out / "results.jsonl"
    log = in_loopback_cluster(
        tmp_path,
        f"""\
        set +e
        $VI score {folder} --out {out} --engine ray --ray-address 127.0.0.1:{PORT} &
        DRIVER=$!
        # once the first result is in, kill -9 the worker node (the newest raylet and its
        # workers): its unfinished files must go to the head node's worker
        for i in $(seq 1 600); do
            [ -s {results} ] && break
            sleep 0.2
        done
        VICTIM=$(pgrep -n -f "ray/raylet/raylet ")
        pkill -9 -P $VICTIM; kill -9 $VICTIM
        echo "killed=$VICTIM"
        wait $DRIVER
        echo "score-exit=$?"
        """,
    )
    assert "killed=" in log and "score-exit=0" in log, log
    assert "a Ray worker died" in log, log  # the kill came while it still had files
    files = [r["file"] for r in _lines(results)]
    assert sorted(files) == expected
    assert len(files) == len(set(files))  # exactly once


@pytest.mark.parametrize("signal", ["INT", "KILL"], ids=["ctrl-c", "kill-9"])
def test_resume_after_the_driver_is_stopped_scores_the_rest_once(
    tmp_path: Path, signal: str
) -> None:
    folder, expected = _clips(tmp_path, 7, "dive-deep")
    out = tmp_path / "out"
    results = out / "results.jsonl"
    # a background job of a non-interactive shell starts with SIGINT ignored; this wrapper
    # gives the driver the default disposition back, as a terminal's Ctrl-C would find it
    wrapper = tmp_path / "interruptible.py"
    wrapper.write_text(
        "import os, signal, sys\n"
        "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
        "os.execv(sys.executable, [sys.executable, '-m', 'voice_interview', *sys.argv[1:]])\n"
    )
    score = (
        f"{sys.executable} {wrapper} score {folder} --out {out} --engine ray "
        f"--ray-address 127.0.0.1:{PORT}"
    )
    log = in_loopback_cluster(
        tmp_path,
        f"""\
        set +e
        {score} &
        DRIVER=$!
        for i in $(seq 1 600); do
            [ -s {results} ] && break
            sleep 0.2
        done
        kill -{signal} $DRIVER; wait $DRIVER
        echo "first-exit=$?"
        echo "first-run=$(wc -l < {results})"
        {score} --resume
        echo "score-exit=$?"
        """,
    )
    assert "score-exit=0" in log, log
    if signal == "INT":  # Ctrl-C: exit 130, and what was finished is kept
        assert "first-exit=130" in log, log
    first = int(log.split("first-run=")[1].split()[0])
    files = [r["file"] for r in _lines(results)]
    assert 1 <= first < len(expected)  # killed after its first result, before its last
    assert sorted(files) == expected
    assert len(files) == len(set(files))  # the resumed run skipped what was done


_CRASHING_DRIVER = """\
import os, sys
from pathlib import Path

from voice_interview.batch.ray_engine import RayScorer, _Worker
from voice_interview.batch.run import BatchOptions, BatchSpec, run_batch
from voice_interview.content.banks import load_bank


class Crashing(_Worker):  # a fake at the actor boundary: the process dies on one file
    def score(self, item, sha, data):
        if "poison" in item.file.name:
            os._exit(3)
        return super().score(item, sha, data)


bank = load_bank()
options = BatchOptions(out_dir=Path(sys.argv[2]), engine="ray", ray_address=sys.argv[3])
scorer = RayScorer(BatchSpec(bank, options), options.ray_address, worker=Crashing)
report = run_batch([sys.argv[1]], bank, options, scorer=scorer)
print("report-exit", report.exit_code, "scored", report.scored)
"""


def test_a_file_that_kills_its_worker_twice_fails_alone(tmp_path: Path) -> None:
    folder = tmp_path / "answers"
    folder.mkdir()
    clips = ["1089-134686-0000.flac", "1089-134691-0001.flac", "1089-134686-0001.flac"]
    for i, clip in enumerate(clips):
        shutil.copy(REAL_SPEECH / clip, folder / f"c{i}__ownership.flac")
    shutil.copy(REAL_SPEECH / clips[0], folder / "poison__ownership.flac")
    driver = tmp_path / "crashing_driver.py"
    driver.write_text(_CRASHING_DRIVER)
    out = tmp_path / "out"
    log = in_loopback_cluster(
        tmp_path,
        f"""\
        set +e
        {sys.executable} {driver} {folder} {out} 127.0.0.1:{PORT}
        """,
    )
    assert "report-exit 1 scored 3" in log, log  # the three good files, after two crashes
    failures = _lines(out / "failures.jsonl")
    assert [(Path(f["file"]).name, f["reason"]) for f in failures] == [
        ("poison__ownership.flac", "worker-crashed")
    ]
    scored = sorted(Path(r["file"]).name for r in _lines(out / "results.jsonl"))
    assert scored == [f"c{i}__ownership.flac" for i in range(3)]


def test_an_unreachable_cluster_is_one_line_naming_the_address(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    port = _free_loopback_port()  # nothing listens there
    out = subprocess.run(
        [sys.executable, "-m", "voice_interview", "score", str(folder), "--out",
         str(tmp_path / "out"), "--engine", "ray", "--ray-address", f"127.0.0.1:{port}"],
        capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert out.returncode == 1
    errors = [line for line in out.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0] and "ray start" in errors[0]
    assert not (tmp_path / "out" / "results.jsonl").exists() or not _lines(
        tmp_path / "out" / "results.jsonl"
    )
