"""Sentence similarity by meaning, with WordLlama (static token embeddings, no torch).

WordLlama ships its weights inside the wheel; it is loaded from its own package folder with
downloads disabled, so it never reaches for the network. Loading takes about 0.1 s and is done
once per process, on first use.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from voice_interview.errors import ModelError

__all__ = [
    "CachedEmbedder",
    "Embedder",
    "WordLlamaEmbedder",
    "cosine_matrix",
    "default_embedder",
]


_CACHE_LIMIT = 20_000  # embeddings kept per process (about 20 MB)


class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """L2-normalised embeddings, one row per text."""
        ...


class CachedEmbedder:
    """An embedder that keeps every text's embedding (spoken answers repeat the bank's texts
    and their own sentences); subclasses say how to encode the texts it has not seen."""

    dim: int

    def __init__(self) -> None:
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def _encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        raise NotImplementedError

    def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if len(self._cache) + len(missing) > _CACHE_LIMIT:  # a long batch: start afresh
            self._cache.clear()
            missing = list(dict.fromkeys(texts))  # what was cached is gone too
        if missing:
            vectors = self._encode(missing)
            self._cache.update(zip(missing, vectors, strict=True))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])


class WordLlamaEmbedder(CachedEmbedder):
    """WordLlama ``l2_supercat`` at 256 dimensions, from the installed wheel."""

    def __init__(self, dim: int = 256) -> None:
        super().__init__()
        self.dim = dim
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    import wordllama
                    from wordllama import WordLlama
                except ImportError as exc:
                    raise ModelError(
                        "the wordllama package is missing; install it: pip install wordllama"
                    ) from exc
                folder = Path(wordllama.__file__).parent
                try:
                    self._model = WordLlama.load(
                        cache_dir=folder, disable_download=True, dim=self.dim
                    )
                except (OSError, ValueError, FileNotFoundError) as exc:
                    raise ModelError(
                        f"cannot load WordLlama from {folder} ({exc}); "
                        "reinstall it: pip install --force-reinstall wordllama"
                    ) from exc
            return self._model

    def _encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return np.asarray(self._load().embed(texts, norm=True), dtype=np.float32)


@lru_cache(maxsize=1)
def default_embedder() -> WordLlamaEmbedder:
    return WordLlamaEmbedder()


def cosine_matrix(
    a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Cosine similarities of L2-normalised rows: shape (len(a), len(b))."""
    if a.size == 0 or b.size == 0:
        return np.zeros((a.shape[0], b.shape[0]), dtype=np.float32)
    return np.asarray(a @ b.T, dtype=np.float32)
