"""Streaming 16-bit mono WAV: the answer recording, durable while the candidate speaks."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt

from voice_interview.adapters.durable import fsync_dir
from voice_interview.core.audio import Audio
from voice_interview.errors import AudioError

__all__ = ["StreamingWavWriter"]

logger = logging.getLogger(__name__)

_HEADER_BYTES = 44
_RIFF_SIZE_OFFSET = 4
_DATA_SIZE_OFFSET = 40
_MAX_DATA_BYTES = 0xFFFFFFFF - (_HEADER_BYTES - 8)  # the RIFF size field is 32-bit


def _wav_header(sample_rate: int, data_bytes: int) -> bytes:
    """The canonical 44-byte header of 16-bit mono PCM WAV."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        _HEADER_BYTES - 8 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,  # fmt chunk size
        1,  # PCM
        1,  # channels
        sample_rate,
        sample_rate * 2,  # byte rate
        2,  # block align
        16,  # bits per sample
        b"data",
        data_bytes,
    )


class StreamingWavWriter:
    """Writes 16-bit mono PCM WAV while recording, durable at least every ``flush_every_s``.

    The file is created (truncating any previous one) with a valid, empty WAV header. Each
    :meth:`write` appends samples; whenever ``flush_every_s`` of audio has built up since the
    last flush, the data is fsync'd, the RIFF and data sizes in the header are patched, and the
    header is fsync'd. So after :meth:`write` returns, less than ``flush_every_s`` of audio is
    at risk: if the process dies, the file is a valid WAV of everything up to the last flush
    (the header never claims data that is not on disk). :meth:`close` flushes and finalises;
    the context manager closes on any exit, so an exception mid-answer still leaves a complete
    file. Flushes cost two fsyncs: call :meth:`write` from the loop that consumes audio, not
    from a sound-card callback.

    Raises:
        AudioError: ``reason="unwritable"`` when the file cannot be created or written.
    """

    def __init__(
        self, path: str | os.PathLike[str], sample_rate: int, *, flush_every_s: float = 1.0
    ) -> None:
        if sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {sample_rate}")
        if flush_every_s <= 0:
            raise ValueError(f"flush_every_s must be positive, got {flush_every_s}")
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.flush_every_s = flush_every_s
        self._flush_every = max(1, round(flush_every_s * sample_rate))
        self._written = 0
        self._flushed = 0
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = self.path.open("wb")
        except OSError as exc:
            raise self._error(exc) from exc
        try:
            self._file.write(_wav_header(sample_rate, 0))
            self._file.flush()
            os.fsync(self._file.fileno())
            fsync_dir(self.path.parent)
        except OSError as exc:
            self._file.close()
            raise self._error(exc) from exc

    @property
    def samples_written(self) -> int:
        """Samples handed to :meth:`write` so far."""
        return self._written

    @property
    def samples_flushed(self) -> int:
        """Samples durable on disk and covered by the header (all of them once closed)."""
        return self._flushed

    @property
    def closed(self) -> bool:
        return self._file.closed

    def write(self, audio: Audio | npt.NDArray[np.floating[Any]] | npt.NDArray[np.int16]) -> None:
        """Append mono samples: an :class:`Audio` at this writer's rate, a float array in
        [-1, 1] (converted as :meth:`Audio.to_int16` does), or int16 PCM as a sound card gives.
        """
        if self._file.closed:
            raise ValueError(f"{self.path}: write() after close()")
        if isinstance(audio, Audio):
            if audio.sample_rate != self.sample_rate:
                raise ValueError(
                    f"{self.path}: audio at {audio.sample_rate} Hz written to a "
                    f"{self.sample_rate} Hz WAV; resample it first (Audio.resampled)"
                )
            pcm = audio.to_int16()
        elif audio.dtype == np.int16:
            if audio.ndim != 1:
                raise ValueError(f"audio must be mono (1-D), got shape {audio.shape}")
            pcm = audio.astype(np.int16, copy=False)
        elif np.issubdtype(audio.dtype, np.floating):
            pcm = Audio(audio.astype(np.float32, copy=False), self.sample_rate).to_int16()
        else:
            raise ValueError(f"audio must be float in [-1, 1] or int16 PCM, got {audio.dtype}")
        if (self._written + pcm.shape[0]) * 2 > _MAX_DATA_BYTES:
            raise AudioError(
                f"{self.path}: a WAV file holds at most {_MAX_DATA_BYTES // 2} samples; "
                "end the recording earlier (max_answer_s)",
                path=str(self.path),
                reason="unwritable",
            )
        try:
            self._file.write(pcm.astype("<i2", copy=False).tobytes())
        except OSError as exc:
            raise self._error(exc) from exc
        self._written += int(pcm.shape[0])
        if self._written - self._flushed >= self._flush_every:
            self.flush()

    def flush(self) -> None:
        """Make everything written so far durable and covered by the header."""
        if self._file.closed or self._flushed == self._written:
            return
        data_bytes = self._written * 2
        try:
            # Data first, then the sizes: the header never claims samples that are not on disk.
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.seek(_RIFF_SIZE_OFFSET)
            self._file.write(struct.pack("<I", _HEADER_BYTES - 8 + data_bytes))
            self._file.seek(_DATA_SIZE_OFFSET)
            self._file.write(struct.pack("<I", data_bytes))
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.seek(0, os.SEEK_END)
        except OSError as exc:
            raise self._error(exc) from exc
        self._flushed = self._written

    def close(self) -> None:
        """Flush and close; idempotent."""
        if self._file.closed:
            return
        try:
            self.flush()
        finally:
            self._file.close()
        logger.debug(
            "wrote %s: %.2f s at %d Hz",
            self.path,
            self._written / self.sample_rate,
            self.sample_rate,
        )

    def __enter__(self) -> StreamingWavWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _error(self, exc: OSError) -> AudioError:
        return AudioError(
            f"{self.path}: cannot write the recording ({exc.strerror or exc}); "
            "check that the folder is writable and the disk has space",
            path=str(self.path),
            reason="unwritable",
        )
