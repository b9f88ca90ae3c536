"""A plain numpy BERT forward pass, written independently of the ONNX graph builder, to check it."""

from __future__ import annotations

import math

import numpy as np

from ingest.models.convert.weights import Dense, EncoderWeights, LayerNormWeights

_erf = np.vectorize(math.erf, otypes=[np.float64])


def _ln(x: np.ndarray, w: LayerNormWeights, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w.gamma + w.beta


def _lin(x: np.ndarray, d: Dense) -> np.ndarray:
    return x @ d.weight + d.bias


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def hidden_states(w: EncoderWeights, ids: list[int], type_table: np.ndarray | None = None,
                  type_ids: list[int] | None = None) -> np.ndarray:
    """Token states [S, H] of one unpadded sequence (float64); ``type_table`` rows by ``type_ids`` for pairs."""
    c = w.config
    n = len(ids)
    types = type_table[type_ids] if type_table is not None and type_ids is not None else w.token_type_embedding
    x = w.word_embeddings[ids] + w.position_embeddings[:n] + types
    x = _ln(x.astype(np.float64), w.embed_norm, c.layer_norm_eps)
    hd = c.hidden_size // c.num_heads
    for layer in w.layers:
        q, k, v = (
            _lin(x, d).reshape(n, c.num_heads, hd).transpose(1, 0, 2)
            for d in (layer.query, layer.key, layer.value)
        )
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(1, 0, 2).reshape(n, c.hidden_size)
        x = _ln(x + _lin(ctx, layer.attn_out), layer.attn_norm, c.layer_norm_eps)
        x = _ln(x + _lin(_gelu(_lin(x, layer.ffn_in)), layer.ffn_out), layer.ffn_norm, c.layer_norm_eps)
    return x


def dense_embedding(w: EncoderWeights, ids: list[int]) -> np.ndarray:
    mean = hidden_states(w, ids).mean(0)
    return mean / np.linalg.norm(mean)


def splade_embedding(w: EncoderWeights, ids: list[int]) -> np.ndarray:
    head = w.mlm_head
    assert head is not None
    x = hidden_states(w, ids)
    x = _ln(_gelu(_lin(x, head.transform)), head.norm, w.config.layer_norm_eps)
    logits = x @ head.decoder_weight + head.decoder_bias
    return np.log1p(np.maximum(logits, 0)).max(0)


def cross_encoder_score(w: EncoderWeights, ids: list[int], type_table: np.ndarray, type_ids: list[int]) -> float:
    """The relevance logit of one (query, text) pair: first token → dense → tanh → out."""
    head = w.classifier
    assert head is not None
    first = hidden_states(w, ids, type_table, type_ids)[0]
    return float((np.tanh(_lin(first, head.dense)) @ head.out.weight + head.out.bias)[0])
