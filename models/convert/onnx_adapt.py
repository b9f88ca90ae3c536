"""Bring an imported ONNX encoder to our embedding contract.

Accepted: inputs ``input_ids`` and ``attention_mask`` (int64), optionally ``token_type_ids`` (fed zeros inside
the graph). Output: either already ``embedding``, or token states ``[B, S, H]`` (``last_hidden_state``, for
dense models: mean pooling + L2 are appended), or MLM logits ``[B, S, V]`` (for sparse models: SPLADE pooling
is appended).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from ingest.models.catalogue import Pooling
from ingest.models.convert.graph import GraphBuilder, mean_pool_l2, splade_pool
from ingest.models.convert.hf import UnsupportedModelError

REQUIRED_INPUTS = ("input_ids", "attention_mask")


def _rank(value: onnx.ValueInfoProto) -> int | None:
    tensor = value.type.tensor_type
    return len(tensor.shape.dim) if tensor.HasField("shape") else None


def _last_dim(value: onnx.ValueInfoProto) -> int | None:
    dims = value.type.tensor_type.shape.dim
    return dims[-1].dim_value if dims and dims[-1].HasField("dim_value") else None


def _rename_value(graph: onnx.GraphProto, old: str, new: str) -> None:
    """Rename a tensor everywhere it appears (nodes, initialisers, value infos, outputs)."""
    for node in graph.node:
        node.input[:] = [new if n == old else n for n in node.input]
        node.output[:] = [new if n == old else n for n in node.output]
    for collection in (graph.initializer, graph.value_info, graph.output):
        for item in collection:
            if item.name == old:
                item.name = new


def adapt_onnx(path: Path, pooling: Pooling, *, vocab_size: int) -> onnx.ModelProto:
    """Load ``path`` and return a model with inputs input_ids/attention_mask and the ``embedding`` output."""
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # onnx raises several protobuf/decode error types
        raise UnsupportedModelError(f"[{path.name}] is not a readable ONNX model: {exc}") from exc
    graph = model.graph
    init_names = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    names = [i.name for i in inputs]
    missing = [n for n in REQUIRED_INPUTS if n not in names]
    extra = [n for n in names if n not in (*REQUIRED_INPUTS, "token_type_ids")]
    if missing or extra:
        raise UnsupportedModelError(
            f"ONNX inputs must be input_ids, attention_mask and optionally token_type_ids; found [{', '.join(names)}]"
        )
    for value in inputs:
        if value.type.tensor_type.elem_type != TensorProto.INT64:
            raise UnsupportedModelError(f"ONNX input [{value.name}] must be int64")

    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 11:
        raise UnsupportedModelError(f"ONNX opset {opset} is too old; 11 or newer is needed")
    g = GraphBuilder(opset=opset, prefix="ingest/")
    if "token_type_ids" in names:
        # Token types are always zero for single texts: compute them inside the graph.
        zeros = g.op("Mul", ["input_ids", g.const("zero", np.array(0, np.int64))])
        g.nodes.append(
            helper.make_node("Identity", [zeros], ["token_type_ids"], name="ingest/token_type_ids")
        )
        graph.input.remove(next(i for i in graph.input if i.name == "token_type_ids"))

    outputs = {o.name: o for o in graph.output}
    if "embedding" not in outputs:
        _rename_value(graph, "embedding", "ingest/original_embedding")  # free the name for our output
        outputs = {o.name: o for o in graph.output}
    if "embedding" in outputs:
        source, out_shape = None, outputs["embedding"]
    else:
        rank3 = [o for o in graph.output if _rank(o) == 3]
        if not rank3:
            raise UnsupportedModelError(
                f"ONNX outputs must include [embedding] or a [batch, sequence, dims] tensor; found [{', '.join(outputs)}]"
            )
        if pooling == Pooling.SPLADE:
            logits = [o for o in rank3 if _last_dim(o) in (vocab_size, None)]
            if not logits:
                raise UnsupportedModelError(
                    f"sparse_embedding needs MLM logits [batch, sequence, {vocab_size}] as an ONNX output"
                )
            source = logits[0]
        else:
            source = next((o for o in rank3 if o.name == "last_hidden_state"), rank3[0])
        out_shape = None
    if source is not None:
        mask_f = g.op("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
        if pooling == Pooling.SPLADE:
            pooled = splade_pool(g, source.name, mask_f)
        else:
            pooled = mean_pool_l2(g, source.name, mask_f)
        g.nodes.append(helper.make_node("Identity", [pooled], ["embedding"], name="ingest/output"))
        last = _last_dim(source)
        out_shape = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", last or "dims"])
    graph.node.extend(g.nodes)
    g.write_initializers(graph)
    del graph.output[:]
    assert out_shape is not None
    graph.output.append(out_shape)
    if "token_type_ids" in names:
        # The zeros node must run first: move our prefix nodes to the front (topological order).
        nodes = list(graph.node)
        ours = [n for n in nodes if n.name.startswith("ingest/") and n.output[0] in {"token_type_ids", zeros}]
        rest = [n for n in nodes if n not in ours]
        del graph.node[:]
        graph.node.extend(ours + rest)
    return model
