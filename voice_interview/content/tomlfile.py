"""Reading content files: TOML validated by a pydantic model, with one-line errors.

Question banks, the model registry and scoring lexicons all load this way, so every broken
file gets the same kind of message: the file, the field (as written in TOML) and the problem.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from voice_interview.errors import VoiceInterviewError

__all__ = ["load_toml_model", "toml_field_path"]

M = TypeVar("M", bound=BaseModel)


def toml_field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a TOML key path: models."tiny.en".files.0.sha256."""
    parts = [f'"{p}"' if isinstance(p, str) and ("." in p or "/" in p) else str(p) for p in loc]
    return ".".join(parts) or "(top level)"


def load_toml_model(
    file: Path,
    model: type[M],
    error: type[VoiceInterviewError],
    what: str,
    *,
    extra: dict[str, Any] | None = None,
    missing_hint: str = "",
) -> M:
    """Parse ``file`` and validate it as ``model``; failures raise ``error`` naming the file.

    ``what`` names the file's role in messages ("bank file", "model registry"); ``extra``
    fields are added before validation (e.g. the source path).
    """
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        hint = f"; {missing_hint}" if missing_hint else ""
        raise error(f"{file}: {what} not found{hint}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"{file}: cannot read {what} ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{file}: not valid TOML: {exc}") from exc
    try:
        return model.model_validate({**raw, **(extra or {})})
    except ValidationError as exc:
        first = exc.errors()[0]
        more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise error(f"{file}: {toml_field_path(first['loc'])}: {first['msg']}{more}") from exc
