"""The encoder as an ONNX graph, written with the ``onnx`` helper API from numpy weights (no torch).

Contract: inputs ``input_ids`` and ``attention_mask`` (int64 [B, S]); one output ``embedding``:
dense models give [B, H] mean-pooled over the mask and L2-normalised, SPLADE models give [B, V] with
``max_s log(1 + relu(logits)) * mask``. Token types are all zero, so their embedding is folded into the
position table.

The patterns are the ones onnxruntime's optimiser recognises: the ONNX ``LayerNormalization`` op, GELU as
``x * 0.5 * (1 + erf(x / sqrt 2))``, attention as MatMul → scale → additive mask → Softmax → MatMul, each
projection as MatMul + Add. Under ORT_ENABLE_ALL onnxruntime fuses them (BiasGelu, FusedMatMul for the scaled
scores). A variant written directly with com.microsoft Attention/SkipLayerNormalization/BiasGelu measured only
~4% faster on an E5-shaped model (GEMMs dominate), so the portable standard-op graph is the only one.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper

from ingest.models.catalogue import Pooling
from ingest.models.convert.weights import F32, Dense, EncoderWeights, LayerNormWeights

OPSET = 17
# Added to masked attention scores; exp() of it underflows to exactly 0 in fp32, and unlike -inf it cannot
# turn a row into NaN.
MASK_VALUE = -10000.0
# Vocabulary columns per iteration of the chunked SPLADE head (see splade_head). On SPLADE-tiny, 1 thread, 64
# SciFact abstracts: 128-256 fastest, 512 ~10% and 1,024-4,096 ~25-40% slower in int8, 30,522 (one slice) 3x.
SPLADE_CHUNK = 256
# Bumped per pooling head when its graph changes; recorded in each build's manifest, so a cached model built
# from an older graph is rebuilt (cache.py). SPLADE 2: the chunked head.
GRAPH_REVISIONS = {Pooling.SPLADE: 2}


def graph_revision(pooling: Pooling) -> int:
    """The revision of the graph ``build_encoder`` writes for ``pooling`` (1 until a head first changed)."""
    return GRAPH_REVISIONS.get(pooling, 1)


class GraphBuilder:
    """Accumulates nodes and initialisers with unique names."""

    def __init__(self, *, opset: int = OPSET, prefix: str = "") -> None:
        self.nodes: list[onnx.NodeProto] = []
        # Arrays are written into the final graph only once (write_initializers): for E5's 470 MB of weights,
        # building TensorProtos first and copying them into the graph and model tripled the peak memory.
        self.initializers: list[tuple[str, np.ndarray]] = []
        self.opset = opset
        self.prefix = prefix  # keeps names unique when nodes are added to someone else's graph
        self._count = 0

    def name(self, hint: str) -> str:
        self._count += 1
        return f"{self.prefix}{hint}_{self._count}"

    def write_initializers(self, graph: onnx.GraphProto) -> None:
        """Append the constants to ``graph`` in place, one copy each."""
        for name, array in self.initializers:
            tensor = graph.initializer.add()
            tensor.name = name
            tensor.data_type = helper.np_dtype_to_tensor_dtype(array.dtype)
            tensor.dims.extend(array.shape)
            tensor.raw_data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()

    def reduce(self, op_type: str, x: str, axes: list[int], keepdims: int) -> str:
        """A Reduce* node; ``axes`` moved from attribute to input in opset 13 (ReduceSum) / 18 (others)."""
        as_input = self.opset >= (13 if op_type == "ReduceSum" else 18)
        if as_input:
            return self.op(op_type, [x, self.const("axes", np.array(axes, np.int64))], keepdims=keepdims)
        return self.op(op_type, [x], axes=axes, keepdims=keepdims)

    def const(self, hint: str, value: np.ndarray) -> str:
        name = self.name(hint)
        self.initializers.append((name, np.ascontiguousarray(value)))
        return name

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, **attrs: Any) -> str:
        out = self.name(hint or op_type.lower())
        node = helper.make_node(op_type, inputs, [out], name=self.name(op_type), **attrs)
        self.nodes.append(node)
        return out

    def dense(self, x: str, d: Dense, hint: str) -> str:
        y = self.op("MatMul", [x, self.const(f"{hint}.weight", d.weight.astype(F32, copy=False))], hint)
        return self.op("Add", [y, self.const(f"{hint}.bias", d.bias.astype(F32, copy=False))], hint)

    def layer_norm(self, x: str, ln: LayerNormWeights, eps: float, hint: str) -> str:
        gamma = self.const(f"{hint}.gamma", ln.gamma.astype(F32, copy=False))
        beta = self.const(f"{hint}.beta", ln.beta.astype(F32, copy=False))
        return self.op("LayerNormalization", [x, gamma, beta], hint, axis=-1, epsilon=eps)

    def gelu(self, x: str) -> str:
        scaled = self.op("Div", [x, self.const("sqrt2", np.array(math.sqrt(2.0), F32))])
        erf = self.op("Erf", [scaled])
        one_plus = self.op("Add", [erf, self.const("one", np.array(1.0, F32))])
        prod = self.op("Mul", [x, one_plus])
        return self.op("Mul", [prod, self.const("half", np.array(0.5, F32))], "gelu")


def _attention(g: GraphBuilder, x: str, mask_bias: str, layer_idx: int, w: EncoderWeights) -> str:
    cfg = w.config
    layer = w.layers[layer_idx]
    heads, head_dim = cfg.num_heads, cfg.hidden_size // cfg.num_heads
    split = g.const("split_heads", np.array([0, 0, heads, head_dim], np.int64))
    p = f"layer{layer_idx}.attention"

    def heads_of(d: Dense, name: str, perm: list[int]) -> str:
        y = g.dense(x, d, f"{p}.{name}")
        return g.op("Transpose", [g.op("Reshape", [y, split])], perm=perm)

    q = heads_of(layer.query, "query", [0, 2, 1, 3])  # [B, h, S, d]
    k = heads_of(layer.key, "key", [0, 2, 3, 1])  # [B, h, d, S]
    v = heads_of(layer.value, "value", [0, 2, 1, 3])  # [B, h, S, d]
    scores = g.op("MatMul", [q, k])
    scores = g.op("Div", [scores, g.const("attn_scale", np.array(math.sqrt(head_dim), F32))])
    scores = g.op("Add", [scores, mask_bias])
    probs = g.op("Softmax", [scores], axis=-1)
    ctx = g.op("Transpose", [g.op("MatMul", [probs, v])], perm=[0, 2, 1, 3])
    merge = g.const("merge_heads", np.array([0, 0, cfg.hidden_size], np.int64))
    ctx = g.op("Reshape", [ctx, merge])
    out = g.dense(ctx, layer.attn_out, f"{p}.output")
    return g.layer_norm(g.op("Add", [out, x]), layer.attn_norm, cfg.layer_norm_eps, f"{p}.norm")


def _feed_forward(g: GraphBuilder, x: str, layer_idx: int, w: EncoderWeights) -> str:
    layer = w.layers[layer_idx]
    p = f"layer{layer_idx}.ffn"
    h = g.gelu(g.dense(x, layer.ffn_in, f"{p}.in"))
    out = g.dense(h, layer.ffn_out, f"{p}.out")
    return g.layer_norm(g.op("Add", [out, x]), layer.ffn_norm, w.config.layer_norm_eps, f"{p}.norm")


def _embeddings(g: GraphBuilder, w: EncoderWeights, token_types: bool = False) -> str:
    cfg = w.config
    words = g.op(
        "Gather", [g.const("word_embeddings", w.word_embeddings.astype(F32, copy=False)), "input_ids"], axis=0
    )
    if token_types and w.token_type_delta is not None:  # pairs: segment 1 adds (row 1 - row 0)
        types = g.op("Unsqueeze", [g.op("Cast", ["token_type_ids"], to=TensorProto.FLOAT),
                                   g.const("axis2", np.array([2], np.int64))])
        delta = g.const("token_type_delta", w.token_type_delta.astype(F32, copy=False))
        words = g.op("Add", [words, g.op("Mul", [types, delta])])
    # Token types are always 0, so their single row is folded into the position table.
    table = (w.position_embeddings + w.token_type_embedding[None, :]).astype(F32, copy=False)
    seq_len = g.op("Gather", [g.op("Shape", ["input_ids"]), g.const("one_i", np.array([1], np.int64))])
    positions = g.op(
        "Slice",
        [g.const("position_embeddings", table), g.const("zero_i", np.array([0], np.int64)), seq_len],
    )
    summed = g.op("Add", [words, positions])
    return g.layer_norm(summed, w.embed_norm, cfg.layer_norm_eps, "embeddings.norm")


def mean_pool_l2(g: GraphBuilder, hidden: str, mask_f: str) -> str:
    """[B, S, H] token states → [B, H]: mean over the mask, then L2-normalised."""
    mask3 = g.op("Unsqueeze", [mask_f, g.const("axis2", np.array([2], np.int64))])  # [B, S, 1]
    summed = g.reduce("ReduceSum", g.op("Mul", [hidden, mask3]), [1], keepdims=0)
    count = g.reduce("ReduceSum", mask3, [1], keepdims=0)
    count = g.op("Max", [count, g.const("min_count", np.array(1e-9, F32))])
    mean = g.op("Div", [summed, count])
    norm = g.reduce("ReduceL2", mean, [-1], keepdims=1)
    norm = g.op("Max", [norm, g.const("min_norm", np.array(1e-12, F32))])
    return g.op("Div", [mean, norm])


def splade_pool(g: GraphBuilder, logits: str, mask_f: str) -> str:
    """[B, S, V] MLM logits → [B, V]: max over unmasked tokens of log(1 + relu(logits)) (imported ONNX files).

    relu and log1p are non-decreasing, so they commute with the max: the max is taken first over the masked
    logits and the rest runs on [B, V] instead of [B, S, V], which saves passes over the largest tensor.
    """
    # Masked tokens are pushed far below any real logit; relu() then maps them to 0, as the mask would.
    mask3 = g.op("Unsqueeze", [mask_f, g.const("axis2", np.array([2], np.int64))])
    below = g.op("Sub", [mask3, g.const("one", np.array(1.0, F32))])  # 0 for tokens, -1 for padding
    offset = g.op("Mul", [below, g.const("sparse_mask_offset", np.array(1e9, F32))])
    best = g.reduce("ReduceMax", g.op("Add", [logits, offset]), [1], keepdims=0)
    return g.op("Log", [g.op("Add", [g.op("Relu", [best]), g.const("one", np.array(1.0, F32))])])


def splade_head(g: GraphBuilder, hidden: str, w: EncoderWeights, mask_f: str, chunk: int = SPLADE_CHUNK) -> str:
    """[B, S, H] final states → [B, V] SPLADE weights through the MLM head, ``chunk`` vocabulary columns at a time.

    The decoder's logits [B, S, V] are never materialised: an ONNX ``Loop`` multiplies the states by one
    [H, chunk] slice of the decoder per iteration and max-pools it over the tokens at once, so each slice's
    logits ([tokens, chunk] floats, a few MB) stay in cache. SPLADE-tiny spends most of its time there (30,522
    columns × 128 MACs per token) and the unchunked head wrote and re-read ~130 MB per batch. Padding
    positions take their row's first state (a duplicate of a real token never changes a max), so no mask is
    applied per chunk; the bias, relu and log1p run after the max on [B, V] (see ``splade_pool``).
    ``ingest.models.convert.quantize`` recognises the loop and makes its slices int8.
    """
    head = w.mlm_head
    if head is None:
        raise ValueError("SPLADE pooling needs a masked-LM head, and these weights have none")
    eps = w.config.layer_norm_eps
    x = g.layer_norm(g.gelu(g.dense(hidden, head.transform, "mlm.transform")), head.norm, eps, "mlm.norm")
    first = g.op("Gather", [x, g.const("first_token", np.array([0], np.int64))], axis=1)  # [B, 1, H]
    real = g.op("Cast", [g.op("Unsqueeze", [mask_f, g.const("axis2", np.array([2], np.int64))])],
                to=TensorProto.BOOL)  # [B, S, 1]
    x = g.op("Where", [real, x, first], "splade_states")

    hidden_size, vocab = head.decoder_weight.shape
    count = -(-vocab // chunk)
    padded = np.zeros((hidden_size, count * chunk), F32)
    padded[:, :vocab] = head.decoder_weight
    slices = g.const("mlm.decoder.weight_chunks", padded.reshape(hidden_size, count, chunk).transpose(1, 0, 2))

    body = GraphBuilder(opset=g.opset, prefix="chunk.")
    step, cond = "chunk.iteration", "chunk.cond_in"
    weight = body.op("Gather", [slices, step], "decoder_slice", axis=0)  # scalar index → [H, chunk]
    best = body.reduce("ReduceMax", body.op("MatMul", [x, weight], "logits"), [1], keepdims=0)  # [B, chunk]
    cond_out = body.op("Identity", [cond], "cond_out")
    graph = helper.make_graph(
        body.nodes, "splade_chunk",
        [helper.make_tensor_value_info(step, TensorProto.INT64, []),
         helper.make_tensor_value_info(cond, TensorProto.BOOL, [])],
        [helper.make_tensor_value_info(cond_out, TensorProto.BOOL, []),
         helper.make_tensor_value_info(best, TensorProto.FLOAT, None)],
    )
    body.write_initializers(graph)
    trips = g.name("chunk_count")
    g.initializers.append((trips, np.array(count, np.int64)))  # a scalar, as Loop's M is (const() makes 1-d)
    stacked = g.op("Loop", [trips, ""], "splade_chunks", body=graph)  # [count, B, chunk]
    flat = g.op("Reshape", [g.op("Transpose", [stacked], perm=[1, 0, 2]),
                            g.const("rows", np.array([0, -1], np.int64))])  # [B, count * chunk]
    best_all = g.op("Slice", [flat, g.const("zero_i", np.array([0], np.int64)),
                              g.const("vocab", np.array([vocab], np.int64)), g.const("axis1", np.array([1], np.int64))])
    best_all = g.op("Add", [best_all, g.const("mlm.decoder.bias", head.decoder_bias.astype(F32, copy=False))])
    return g.op("Log", [g.op("Add", [g.op("Relu", [best_all]), g.const("one", np.array(1.0, F32))])])


def _classifier_head(g: GraphBuilder, hidden: str, w: EncoderWeights) -> str:
    """[B, S, H] → [B, 1]: the first token's state through dense → tanh → out (the relevance logit)."""
    head = w.classifier
    if head is None:
        raise ValueError("rerank needs a sequence-classification head, and these weights have none")
    first = g.op("Gather", [hidden, g.const("first_token", np.array([0], np.int64))], axis=1)  # [B, 1, H]
    first = g.op("Squeeze", [first, g.const("axis1", np.array([1], np.int64))])  # [B, H]
    pooled = g.op("Tanh", [g.dense(first, head.dense, "classifier.dense")])
    return g.dense(pooled, head.out, "classifier.out")


