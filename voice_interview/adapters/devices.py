"""Live sound devices: the microphone and the speaker, through sounddevice (PortAudio).

:class:`Microphone` and :class:`FileMicrophone` share one interface, so the practice loop and its
endpointer run the same on a live mic and on a recording:

- used as a context manager (or ``open()`` / ``close()``);
- ``read(timeout_s)`` returns the next block (mono float32 :class:`Audio` of ``block_samples``
  samples at ``sample_rate``) or None when none arrived in time;
- ``iter_blocks()`` lazily yields blocks as they arrive;
- ``level_dbfs`` is the level of the latest block, for a level meter;
- ``mute()`` / ``unmute(tail_s)`` drop the input while the interviewer speaks (and for
  ``tail_s`` after, the room's echo), counted in samples, not wall-clock time;
- ``echo_cancelled``: True when the interviewer's voice is taken out of the input
  (:mod:`voice_interview.adapters.echo`), so it need not be muted while the interviewer
  speaks. The :class:`Speaker` given the same :class:`~voice_interview.adapters.echo.FarEnd`
  hands it what it plays.

sounddevice is imported only when a device is opened, so ``import voice_interview`` stays light.
Every device failure is a :class:`DeviceError` with a one-line message that says what to do.
"""

from __future__ import annotations

import collections
import logging
import math
import queue
import threading
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any, Self

import numpy as np
import numpy.typing as npt

from voice_interview.adapters.echo import EchoCanceller, FarEnd
from voice_interview.adapters.playback import DeviceError, import_sounddevice
from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio

__all__ = ["DeviceError", "FileMicrophone", "Microphone", "Speaker", "list_devices"]

logger = logging.getLogger(__name__)

_LIST_HINT = "list devices with: python -m sounddevice"
_POLL_S = 0.05
"""How often a waiting read() checks that the device is still alive."""
_PLAY_GRACE_S = 5.0
"""How long a sound may run past its end (a Bluetooth speaker waking up) before the speaker
counts as failed."""


def list_devices() -> list[dict[str, Any]]:
    """Every sound device PortAudio sees, as plain dicts.

    Keys: ``index``, ``name``, ``hostapi`` (e.g. ``ALSA``), ``inputs`` and ``outputs`` (channel
    counts), ``default_samplerate`` (Hz), ``default_input`` and ``default_output`` (bools).
    """
    sd = import_sounddevice()
    hostapis = sd.query_hostapis()
    default_in = _default_index(sd, "input")
    default_out = _default_index(sd, "output")
    return [
        {
            "index": int(info["index"]),
            "name": str(info["name"]),
            "hostapi": str(hostapis[info["hostapi"]]["name"]),
            "inputs": int(info["max_input_channels"]),
            "outputs": int(info["max_output_channels"]),
            "default_samplerate": float(info["default_samplerate"]),
            "default_input": info["index"] == default_in,
            "default_output": info["index"] == default_out,
        }
        for info in sd.query_devices()
    ]


class _MuteGate:
    """Decides, block by block, whether input is kept: dropped while muted and for a tail after.

    Thread-safe: the audio thread asks, the interview loop mutes and unmutes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._muted = False
        self._tail_left = 0
        self.dropped_blocks = 0

    @property
    def muted(self) -> bool:
        return self._muted

    def mute(self) -> None:
        with self._lock:
            self._muted = True
            self._tail_left = 0

    def unmute(self, tail_samples: int) -> None:
        with self._lock:
            self._muted = False
            self._tail_left = max(0, tail_samples)

    def admit(self, num_samples: int) -> bool:
        """True when a block of ``num_samples`` captured now is kept."""
        with self._lock:
            if self._muted or self._tail_left > 0:
                self._tail_left = max(0, self._tail_left - num_samples)
                self.dropped_blocks += 1
                return False
            return True


def _level_dbfs(samples: npt.NDArray[np.float32]) -> float:
    if not samples.size:
        return float("-inf")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return 20 * math.log10(rms) if rms > 0 else float("-inf")


class _Input:
    """What both microphones share: the mute gate, the level and the ``with`` block.

    Subclasses set ``_gate`` and ``_level`` and define :meth:`open` and :meth:`close`.
    """

    _gate: _MuteGate
    _level: float
    echo_cancelled = False
    """True when the interviewer's voice is removed from the input (no need to mute)."""

    def open(self) -> Self:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def muted(self) -> bool:
        return self._gate.muted

    @property
    def dropped_blocks(self) -> int:
        """Blocks discarded because the microphone was muted (or in an unmute tail)."""
        return self._gate.dropped_blocks

    @property
    def level_dbfs(self) -> float:
        """RMS level of the latest block kept, in dBFS (-inf while muted)."""
        return self._level


