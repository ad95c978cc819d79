"""Silero VAD streamed frame by frame: the speech detector behind end-of-answer detection.

The model is the Silero VAD v6 ONNX file that faster-whisper ships
(``faster_whisper/assets/silero_vad_v6.onnx``), run with onnxruntime, both already installed
with faster-whisper: nothing is downloaded. This model takes 16 kHz audio only.

How the model is fed (compare ``faster_whisper/vad.py::SileroVADModel``):

- ``input``: float32 ``[n, 576]``, one row per 512-sample frame, each row preceded by the
  last 64 samples of the previous frame (zeros before the first frame);
- ``h``, ``c``: float32 ``[1, 1, 128]``, the LSTM state; the model returns the updated state
  as ``hn``, ``cn`` and one speech probability per row in ``speech_probs``.

The ``n`` rows of one call run through the LSTM in order. faster-whisper sends a whole file
in one call, starting from zero state. :class:`SileroSpeechDetector` sends one row per call
and carries ``hn``/``cn`` and the 64-sample context from call to call. That gives the same
probabilities frame for frame (``tests/test_endpointing.py`` checks it), but live, as the
microphone delivers the audio.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voice_interview.adapters.onnx import load_onnx_session
from voice_interview.core.audio import ASR_SAMPLE_RATE
from voice_interview.errors import ModelError

__all__ = [
    "SILERO_CONTEXT_SAMPLES",
    "SILERO_FRAME_SAMPLES",
    "SileroSpeechDetector",
    "bundled_model_path",
]

logger = logging.getLogger(__name__)

SILERO_FRAME_SAMPLES = 512
"""New samples per Silero frame at 16 kHz (32 ms)."""

SILERO_CONTEXT_SAMPLES = 64
"""Samples of the previous frame the model sees in front of each frame."""

_STATE_SHAPE = (1, 1, 128)
_MODEL_FILE = "silero_vad_v6.onnx"


def bundled_model_path() -> Path:
    """Where faster-whisper's copy of the Silero VAD model is (the package is located, not
    imported, so this stays fast).

    Raises:
        ModelError: faster-whisper is not installed or its copy of the model is missing.
    """
    spec = importlib.util.find_spec("faster_whisper")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "Silero VAD: the faster-whisper package is not installed; "
            "install it with: pip install 'faster-whisper>=1.2,<2'"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "assets" / _MODEL_FILE
    if not path.is_file():
        raise ModelError(
            f"{path}: Silero VAD model not found in the faster-whisper package; "
            "reinstall it with: pip install --force-reinstall 'faster-whisper>=1.2,<2'"
        )
    return path


class SileroSpeechDetector:
    """Speech probability of each 512-sample frame of a 16 kHz stream, from Silero VAD v6.

    Implements :class:`voice_interview.core.endpointing.SpeechDetector`. The model loads on the
    first frame (or on :meth:`load`). One detector follows one stream: its recurrent state and
    context carry over from frame to frame until :meth:`reset`. Not thread-safe; use one
    detector per stream.

    Args:
        model_path: the ONNX file; default: the copy inside faster-whisper.
        sample_rate: must be 16000, the only rate this model takes.
    """

    frame_samples: int = SILERO_FRAME_SAMPLES

    def __init__(
        self, model_path: str | Path | None = None, sample_rate: int = ASR_SAMPLE_RATE
    ) -> None:
        if sample_rate != ASR_SAMPLE_RATE:
            raise ValueError(
                f"Silero VAD v6 takes {ASR_SAMPLE_RATE} Hz audio only, got {sample_rate} Hz; "
                "resample first (Audio.resampled)"
            )
        self._path = Path(model_path) if model_path is not None else None
        self._session: Any = None
        # Model input: 64 context samples then the 512 new ones; reused for every frame.
        self._input = np.zeros((1, SILERO_CONTEXT_SAMPLES + SILERO_FRAME_SAMPLES), np.float32)
        self._h = np.zeros(_STATE_SHAPE, np.float32)
        self._c = np.zeros(_STATE_SHAPE, np.float32)

    def load(self) -> None:
        """Load the model now (otherwise it loads on the first frame)."""
        if self._session is None:
            path = self._path or bundled_model_path()
            if not path.is_file():
                raise ModelError(f"{path}: Silero VAD model not found; check the path")
            self._session = load_onnx_session(
                path,
                what="Silero VAD",
                fix=f"pass the {_MODEL_FILE} file, or reinstall faster-whisper and onnxruntime",
            )

    def reset(self) -> None:
        """Forget the stream: zero LSTM state and context, as before a first frame."""
        self._input.fill(0.0)
        self._h = np.zeros(_STATE_SHAPE, np.float32)
        self._c = np.zeros(_STATE_SHAPE, np.float32)

    def speech_probability(self, frame: npt.NDArray[np.float32]) -> float:
        """Probability in [0, 1] that the next 512-sample frame of the stream is speech."""
        samples = np.asarray(frame, dtype=np.float32)
        if samples.shape != (SILERO_FRAME_SAMPLES,):
            raise ValueError(
                f"Silero VAD takes frames of {SILERO_FRAME_SAMPLES} samples, "
                f"got shape {samples.shape}"
            )
        self.load()
        self._input[0, SILERO_CONTEXT_SAMPLES:] = samples
        probability, self._h, self._c = self._session.run(
            None, {"input": self._input, "h": self._h, "c": self._c}
        )
        # The end of this frame is the context of the next one.
        self._input[0, :SILERO_CONTEXT_SAMPLES] = samples[-SILERO_CONTEXT_SAMPLES:]
        return float(probability[0])
