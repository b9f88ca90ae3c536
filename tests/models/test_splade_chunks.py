"""The chunked SPLADE head: same output as the plain head, int8 slices in its loop, and old builds rebuilt."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto
from tokenizers import Tokenizer

from ingest.models.cache import MANIFEST, ensure_built
from ingest.models.catalogue import Pooling
from ingest.models.convert.graph import GraphBuilder, build_encoder, save_model, splade_pool
from ingest.models.convert.quantize import quantize_int8, weight_groups
from ingest.models.results import TaskType
from tests.models.hf_folder import import_tiny_hf
from tests.models.tiny import TINY_VOCAB, _weights, make_tiny_model

TEXTS = ["the cat sat on the mat", "hello", "a dog, a cat! search query passage 42", "zzz"]


def _feed(tok: Tokenizer) -> dict[str, np.ndarray]:
    """One padded batch of texts of different lengths (so padding positions are exercised)."""
    encs = [tok.encode(t).ids for t in TEXTS]
    ids = np.zeros((len(encs), max(map(len, encs))), np.int64)
    mask = np.zeros_like(ids)
    for i, e in enumerate(encs):
        ids[i, : len(e)], mask[i, : len(e)] = e, 1
    return {"input_ids": ids, "attention_mask": mask}


def _run(path: Path, feed: dict[str, np.ndarray]) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    out: np.ndarray = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"]).run(None, feed)[0]
    return out


def _plain_head(weights_seed: int, path: Path) -> None:
    """The unchunked head: the whole [B, S, V] logits, masked, max-pooled (the graph before the loop)."""
    w = _weights(weights_seed, True)
    model = build_encoder(w, Pooling.SPLADE, splade_chunk=len(TINY_VOCAB))
    graph = model.graph
    states = next(n for n in graph.node if n.op_type == "Where").input[1]  # the MLM head's transformed states
    head = w.mlm_head
    assert head is not None
    g = GraphBuilder(prefix="plain.")
    logits = g.op("MatMul", [states, g.const("decoder", head.decoder_weight)])
    logits = g.op("Add", [logits, g.const("bias", head.decoder_bias)])
    mask_f = g.op("Cast", ["attention_mask"], to=TensorProto.FLOAT)
    out = splade_pool(g, logits, mask_f)
    g.nodes.append(onnx.helper.make_node("Identity", [out], ["plain"]))
    graph.node.extend(g.nodes)
    g.write_initializers(graph)
    graph.output[0].name = "plain"
    save_model(model, path)


@pytest.mark.parametrize("chunk", [1, 16, 17, 64, 4096])
def test_chunked_head_matches_the_plain_head(tmp_path: Path, chunk: int) -> None:
    tiny = make_tiny_model(tmp_path, TaskType.SPARSE_EMBEDDING)
    feed = _feed(Tokenizer.from_file(str(tiny.tokenizer_path)))
    _plain_head(7, tmp_path / "plain.onnx")
    chunked = tmp_path / "chunked.onnx"
    save_model(build_encoder(_weights(7, True), Pooling.SPLADE, splade_chunk=chunk), chunked)
    loop = next(n for n in onnx.load(str(chunked)).graph.node if n.op_type == "Loop")
    count = onnx.numpy_helper.to_array(
        next(i for i in onnx.load(str(chunked)).graph.initializer if i.name == loop.input[0]))
    assert int(count) == -(-len(TINY_VOCAB) // chunk)  # 85 columns: the last slice is padded
    plain, got = _run(tmp_path / "plain.onnx", feed), _run(chunked, feed)
    assert got.shape == plain.shape == (len(TEXTS), len(TINY_VOCAB)) and (plain > 0).any()
    np.testing.assert_allclose(got, plain, atol=1e-5, rtol=1e-5)


def _int8_loop_body(path: Path) -> tuple[list[str], set[int]]:
    """The op types in the chunk loop's body, and the element types of the weights it slices."""
    graph = onnx.load(str(path)).graph
    loop = next(n for n in graph.node if n.op_type == "Loop")
    body = next(a.g for a in loop.attribute if a.name == "body")
    types = {i.name: i.data_type for i in graph.initializer}
    sliced = {types[n.input[0]] for n in body.node if n.op_type == "Gather"}
    return [n.op_type for n in body.node], sliced


def test_quantised_loop_body_multiplies_int8_slices(tmp_path: Path) -> None:
    src = tmp_path / "fp32.onnx"
    save_model(build_encoder(_weights(7, True), Pooling.SPLADE, splade_chunk=16), src)
    assert weight_groups(onnx.load(str(src)))["mlm.decoder"] == [
        n.name for n in onnx.load(str(src)).graph.node if n.op_type == "Loop"]
    int8, kept = tmp_path / "int8.onnx", tmp_path / "kept.onnx"
    assert "mlm.decoder" in quantize_int8(src, int8)
    ops, sliced = _int8_loop_body(int8)
    assert "MatMulInteger" in ops and "MatMul" not in ops and sliced == {TensorProto.INT8}
    quantize_int8(src, kept, keep_fp32=["mlm.decoder"])
    ops, sliced = _int8_loop_body(kept)
    assert "MatMul" in ops and "MatMulInteger" not in ops and sliced == {TensorProto.FLOAT}
    tiny = make_tiny_model(tmp_path, TaskType.SPARSE_EMBEDDING)
    feed = _feed(Tokenizer.from_file(str(tiny.tokenizer_path)))
    ref = _run(src, feed)
    # only the decoder quantised: quantize_dynamic is not called, every other MatMul stays fp32
    only = tmp_path / "only.onnx"
    groups = weight_groups(onnx.load(str(src)))
    assert quantize_int8(src, only, keep_fp32=[g for g in groups if g != "mlm.decoder"]) == ["mlm.decoder"]
    assert "MatMulInteger" not in {n.op_type for n in onnx.load(str(only)).graph.node}
    for path in (int8, only):
        got = _run(path, feed)
        cosine = (ref * got).sum(1) / np.linalg.norm(ref, axis=1) / np.linalg.norm(got, axis=1)
        assert cosine.min() > 0.995 and not np.allclose(ref, got, atol=1e-6)  # close, yet really quantised
        assert ((got > 0) == (ref > 0)).mean() > 0.95  # the same tokens stay active


@pytest.mark.parametrize("task_type", [TaskType.SPARSE_EMBEDDING, TaskType.TEXT_EMBEDDING])
def test_a_build_from_the_previous_graph_revision_is_rebuilt(
    tmp_path: Path, ingest_home: Path, private_cache: Path, task_type: TaskType
) -> None:
    sparse = task_type == TaskType.SPARSE_EMBEDDING
    _, spec = import_tiny_hf(tmp_path, task_type)
    first = ensure_built(spec)
    manifest_path = first.onnx_path.parent / MANIFEST
    manifest = json.loads(manifest_path.read_text())
    assert manifest["graph_revision"] == (2 if sparse else 1)
    del manifest["graph_revision"]  # what a build before the chunked head recorded
    manifest_path.write_text(json.dumps(manifest))
    inode = first.onnx_path.stat().st_ino
    again = ensure_built(spec)
    rebuilt = again.onnx_path.stat().st_ino != inode
    assert rebuilt == sparse  # only the changed head is rebuilt; dense builds are reused as they are
    assert json.loads((again.onnx_path.parent / MANIFEST).read_text()).get("graph_revision", 1) == manifest.get(
        "graph_revision", 2 if sparse else 1)
