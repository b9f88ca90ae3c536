"""The ONNX encoder graph against an independent numpy forward pass, on the tiny random model."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from tokenizers import Tokenizer

from ingest.models.catalogue import Pooling
from ingest.models.convert.graph import build_encoder
from ingest.models.results import TaskType
from tests.models import reference_numpy as ref
from tests.models.tiny import TINY_HIDDEN, TINY_VOCAB, _weights, make_tiny_model

TEXTS = ["the cat sat on the mat", "hello", "a dog, a cat! search query passage 42", "zzz"]


def _batch(tok: Tokenizer, texts: list[str]) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
    encs = [tok.encode(t).ids for t in texts]
    width = max(map(len, encs))
    ids = np.zeros((len(texts), width), np.int64)
    mask = np.zeros_like(ids)
    for i, e in enumerate(encs):
        ids[i, : len(e)] = e
        mask[i, : len(e)] = 1
    return ids, mask, encs


def _session(path: Path, level: ort.GraphOptimizationLevel) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = level
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("task_type", [TaskType.TEXT_EMBEDDING, TaskType.SPARSE_EMBEDDING])
def test_tiny_model_matches_numpy_reference(tmp_path: Path, task_type: TaskType) -> None:
    built = make_tiny_model(tmp_path, task_type)
    tok = Tokenizer.from_file(str(built.tokenizer_path))
    ids, mask, encs = _batch(tok, TEXTS)
    out = _session(built.onnx_path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL).run(
        None, {"input_ids": ids, "attention_mask": mask}
    )[0]
    weights = _weights(7, task_type == TaskType.SPARSE_EMBEDDING)
    for row, seq in zip(out, encs, strict=True):
        expected = (
            ref.splade_embedding(weights, seq)
            if task_type == TaskType.SPARSE_EMBEDDING
            else ref.dense_embedding(weights, seq)
        )
        np.testing.assert_allclose(row, expected, atol=2e-5, rtol=1e-4)
    if task_type == TaskType.TEXT_EMBEDDING:
        assert out.shape == (len(TEXTS), TINY_HIDDEN)
        np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    else:
        assert out.shape == (len(TEXTS), len(TINY_VOCAB))
        assert (out >= 0).all()


def test_padding_does_not_change_results(tmp_path: Path) -> None:
    built = make_tiny_model(tmp_path, TaskType.TEXT_EMBEDDING)
    tok = Tokenizer.from_file(str(built.tokenizer_path))
    sess = _session(built.onnx_path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    ids, mask, _ = _batch(tok, ["hello"])
    alone = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    ids, mask, _ = _batch(tok, ["hello", "the cat sat on the mat with a dog"])
    padded = sess.run(None, {"input_ids": ids, "attention_mask": mask})[0]
    np.testing.assert_allclose(padded[0], alone[0], atol=1e-6)


def test_optimised_and_unoptimised_graphs_agree(tmp_path: Path) -> None:
    built = make_tiny_model(tmp_path, TaskType.SPARSE_EMBEDDING)
    tok = Tokenizer.from_file(str(built.tokenizer_path))
    ids, mask, _ = _batch(tok, TEXTS)
    feeds = {"input_ids": ids, "attention_mask": mask}
    plain = _session(built.onnx_path, ort.GraphOptimizationLevel.ORT_DISABLE_ALL).run(None, feeds)[0]
    fused = _session(built.onnx_path, ort.GraphOptimizationLevel.ORT_ENABLE_ALL).run(None, feeds)[0]
    np.testing.assert_allclose(plain, fused, atol=1e-5)


def test_contract_inputs_outputs_and_tokenizer(tmp_path: Path) -> None:
    start = time.perf_counter()
    built = make_tiny_model(tmp_path, TaskType.TEXT_EMBEDDING)
    assert time.perf_counter() - start < 1.0
    model = onnx.load(str(built.onnx_path))
    onnx.checker.check_model(model)
    assert [i.name for i in model.graph.input] == ["input_ids", "attention_mask"]
    assert all(i.type.tensor_type.elem_type == onnx.TensorProto.INT64 for i in model.graph.input)
    assert [o.name for o in model.graph.output] == ["embedding"]
    tok = Tokenizer.from_file(str(built.tokenizer_path))
    assert tok.truncation is None and tok.padding is None
    assert tok.encode("the cat").tokens == ["[CLS]", "the", "cat", "[SEP]"]
    assert built.spec.dims == TINY_HIDDEN and built.spec.pooling == Pooling.MEAN
    assert len(built.version) == 16


def test_splade_without_mlm_head_is_rejected() -> None:
    with pytest.raises(ValueError, match="masked-LM head"):
        build_encoder(_weights(7, False), Pooling.SPLADE)


def test_seeded_model_is_deterministic(tmp_path: Path) -> None:
    a = make_tiny_model(tmp_path / "a", TaskType.TEXT_EMBEDDING)
    b = make_tiny_model(tmp_path / "b", TaskType.TEXT_EMBEDDING)
    assert a.version == b.version
    assert make_tiny_model(tmp_path / "c", TaskType.TEXT_EMBEDDING, seed=8).version != a.version
