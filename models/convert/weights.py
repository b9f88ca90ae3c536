"""Architecture-neutral encoder weights: what every reader (E5S1, safetensors) produces and the graph consumes.

All matrices are stored the way the ONNX graph multiplies them: ``x @ W`` with ``W`` of shape [in, out]
(Hugging Face ``Linear`` weights are [out, in] and are transposed by the readers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

F32 = np.float32


@dataclass(frozen=True)
class EncoderConfig:
    """Shape of a BERT-family encoder."""

    vocab_size: int
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    max_positions: int  # usable positions, after ``position_offset``
    layer_norm_eps: float = 1e-12
    # XLM-RoBERTa numbers positions from padding_idx + 1 = 2; BERT from 0.
    position_offset: int = 0

    def __post_init__(self) -> None:
        if self.hidden_size % self.num_heads:
            raise ValueError(f"hidden size {self.hidden_size} is not divisible by {self.num_heads} heads")


@dataclass(frozen=True)
class LayerNormWeights:
    gamma: np.ndarray  # [H]
    beta: np.ndarray  # [H]


@dataclass(frozen=True)
class Dense:
    weight: np.ndarray  # [in, out]
    bias: np.ndarray  # [out]


@dataclass(frozen=True)
class LayerWeights:
    """One transformer layer (post-LayerNorm, as BERT and XLM-RoBERTa)."""

    query: Dense
    key: Dense
    value: Dense
    attn_out: Dense
    attn_norm: LayerNormWeights
    ffn_in: Dense
    ffn_out: Dense
    ffn_norm: LayerNormWeights


@dataclass(frozen=True)
class MlmHead:
    """BERT's masked-LM head: dense → GELU → LayerNorm → decoder (usually tied to the word embeddings)."""

    transform: Dense
    norm: LayerNormWeights
    decoder_weight: np.ndarray  # [H, V]
    decoder_bias: np.ndarray  # [V]


@dataclass(frozen=True)
class ClassifierHead:
    """A sequence-classification head on the first token: dense → tanh → out (BERT's pooler + classifier,
    XLM-RoBERTa's ``classifier.dense`` + ``classifier.out_proj``: the same computation)."""

    dense: Dense  # [H, H]
    out: Dense  # [H, labels]


@dataclass(frozen=True)
class EncoderWeights:
    """Every tensor of an encoder, fp32, plus the MLM head when the model has one."""

    config: EncoderConfig
    word_embeddings: np.ndarray  # [V, H]
    position_embeddings: np.ndarray  # [max_positions, H], already shifted by position_offset
    token_type_embedding: np.ndarray  # [H]: row 0 of the token-type table (the graph feeds zeros)
    embed_norm: LayerNormWeights
    layers: tuple[LayerWeights, ...]
    mlm_head: MlmHead | None = None
    classifier: ClassifierHead | None = None
    # row 1 - row 0 of the token-type table: added where token_type_ids is 1 (the second text of a pair)
    token_type_delta: np.ndarray | None = None

    def check(self) -> None:
        """Raise ValueError when a tensor's shape disagrees with the config."""
        c = self.config
        h, i = c.hidden_size, c.intermediate_size
        expected: list[tuple[str, np.ndarray, tuple[int, ...]]] = [
            ("word_embeddings", self.word_embeddings, (c.vocab_size, h)),
            ("position_embeddings", self.position_embeddings, (c.max_positions, h)),
            ("token_type_embedding", self.token_type_embedding, (h,)),
        ]
        if len(self.layers) != c.num_layers:
            raise ValueError(f"expected {c.num_layers} layers, found {len(self.layers)}")
        for n, layer in enumerate(self.layers):
            for name, dense, dense_shape in (
                ("query", layer.query, (h, h)),
                ("key", layer.key, (h, h)),
                ("value", layer.value, (h, h)),
                ("attn_out", layer.attn_out, (h, h)),
                ("ffn_in", layer.ffn_in, (h, i)),
                ("ffn_out", layer.ffn_out, (i, h)),
            ):
                expected.append((f"layer {n} {name}", dense.weight, dense_shape))
        if self.mlm_head is not None:
            expected.append(("mlm decoder", self.mlm_head.decoder_weight, (h, c.vocab_size)))
        for name, array, shape in expected:
            if tuple(array.shape) != shape:
                raise ValueError(f"{name}: expected shape {shape}, found {tuple(array.shape)}")
