"""The file edge for audio: decode any file FFmpeg reads, write 16-bit WAV.

Decoding goes through PyAV (the FFmpeg bindings faster-whisper already depends on), so wav,
flac, mp3, ogg/opus, m4a and webm all load the same way: downmixed to mono and resampled with
FFmpeg's resampler to the rate speech recognition wants (compare
``faster_whisper/audio.py::decode_audio``). Every failure is an
:class:`~voice_interview.errors.AudioError` whose one-line message starts with the file path
and whose ``reason`` says what kind of failure it was.
"""

from __future__ import annotations

import logging
import math
import os
import stat
import wave
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from voice_interview.adapters.durable import atomic_file
from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio
from voice_interview.errors import AudioError, AudioFailure

if TYPE_CHECKING:
    from av.audio.frame import AudioFrame
    from av.audio.resampler import AudioResampler
    from av.audio.stream import AudioStream
    from av.container import InputContainer

__all__ = ["SUPPORTED_EXTENSIONS", "load_audio", "write_wav"]

logger = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: tuple[str, ...] = (".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".webm")
"""File types known to load; anything else FFmpeg can decode loads as well."""

_FORMAT_NAMES = [ext.lstrip(".") for ext in SUPPORTED_EXTENSIONS]
_FORMAT_LIST = ", ".join(_FORMAT_NAMES[:-1]) + " or " + _FORMAT_NAMES[-1]
"""For messages: "wav, flac, mp3, ogg, opus, m4a or webm"."""

_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"fLaC", "FLAC"),
    (0, b"OggS", "Ogg"),
    (0, b"ID3", "MP3"),
    (4, b"ftyp", "MP4/M4A"),
    (0, b"\x1a\x45\xdf\xa3", "WebM/Matroska"),
)
"""Magic bytes of audio containers: (offset, bytes, name). WAV (RIFF...WAVE) is checked apart."""

_DOWNMIX_OPTIONS = {"rematrix_maxval": "1.0"}
"""libswresample option: scale the downmix so channel gains sum to at most 1 (stereo -> mono
averages L and R). Without it, float output gets L and R at -3 dB each, so identical channels
come out 3 dB louder and a loud stereo file exceeds full scale."""


def load_audio(
    path: str | os.PathLike[str],
    sample_rate: int | None = ASR_SAMPLE_RATE,
    *,
    reject_silent: bool = True,
) -> Audio:
    """Decode any audio file PyAV/FFmpeg reads (wav, flac, mp3, ogg/opus, m4a, webm, ...) to mono
    float32, downmixing channels and resampling to ``sample_rate`` with FFmpeg's resampler (None
    keeps the file's own rate).

    Only the first audio stream is read. Packets FFmpeg reports as invalid are skipped and logged
    at debug level, so a file cut off or damaged part-way still yields the audio before (and
    around) the damage; a file with no decodable audio at all is an error, never empty audio.

    Raises:
        AudioError: ``reason`` is ``missing``, ``not-audio`` (a folder, or nothing FFmpeg can
            read as audio), ``empty`` (0 bytes), ``corrupt`` (an audio file that cannot be
            decoded) or ``silent`` (peak below -50 dBFS, only when ``reject_silent``).
    """
    if sample_rate is not None and sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive or None, got {sample_rate}")
    file = Path(path)
    _check_is_file(file)

    import av  # FFmpeg bindings; imported here so `import voice_interview` stays fast

    try:
        container = av.open(str(file), mode="r", metadata_errors="ignore")
    except FileNotFoundError as exc:  # av.error.FileNotFoundError: removed since the check
        raise _error(file, "missing", "file not found; check the path") from exc
    except OSError as exc:  # av.error.PermissionError and the other OS-level failures
        raise _error(
            file, "unreadable", f"cannot be read ({_cause(exc)}); check the file permissions"
        ) from exc
    except av.FFmpegError as exc:  # InvalidDataError, EOFError: no demuxer could read it
        kind = _container_signature(file)
        if kind is not None:
            raise _error(
                file,
                "corrupt",
                f"has a {kind} header but FFmpeg cannot open it ({_cause(exc)}); "
                "it is damaged or truncated, re-export or re-record it",
            ) from exc
        raise _error(
            file,
            "not-audio",
            f"not an audio file FFmpeg can read ({_cause(exc)}); convert it to {_FORMAT_LIST}",
        ) from exc

    with container:
        if not container.streams.audio:
            kinds = "/".join(sorted({stream.type for stream in container.streams})) or "no"
            raise _error(
                file,
                "not-audio",
                f"has no audio stream ({kinds} streams only); pass a recording in {_FORMAT_LIST}",
            )
        audio = _decode(container, container.streams.audio[0], sample_rate, file)

    logger.debug(
        "loaded %s: %.2f s at %d Hz, peak %.3f",
        file,
        audio.duration_s,
        audio.sample_rate,
        audio.peak,
    )
    if reject_silent and audio.is_silent():
        level = (
            f"peak {20 * math.log10(audio.peak):.0f} dBFS"
            if audio.peak > 0
            else "every sample is zero"
        )
        raise _error(
            file,
            "silent",
            f"no speech: the recording is silent ({level}); check the microphone input level",
        )
    return audio


