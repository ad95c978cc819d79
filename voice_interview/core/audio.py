"""The one audio type used inside the program.

Mono float32 samples in [-1, 1] with their sample rate carried alongside. Conversions to int16
bytes, other channel layouts or file formats happen only at the edges (``adapters/``).
Speech recognition wants :data:`ASR_SAMPLE_RATE` (16 kHz); :meth:`Audio.resampled` converts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

__all__ = ["ASR_SAMPLE_RATE", "SILENCE_PEAK", "Audio", "concatenate"]

ASR_SAMPLE_RATE = 16_000
"""Sample rate Whisper and Silero VAD expect, in Hz."""

SILENCE_PEAK = 10 ** (-50 / 20)
"""Peak amplitude below which audio counts as silent (-50 dBFS, about 1e-3 of full scale;
the hiss of a quiet laptop microphone sits around -60 dBFS)."""


@dataclass(frozen=True)
class Audio:
    """Mono float32 audio in [-1, 1].

    Attributes:
        samples: 1-D float32 array. Never modified in place by this package.
        sample_rate: samples per second, in Hz.
    """

    samples: npt.NDArray[np.float32] = field(repr=False)
    sample_rate: int

    def __post_init__(self) -> None:
        samples = np.asarray(self.samples)
        if samples.ndim != 1:
            raise ValueError(f"Audio must be mono (1-D), got shape {samples.shape}")
        if samples.dtype != np.float32:
            samples = samples.astype(np.float32)
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")
        object.__setattr__(self, "samples", samples)

    @classmethod
    def from_int16(cls, data: bytes | npt.NDArray[np.int16], sample_rate: int) -> Audio:
        """Build from signed 16-bit PCM (bytes or array), as sound cards and WAV files give it."""
        array = np.frombuffer(data, dtype=np.int16) if isinstance(data, bytes) else data
        return cls(array.astype(np.float32) / 32768.0, sample_rate)

    @classmethod
    def silence(cls, duration_s: float, sample_rate: int = ASR_SAMPLE_RATE) -> Audio:
        return cls(np.zeros(round(duration_s * sample_rate), dtype=np.float32), sample_rate)

    @property
    def num_samples(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_samples / self.sample_rate

    @property
    def peak(self) -> float:
        """Largest absolute sample value (0.0 for empty audio)."""
        return float(np.max(np.abs(self.samples))) if self.num_samples else 0.0

    @property
    def rms_dbfs(self) -> float:
        """Root-mean-square level in dB relative to full scale (-inf for digital silence)."""
        if not self.num_samples:
            return float("-inf")
        rms = float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64))))
        return 20 * float(np.log10(rms)) if rms > 0 else float("-inf")

    def is_silent(self, peak_threshold: float = SILENCE_PEAK) -> bool:
        """True when no sample rises above ``peak_threshold`` (default -50 dBFS)."""
        return self.peak < peak_threshold

    def to_int16(self) -> npt.NDArray[np.int16]:
        """Convert to signed 16-bit PCM (x 32768, clipped), the inverse of :meth:`from_int16`."""
        return np.clip(np.round(self.samples * 32768.0), -32768, 32767).astype(np.int16)

    def resampled(self, sample_rate: int) -> Audio:
        """Return this audio at ``sample_rate`` (self when already there).

        Uses libsoxr's high-quality band-limited resampler (package ``soxr``), the same
        resampler FFmpeg and SoX offer, rather than a hand-written one.
        """
        if sample_rate == self.sample_rate:
            return self
        if self.num_samples == 0:
            return Audio(self.samples, sample_rate)
        import soxr  # small C extension; imported here so numpy-only users never load it

        out = soxr.resample(self.samples, self.sample_rate, sample_rate, quality="HQ")
        return Audio(np.asarray(out, dtype=np.float32), sample_rate)

    def slice_s(self, start_s: float, end_s: float | None = None) -> Audio:
        """The part between ``start_s`` and ``end_s`` seconds (to the end when None)."""
        start = max(0, round(start_s * self.sample_rate))
        end = (
            self.num_samples
            if end_s is None
            else min(self.num_samples, round(end_s * self.sample_rate))
        )
        return Audio(self.samples[start:end], self.sample_rate)


def concatenate(parts: list[Audio], sample_rate: int | None = None) -> Audio:
    """Join audio clips, resampling each to ``sample_rate`` (default: the first clip's)."""
    if not parts:
        raise ValueError("concatenate() needs at least one Audio")
    rate = sample_rate or parts[0].sample_rate
    return Audio(np.concatenate([p.resampled(rate).samples for p in parts]), rate)
