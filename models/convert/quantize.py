"""int8 builds, quantised per layer: which weight ops exist (grouped by layer), and the dynamic int8 graph.

Weights are quantised per output channel, activations dynamically per tensor (onnxruntime's
``quantize_dynamic``); activation × activation MatMuls (attention scores) always stay fp32. Groups are named after
the weight initialisers ``ingest.models.convert.graph`` writes: ``layer<N>.attention`` (query, key, value, output),
``layer<N>.ffn`` (in, out), ``embeddings`` (the word table Gather), ``mlm.transform``, ``mlm.decoder``. A model
quantised with some groups kept in fp32 is what Elastic did for ELSER v2's optimised build; which groups stay
fp32 is measured by ``bench.sensitivity`` and recorded in the catalogue (``ModelSpec.int8_fp32_groups``).

The chunked SPLADE head (``graph.splade_head``) is a ``Loop`` whose body slices a stacked decoder weight, which
``quantize_dynamic`` cannot see as a constant; ``_quantize_chunk_loop`` rewrites that loop itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

_LAYER = re.compile(r"^(layer\d+\.(?:attention|ffn))\.")
_HEAD = re.compile(r"^(mlm\.(?:transform|decoder))\.")


def group_of(initializer: str) -> str:
    """The sensitivity group of a weight initialiser name (its own name when it follows no known pattern)."""
    for pattern in (_LAYER, _HEAD):
        match = pattern.match(initializer)
        if match:
            return match.group(1)
    if initializer.startswith("word_embeddings"):
        return "embeddings"
    return initializer


def _loop_slices(node: onnx.NodeProto, weights: set[str]) -> str | None:
    """The stacked weight a chunk ``Loop``'s body slices (``Gather(weight, iteration)``), if it is one."""
    if node.op_type != "Loop":
        return None
    body = next(a.g for a in node.attribute if a.name == "body")
    for inner in body.node:
        if inner.op_type == "Gather" and inner.input[0] in weights and inner.input[1] == body.input[0].name:
            return str(inner.input[0])
    return None


def weight_groups(model: onnx.ModelProto) -> dict[str, list[str]]:
    """``{group: [node names]}`` of the ops int8 can take: MatMul by a constant, Gather of a table, chunk loops."""
    graph = model.graph
    weights = {i.name for i in graph.initializer}
    groups: dict[str, list[str]] = {}
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights:
            groups.setdefault(group_of(node.input[1]), []).append(node.name)
        elif node.op_type == "Gather" and node.input[0] in weights:
            groups.setdefault(group_of(node.input[0]), []).append(node.name)
        elif (sliced := _loop_slices(node, weights)) is not None:
            groups.setdefault(group_of(sliced), []).append(node.name)
    return groups


def quantize_int8(src: Path, dst: Path, keep_fp32: Iterable[str] = ()) -> list[str]:
    """Write the int8 model of ``src`` to ``dst``, every group quantised except ``keep_fp32``; the quantised groups.

    Raises ValueError naming groups in ``keep_fp32`` that the model does not have (a stale catalogue entry).
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    model = onnx.load(str(src), load_external_data=False)
    groups = weight_groups(model)
    kept = set(keep_fp32)
    unknown = sorted(kept - set(groups))
    if unknown:
        raise ValueError(f"groups {unknown} to keep in fp32 are not in the model (it has {sorted(groups)})")
    chosen = [g for g in groups if g not in kept]
    loops = {n.name for n in model.graph.node if n.op_type == "Loop"}
    nodes = [n for g in chosen for n in groups[g] if n not in loops]
    if nodes:  # an empty list would mean "every node" to quantize_dynamic
        quantize_dynamic(
            model,
            str(dst),
            weight_type=QuantType.QInt8,
            per_channel=True,
            nodes_to_quantize=nodes,
            extra_options={"MatMulConstBOnly": True},
        )
        model = onnx.load(str(dst), load_external_data=False)
    chunk_loops = [n for g in chosen for n in groups[g] if n in loops]
    for name in chunk_loops:
        _quantize_chunk_loop(model, name)
    if chunk_loops or not nodes:
        with open(dst, "wb") as fh:
            fh.write(model.SerializeToString())
    return chosen


def _quantize_chunk_loop(model: onnx.ModelProto, loop_name: str) -> None:
    """Make the chunk loop ``loop_name`` int8, in place.

    Its body is Gather(stacked [n, H, C], i) → MatMul(x, ·) → ReduceMax over tokens. The stacked weight becomes
    int8 per output column (symmetric, like ``quantize_dynamic``'s per-channel weights), ``x`` is quantised
    once before the loop (uint8, per tensor) instead of once per slice, and the body's product and max stay in
    int32: both scales are positive, so they commute with the max and are applied after the loop to [n, B, C].
    """
    graph = model.graph
    at = next(i for i, n in enumerate(graph.node) if n.name == loop_name)
    loop = graph.node[at]
    body = next(a.g for a in loop.attribute if a.name == "body")
    gather = next(n for n in body.node if n.op_type == "Gather")
    matmul = next(n for n in body.node if n.op_type == "MatMul" and n.input[1] == gather.output[0])
    reduce = next(n for n in body.node if n.op_type == "ReduceMax" and n.input[0] == matmul.output[0])
    init = next(i for i in graph.initializer if i.name == gather.input[0])
    stacked = numpy_helper.to_array(init).astype(np.float32)  # [n, H, C]
    scale = np.maximum(np.abs(stacked).max(axis=1, keepdims=True), 1e-12) / 127.0  # [n, 1, C], > 0
    quantized = np.clip(np.rint(stacked / scale), -127, 127).astype(np.int8)

    base = f"{init.name}_int8"
    graph.initializer.remove(init)
    graph.initializer.append(numpy_helper.from_array(quantized, base))
    graph.initializer.append(numpy_helper.from_array(scale.astype(np.float32), f"{base}_scale"))
    x = matmul.input[0]
    xq, xs, xz = f"{x}_quantized", f"{x}_scale", f"{x}_zero_point"
    graph.node.insert(at, helper.make_node("DynamicQuantizeLinear", [x], [xq, xs, xz], name=f"{loop_name}_quantize"))

    gather.input[0] = base
    matmul.op_type, matmul.input[:] = "MatMulInteger", [xq, gather.output[0], xz]
    del body.value_info[:]  # the quantiser's shape inference typed them float
    body.output[1].type.tensor_type.ClearField("shape")
    body.output[1].type.tensor_type.elem_type = TensorProto.INT32  # reduce's output, now int32
    assert body.output[1].name == reduce.output[0]

    out = loop.output[0]
    scaled = f"{out}_dequantized"
    consumers = [n for n in graph.node if out in n.input]
    cast = helper.make_node("Cast", [out], [f"{out}_float"], name=f"{loop_name}_cast", to=TensorProto.FLOAT)
    both = helper.make_node("Mul", [f"{base}_scale", xs], [f"{base}_scales"], name=f"{loop_name}_scales")
    mul = helper.make_node("Mul", [f"{out}_float", f"{base}_scales"], [scaled], name=f"{loop_name}_dequantize")
    after = at + 2  # the quantiser inserted before the loop
    for offset, node in enumerate((cast, both, mul)):
        graph.node.insert(after + offset, node)
    for node in consumers:
        node.input[:] = [scaled if name == out else name for name in node.input]
    stale = [v for v in graph.value_info if v.name == out]
    for v in stale:
        graph.value_info.remove(v)
