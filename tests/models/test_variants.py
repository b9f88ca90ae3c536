"""Platform variants: id resolution and choice by platform, per-layer int8 builds with measured fp32 groups."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from ingest.models.cache import MANIFEST, BuiltModel, ensure_built
from ingest.models.catalogue import (
    ELSER_COMPATIBLE_SPLADE,
    MULTILINGUAL_E5_SMALL,
    ModelVariant,
    current_platform,
    preferred_variant,
)
from ingest.models.convert.quantize import group_of, quantize_int8, weight_groups
from ingest.models.imported import list_variants, resolve_variant
from ingest.models.results import TaskType
from ingest.models.runtime import LocalModel
from tests.models.tiny import make_tiny_model


@pytest.fixture()
def tiny(tmp_path: Path) -> BuiltModel:
    return make_tiny_model(tmp_path / "src", TaskType.TEXT_EMBEDDING)


def test_optimised_ids_resolve_to_the_int8_variant_of_the_same_weights() -> None:
    e5 = resolve_variant(".multilingual-e5-small_linux-x86_64")
    assert e5 == ModelVariant(".multilingual-e5-small_linux-x86_64", MULTILINGUAL_E5_SMALL, True)
    assert e5.platform == "linux-x86_64"
    assert resolve_variant(".multilingual-e5-small") == ModelVariant(".multilingual-e5-small",
                                                                     MULTILINGUAL_E5_SMALL, False)
    elser = resolve_variant(".elser_model_2_linux-x86_64")
    assert elser.optimized and elser.spec is ELSER_COMPATIBLE_SPLADE
    ids = [v.model_id for v in list_variants()]
    assert ids[:4] == [".multilingual-e5-small", ".multilingual-e5-small_linux-x86_64", ".elser_model_2",
                       ".elser_model_2_linux-x86_64"]


def test_preferred_variant_follows_the_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_ML_PLATFORM", "linux-x86_64")
    assert preferred_variant(MULTILINGUAL_E5_SMALL).model_id == ".multilingual-e5-small_linux-x86_64"
    assert resolve_variant(".elser_model_2_linux-x86_64").available
    monkeypatch.setenv("INGEST_ML_PLATFORM", "darwin-aarch64")
    assert current_platform() == "darwin-aarch64"
    assert preferred_variant(MULTILINGUAL_E5_SMALL).model_id == ".multilingual-e5-small"
    assert preferred_variant(ELSER_COMPATIBLE_SPLADE).model_id == ".elser_model_2"
    assert not resolve_variant(".elser_model_2_linux-x86_64").available
    assert resolve_variant(".elser_model_2").available


def test_weight_groups_follow_the_layers(tiny: BuiltModel) -> None:
    groups = weight_groups(onnx.load(str(tiny.onnx_path)))
    assert set(groups) == {"embeddings", "layer0.attention", "layer0.ffn", "layer1.attention", "layer1.ffn"}
    assert len(groups["layer0.attention"]) == 4 and len(groups["layer1.ffn"]) == 2  # q, k, v, out / in, out
    assert group_of("mlm.decoder.weight_9") == "mlm.decoder"


def _fp32_matmul_weights(path: Path) -> set[str]:
    graph = onnx.load(str(path)).graph
    weights = {i.name for i in graph.initializer}
    return {group_of(n.input[1]) for n in graph.node if n.op_type == "MatMul" and n.input[1] in weights}


def test_kept_groups_stay_fp32_and_the_rest_is_int8(tiny: BuiltModel, tmp_path: Path) -> None:
    out = tmp_path / "int8.onnx"
    chosen = quantize_int8(tiny.onnx_path, out, keep_fp32=["layer1.ffn"])
    assert "layer1.ffn" not in chosen and "layer0.ffn" in chosen
    assert _fp32_matmul_weights(out) == {"layer1.ffn"}  # every other weight MatMul became MatMulInteger
    quantize_int8(tiny.onnx_path, out)
    assert _fp32_matmul_weights(out) == set()
    with pytest.raises(ValueError, match="not in the model"):
        quantize_int8(tiny.onnx_path, out, keep_fp32=["layer9.ffn"])


def test_int8_build_records_and_follows_the_exclusions(private_cache: Path, tiny: BuiltModel) -> None:
    spec = dataclasses.replace(tiny.spec, int8_fp32_groups=("layer0.ffn",))
    first = ensure_built(spec, quantize=True)
    manifest = json.loads((first.onnx_path.parent / MANIFEST).read_text())
    assert manifest["int8_fp32_groups"] == ["layer0.ffn"]
    assert _fp32_matmul_weights(first.onnx_path) == {"layer0.ffn"}
    # a re-measured exclusion list rebuilds the variant instead of reusing the stale one
    rebuilt = ensure_built(dataclasses.replace(spec, int8_fp32_groups=()), quantize=True)
    assert _fp32_matmul_weights(rebuilt.onnx_path) == set() and rebuilt.version != first.version
    fp32 = ensure_built(spec)
    texts = ["the cat sat on the mat", "hello world", "a dog"]
    with LocalModel(fp32) as a, LocalModel(rebuilt) as b:
        cos = (a.embed_arrays(texts) * b.embed_arrays(texts)).sum(1)
    assert np.all(cos > 0.95)
