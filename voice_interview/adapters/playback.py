"""Playing audio on a sound card through sounddevice (PortAudio)."""

from __future__ import annotations

import sys
from typing import Any

from voice_interview.core.audio import Audio
from voice_interview.errors import DeviceError

__all__ = ["DeviceError", "import_sounddevice", "play"]


def _portaudio_hint() -> str:
    if sys.platform == "darwin":
        return "install PortAudio: brew install portaudio"
    if sys.platform.startswith("linux"):
        return "install PortAudio: sudo apt-get install libportaudio2 (or run: make system-deps)"
    return "reinstall the sounddevice package"


def import_sounddevice() -> Any:
    """Import sounddevice, turning a missing PortAudio library into a clear error."""
    try:
        import sounddevice
    except OSError as exc:  # "PortAudio library not found"
        raise DeviceError(f"no sound support: PortAudio is missing; {_portaudio_hint()}") from exc
    return sounddevice


def play(audio: Audio, device: int | str | None = None) -> None:
    """Play ``audio`` to the end on ``device`` (default output when None). Blocking."""
    sd = import_sounddevice()
    try:
        sd.play(audio.samples, samplerate=audio.sample_rate, device=device, blocking=True)
    except (sd.PortAudioError, ValueError) as exc:
        where = f"output device {device!r}" if device is not None else "the default output device"
        raise DeviceError(
            f"cannot play on {where} ({exc}); list devices with: python -m sounddevice"
        ) from exc
