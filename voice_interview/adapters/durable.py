"""Durable file writes, shared by sessions, batch results, WAV files and the model cache.

A write goes to a temporary file in the same folder, is flushed and fsync'd, and replaces the
target with ``os.replace``; then the folder is fsync'd so the new name survives a power cut.
A crash at any point leaves either the old file or the complete new one (and at worst a stray
``.NAME.*.tmp`` next to it), never a torn file. Errors are plain ``OSError``: each caller turns
them into its own one-line message.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_file", "fsync_dir", "write_atomic"]


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file's name durable (POSIX; Windows cannot open a folder)."""
    if sys.platform == "win32":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new contents into; it replaces ``path`` when the block
    ends without an error and is removed when it raises. Creates the parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # Mode 0o666 lets the umask set the final permissions, as a plain open() would
    # (tempfile.mkstemp would leave the finished file readable by its owner only).
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` durably (see the module docstring)."""
    with atomic_file(path) as handle:
        handle.write(data)
