"""Errors raised by voice_interview.

Every error carries a one-line, actionable message: it names the file (or model, or device)
and what to do about it. The CLI prints ``str(error)`` and exits non-zero; it never shows a
traceback for these. Lower-level causes are chained with ``raise ... from exc``.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "AudioError",
    "AudioFailure",
    "BankError",
    "BatchError",
    "DeliveryLexiconError",
    "DeviceError",
    "ModelError",
    "ReportError",
    "SessionError",
    "SynthesisError",
    "TranscriptionError",
    "VoiceInterviewError",
]


class VoiceInterviewError(Exception):
    """Base class for every error this package raises on purpose."""


AudioFailure = Literal[
    "missing", "unreadable", "empty", "not-audio", "corrupt", "silent", "no-speech", "unwritable"
]
"""Why an audio file could not be used: batch reports and failures.jsonl group by it."""


class AudioError(VoiceInterviewError):
    """An audio file is missing, empty, corrupt, not audio, or silent.

    ``reason`` is one of ``missing``, ``unreadable``, ``empty``, ``not-audio``, ``corrupt``,
    ``silent``, ``no-speech``, ``unwritable``, so that batch reports can group failures.
    """

    def __init__(
        self, message: str, *, path: str | None = None, reason: AudioFailure = "corrupt"
    ) -> None:
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


class ReportError(VoiceInterviewError):
    """The report's input (a session, a results file) cannot be read."""


class DeliveryLexiconError(VoiceInterviewError):
    """The delivery lexicon file (``prompts/scoring/delivery.toml``) is missing or invalid."""


class SessionError(VoiceInterviewError):
    """A session folder or one of its files is missing, damaged, or cannot be written."""


class BatchError(VoiceInterviewError):
    """The batch as a whole cannot run: a bad manifest, an output folder in use, no files."""


class DeviceError(VoiceInterviewError):
    """No sound library, no device, or the device failed."""