class Microphone(_Input):
    """The live microphone: mono float32 blocks from a PortAudio input stream.

    PortAudio's audio thread pushes each block into a thread-safe queue (unbounded: about
    64 kB per second at 16 kHz, so a slow consumer loses nothing); :meth:`read` and
    :meth:`iter_blocks` hand them out in order. When the device fails mid-stream (unplugged,
    taken by another program, the stream stopped, or no audio for ``stall_timeout_s``), the
    blocks already captured are handed out first, then :class:`DeviceError` is raised, so the
    caller keeps what was recorded.

    Args:
        device: PortAudio device index or (a unique part of) its name; None = the system's
            default input. ``python -m sounddevice`` lists them.
        sample_rate: rate of the blocks handed out, in Hz (16 kHz for speech recognition).
        block_samples: samples per block (512 = 32 ms at 16 kHz, Silero VAD's chunk).
        stall_timeout_s: a device that delivers nothing for this long has failed.
        start_timeout_s: how long the first block may take (a Bluetooth headset or a sound
            server can take a few seconds to start).
        device_rate: rate to open the device at, in Hz; blocks are resampled (soxr) to
            ``sample_rate``. None = ``sample_rate`` when the device accepts it, else the
            device's default rate.
        far_end: the reference of what the speaker plays (the same object given to the
            :class:`Speaker`); with ``canceller``, the blocks handed out have the
            interviewer's echo removed (``sample_rate`` must then be 16 kHz).
        canceller: the echo canceller (loaded by :meth:`open`).
    """

    def __init__(
        self,
        device: int | str | None = None,
        sample_rate: int = ASR_SAMPLE_RATE,
        block_samples: int = 512,
        *,
        stall_timeout_s: float = 2.0,
        start_timeout_s: float = 5.0,
        device_rate: int | None = None,
        far_end: FarEnd | None = None,
        canceller: EchoCanceller | None = None,
    ) -> None:
        if sample_rate <= 0 or block_samples <= 0:
            raise ValueError("sample_rate and block_samples must be positive")
        if stall_timeout_s <= 0 or start_timeout_s <= 0:
            raise ValueError("stall_timeout_s and start_timeout_s must be positive")
        self.device = device
        self.sample_rate = sample_rate
        self.block_samples = block_samples
        self.stall_timeout_s = stall_timeout_s
        self.start_timeout_s = start_timeout_s
        self.device_rate = device_rate
        self.device_name: str | None = None
        """The opened device's name (set by :meth:`open`)."""
        self.overflows = 0
        """Blocks PortAudio reported as overflowed (input lost because the system was busy)."""
        if (far_end is None) != (canceller is None):
            raise ValueError("far_end and canceller go together")
        if canceller is not None and sample_rate != ASR_SAMPLE_RATE:
            raise ValueError(f"echo cancellation runs at {ASR_SAMPLE_RATE} Hz")
        self.far_end = far_end
        self.canceller = canceller
        self.echo_cancelled = canceller is not None
        self._gate = _MuteGate()
        self._queue: queue.SimpleQueue[
            tuple[npt.NDArray[np.float32], npt.NDArray[np.float32] | None]
        ] = queue.SimpleQueue()
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_far = np.zeros(0, dtype=np.float32)
        self._captured = 0  # device samples captured since open (pairs them with far_end)
        self._device_rate = sample_rate
        self._resampler: Any = None
        self._stream: Any = None
        self._finished = threading.Event()
        self._closing = False
        self._started = False
        self._last_block_at = 0.0
        self._level = float("-inf")

    # -- lifecycle -------------------------------------------------------------------------

    def open(self) -> Self:
        """Open and start the input stream. Raises DeviceError for a missing or busy device."""
        if self._stream is not None:
            return self
        sd = import_sounddevice()
        if self.canceller is not None:
            self.canceller.load()
        info = _query_device(sd, self.device, "input")
        self.device_name = str(info["name"])
        rate = self.device_rate or self._pick_rate(sd, info)
        self._resampler = None
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_far = np.zeros(0, dtype=np.float32)
        self._captured = 0
        self._device_rate = rate
        if rate != self.sample_rate:
            import soxr

            self._resampler = soxr.ResampleStream(rate, self.sample_rate, 1, dtype="float32")
            logger.info(
                "%s does not record at %d Hz; resampling from %d Hz",
                self.device_name,
                self.sample_rate,
                rate,
            )
        blocksize = max(1, round(self.block_samples * rate / self.sample_rate))
        self._finished.clear()
        self._closing = False
        self._started = False
        self._last_block_at = time.monotonic()
        try:
            stream = sd.InputStream(
                device=info["index"],
                samplerate=rate,
                channels=1,
                dtype="float32",
                blocksize=blocksize,
                callback=self._on_block,
                finished_callback=self._finished.set,
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise DeviceError(
                f"cannot open the microphone {self.device_name!r} at {rate} Hz ({_one_line(exc)});"
                f" close other programs using it or pick another device ({_LIST_HINT})"
            ) from exc
        self._stream = stream
        logger.debug("recording from %s at %d Hz", self.device_name, rate)
        return self

    def close(self) -> None:
        """Stop recording. Blocks not yet read are discarded."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        self._closing = True
        try:
            stream.abort(ignore_errors=True)
        finally:
            stream.close(ignore_errors=True)
            self.flush()

    # -- muting ----------------------------------------------------------------------------

    def mute(self) -> None:
        """Ignore the input from now on (e.g. while the interviewer speaks).

        Blocks captured before the call stay queued; blocks captured while muted are dropped.
        """
        self._gate.mute()
        self._level = float("-inf")

    def unmute(self, tail_s: float = 0.0) -> None:
        """Keep the input again, after dropping a further ``tail_s`` seconds (the room's echo
        and the output latency of what was just played)."""
        rate = self._stream.samplerate if self._stream is not None else self.sample_rate
        self._gate.unmute(round(tail_s * rate))

    def flush(self) -> int:
        """Discard every block captured but not read yet; returns how many samples went."""
        dropped = self._pending.size
        self._pending = np.zeros(0, dtype=np.float32)
        self._pending_far = np.zeros(0, dtype=np.float32)
        while True:
            try:
                dropped += self._queue.get_nowait()[0].size
            except queue.Empty:
                return dropped

    # -- reading ---------------------------------------------------------------------------

    def read(self, timeout_s: float = 1.0) -> Audio | None:
        """The next block, waiting up to ``timeout_s``; None when none arrived in time.

        Raises:
            DeviceError: the device failed, once every block captured before has been read.
            RuntimeError: the microphone is not open.
        """
        if self._stream is None:
            if self._closing:
                return None
            raise RuntimeError("the Microphone is not open; use it in a `with` block")
        deadline = time.monotonic() + max(0.0, timeout_s)
        while self._pending.size < self.block_samples:
            now = time.monotonic()
            try:
                raw, far = self._queue.get(timeout=max(0.0, min(deadline - now, _POLL_S)))
            except queue.Empty:
                if self._stream is None:  # closed meanwhile
                    return None
                self._check_alive()
                if time.monotonic() >= deadline:
                    return None
                continue
            if self._resampler is not None:
                raw = np.asarray(self._resampler.resample_chunk(raw), dtype=np.float32)
            self._pending = np.concatenate([self._pending, raw]) if self._pending.size else raw
            if far is not None:
                self._pending_far = np.concatenate([self._pending_far, far])
        block = self._pending[: self.block_samples]
        self._pending = self._pending[self.block_samples :]
        if self.canceller is not None:
            # The reference leads its echo by about the speaker's buffer (0.2 s) plus the
            # input latency; AEC3 estimates that delay itself (measured: bench/echo.py).
            far = self._pending_far[: self.block_samples]
            self._pending_far = self._pending_far[self.block_samples :]
            block = self.canceller.process(block, far)
        return Audio(block, self.sample_rate)

    def iter_blocks(self) -> Iterator[Audio]:
        """Lazily yield blocks as they arrive, until the microphone is closed.

        Raises:
            DeviceError: the device failed (after every block captured before it was yielded).
        """
        while self._stream is not None:
            block = self.read(timeout_s=_POLL_S)
            if block is not None:
                yield block

    # -- internals -------------------------------------------------------------------------

    def _pick_rate(self, sd: Any, info: dict[str, Any]) -> int:
        try:
            sd.check_input_settings(
                device=info["index"], channels=1, dtype="float32", samplerate=self.sample_rate
            )
        except (sd.PortAudioError, ValueError):
            return int(info["default_samplerate"])
        return self.sample_rate

    def _on_block(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        """PortAudio's audio thread: runs once per block; must be quick and must not raise."""
        self._last_block_at = time.monotonic()
        self._started = True
        if status.input_overflow:
            self.overflows += 1
        far = None
        if self.far_end is not None:  # what the speaker played while this block was heard
            rate = self._device_rate
            before = round(self._captured * self.sample_rate / rate)
            self._captured += frames
            far = self.far_end.take(round(self._captured * self.sample_rate / rate) - before)
        if not self._gate.admit(frames):
            return
        samples = np.array(indata[:, 0], dtype=np.float32)  # a copy: PortAudio reuses indata
        self._level = _level_dbfs(samples)
        self._queue.put((samples, far))

    def _check_alive(self) -> None:
        if self._closing:
            return
        name = self.device_name
        if self._finished.is_set():
            raise DeviceError(
                f"the microphone {name!r} stopped (unplugged or taken by another program?); "
                f"the audio recorded so far is kept; {_LIST_HINT}"
            )
        silent_for = time.monotonic() - self._last_block_at
        if silent_for > (self.stall_timeout_s if self._started else self.start_timeout_s):
            raise DeviceError(
                f"the microphone {name!r} delivered no audio for {silent_for:.1f} s "
                f"(unplugged or taken by another program?); the audio recorded so far is kept; "
                f"{_LIST_HINT}"
            )


class FileMicrophone(_Input):
    """A stand-in microphone fed from an :class:`Audio`, for the demo and tests.

    Same interface as :class:`Microphone`. Block ``i`` "arrives" when its last sample would
    have been spoken, paced at ``realtime`` x real time from :meth:`open` (0 = every block has
    arrived at open, so :meth:`mute` drops nothing). After the audio come
    ``trailing_silence_s`` seconds of silent blocks, so an endpointer hears the answer end;
    then :meth:`read` returns None at once and :meth:`iter_blocks` stops.

    Args:
        audio: what the microphone hears; resampled to ``sample_rate``.
        block_samples: samples per block; the last audio block is padded with silence.
        realtime: pace as a multiple of real time (1.0 = like a live mic, 0 = no waiting).
        trailing_silence_s: silence appended after the audio.
        sample_rate: rate of the blocks handed out, in Hz.
    """

    def __init__(
        self,
        audio: Audio,
        block_samples: int = 512,
        realtime: float = 1.0,
        *,
        trailing_silence_s: float = 2.0,
        sample_rate: int = ASR_SAMPLE_RATE,
    ) -> None:
        if block_samples <= 0:
            raise ValueError(f"block_samples must be positive, got {block_samples}")
        if realtime < 0 or trailing_silence_s < 0:
            raise ValueError("realtime and trailing_silence_s must be >= 0")
        self.sample_rate = sample_rate
        self.block_samples = block_samples
        self.realtime = realtime
        self.trailing_silence_s = trailing_silence_s
        speech = audio.resampled(sample_rate).samples
        total = speech.size + round(trailing_silence_s * sample_rate)
        self.num_blocks = math.ceil(total / block_samples)
        self._samples = np.zeros(self.num_blocks * block_samples, dtype=np.float32)
        self._samples[: speech.size] = speech
        self._gate = _MuteGate()
        self._lock = threading.Lock()
        self._ready: collections.deque[int] = collections.deque()
        self._arrived = 0
        self._opened_at: float | None = None
        self._level = float("-inf")

    @property
    def block_s(self) -> float:
        return self.block_samples / self.sample_rate

    def open(self) -> Self:
        """Start the clock: block pacing counts from here."""
        with self._lock:
            if self._opened_at is None:
                self._opened_at = time.monotonic()
        return self

    def close(self) -> None:
        with self._lock:
            self._ready.clear()
            self._arrived = self.num_blocks

    @property
    def finished(self) -> bool:
        """Every block has arrived and been read (or dropped)."""
        with self._lock:
            self._advance()
            return self._arrived >= self.num_blocks and not self._ready

    def mute(self) -> None:
        """Blocks arriving from now until :meth:`unmute` are dropped."""
        with self._lock:
            self._advance()
            self._gate.mute()
            self._level = float("-inf")

    def unmute(self, tail_s: float = 0.0) -> None:
        """Keep blocks again, after dropping a further ``tail_s`` seconds of them."""
        with self._lock:
            self._advance()
            self._gate.unmute(round(tail_s * self.sample_rate))

    def flush(self) -> int:
        """Discard every block that has arrived but not been read; returns the sample count."""
        with self._lock:
            self._advance()
            dropped = len(self._ready) * self.block_samples
            self._ready.clear()
            return dropped

    def read(self, timeout_s: float = 1.0) -> Audio | None:
        """The next block, waiting up to ``timeout_s`` for it to arrive; None when it did not,
        or (at once) when every block has been handed out."""
        if self._opened_at is None:
            raise RuntimeError("the FileMicrophone is not open; use it in a `with` block")
        deadline = time.monotonic() + max(0.0, timeout_s)
        while True:
            with self._lock:
                self._advance()
                if self._ready:
                    index = self._ready.popleft()
                    start = index * self.block_samples
                    block = Audio(
                        self._samples[start : start + self.block_samples], self.sample_rate
                    )
                    self._level = _level_dbfs(block.samples)
                    return block
                if self._arrived >= self.num_blocks:
                    return None
                next_due = self._due(self._arrived)
            now = time.monotonic()
            if now >= deadline:
                return None
            time.sleep(max(0.0, min(next_due, deadline) - now))

    def iter_blocks(self) -> Iterator[Audio]:
        """Lazily yield blocks as they arrive, ending after the trailing silence."""
        while not self.finished:
            block = self.read(timeout_s=1.0)
            if block is not None:
                yield block

    def _due(self, index: int) -> float:
        """When block ``index`` has fully arrived (monotonic clock)."""
        assert self._opened_at is not None
        return self._opened_at + (index + 1) * self.block_s / self.realtime

    def _advance(self) -> None:
        """Let every block whose time has come arrive (through the mute gate). Holds the lock."""
        if self._opened_at is None or self._arrived >= self.num_blocks:
            return
        if self.realtime == 0:
            arrived = self.num_blocks
        else:
            elapsed = time.monotonic() - self._opened_at
            arrived = min(self.num_blocks, math.floor(elapsed * self.realtime / self.block_s))
        for index in range(self._arrived, arrived):
            if self._gate.admit(self.block_samples):
                self._ready.append(index)
        self._arrived = max(self._arrived, arrived)


class Speaker:
    """Plays :class:`Audio` on an output device through its own PortAudio stream.

    Audio is resampled (soxr) to the device's default rate when the device refuses the audio's
    own rate. One sound at a time: :meth:`play` stops whatever is still playing.

    While a sound plays, :attr:`samples_written` counts the samples handed to the device (at
    :attr:`sample_rate`) and :attr:`latency_s` is the device's output latency, so a caller can
    tell how far playback has got from the device's own count (``replay`` highlights words
    with it) rather than from the wall clock.

    Args:
        device: PortAudio device index or (a unique part of) its name; None = the system's
            default output.
        buffer_s: output buffer to ask PortAudio for, in seconds; None = its "high" default,
            which was 35 ms through PulseAudio's ALSA plugin and gave audible gaps (underruns)
            on a busy 2-core CPU. A longer buffer rides out a busy CPU, at the cost of a later
            start and stop; the default is 0.2 s, ``replay`` asks for 0.4 s and corrects for it.
        far_end: where to hand a 16 kHz copy of every sample played, for the microphone's
            echo canceller (see :mod:`voice_interview.adapters.echo`).
    """

    def __init__(
        self,
        device: int | str | None = None,
        buffer_s: float | None = 0.2,
        far_end: FarEnd | None = None,
    ) -> None:
        self.device = device
        self.buffer_s = buffer_s
        self.far_end = far_end
        self.device_name: str | None = None
        self._stream: Any = None
        self._done = threading.Event()
        self._ends_at = 0.0
        self._written = 0
        self._rate = 0
        self._latency_s = 0.0

    @property
    def samples_written(self) -> int:
        """Samples of the current (or last) sound handed to the device so far."""
        return self._written

    @property
    def sample_rate(self) -> int:
        """The rate the current (or last) sound is played at (0 before the first)."""
        return self._rate

    @property
    def latency_s(self) -> float:
        """The output latency PortAudio reports for the current (or last) stream."""
        return self._latency_s

    def play(self, audio: Audio, blocking: bool = True) -> None:
        """Play ``audio``; when ``blocking``, return once it has been played to the end.

        Raises:
            DeviceError: no such output device, it cannot be opened, or it stopped playing.
        """
        self.stop()
        sd = import_sounddevice()
        info = _query_device(sd, self.device, "output")
        self.device_name = str(info["name"])
        rate = self._pick_rate(sd, info, audio.sample_rate)
        samples = audio.resampled(rate).samples
        far_end = self.far_end
        reference = audio.resampled(far_end.sample_rate).samples if far_end else samples
        position = 0
        done = threading.Event()
        self._written, self._rate, self._latency_s = 0, rate, 0.0

        def callback(outdata: Any, frames: int, time_info: Any, status: Any) -> None:
            nonlocal position
            chunk = samples[position : position + frames]
            outdata[: chunk.size, 0] = chunk
            outdata[chunk.size :, 0] = 0.0
            if far_end is not None:  # the same stretch, at the reference's rate
                ratio = far_end.sample_rate / rate
                a, b = round(position * ratio), round((position + frames) * ratio)
                piece = reference[a:b]
                far_end.push(np.concatenate([piece, np.zeros(b - a - piece.size, np.float32)]))
            position += frames
            self._written = min(position, samples.size)
            if position >= samples.size:
                raise sd.CallbackStop

        try:
            stream = sd.OutputStream(
                device=info["index"],
                samplerate=rate,
                channels=1,
                dtype="float32",
                callback=callback,
                finished_callback=done.set,
                latency="high" if self.buffer_s is None else self.buffer_s,
            )
            stream.start()
        except (sd.PortAudioError, ValueError) as exc:
            raise DeviceError(
                f"cannot play on {self.device_name!r} at {rate} Hz ({_one_line(exc)}); "
                f"close other programs using it or pick another device ({_LIST_HINT})"
            ) from exc
        self._stream, self._done = stream, done
        self._latency_s = float(stream.latency)
        self._ends_at = time.monotonic() + audio.duration_s + stream.latency
        if blocking:
            self.wait()

    @property
    def playing(self) -> bool:
        return self._stream is not None and not self._done.is_set()

    def wait(self) -> None:
        """Block until the current sound has played to the end (or :meth:`stop` was called).

        Raises:
            DeviceError: the device stopped taking audio (unplugged?) before the end.
        """
        if self._stream is None:
            return
        done = self._done
        try:
            while not done.wait(_POLL_S):
                if time.monotonic() - self._ends_at > _PLAY_GRACE_S:
                    raise DeviceError(
                        f"the speaker {self.device_name!r} stopped playing "
                        f"(unplugged or taken by another program?); {_LIST_HINT}"
                    )
            # PortAudio reports the end once the last samples are handed to the device; give
            # them the output latency to come out of the speaker.
            time.sleep(min(0.5, max(0.0, self._ends_at - time.monotonic())))
        finally:
            self._close(played=True)

    def stop(self) -> None:
        """Stop playing at once (no-op when nothing plays)."""
        self._close(played=False)

    def _close(self, played: bool) -> None:
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.abort(ignore_errors=True)
        finally:
            stream.close(ignore_errors=True)
            self._done.set()
            if self.far_end is not None and not played:  # buffered, never played
                self.far_end.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _pick_rate(self, sd: Any, info: dict[str, Any], rate: int) -> int:
        try:
            sd.check_output_settings(
                device=info["index"], channels=1, dtype="float32", samplerate=rate
            )
        except (sd.PortAudioError, ValueError):
            return int(info["default_samplerate"])
        return rate


def _query_device(sd: Any, device: int | str | None, kind: str) -> dict[str, Any]:
    """PortAudio's description of ``device`` (the default when None), or a clear DeviceError."""
    role = "microphone (input)" if kind == "input" else "speaker (output)"
    try:
        info: dict[str, Any] = sd.query_devices(device, kind)
    except (sd.PortAudioError, ValueError) as exc:
        if device is None:
            message = (
                f"no {role} device: the system has no default one; connect one or choose one "
                f"by name or index ({_LIST_HINT})"
            )
        else:
            message = f"no {role} device {device!r} ({_one_line(exc)}); {_LIST_HINT}"
        raise DeviceError(message) from exc
    return info


def _default_index(sd: Any, kind: str) -> int | None:
    try:
        return int(sd.query_devices(kind=kind)["index"])
    except (sd.PortAudioError, ValueError):
        return None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
