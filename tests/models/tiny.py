"""A tiny seeded random BERT (2 layers, hidden 32, ~90-token WordPiece vocabulary) for fast tests.

It goes through the same graph builder as the real models, so it exercises every code path (tokenise, pad,
batch, run, pool, decode) in well under a second without any model package.
"""

from __future__ import annotations

import hashlib
import string
from pathlib import Path

import numpy as np

from ingest.models.cache import BuiltModel
from ingest.models.catalogue import ModelSpec, Pooling, WeightFormat, WeightSource
from ingest.models.convert.graph import build_encoder, save_model
from ingest.models.convert.tokenizer import bert_wordpiece_tokenizer
from ingest.models.convert.weights import (
    Dense,
    EncoderConfig,
    EncoderWeights,
    LayerNormWeights,
    LayerWeights,
    MlmHead,
)
from ingest.models.results import TaskType

WORDS = ["the", "cat", "sat", "on", "mat", "dog", "a", "hello", "world", "search", "query", "passage"]
TINY_VOCAB: list[str] = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    *WORDS,
    *".,!?'-",
    *string.ascii_lowercase,
    *(f"##{c}" for c in string.ascii_lowercase),
    *string.digits,
]
TINY_MAX_TOKENS = 32
TINY_HIDDEN = 32


def _weights(seed: int, with_head: bool) -> EncoderWeights:
    rng = np.random.default_rng(seed)
    h, i, v = TINY_HIDDEN, 64, len(TINY_VOCAB)

    def mat(rows: int, cols: int) -> np.ndarray:
        return (rng.standard_normal((rows, cols)) * 0.2).astype(np.float32)

    def dense(rows: int, cols: int) -> Dense:
        return Dense(mat(rows, cols), (rng.standard_normal(cols) * 0.02).astype(np.float32))

    def norm() -> LayerNormWeights:
        return LayerNormWeights(
            (1 + rng.standard_normal(h) * 0.05).astype(np.float32),
            (rng.standard_normal(h) * 0.05).astype(np.float32),
        )

    config = EncoderConfig(
        vocab_size=v, hidden_size=h, num_layers=2, num_heads=2, intermediate_size=i, max_positions=64
    )
    layers = tuple(
        LayerWeights(
            dense(h, h), dense(h, h), dense(h, h), dense(h, h), norm(), dense(h, i), dense(i, h), norm()
        )
        for _ in range(2)
    )
    words = mat(v, h)
    head = (
        MlmHead(
            dense(h, h),
            norm(),
            np.ascontiguousarray(words.T),
            (rng.standard_normal(v) * 0.5).astype(np.float32),
        )
        if with_head
        else None
    )
    return EncoderWeights(config, words, mat(64, h), mat(1, h)[0], norm(), layers, head)


def make_tiny_model(tmp_dir: Path, task_type: TaskType, *, seed: int = 7) -> BuiltModel:
    """Build the tiny model for ``task_type`` (text_embedding → mean pooling, sparse_embedding → SPLADE)."""
    sparse = TaskType(task_type) == TaskType.SPARSE_EMBEDDING
    pooling = Pooling.SPLADE if sparse else Pooling.MEAN
    folder = Path(tmp_dir) / f"tiny-{pooling.value}-{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path, tokenizer_path = folder / "model.onnx", folder / "tokenizer.json"
    save_model(build_encoder(_weights(seed, sparse), pooling, name="tiny"), onnx_path)
    bert_wordpiece_tokenizer(TINY_VOCAB).save(str(tokenizer_path))
    digest = hashlib.sha256(onnx_path.read_bytes() + tokenizer_path.read_bytes()).hexdigest()
    # The source points at the files themselves, so models.cache.ensure_built can also take this spec.
    spec = ModelSpec(
        model_id=f"tiny-{task_type}",
        aliases=(),
        task_type=TaskType(task_type),
        architecture="bert",
        weight_format=WeightFormat.ONNX,
        source=WeightSource(
            distribution="tests",
            version="0",
            path=str(onnx_path),
            sha256=hashlib.sha256(onnx_path.read_bytes()).hexdigest(),
            install_hint="(test model)",
            tokenizer_path=str(tokenizer_path),
            tokenizer_sha256=hashlib.sha256(tokenizer_path.read_bytes()).hexdigest(),
        ),
        pooling=pooling,
        dims=None if sparse else TINY_HIDDEN,
        max_tokens=TINY_MAX_TOKENS,
        licence="test data",
        description="tiny seeded random BERT for tests",
        similarity="dot_product" if sparse else "cosine",
    )
    return BuiltModel(spec, onnx_path, tokenizer_path, digest[:16], quantized=False)
