"""Live sound devices on REAL (virtual) devices: a private PulseAudio server started here.

PortAudio reaches the server through ALSA's PulseAudio plugin, exactly as on a Linux laptop;
tests/pulse.py explains the setup. Missing system packages are a failure, never a skip.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import jiwer
import numpy as np
import pytest
from pulse import MIC_SOURCE, VirtualAudio

from voice_interview.adapters.audio_files import load_audio, write_wav
from voice_interview.adapters.devices import (
    DeviceError,
    FileMicrophone,
    Microphone,
    Speaker,
    list_devices,
)
from voice_interview.core.audio import Audio, concatenate
from voice_interview.core.text import normalize_text

RATE = 16_000
LOUD_DBFS = -40.0


def tone(duration_s: float, amplitude: float = 0.3, freq_hz: float = 440.0) -> Audio:
    t = np.arange(round(duration_s * 22_050)) / 22_050
    return Audio((amplitude * np.sin(2 * np.pi * freq_hz * t)).astype(np.float32), 22_050)


def block_levels(audio: Audio, block: int = 512) -> np.ndarray:
    n = audio.num_samples // block
    frames = audio.samples[: n * block].reshape(n, block).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def loud_span_s(audio: Audio) -> tuple[float, float]:
    """Start and end (s) of the blocks louder than LOUD_DBFS."""
    loud = np.flatnonzero(block_levels(audio) > LOUD_DBFS)
    assert loud.size, "no loud block at all"
    return loud[0] * 512 / audio.sample_rate, (loud[-1] + 1) * 512 / audio.sample_rate


def read_blocks(mic: Microphone, seconds: float) -> list[Audio]:
    blocks: list[Audio] = []
    while sum(b.num_samples for b in blocks) < seconds * mic.sample_rate:
        block = mic.read(timeout_s=2.0)
        assert block is not None, "the microphone delivered nothing for 2 s"
        blocks.append(block)
    return blocks


def test_microphone_hears_speech_played_into_the_room(
    virtual_audio: VirtualAudio, synthesizer, tiny_transcriber, tmp_path: Path
) -> None:
    sentence = "Tell me about a time you disagreed with your manager."
    speech = synthesizer.synthesize(sentence)
    wav = write_wav(speech, tmp_path / "sentence.wav")
    levels: list[float] = []
    with Microphone() as mic:
        blocks = read_blocks(mic, 0.3)  # the stream runs
        played_at_s = sum(b.num_samples for b in blocks) / RATE
        player = virtual_audio.play_into_mic(wav)
        while sum(b.num_samples for b in blocks) < 5.0 * RATE:
            blocks += read_blocks(mic, 0.1)
            levels.append(mic.level_dbfs)
        assert player.wait(timeout=10) == 0, player.stderr.read() if player.stderr else ""
    recording = concatenate(blocks)

    assert all(b.num_samples == 512 and b.sample_rate == RATE for b in blocks)
    assert recording.slice_s(0, played_at_s).is_silent()
    start_s, end_s = loud_span_s(recording)
    source_start_s, source_end_s = loud_span_s(speech.resampled(RATE))
    assert played_at_s < start_s < played_at_s + 1.0
    assert (end_s - start_s) == pytest.approx(source_end_s - source_start_s, abs=0.3)
    assert max(levels) > -30.0

    transcript = tiny_transcriber.transcribe(recording)
    error = jiwer.wer(normalize_text(sentence), normalize_text(transcript.text))
    assert error <= 0.3, transcript.text


def test_speaker_plays_to_the_default_output(
    virtual_audio: VirtualAudio, synthesizer, tmp_path: Path
) -> None:
    speech = synthesizer.synthesize("Let's begin with a question about databases.")
    heard_wav = tmp_path / "heard.wav"
    recorder = virtual_audio.record_speaker(heard_wav)
    try:
        started = time.monotonic()
        Speaker().play(speech)  # 22.05 kHz, played as is (PulseAudio takes any rate)
        took_s = time.monotonic() - started
        time.sleep(0.3)
    finally:
        recorder.terminate()
        recorder.wait(timeout=5)
    assert speech.duration_s * 0.9 < took_s < speech.duration_s + 2.0

    heard = load_audio(heard_wav, sample_rate=RATE, reject_silent=False).samples
    played = speech.resampled(RATE).samples
    correlation = np.correlate(heard, played, mode="valid")  # heard is the longer one
    lag = int(np.argmax(np.abs(correlation)))
    aligned = heard[lag : lag + played.size]
    similarity = float(np.dot(aligned, played) / (np.linalg.norm(aligned) * np.linalg.norm(played)))
    assert similarity > 0.9
    assert np.std(aligned) == pytest.approx(np.std(played), rel=0.2)  # unity gain


def test_speaker_stops_at_once(virtual_audio: VirtualAudio) -> None:
    speaker = Speaker()
    speaker.play(tone(5.0), blocking=False)
    assert speaker.playing
    time.sleep(0.3)
    started = time.monotonic()
    speaker.stop()
    assert time.monotonic() - started < 0.5
    assert not speaker.playing


def test_muted_microphone_drops_what_it_hears(virtual_audio: VirtualAudio, tmp_path: Path) -> None:
    wav = write_wav(tone(4.0), tmp_path / "tone.wav")
    with Microphone() as mic:
        read_blocks(mic, 0.1)
        player = virtual_audio.play_into_mic(wav)
        while mic.read(timeout_s=2.0) is not None and mic.level_dbfs < -20:  # the tone arrived
            pass
        read_blocks(mic, 0.3)
        mic.mute()
        assert mic.muted and mic.level_dbfs == float("-inf")
        time.sleep(1.0)  # about 31 blocks of tone arrive while muted
        dropped = mic.dropped_blocks
        mic.unmute(tail_s=0.2)
        queued = 0
        while mic.read(timeout_s=0) is not None:
            queued += 1
        kept = read_blocks(mic, 0.5)
        player.terminate()
        player.wait(timeout=5)
    assert 20 <= dropped <= 40
    assert queued <= 3  # only blocks captured before mute() was called
    assert mic.dropped_blocks - dropped in (6, 7)  # the 0.2 s tail = 3200 samples
    assert all(b.rms_dbfs > -20 for b in kept)


def test_microphone_resamples_from_the_device_rate(
    virtual_audio: VirtualAudio, tmp_path: Path
) -> None:
    wav = write_wav(tone(2.0, freq_hz=1000.0), tmp_path / "tone.wav")
    with Microphone(device_rate=48_000) as mic:
        read_blocks(mic, 0.1)
        player = virtual_audio.play_into_mic(wav)
        while mic.read(timeout_s=2.0) is not None and mic.level_dbfs < -20:
            pass
        blocks = read_blocks(mic, 1.0)
        player.terminate()
        player.wait(timeout=5)
    assert all(b.num_samples == 512 and b.sample_rate == RATE for b in blocks)
    samples = concatenate(blocks).samples
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    peak_hz = np.argmax(spectrum) * RATE / samples.size
    assert peak_hz == pytest.approx(1000.0, abs=5.0)


def test_a_stalled_microphone_raises_and_keeps_what_was_read(
    virtual_audio: VirtualAudio,
) -> None:
    with Microphone(stall_timeout_s=0.5) as mic:
        blocks = read_blocks(mic, 0.3)
        virtual_audio.pactl("suspend-source", MIC_SOURCE, "1")
        try:
            started = time.monotonic()
            with pytest.raises(DeviceError, match="delivered no audio for") as info:
                while True:
                    block = mic.read(timeout_s=1.0)
                    if block is not None:
                        blocks.append(block)
        finally:
            virtual_audio.pactl("suspend-source", MIC_SOURCE, "0")
    assert time.monotonic() - started < 2.0
    assert "\n" not in str(info.value) and "python -m sounddevice" in str(info.value)
    assert len(blocks) >= 9


def test_a_vanished_sound_server_raises(virtual_audio: VirtualAudio) -> None:
    doomed = VirtualAudio()
    try:
        doomed.start()
        with doomed.activate(), Microphone() as mic:
            read_blocks(mic, 0.2)
            doomed.kill()
            with pytest.raises(DeviceError, match="stopped"):
                while True:
                    mic.read(timeout_s=1.0)
    finally:
        doomed.stop()


def test_unknown_devices_are_a_clear_error(virtual_audio: VirtualAudio) -> None:
    with pytest.raises(DeviceError) as info, Microphone(device="no-such-microphone"):
        pass
    message = str(info.value)
    assert "no-such-microphone" in message and "python -m sounddevice" in message
    assert "\n" not in message
    with pytest.raises(DeviceError, match=r"no-such-speaker.*python -m sounddevice"):
        Speaker(device="no-such-speaker").play(tone(0.1))


def test_no_microphone_at_all_is_a_clear_error(tmp_path: Path) -> None:
    """A machine without sound devices: an ALSA configuration whose only PCM, the default,
    is a card that does not exist (an empty one makes PortAudio abort), and no sound server."""
    empty = tmp_path / "asound.conf"
    empty.write_text("pcm.!default { type hw card 99 }\n")
    code = (
        "from voice_interview.adapters.devices import Microphone, DeviceError\n"
        "try:\n    Microphone().open()\nexcept DeviceError as e:\n    print(e)\n"
    )
    env = {"ALSA_CONFIG_PATH": str(empty), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert out.stdout.strip().splitlines() == [
        "no microphone (input) device: the system has no default one; connect one or choose "
        "one by name or index (list devices with: python -m sounddevice)"
    ], out.stderr


def test_list_devices_marks_the_defaults(virtual_audio: VirtualAudio) -> None:
    devices = list_devices()
    default = next(d for d in devices if d["default_input"])
    assert default["default_output"] and default["name"] == "default"
    assert default["hostapi"] == "ALSA" and default["inputs"] >= 1 and default["outputs"] >= 1


def test_file_microphone_as_fast_as_possible() -> None:
    audio = tone(1.0).resampled(RATE)
    started = time.monotonic()
    with FileMicrophone(audio, realtime=0, trailing_silence_s=0.5) as mic:
        blocks = list(mic.iter_blocks())
        assert mic.read(timeout_s=5) is None and mic.finished
    assert time.monotonic() - started < 0.5
    assert len(blocks) == 47  # ceil(1.5 s * 16000 / 512)
    joined = concatenate(blocks)
    np.testing.assert_array_equal(joined.samples[: audio.num_samples], audio.samples)
    assert joined.slice_s(1.0).peak == 0.0  # the trailing silence
    assert joined.slice_s(1.0).duration_s == pytest.approx(0.5, abs=512 / RATE)


def test_file_microphone_in_real_time() -> None:
    with FileMicrophone(tone(1.0), realtime=1.0, trailing_silence_s=0) as mic:
        started = time.monotonic()
        first = mic.read(timeout_s=1.0)
        first_after = time.monotonic() - started
        blocks = [first, *mic.iter_blocks()]
        took = time.monotonic() - started
    assert 0.02 < first_after < 0.2  # one block = 32 ms
    assert len(blocks) == 32 and 0.8 <= took < 1.6
    assert all(b is not None and b.num_samples == 512 for b in blocks)


def test_file_microphone_mute_drops_blocks_that_arrive() -> None:
    with FileMicrophone(tone(0.2), realtime=1.0, trailing_silence_s=0) as mic:
        mic.mute()
        time.sleep(0.3)
        mic.unmute()
        assert mic.read(timeout_s=0.1) is None and mic.finished
        assert mic.dropped_blocks == mic.num_blocks == 7


def test_importing_devices_does_not_load_sounddevice() -> None:
    code = "import sys, voice_interview.adapters.devices\nprint('sounddevice' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