def build_encoder(
    weights: EncoderWeights, pooling: Pooling, *, name: str = "encoder", splade_chunk: int = SPLADE_CHUNK
) -> onnx.ModelProto:
    """The ONNX model for ``weights`` with the given pooling head (see module docstring for the contract);
    ``splade_chunk``: vocabulary columns per iteration of the SPLADE head."""
    weights.check()
    g = GraphBuilder()
    mask_f = g.op("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
    # (1 - mask) * MASK_VALUE, shaped [B, 1, 1, S] to broadcast over heads and query positions.
    inverted = g.op("Sub", [g.const("one", np.array(1.0, F32)), mask_f])
    bias = g.op("Mul", [inverted, g.const("mask_value", np.array(MASK_VALUE, F32))])
    mask_bias = g.op("Unsqueeze", [bias, g.const("axes12", np.array([1, 2], np.int64))], "mask_bias")

    classify = pooling == Pooling.CLASSIFY
    x = _embeddings(g, weights, token_types=classify)
    for i in range(weights.config.num_layers):
        x = _feed_forward(g, _attention(g, x, mask_bias, i, weights), i, weights)

    out_shape: list[str | int | None]
    if pooling == Pooling.MEAN:
        out, out_shape = mean_pool_l2(g, x, mask_f), ["batch", weights.config.hidden_size]
    elif pooling == Pooling.SPLADE:
        out, out_shape = splade_head(g, x, weights, mask_f, splade_chunk), ["batch", weights.config.vocab_size]
    elif classify:
        out, out_shape = _classifier_head(g, x, weights), ["batch", 1]
    else:  # pragma: no cover - exhaustive over the enum
        raise ValueError(f"unsupported pooling [{pooling}]")
    g.nodes.append(helper.make_node("Identity", [out], ["embedding"], name="output"))

    inputs = [
        helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
        for n in ("input_ids", "attention_mask", *(("token_type_ids",) if classify else ()))
    ]
    output = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, out_shape)
    graph = helper.make_graph(g.nodes, name, inputs, [output])
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ingest.models.convert"
    )
    g.write_initializers(model.graph)
    model.ir_version = 8  # readable by onnxruntime >= 1.14
    return model


def save_model(model: onnx.ModelProto, path: Path) -> None:
    """Write ``model`` to ``path`` as one self-contained file (our models stay well under protobuf's 2 GB)."""
    with open(path, "wb") as fh:
        fh.write(model.SerializeToString())
