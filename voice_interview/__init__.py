"""voice_interview: a local, private, spoken mock-interview coach.

Importing the package is cheap: models and sound libraries load only when used. The public
surface is re-exported lazily below.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "Audio": "voice_interview.core.audio",
    "Transcript": "voice_interview.core.transcript",
    "Evaluation": "voice_interview.scoring.result",
    "AnswerPipeline": "voice_interview.pipeline",
    "Bank": "voice_interview.content.banks",
    "Question": "voice_interview.content.banks",
    "load_bank": "voice_interview.content.banks",
    "load_audio": "voice_interview.adapters.audio_files",
    "write_wav": "voice_interview.adapters.audio_files",
    "WhisperTranscriber": "voice_interview.adapters.whisper",
    "TranscribeOptions": "voice_interview.adapters.whisper",
    "PiperSynthesizer": "voice_interview.adapters.piper",
    "SpeechOptions": "voice_interview.adapters.piper",
    "VoiceInterviewError": "voice_interview.errors",
    "AudioError": "voice_interview.errors",
    "ModelError": "voice_interview.errors",
    "BankError": "voice_interview.errors",
}

__all__ = [
    "AnswerPipeline",
    "Audio",
    "AudioError",
    "Bank",
    "BankError",
    "Evaluation",
    "ModelError",
    "PiperSynthesizer",
    "Question",
    "SpeechOptions",
    "TranscribeOptions",
    "Transcript",
    "VoiceInterviewError",
    "WhisperTranscriber",
    "__version__",
    "load_audio",
    "load_bank",
    "write_wav",
]

if TYPE_CHECKING:
    from voice_interview.adapters.audio_files import load_audio, write_wav
    from voice_interview.adapters.piper import PiperSynthesizer, SpeechOptions
    from voice_interview.adapters.whisper import TranscribeOptions, WhisperTranscriber
    from voice_interview.content.banks import Bank, Question, load_bank
    from voice_interview.core.audio import Audio
    from voice_interview.core.transcript import Transcript
    from voice_interview.errors import AudioError, BankError, ModelError, VoiceInterviewError
    from voice_interview.pipeline import AnswerPipeline
    from voice_interview.scoring.result import Evaluation


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'voice_interview' has no attribute {name!r}")
    return getattr(import_module(module), name)
