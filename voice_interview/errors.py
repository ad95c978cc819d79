"""Errors raised by voice_interview.

Every error carries a one-line, actionable message: it names the file (or model, or device)
and what to do about it. The CLI prints ``str(error)`` and exits non-zero; it never shows a
traceback for these. Lower-level causes are chained with ``raise ... from exc``.
"""

from __future__ import annotations

__all__ = [
    "AudioError",
    "BankError",
    "ModelError",
    "SynthesisError",
    "TranscriptionError",
    "VoiceInterviewError",
]


class VoiceInterviewError(Exception):
    """Base class for every error this package raises on purpose."""


class AudioError(VoiceInterviewError):
    """An audio file is missing, empty, corrupt, not audio, or silent.

    ``reason`` is one of ``missing``, ``unreadable``, ``empty``, ``not-audio``, ``corrupt``,
    ``silent``, ``no-speech``, ``unwritable``, so that batch reports can group failures.
    """

    def __init__(self, message: str, *, path: str | None = None, reason: str = "corrupt") -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


class ModelError(VoiceInterviewError):
    """A model cannot be found, assembled, verified or loaded."""


class TranscriptionError(VoiceInterviewError):
    """The speech recogniser failed on an input."""


class SynthesisError(VoiceInterviewError):
    """The text-to-speech engine failed."""


class BankError(VoiceInterviewError):
    """A question bank file is missing or invalid, or a question id is unknown."""
