"""int8 builds, quantised per layer: which weight ops exist (grouped by layer), and the dynamic int8 graph.

Weights are quantised per output channel, activations dynamically per tensor (onnxruntime's
``quantize_dynamic``); activation × activation MatMuls (attention scores) always stay fp32. Groups are named after
the weight initialisers ``ingest.models.convert.graph`` writes: ``layer<N>.attention`` (query, key, value, output),
``layer<N>.ffn`` (in, out), ``embeddings`` (the word table Gather), ``mlm.transform``, ``mlm.decoder``. A model
quantised with some groups kept in fp32 is what Elastic did for ELSER v2's optimised build; which groups stay
fp32 is measured by ``bench.sensitivity`` and recorded in the catalogue (``ModelSpec.int8_fp32_groups``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import onnx

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


def weight_groups(model: onnx.ModelProto) -> dict[str, list[str]]:
    """``{group: [node names]}`` of the ops dynamic quantisation can take: MatMul by a constant, Gather of a table."""
    graph = model.graph
    weights = {i.name for i in graph.initializer}
    groups: dict[str, list[str]] = {}
    for node in graph.node:
        if node.op_type == "MatMul" and node.input[1] in weights:
            groups.setdefault(group_of(node.input[1]), []).append(node.name)
        elif node.op_type == "Gather" and node.input[0] in weights:
            groups.setdefault(group_of(node.input[0]), []).append(node.name)
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
    nodes = [n for g in chosen for n in groups[g]]
    quantize_dynamic(
        model,
        str(dst),
        weight_type=QuantType.QInt8,
        per_channel=True,
        nodes_to_quantize=nodes,
        extra_options={"MatMulConstBOnly": True},
    )
    return chosen
