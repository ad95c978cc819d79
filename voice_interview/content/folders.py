"""Where the data folders (``prompts/``, ``models/``) live.

In a source checkout (``pip install -e .``) they are the repository's top-level folders, so a user
can edit them in place. In an installed wheel, pyproject.toml force-includes them as
``voice_interview/_data/<name>``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["data_folder"]

_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # voice_interview/


def data_folder(name: str) -> Path:
    """Path of the ``prompts`` or ``models`` folder."""
    for candidate in (_PACKAGE_DIR.parent / name, _PACKAGE_DIR / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"data folder {name!r} not found next to the package ({_PACKAGE_DIR.parent / name}) "
        f"or inside it ({_PACKAGE_DIR / '_data' / name}); reinstall voice-interview"
    )
