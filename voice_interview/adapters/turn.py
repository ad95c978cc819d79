"""Smart Turn v3.2: does the speech so far sound like a finished turn?

Pipecat's open end-of-turn model (BSD-2-Clause, 8 M parameters on a Whisper-tiny encoder) reads
the intonation and rhythm of the last <= 8 s of 16 kHz audio and returns the probability that
the speaker has finished. The ONNX file comes from the ``pipecat-ai`` wheel, located without
importing pipecat (see ``models/registry.toml`` and docs/practice.md, "How the interviewer decides
you are done"); it is run here with onnxruntime, already installed with faster-whisper.

The model's input is Whisper's 80-bin log-mel spectrogram of exactly 8 s (800 frames) of
zero-mean, unit-variance audio, zero-padded at the front when shorter. faster-whisper's own
``FeatureExtractor`` computes that spectrogram (``tests/test_turn.py`` checks it against
pipecat's front end), so no front end is copied here.

The endpointer (``core/endpointing.py``) calls :meth:`SmartTurnDetector.end_of_turn_probability`
once per pause, never per frame. A call that cannot be made in time (a CPU too busy) or a model
that will not load turns the detector off for the rest of the session: it then answers None and
:attr:`SmartTurnDetector.problem` says why, so practice falls back to the silence rule and says
so, instead of stopping mid-interview.
"""

from __future__ import annotations

import logging
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from voice_interview.adapters.models import DEFAULT_TURN_MODEL, resolve_turn_model
from voice_interview.adapters.onnx import load_onnx_session
from voice_interview.core.audio import ASR_SAMPLE_RATE
from voice_interview.errors import ModelError

__all__ = ["TURN_WINDOW_SAMPLES", "SmartTurnDetector", "turn_features"]

logger = logging.getLogger(__name__)

TURN_WINDOW_SAMPLES = 8 * ASR_SAMPLE_RATE
"""The model hears the last 8 s of 16 kHz audio."""

_FRAMES = 800  # log-mel frames in 8 s (hop 160)


@lru_cache(maxsize=1)
def _feature_extractor() -> Any:
    from faster_whisper.feature_extractor import FeatureExtractor

    return FeatureExtractor(feature_size=80, sampling_rate=ASR_SAMPLE_RATE, chunk_length=8)


def turn_features(samples: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """The model input for ``samples`` (16 kHz mono): shape ``(1, 80, 800)``.

    The last 8 s are kept (zeros in front when shorter), normalised to zero mean and unit
    variance, then turned into Whisper's log-mel spectrogram.
    """
    audio = np.asarray(samples, dtype=np.float32)
    if audio.size >= TURN_WINDOW_SAMPLES:
        audio = audio[-TURN_WINDOW_SAMPLES:]
    else:
        audio = np.concatenate([np.zeros(TURN_WINDOW_SAMPLES - audio.size, np.float32), audio])
    audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
    mel = _feature_extractor()(audio.astype(np.float32), padding=0)[:, :_FRAMES]
    return np.ascontiguousarray(mel[np.newaxis], dtype=np.float32)


class SmartTurnDetector:
    """End-of-turn probability from Smart Turn v3.x. Implements
    :class:`voice_interview.core.endpointing.TurnDetector`.

    Args:
        model: registry name or a local ``.onnx`` path.
        max_call_s: a call slower than this (wall clock) counts as late; after
            ``max_late_calls`` late calls in a row the detector turns itself off (a CPU too
            busy to answer in time is no better than no model).
        max_late_calls: see ``max_call_s``.
    """

    window_samples: int = TURN_WINDOW_SAMPLES

    def __init__(
        self,
        model: str | Path = DEFAULT_TURN_MODEL,
        *,
        max_call_s: float = 0.4,
        max_late_calls: int = 2,
    ) -> None:
        self.model = str(model)
        self.max_call_s = max_call_s
        self.max_late_calls = max_late_calls
        self.problem: str | None = None
        """Why the detector is off (None while it works)."""
        self.calls = 0
        self.seconds = 0.0
        """Wall-clock time spent in calls, for the listening-cost figures."""
        self._late = 0
        self._session: Any = None

    def load(self) -> None:
        """Load and check the model now.

        Raises:
            ModelError: the file is missing, damaged or not a Smart Turn model.
        """
        if self._session is None:
            path = resolve_turn_model(self.model)
            session = load_onnx_session(
                path,
                what="Smart Turn",
                fix="reinstall it with: pip install --force-reinstall pipecat-ai==1.14.0",
            )
            inputs = [i.name for i in session.get_inputs()]
            if inputs != ["input_features"]:
                raise ModelError(
                    f"{path}: not a Smart Turn v3 model (inputs {inputs}, expected "
                    "input_features); pass a smart-turn-v3 .onnx file"
                )
            self._session = session

    def try_load(self) -> bool:
        """Load the model; on failure turn the detector off and keep the reason in
        :attr:`problem`. Returns whether the model is usable."""
        try:
            self.load()
        except ModelError as exc:
            self._turn_off(str(exc))
        return self.problem is None

    def _turn_off(self, problem: str) -> None:
        if self.problem is None:
            logger.warning("end-of-turn model off: %s", problem)
        self.problem = problem

    def end_of_turn_probability(self, samples: npt.NDArray[np.float32]) -> float | None:
        """Probability in [0, 1] that the speech ending at the end of ``samples`` (16 kHz,
        the last <= 8 s are used) is a finished turn; None when the detector is off."""
        if self.problem is not None or not self.try_load():
            return None
        started = time.perf_counter()
        try:
            (logits,) = self._session.run(None, {"input_features": turn_features(samples)})
        except Exception as exc:  # onnxruntime's own exception types
            self._turn_off(f"Smart Turn failed on the answer audio ({exc}); using silence only")
            return None
        elapsed = time.perf_counter() - started
        self.calls += 1
        self.seconds += elapsed
        self._late = self._late + 1 if elapsed > self.max_call_s else 0
        if self._late >= self.max_late_calls:
            self._turn_off(
                f"the CPU is too busy to run the end-of-turn model in time ({elapsed:.2f} s "
                f"per call, limit {self.max_call_s:.2f} s); using silence only"
            )
        return float(np.clip(np.asarray(logits).reshape(-1)[0], 0.0, 1.0))
