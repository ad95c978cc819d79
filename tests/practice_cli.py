"""The ``practice`` command line the live tests run as a subprocess on the virtual devices."""

from __future__ import annotations

import sys
from pathlib import Path


def practice_argv(sessions: Path, *extra: str) -> list[str]:
    """``voice-interview practice`` on the Leadership Principles round, no follow-ups, plain
    output, a 2.5 s longest silence (the suite's; pass ``--end-silence-s`` again to change
    it), sessions in ``sessions``; then ``extra``."""
    return [
        sys.executable,
        "-m",
        "voice_interview",
        "practice",
        "--round",
        "leadership-principles",
        "--no-follow-up",
        "--sessions-dir",
        str(sessions),
        "--plain",
        "--end-silence-s",
        "2.5",
        *extra,
    ]
