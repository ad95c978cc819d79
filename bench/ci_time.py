"""How long a fresh `.ci/run` takes on this machine, and where the time goes.

Usage: ``python3 bench/ci_time.py [--ref HEAD] [--label NAME] [--keep]`` (any Python 3.11; it
needs no venv of its own, it makes one as CI does).

What it does, as CI does on a new machine: a clean clone of ``--ref`` into a new temporary
directory, then the three steps of ``.ci/run`` one after another (``make system-deps``,
``make lint``, ``make test``), each timed, with ``CI=true``, no stdin and an empty pip cache of
its own (``PIP_CACHE_DIR`` in the temporary directory: every wheel is downloaded again, as on a
machine that never ran the project). ``make lint`` includes creating the venv and the base
install; ``make test`` includes installing the test extras. Pytest writes a JUnit file, from
which the time of every test file is summed (sums of test times in each pytest process; with
two processes the wall time is less than their total), and the slowest tests are listed.

What it cannot undo: the Debian packages of ``make system-deps`` are installed once per
machine, so on a machine that already has them that step only checks (its first time on a new
machine is the apt download and install; see the results for a first-time figure).

Writes ``bench/results/ci-<date>[-label].md`` and ``.json`` with the CPU, core count and load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "results"
BUDGET_S = 12 * 60  # issue 19: a fresh .ci/run within 12 minutes


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def step(name: str, command: list[str], cwd: Path, env: dict[str, str], log: Path) -> dict:
    load = os.getloadavg()[0]
    started = time.monotonic()
    with log.open("w") as out:
        proc = subprocess.run(
            command,
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    took = time.monotonic() - started
    print(f"{name}: {took:.0f} s, exit {proc.returncode}", flush=True)
    return {"step": name, "seconds": round(took, 1), "exit": proc.returncode, "load_before": load}


def test_files(junit: Path) -> tuple[dict[str, dict], list[tuple[float, str]], dict]:
    root = ET.parse(junit).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None
    files: dict[str, dict] = defaultdict(lambda: {"tests": 0, "seconds": 0.0, "failed": 0})
    tests = []
    for case in suite.iter("testcase"):
        name = case.get("classname", "").replace(".", "/") + ".py"
        seconds = float(case.get("time", 0))
        files[name]["tests"] += 1
        files[name]["seconds"] += seconds
        files[name]["failed"] += int(
            case.find("failure") is not None or case.find("error") is not None
        )
        tests.append((seconds, f"{name}::{case.get('name')}"))
    totals = {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped", "time")}
    return dict(files), sorted(tests, reverse=True)[:15], totals


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default="HEAD", help="the commit to clone and run")
    parser.add_argument("--label", default="", help="suffix of the results file names")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its logs)")
    args = parser.parse_args()

    commit = subprocess.run(
        ["git", "rev-parse", args.ref], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="vi-ci-"))
    clone = work / "voice_interview"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    subprocess.run(["git", "checkout", "--quiet", commit], cwd=clone, check=True)
    junit = work / "junit.xml"
    env = {
        **os.environ,
        "CI": "true",
        "PIP_CACHE_DIR": str(work / "pip-cache"),
        "PYTEST_ADDOPTS": f"--junitxml={junit}",
    }
    env.pop("VIRTUAL_ENV", None)
    print(f"clone of {commit[:10]} in {clone}", flush=True)
    started = time.monotonic()
    steps = []
    for name in ("system-deps", "lint", "test"):
        steps.append(step(name, ["make", name], clone, env, work / f"{name}.log"))
        if steps[-1]["exit"] != 0:
            break
    total = time.monotonic() - started
    files, slowest, totals = test_files(junit) if junit.exists() else ({}, [], {})
    passed = all(s["exit"] == 0 for s in steps) and len(steps) == 3

    stamp = f"{datetime.now(UTC):%Y-%m-%d}" + (f"-{args.label}" if args.label else "")
    cores = os.cpu_count()
    result = {
        "commit": commit,
        "date": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "cpu": cpu_name(),
        "cores": cores,
        "python": sys.version.split()[0],
        "steps": steps,
        "total_s": round(total, 1),
        "passed": passed,
        "pytest": totals,
        "files": files,
        "slowest": slowest,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"ci-{stamp}.json").write_text(json.dumps(result, indent=1))
    lines = [
        f"# Fresh `.ci/run` time, {result['date']}",
        "",
        f"Commit `{commit[:10]}`, a clean clone in a new directory, empty pip cache "
        f"(`bench/ci_time.py`). CPU: {result['cpu']}, {cores} cores; Python {result['python']}.",
        "",
        f"**Total {total / 60:.1f} min ({total:.0f} s)**, budget {BUDGET_S // 60} min: "
        + ("met" if passed and total <= BUDGET_S else "NOT met")
        + ("" if passed else " (a step FAILED)")
        + ".",
        "",
        "| step | what it includes | seconds | load before |",
        "|---|---|---|---|",
    ]
    what = {
        "system-deps": "apt (packages already installed here: a check)",
        "lint": "venv, pinned base install, ruff, mypy",
        "test": "test extras install, then pytest",
    }
    lines += [
        f"| {s['step']} | {what[s['step']]} | {s['seconds']:.0f} | {s['load_before']:.1f} |"
        for s in steps
    ]
    if totals:
        lines += [
            "",
            f"pytest: {totals['tests']} tests, {totals['failures']} failed, {totals['errors']} "
            f"errors, {totals['skipped']} skipped, {float(totals['time'] or 0):.0f} s wall.",
            "",
            "| test file | tests | seconds (sum of its tests) |",
            "|---|---|---|",
        ]
        ranked = sorted(files.items(), key=lambda kv: -kv[1]["seconds"])
        lines += [f"| {n} | {v['tests']} | {v['seconds']:.1f} |" for n, v in ranked[:12]]
        rest = ranked[12:]
        lines += [
            f"| {len(rest)} other files | {sum(v['tests'] for _, v in rest)} | "
            f"{sum(v['seconds'] for _, v in rest):.1f} |",
            "",
            "Slowest tests:",
            "",
            *(f"- {s:.1f} s {n}" for s, n in slowest),
        ]
    (OUT / f"ci-{stamp}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept {work}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
