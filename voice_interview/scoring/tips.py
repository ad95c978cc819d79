"""The tips a candidate reads, as data: the templates of ``prompts/scoring/tips.toml``."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from voice_interview.content.folders import data_folder

__all__ = ["load_tips"]


@lru_cache(maxsize=4)
def load_tips(path: Path | None = None) -> dict[str, dict[str, str]]:
    """The tip templates of ``prompts/scoring/tips.toml`` (the STAR parts' tips: [star])."""
    file = path or data_folder("prompts") / "scoring" / "tips.toml"
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
        for table in ("star", "behavioral", "technical", "any"):
            raw[table]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{file}: cannot read the tips ({exc}); reinstall") from exc
    return {k: {n: str(v) for n, v in table.items()} for k, table in raw.items()}
