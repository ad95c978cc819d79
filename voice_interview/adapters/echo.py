"""Echo cancellation: the interviewer's own voice taken out of what the microphone hears.

With laptop speakers the microphone hears the interviewer. To keep the microphone open while
the interviewer speaks (so a candidate who starts early is heard, and can interrupt), the
speaker hands every sample it plays to a :class:`FarEnd`, and the microphone's audio thread
takes, for each block it captures, the same number of reference samples from it: the two
streams are paired in real time, the reference a little ahead of its echo (the speaker's
output buffer), which is how an echo canceller wants them. :class:`EchoCanceller` then removes
the echo block by block with WebRTC's AEC3 (the ``pywebrtc-audio`` package, imported lazily).

Measured (``bench/echo.py``): AEC3 removes the echo of a linear echo path (the virtual
devices' loopback; a moderate room) so that Silero hears no speech in it, and lets a candidate
who talks over the interviewer through, once it has converged (a few seconds of the
interviewer's voice) and when the echo comes back within about 150 ms. In a very reverberant
echo (a tail louder than the direct sound), it suppresses the candidate too while the
interviewer speaks: then barge-in does not happen, and nothing else is lost (the interviewer
finishes, as before). Headphones need none of it.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import numpy.typing as npt

from voice_interview.core.audio import ASR_SAMPLE_RATE
from voice_interview.errors import VoiceInterviewError

__all__ = ["EchoCanceller", "EchoError", "FarEnd"]

_MAX_LEAD_S = 2.0
"""A reference further ahead of the microphone than this is stale (the microphone was not
being read): it is dropped, so the pairing never drifts by more than the speaker's buffer."""


class EchoError(VoiceInterviewError):
    """The echo canceller cannot run (its package is missing or failed to load)."""


class FarEnd:
    """The reference of what the speaker played, at 16 kHz, in order: a thread-safe FIFO.

    The speaker's audio thread calls :meth:`push` with the samples it hands to the device;
    the microphone's audio thread calls :meth:`take` once per captured block. When nothing
    plays, :meth:`take` returns silence.
    """

    def __init__(self, sample_rate: int = ASR_SAMPLE_RATE) -> None:
        self.sample_rate = sample_rate
        self._lock = threading.Lock()
        self._pending = np.zeros(0, dtype=np.float32)
        self._max = round(_MAX_LEAD_S * sample_rate)

    def push(self, samples: npt.NDArray[np.float32]) -> None:
        with self._lock:
            joined = np.concatenate([self._pending, np.asarray(samples, dtype=np.float32)])
            self._pending = joined[-self._max :]

    def take(self, count: int) -> npt.NDArray[np.float32]:
        """The next ``count`` reference samples (silence where nothing was played)."""
        out = np.zeros(count, dtype=np.float32)
        with self._lock:
            n = min(count, self._pending.size)
            out[:n] = self._pending[:n]
            self._pending = self._pending[n:]
        return out

    def clear(self) -> None:
        """Forget what was pushed but not taken (the sound was stopped before it played)."""
        with self._lock:
            self._pending = np.zeros(0, dtype=np.float32)


class EchoCanceller:
    """WebRTC AEC3 at 16 kHz mono: :meth:`process` takes a captured block and the reference
    played at the same time, and returns the block without the echo.

    One instance for the whole interview (its filter converges on the room and is kept);
    not thread-safe: the microphone's reader calls it, in order.

    Args:
        delay_ms: a hint for the time from a reference sample to its echo beyond the pairing
            (0: the pairing already lines them up; AEC3 finds the rest itself).
    """

    def __init__(self, delay_ms: int = 0) -> None:
        self.delay_ms = delay_ms
        self._aec: Any = None

    def load(self) -> EchoCanceller:
        """Load the canceller now. Raises EchoError when its package is missing."""
        if self._aec is None:
            try:
                from pywebrtc_audio import EchoCanceller as Aec3
            except ImportError as exc:
                raise EchoError(
                    f"echo cancellation is not available ({exc}); reinstall with `make install`"
                    " or use --no-barge-in (headphones: nothing is lost)"
                ) from exc
            self._aec = Aec3(ASR_SAMPLE_RATE, 1, stream_delay_ms=self.delay_ms)
        return self

    def process(
        self, near: npt.NDArray[np.float32], far: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """``near`` without the echo of ``far`` (same length, 16 kHz float32)."""
        if self._aec is None:
            self.load()
        if far.size != near.size:
            fitted = np.zeros(near.size, dtype=np.float32)
            fitted[: min(far.size, near.size)] = far[: near.size]
            far = fitted
        out = self._aec.process(
            np.ascontiguousarray(near, dtype=np.float32),
            np.ascontiguousarray(far, dtype=np.float32),
        )
        return np.asarray(out, dtype=np.float32)
