"""Reading content files: TOML validated by a pydantic model, with one-line errors.

Question banks, the model registry and scoring lexicons all load this way, so every broken
file gets the same kind of message: the file, the field (as written in TOML) and the problem.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from voice_interview.errors import VoiceInterviewError

__all__ = ["StrictModel", "load_toml_model", "toml_field_path", "toml_line"]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """The base of every content model (banks, the model registry, scoring lexicons): frozen,
    and an unknown key is an error, so a typo in a TOML file is reported, not ignored."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def toml_field_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a TOML key path: models."tiny.en".files.0.sha256."""
    parts = [f'"{p}"' if isinstance(p, str) and ("." in p or "/" in p) else str(p) for p in loc]
    return ".".join(parts) or "(top level)"


def _split_key(key: str) -> list[str]:
    """``a."b.c".d`` -> ["a", "b.c", "d"] (bare and quoted TOML key parts)."""
    parts, buf, quote = [], "", ""
    for ch in key.strip():
        if quote:
            if ch == quote:
                quote = ""
            else:
                buf += ch
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append(buf.strip())
            buf = ""
        else:
            buf += ch
    parts.append(buf.strip())
    return [p for p in parts if p]


def toml_line(text: str, loc: tuple[int | str, ...]) -> int | None:
    """The 1-based line of ``text`` where the value at ``loc`` (a pydantic error location:
    ``("rounds", 0, "questions", 2, "concepts", 0, "weight")``) is written, or of the closest
    enclosing key or table that is; None if nothing of it is found. A line scanner for
    messages, not a parser: it follows table headers, ``[[arrays of tables]]`` and
    ``key = value`` lines, and gives the key's line for an element of an inline array."""
    lines: dict[tuple[int | str, ...], int] = {}
    counts: dict[tuple[int | str, ...], int] = {}
    table: tuple[int | str, ...] = ()
    depth = 0  # open brackets of a multi-line value
    string = ""  # the quotes of a multi-line string being read
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if string:
            if line.count(string) % 2 == 1:
                string = ""
            continue
        if depth > 0:
            depth += line.count("[") - line.count("]")
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            array = line.startswith("[[")
            name = line.strip("[]").split("#")[0].strip("[] ")
            path: tuple[int | str, ...] = ()
            names = _split_key(name)
            for part in names[:-1]:
                path += (part,)
                if path in counts:
                    path += (counts[path] - 1,)
            path += (names[-1],)
            if array:
                index = counts.get(path, 0)
                counts[path] = index + 1
                lines.setdefault(path, number)
                path += (index,)
            lines[path] = number
            table = path
            continue
        if "=" in line:
            key, _, value = line.partition("=")
            lines[table + tuple(_split_key(key))] = number
            for quotes in ('"""', "'''"):
                if value.count(quotes) % 2 == 1:
                    string = quotes
            if string:
                continue
            value = value.split("#")[0] if '"' not in value else value
            depth = max(0, value.count("[") - value.count("]"))
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


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
        text = file.read_text(encoding="utf-8")
        raw = tomllib.loads(text)
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
        line = toml_line(text, tuple(first["loc"]))
        where = f"{file}:{line}" if line is not None else str(file)
        raise error(f"{where}: {toml_field_path(first['loc'])}: {first['msg']}{more}") from exc