def write_wav(audio: Audio, path: str | os.PathLike[str]) -> Path:
    """Write 16-bit PCM mono WAV atomically (``durable.atomic_file``); creates parent dirs;
    returns the path.

    Readers see either the previous file or the complete new one, never a partial write.

    Raises:
        AudioError: ``reason="unwritable"`` when the folder or file cannot be created or written.
    """
    target = Path(path)
    try:
        with atomic_file(target) as handle, wave.open(handle, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(audio.sample_rate)
            wav.writeframes(audio.to_int16().astype("<i2").tobytes())
    except OSError as exc:
        raise _error(
            target,
            "unwritable",
            f"cannot write the WAV file ({_cause(exc)}); "
            "check that the folder is writable and the disk has space",
        ) from exc
    logger.debug("wrote %s: %.2f s at %d Hz", target, audio.duration_s, audio.sample_rate)
    return target


def _check_is_file(file: Path) -> None:
    """Reject a missing path, a folder or a 0-byte file before FFmpeg sees it."""
    try:
        info = file.stat()
    except FileNotFoundError as exc:
        raise _error(file, "missing", "file not found; check the path") from exc
    except OSError as exc:
        raise _error(
            file, "unreadable", f"cannot be read ({_cause(exc)}); check the path and permissions"
        ) from exc
    if stat.S_ISDIR(info.st_mode):
        raise _error(
            file,
            "not-audio",
            f"is a folder, not an audio file; pass one recording in {_FORMAT_LIST}",
        )
    if not stat.S_ISREG(info.st_mode):
        raise _error(
            file, "not-audio", f"is not a regular file; pass one recording in {_FORMAT_LIST}"
        )
    if info.st_size == 0:
        raise _error(file, "empty", "the file is empty (0 bytes); record or export it again")


def _container_signature(file: Path) -> str | None:
    """The audio container the file's first bytes announce, or None when they announce none.

    Tells a damaged recording (FFmpeg cannot open a file that starts like a WAV/FLAC/...) apart
    from something that was never audio (a text file or a photo renamed to .wav).
    """
    try:
        with file.open("rb") as handle:
            head = handle.read(12)
    except OSError:
        return None
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "WAV"
    for offset, magic, name in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return name
    return None


def _decode(
    container: InputContainer, stream: AudioStream, sample_rate: int | None, file: Path
) -> Audio:
    """Decode ``stream`` to mono float32 at ``sample_rate`` (None: the rate of its first frame)."""
    import av

    resampler: AudioResampler | None = None
    source: tuple[str, str, int] | None = None  # format, layout, rate the resampler expects
    target_rate = sample_rate
    chunks: list[npt.NDArray[np.float32]] = []  # joined once at the end, not grown in a loop
    skipped = 0
    last_error: av.FFmpegError | None = None

    def collect(frames: Iterable[AudioFrame | None]) -> None:
        # A pass-through resampler (input already mono flt at the target rate) hands back the
        # None that flushes it.
        chunks.extend(frame.to_ndarray()[0] for frame in frames if frame is not None)

    packets = container.demux(stream)
    try:
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.error.InvalidDataError as exc:  # damaged container: keep what came before
                logger.debug("%s: demuxing stopped early: %s", file, exc)
                last_error = exc
                break
            try:
                frames = packet.decode()
            except av.error.InvalidDataError as exc:  # a damaged packet: skip it, as ffmpeg does
                skipped += 1
                last_error = exc
                continue
            for frame in frames:
                settings = (frame.format.name, frame.layout.name, frame.sample_rate)
                if resampler is None or settings != source:  # first frame, or the stream changed
                    if resampler is not None:
                        collect(resampler.resample(None))
                    target_rate = target_rate or frame.sample_rate
                    resampler = av.audio.resampler.AudioResampler(
                        format="flt", layout="mono", rate=target_rate, options=_DOWNMIX_OPTIONS
                    )
                    source = settings
                collect(resampler.resample(frame))
        if resampler is not None:
            collect(resampler.resample(None))
    except av.FFmpegError as exc:
        raise _error(
            file,
            "corrupt",
            f"the audio cannot be decoded ({_cause(exc)}); re-export or re-record it",
        ) from exc

    if skipped:
        logger.debug("%s: skipped %d undecodable packet(s)", file, skipped)
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if not samples.size or target_rate is None:
        detail = f" ({_cause(last_error)})" if last_error is not None else ""
        raise _error(
            file,
            "corrupt",
            f"the audio stream holds no decodable samples{detail}; "
            "the file is damaged or truncated, re-export or re-record it",
        ) from last_error
    return Audio(samples, target_rate)


def _error(file: Path, reason: AudioFailure, problem: str) -> AudioError:
    """An AudioError whose single-line message starts with the file path."""
    message = " ".join(f"{file}: {problem}".splitlines())
    return AudioError(message, path=str(file), reason=reason)


def _cause(exc: BaseException) -> str:
    """A short one-line description of a low-level exception, for the middle of a message."""
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split()) or type(exc).__name__
