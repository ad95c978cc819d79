"""Audio for the report, embedded as ``data:`` URIs so the HTML file works offline on its own.

Answers are encoded to Ogg/Opus with PyAV (FFmpeg's libopus; PyAV comes with faster-whisper):
speech at 24 kbit/s is about a tenth of the size of the 16 kHz WAV a session keeps, and every
current browser plays it. When the encoder is unavailable the audio is embedded as 16-bit WAV.
"""

from __future__ import annotations

import base64
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice_interview.core.audio import Audio
from voice_interview.errors import AudioError

__all__ = ["EmbeddedAudio", "embed_audio_file", "encode_opus", "encode_wav"]

logger = logging.getLogger(__name__)

OPUS_RATE = 48_000
"""Opus codes at 48 kHz internally; FFmpeg resamples other rates to it."""


@dataclass(frozen=True)
class EmbeddedAudio:
    uri: str
    mime: str
    bytes: int
    duration_s: float


def encode_opus(audio: Audio, bitrate: int = 24_000) -> bytes:
    """Ogg/Opus bytes of mono ``audio`` (raises on any encoder failure)."""
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE)
        stream.bit_rate = bitrate
        stream.layout = "mono"
        resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(audio.samples, dtype=np.float32).reshape(1, -1),
            format="flt",
            layout="mono",
        )
        frame.sample_rate = audio.sample_rate
        for chunk in (frame, None):
            for resampled in resampler.resample(chunk):
                for packet in stream.encode(resampled):
                    container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def encode_wav(audio: Audio) -> bytes:
    """16-bit mono PCM WAV bytes of ``audio``."""
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(audio.sample_rate)
        wav.writeframes(audio.to_int16().astype("<i2").tobytes())
    return buffer.getvalue()


def _uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def embed_audio_file(path: str | os.PathLike[str], *, opus: bool = True) -> EmbeddedAudio:
    """Decode any audio file and return it as a data URI (Opus, or WAV as the fallback).

    Keeps the file's own sample rate. Silence is not an error here: a silent answer still
    plays in the report.

    Raises:
        AudioError: the file is missing, empty, corrupt or not audio (one line naming it).
    """
    from voice_interview.adapters.audio_files import load_audio

    audio = load_audio(Path(path), sample_rate=None, reject_silent=False)
    if opus:
        try:
            data = encode_opus(audio)
            return EmbeddedAudio(_uri(data, "audio/ogg"), "audio/ogg", len(data), audio.duration_s)
        except Exception as exc:  # no libopus in this FFmpeg build, or any encoder failure
            logger.warning("%s: Opus encoding failed (%s); embedding WAV instead", path, exc)
    data = encode_wav(audio)
    return EmbeddedAudio(_uri(data, "audio/wav"), "audio/wav", len(data), audio.duration_s)


def try_embed(path: Path | None, what: str) -> tuple[EmbeddedAudio | None, str | None]:
    """(audio, None), or (None, why it is not there) for a missing or unreadable file."""
    if path is None:
        return None, f"no {what} was recorded"
    if not path.is_file():
        return None, f"the {what} file {path} is missing"
    try:
        return embed_audio_file(path), None
    except AudioError as exc:
        return None, f"the {what} cannot be played: {exc}"
