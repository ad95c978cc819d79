"""voice_interview.adapters.audio_files on real files, encoded here with PyAV (no mocks).

Each test writes its own small files into tmp_path: a phase-continuous tone (440 Hz for 1 s,
then 880 Hz for 0.5 s, at 0.5 amplitude) in every supported format, and damaged or non-audio
files for the error cases.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from voice_interview.adapters.audio_files import SUPPORTED_EXTENSIONS, load_audio, write_wav
from voice_interview.core.audio import ASR_SAMPLE_RATE, Audio
from voice_interview.errors import AudioError

TONE_S = 1.0  # 440 Hz first ...
DURATION_S = 1.5  # ... then 880 Hz to the end, so the order of the decoded audio is checked
AMPLITUDE = 0.5
TONE_RMS = AMPLITUDE / np.sqrt(2)


# --- making test files ------------------------------------------------------------------------


def encoder(*names: str) -> str:
    """The first of ``names`` this av build can encode with; fails (never skips) if none."""
    for name in names:
        try:
            av.codec.Codec(name, "w")
        except av.codec.codec.UnknownCodecError:
            continue
        return name
    pytest.fail(f"the installed av wheel has none of the encoders {names}")


@dataclass(frozen=True)
class Fmt:
    """How to write one test format, and how closely its decode must match the source."""

    name: str
    suffix: str
    codecs: tuple[str, ...]
    duration_tol_s: float
    rms_tol: float  # relative
    stereo_only: bool = False
    options: tuple[tuple[str, str], ...] = ()
    bit_rate: int | None = None
    rates: tuple[int, ...] = (44_100, 48_000)


OPUS_RATES = (48_000,)  # Opus encodes at 48/24/16/12/8 kHz only

FORMATS = [
    Fmt("wav", ".wav", ("pcm_s16le",), 1e-3, 0.005),
    Fmt("flac", ".flac", ("flac",), 1e-3, 0.005),
    Fmt("mp3", ".mp3", ("libmp3lame", "mp3"), 0.01, 0.08),
    Fmt("ogg-opus", ".ogg", ("libopus", "opus"), 0.005, 0.02, rates=OPUS_RATES),
    # FFmpeg's own Vorbis encoder is "experimental" and takes stereo only.
    Fmt("ogg-vorbis", ".ogg", ("libvorbis", "vorbis"), 0.005, 0.02, True, (("strict", "-2"),)),
    Fmt("opus", ".opus", ("libopus", "opus"), 0.005, 0.02, rates=OPUS_RATES),
    Fmt("m4a-aac", ".m4a", ("aac", "libfdk_aac"), 0.02, 0.02, bit_rate=128_000),
    Fmt("webm-opus", ".webm", ("libopus", "opus"), 0.005, 0.02, rates=OPUS_RATES),
]
FORMAT_BY_NAME = {fmt.name: fmt for fmt in FORMATS}


def two_tones(rate: int) -> npt.NDArray[np.float32]:
    """440 Hz then 880 Hz, phase-continuous (no click for the codecs to smear)."""
    n = round(DURATION_S * rate)
    freq = np.where(np.arange(n) < round(TONE_S * rate), 440.0, 880.0)
    phase = 2 * np.pi * np.cumsum(freq) / rate
    return (AMPLITUDE * np.sin(phase)).astype(np.float32)


def encode(
    path: Path,
    channels: npt.NDArray[np.float32],
    rate: int,
    codec: str,
    *,
    options: dict[str, str] | None = None,
    bit_rate: int | None = None,
) -> Path:
    """Encode ``channels`` (shape (n_channels, n_samples), floats in [-1, 1]) into ``path``;
    the container comes from the file suffix."""
    layout = {1: "mono", 2: "stereo"}[channels.shape[0]]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, layout=layout)
        assert isinstance(stream, av.audio.stream.AudioStream)
        if options:
            stream.options = dict[str, object](options)
        if bit_rate:
            stream.bit_rate = bit_rate
        sample_format = stream.codec_context.format.name
        for start in range(0, channels.shape[1], 1024):  # PyAV re-chunks to the codec frame size
            chunk = channels[:, start : start + 1024]
            data = chunk if sample_format.endswith("p") else chunk.T.reshape(1, -1)
            if sample_format.startswith("s16"):
                data = np.round(data * 32767).astype(np.int16)
            elif sample_format.startswith("s32"):
                data = np.round(data.astype(np.float64) * 2147483647).astype(np.int32)
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(data), format=sample_format, layout=layout
            )
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def encode_format(directory: Path, fmt: Fmt, rate: int, stem: str = "answer") -> Path:
    signal = two_tones(rate)
    channels = np.stack([signal, signal]) if fmt.stereo_only else signal[None, :]
    return encode(
        directory / f"{stem}{fmt.suffix}",
        channels,
        rate,
        encoder(*fmt.codecs),
        options=dict(fmt.options),
        bit_rate=fmt.bit_rate,
    )


def write_pcm_wav(path: Path, samples: npt.NDArray[np.float32], rate: int = 48_000) -> Path:
    return encode(path, samples[None, :].astype(np.float32), rate, "pcm_s16le")


# --- measuring ----------------------------------------------------------------------------------


def dominant_hz(audio: Audio, start_s: float, end_s: float) -> float:
    part = audio.slice_s(start_s, end_s).samples.astype(np.float64)
    spectrum = np.abs(np.fft.rfft(part * np.hanning(part.size), n=1 << 17))
    return float(np.argmax(spectrum) * audio.sample_rate / (1 << 17))


def rms(audio: Audio, start_s: float, end_s: float) -> float:
    part = audio.slice_s(start_s, end_s).samples.astype(np.float64)
    return float(np.sqrt(np.mean(part**2)))


def assert_two_tones(audio: Audio, fmt: Fmt) -> None:
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 1
    assert abs(audio.duration_s - DURATION_S) <= fmt.duration_tol_s, audio.duration_s
    assert abs(dominant_hz(audio, 0.1, 0.9) - 440) <= 5
    assert abs(dominant_hz(audio, 1.1, 1.4) - 880) <= 5
    assert rms(audio, 0.1, 0.9) == pytest.approx(TONE_RMS, rel=fmt.rms_tol)
    assert AMPLITUDE * 0.9 < audio.peak < 1.0


def assert_error(excinfo: pytest.ExceptionInfo[AudioError], path: Path, reason: str) -> str:
    error = excinfo.value
    message = str(error)
    assert error.reason == reason, message
    assert message.startswith(f"{path}: ")
    assert path.name in message
    assert "\n" not in message and "\r" not in message
    assert error.path == str(path)
    return message


# --- decoding every format ----------------------------------------------------------------------


def test_encoders_for_every_supported_extension_exist() -> None:
    assert {fmt.suffix for fmt in FORMATS} == set(SUPPORTED_EXTENSIONS)
    for fmt in FORMATS:
        encoder(*fmt.codecs)


@pytest.mark.parametrize(
    ("fmt", "rate"),
    [pytest.param(fmt, rate, id=f"{fmt.name}-{rate}") for fmt in FORMATS for rate in fmt.rates],
)
def test_load_audio_decodes_each_format_to_16k_mono(tmp_path: Path, fmt: Fmt, rate: int) -> None:
    path = encode_format(tmp_path, fmt, rate)

    audio = load_audio(path)

    assert audio.sample_rate == ASR_SAMPLE_RATE
    assert_two_tones(audio, fmt)


@pytest.mark.parametrize(
    ("name", "rate", "decoded_rate"),
    [("wav", 44_100, 44_100), ("flac", 48_000, 48_000), ("mp3", 44_100, 44_100)],
)
def test_sample_rate_none_keeps_the_file_rate(
    tmp_path: Path, name: str, rate: int, decoded_rate: int
) -> None:
    fmt = FORMAT_BY_NAME[name]
    audio = load_audio(encode_format(tmp_path, fmt, rate), sample_rate=None)

    assert audio.sample_rate == decoded_rate
    assert_two_tones(audio, fmt)


def test_opus_keeps_its_48k_decode_rate_when_sample_rate_is_none(tmp_path: Path) -> None:
    audio = load_audio(encode_format(tmp_path, FORMAT_BY_NAME["opus"], 48_000), sample_rate=None)
    assert audio.sample_rate == 48_000


def test_other_target_rate(tmp_path: Path) -> None:
    fmt = FORMAT_BY_NAME["flac"]
    audio = load_audio(encode_format(tmp_path, fmt, 44_100), sample_rate=22_050)
    assert audio.sample_rate == 22_050
    assert_two_tones(audio, fmt)


def test_stereo_is_downmixed_to_the_mean_of_the_channels(tmp_path: Path) -> None:
    signal = two_tones(48_000) / AMPLITUDE  # full-scale tone
    path = encode(
        tmp_path / "stereo.wav", np.stack([0.6 * signal, 0.2 * signal]), 48_000, "pcm_s16le"
    )

    audio = load_audio(path)

    assert audio.samples.ndim == 1
    assert audio.num_samples == round(DURATION_S * ASR_SAMPLE_RATE)
    assert audio.peak == pytest.approx(0.4, abs=0.005)  # (0.6 + 0.2) / 2
    assert abs(dominant_hz(audio, 0.1, 0.9) - 440) <= 5


def test_full_scale_stereo_stays_within_full_scale(tmp_path: Path) -> None:
    signal = two_tones(48_000) / AMPLITUDE
    path = encode(tmp_path / "loud.flac", np.stack([signal, signal]), 48_000, "flac")

    audio = load_audio(path)

    assert audio.peak == pytest.approx(1.0, abs=0.01)
    assert audio.peak <= 1.0 + 1e-3


def test_different_channels_both_survive_the_downmix(tmp_path: Path) -> None:
    rate = 48_000
    t = np.arange(round(DURATION_S * rate)) / rate
    left = np.sin(2 * np.pi * 440 * t).astype(np.float32) * 0.5
    right = np.sin(2 * np.pi * 1000 * t).astype(np.float32) * 0.5
    path = encode(tmp_path / "two.wav", np.stack([left, right]), rate, "pcm_s16le")

    audio = load_audio(path)

    spectrum = np.abs(np.fft.rfft(audio.slice_s(0.1, 1.4).samples))
    hz = np.fft.rfftfreq(audio.slice_s(0.1, 1.4).num_samples, 1 / audio.sample_rate)
    top_two = sorted(float(hz[i]) for i in np.argsort(spectrum)[-2:])
    assert top_two[0] == pytest.approx(440, abs=2)
    assert top_two[1] == pytest.approx(1000, abs=2)
    assert rms(audio, 0.1, 1.4) == pytest.approx(0.25, rel=0.01)  # two 0.25-amplitude tones


def test_accepts_str_paths(tmp_path: Path) -> None:
    path = encode_format(tmp_path, FORMAT_BY_NAME["wav"], 48_000)
    assert load_audio(str(path)).num_samples == round(DURATION_S * ASR_SAMPLE_RATE)


def test_rejects_a_non_positive_sample_rate(tmp_path: Path) -> None:
    path = encode_format(tmp_path, FORMAT_BY_NAME["wav"], 48_000)
    with pytest.raises(ValueError, match="sample_rate"):
        load_audio(path, sample_rate=0)


# --- writing WAV ------------------------------------------------------------------------------


def test_write_wav_round_trip_is_exact_at_int16_precision(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    tone = two_tones(ASR_SAMPLE_RATE) + rng.uniform(-0.4, 0.4, round(DURATION_S * ASR_SAMPLE_RATE))
    original = Audio(np.clip(tone, -1.0, 1.0).astype(np.float32), ASR_SAMPLE_RATE)
    target = tmp_path / "answers" / "q1" / "take.wav"  # parent folders do not exist yet

    written = write_wav(original, target)
    loaded = load_audio(target)

    assert written == target
    assert loaded.sample_rate == ASR_SAMPLE_RATE
    assert loaded.num_samples == original.num_samples
    # Sample-exact: exactly what Audio.from_int16 makes of the int16 samples written.
    as_int16 = Audio.from_int16(original.to_int16(), ASR_SAMPLE_RATE)
    np.testing.assert_array_equal(loaded.samples, as_int16.samples)
    # to_int16 rounds x 32768, the inverse of from_int16: at most half a step of error.
    assert float(np.max(np.abs(loaded.samples - original.samples))) <= 0.5 / 32768 + 1e-9
    assert list(target.parent.iterdir()) == [target]  # no temp file left behind


def test_write_wav_keeps_other_rates_and_replaces_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "take.wav"
    write_wav(Audio.silence(2.0, 8_000), target)
    audio = Audio(two_tones(22_050), 22_050)

    write_wav(audio, target)
    loaded = load_audio(target, sample_rate=None)

    assert loaded.sample_rate == 22_050
    assert loaded.num_samples == audio.num_samples
    assert list(tmp_path.iterdir()) == [target]


def test_write_wav_into_an_unwritable_place(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    target = blocker / "take.wav"

    with pytest.raises(AudioError) as excinfo:
        write_wav(Audio.silence(0.1), target)

    assert_error(excinfo, target, "unwritable")
    assert list(tmp_path.iterdir()) == [blocker]


def test_write_wav_onto_a_folder_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "take.wav"
    target.mkdir()

    with pytest.raises(AudioError) as excinfo:
        write_wav(Audio.silence(0.1), target)

    assert_error(excinfo, target, "unwritable")
    assert list(tmp_path.iterdir()) == [target]


# --- files that are not (good) audio ----------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.wav"
    with pytest.raises(AudioError) as excinfo:
        load_audio(path)
    message = assert_error(excinfo, path, "missing")
    assert "not found" in message
    assert isinstance(excinfo.value.__cause__, FileNotFoundError)


def test_folder(tmp_path: Path) -> None:
    path = tmp_path / "answers.wav"
    path.mkdir()
    with pytest.raises(AudioError) as excinfo:
        load_audio(path)
    assert "is a folder" in assert_error(excinfo, path, "not-audio")


def test_zero_byte_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    with pytest.raises(AudioError) as excinfo:
        load_audio(path)
    assert "0 bytes" in assert_error(excinfo, path, "empty")


def test_text_file_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "answer.wav"
    path.write_text("In my last role I led a team of five engineers.\n")
    with pytest.raises(AudioError) as excinfo:
        load_audio(path)
    message = assert_error(excinfo, path, "not-audio")
    assert "wav, flac, mp3" in message
    assert isinstance(excinfo.value.__cause__, av.error.InvalidDataError)


def test_random_bytes_named_mp3(tmp_path: Path) -> None:
    path = tmp_path / "noise.mp3"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(AudioError) as excinfo:
        load_audio(path)
    assert_error(excinfo, path, "not-audio")
    assert isinstance(excinfo.value.__cause__, av.FFmpegError)


def test_image_named_wav_has_no_audio_stream(tmp_path: Path) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    one_pixel = bytes([0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0])  # 1x1, 8-bit grey
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", one_pixel)
    png += chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b"")
    path = tmp_path / "photo.wav"
    path.write_bytes(png)

    with pytest.raises(AudioError) as excinfo:
        load_audio(path)

    assert "no audio stream" in assert_error(excinfo, path, "not-audio")


def test_wav_truncated_to_its_header(tmp_path: Path) -> None:
    full = encode_format(tmp_path, FORMAT_BY_NAME["wav"], 48_000, stem="full").read_bytes()
    header_end = full.index(b"data") + 8  # chunk id + chunk size: no sample bytes follow
    path = tmp_path / "header-only.wav"
    path.write_bytes(full[:header_end])

    with pytest.raises(AudioError) as excinfo:
        load_audio(path)

    assert "no decodable samples" in assert_error(excinfo, path, "corrupt")


def test_wav_cut_inside_its_header(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(encode_format(tmp_path, FORMAT_BY_NAME["wav"], 48_000).read_bytes()[:30])

    with pytest.raises(AudioError) as excinfo:
        load_audio(path)

    assert "WAV header" in assert_error(excinfo, path, "corrupt")
    assert isinstance(excinfo.value.__cause__, av.error.InvalidDataError)


def test_flac_with_its_second_half_chopped_off_decodes_the_first_part(tmp_path: Path) -> None:
    full_path = encode_format(tmp_path, FORMAT_BY_NAME["flac"], 48_000, stem="full")
    data = full_path.read_bytes()
    path = tmp_path / "half.flac"
    path.write_bytes(data[: len(data) // 2])

    full = load_audio(full_path)
    part = load_audio(path)

    # What really happens: the complete FLAC frames decode; the cut frame is skipped.
    # (Half the bytes is less than half the audio: the FLAC header has 8 KiB of padding.)
    assert 0.2 < part.duration_s < 0.75
    assert part.sample_rate == ASR_SAMPLE_RATE
    keep = part.num_samples - 64  # the resampler's flush changes the last few samples
    np.testing.assert_allclose(part.samples[:keep], full.samples[:keep], atol=1e-5)


@pytest.mark.parametrize("name", ["m4a-aac", "ogg-opus"])
def test_lossy_file_cut_before_its_index_is_corrupt(tmp_path: Path, name: str) -> None:
    # An .m4a keeps its index (moov) at the end, and an Ogg page here holds about a second,
    # so FFmpeg cannot even open these halves: what a recorder killed mid-write leaves.
    fmt = FORMAT_BY_NAME[name]
    data = encode_format(tmp_path, fmt, 48_000, stem="full").read_bytes()
    path = tmp_path / f"half{fmt.suffix}"
    path.write_bytes(data[: len(data) // 2])

    with pytest.raises(AudioError) as excinfo:
        load_audio(path)

    message = assert_error(excinfo, path, "corrupt")
    assert "re-record" in message
    assert isinstance(excinfo.value.__cause__, av.FFmpegError)


def test_all_zero_wav_is_silent(tmp_path: Path) -> None:
    path = write_pcm_wav(tmp_path / "muted.wav", np.zeros(72_000, dtype=np.float32))

    with pytest.raises(AudioError) as excinfo:
        load_audio(path)

    message = assert_error(excinfo, path, "silent")
    assert "no speech" in message and "microphone" in message


def test_silent_wav_loads_when_silence_is_allowed(tmp_path: Path) -> None:
    path = write_pcm_wav(tmp_path / "muted.wav", np.zeros(72_000, dtype=np.float32))

    audio = load_audio(path, reject_silent=False)

    assert audio.sample_rate == ASR_SAMPLE_RATE
    assert audio.num_samples == round(DURATION_S * ASR_SAMPLE_RATE)
    assert audio.peak == 0.0


def test_noise_at_minus_70_dbfs_is_silent(tmp_path: Path) -> None:
    noise = np.random.default_rng(3).uniform(-1.0, 1.0, 72_000)
    noise *= 10 ** (-70 / 20) / np.max(np.abs(noise))
    path = write_pcm_wav(tmp_path / "hiss.wav", noise.astype(np.float32))

    with pytest.raises(AudioError) as excinfo:
        load_audio(path)

    message = assert_error(excinfo, path, "silent")
    match = re.search(r"peak (-\d+) dBFS", message)
    assert match is not None, message
    assert -74 <= int(match.group(1)) <= -66

    quiet = load_audio(path, reject_silent=False)
    assert quiet.duration_s == pytest.approx(DURATION_S)
    assert quiet.is_silent()
