"""Small ONNX models on the CPU with onnxruntime (installed with faster-whisper): Silero VAD
(``vad.py``) and Smart Turn (``turn.py``) open their sessions here, one per file, shared."""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

from voice_interview.errors import ModelError

__all__ = ["load_onnx_session"]

logger = logging.getLogger(__name__)

_lock = threading.Lock()


def load_onnx_session(path: str | Path, *, what: str, fix: str) -> Any:
    """The onnxruntime session for ``path``, loaded once per process and shared (a session
    holds no stream state). Single-threaded: one 32 ms frame, or one call per pause, is far too
    little work to share between threads, and the other core is the recogniser's.

    Args:
        what: the model's name for messages ("Silero VAD").
        fix: what to do when the file does not load, for the one-line error.

    Raises:
        ModelError: onnxruntime is missing, or the file is not a loadable ONNX model.
    """
    with _lock:
        return _load(str(path), what, fix)


@lru_cache(maxsize=8)
def _load(path: str, what: str, fix: str) -> Any:
    try:
        import onnxruntime  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelError(
            f"{what} needs onnxruntime (a faster-whisper dependency); "
            "install it with: pip install onnxruntime"
        ) from exc
    opts = onnxruntime.SessionOptions()
    opts.inter_op_num_threads = 1
    opts.intra_op_num_threads = 1
    opts.enable_cpu_mem_arena = False
    opts.log_severity_level = 4
    try:
        session = onnxruntime.InferenceSession(
            path, providers=["CPUExecutionProvider"], sess_options=opts
        )
    except Exception as exc:  # onnxruntime raises its own (non-exported) exception types
        raise ModelError(
            f"{path}: cannot load as a {what} ONNX model ({' '.join(str(exc).split())}); {fix}"
        ) from exc
    logger.debug("loaded %s from %s", what, path)
    return session
