"""LocalModel on the tiny random models: order, padding, prefixes, truncation, sparse decoding, threads."""

from __future__ import annotations

import dataclasses
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort
import pytest

from ingest.models.cache import BuiltModel
from ingest.models.errors import ModelError
from ingest.models.results import InputType, SparseEmbeddingResults, TextEmbeddingResults
from ingest.models.runtime import LocalModel
from ingest.models.runtime.session import session_options
from ingest.models.runtime.sparse import decode_sparse

TEXTS = [
    "the cat sat on the mat",
    "hello",
    "a dog, a cat and the world!",
    "search query passage hello world the cat sat on the mat again and again",
    "mat",
    "world hello dog",
]


def test_dense_shape_norm_and_input_order(tiny_dense: LocalModel) -> None:
    result = tiny_dense.embed(TEXTS)
    assert isinstance(result, TextEmbeddingResults)
    assert result.embeddings.shape == (len(TEXTS), 32)
    np.testing.assert_allclose(np.linalg.norm(result.embeddings, axis=1), 1.0, atol=1e-5)
    # Each text alone (no padding, no batching) must give the same row: order restored, padding masked.
    for i, text in enumerate(TEXTS):
        alone = tiny_dense.embed([text]).embeddings[0]
        np.testing.assert_allclose(result.embeddings[i], alone, atol=1e-5)
    # Distinct texts give distinct vectors (the rows are not all the same).
    assert not np.allclose(result.embeddings[0], result.embeddings[1], atol=1e-3)


def test_tiny_token_budget_gives_same_vectors(tiny_dense_built: BuiltModel, tiny_dense: LocalModel) -> None:
    small = LocalModel(tiny_dense_built, token_budget=8, max_batch=2)
    np.testing.assert_allclose(small.embed(TEXTS).embeddings, tiny_dense.embed(TEXTS).embeddings, atol=1e-5)
    small.close()


def test_to_dict_is_elasticsearch_body(tiny_dense: LocalModel) -> None:
    body = json.loads(json.dumps(tiny_dense.embed(["hello", "world"]).to_dict()))
    assert list(body) == ["text_embedding"]
    assert len(body["text_embedding"]) == 2
    assert len(body["text_embedding"][0]["embedding"]) == 32


def test_prefixes_by_input_type(tiny_dense_built: BuiltModel) -> None:
    spec = dataclasses.replace(tiny_dense_built.spec, query_prefix="query ", passage_prefix="passage ")
    model = LocalModel(dataclasses.replace(tiny_dense_built, spec=spec))
    plain = model.embed(["query the cat", "passage the cat"]).embeddings
    search = model.embed(["the cat"], InputType.SEARCH).embeddings[0]
    ingest = model.embed(["the cat"], "INGEST").embeddings[0]  # Elasticsearch accepts either case
    np.testing.assert_allclose(search, plain[0], atol=1e-5)
    np.testing.assert_allclose(ingest, plain[1], atol=1e-5)
    # semantic_text sends internal_search / internal_ingest; they pick the same prefixes.
    np.testing.assert_allclose(model.embed(["the cat"], "internal_search").embeddings[0], search, atol=1e-6)
    assert model.count_tokens(["the cat"], "search") == [model.count_tokens(["the cat"])[0] + 1]
    # Types without a prefix leave the text alone.
    np.testing.assert_allclose(
        model.embed(["the cat"], "clustering").embeddings[0], model.embed(["the cat"]).embeddings[0], atol=1e-6
    )
    model.close()


def test_truncation_at_max_tokens(tiny_sparse: LocalModel) -> None:
    long_text = " ".join(["cat"] * 100)
    encoded = tiny_sparse.encoder.encode([long_text, "cat"])
    assert len(encoded[0].ids) == tiny_sparse.spec.max_tokens == 32
    assert encoded[0].ids[-1] == 3  # [SEP] kept at the end
    result = tiny_sparse.embed([long_text, "cat"])
    assert isinstance(result, SparseEmbeddingResults)
    assert result.truncated == [True, False]
    assert tiny_sparse.count_tokens([long_text]) == [102]


def test_sparse_decoding(tiny_sparse: LocalModel) -> None:
    result = tiny_sparse.embed(TEXTS)
    raw = tiny_sparse.embed_arrays(TEXTS)
    assert len(result) == len(TEXTS)
    for row, weights in zip(raw, result.embeddings, strict=True):
        assert len(weights) == int((row > 0).sum())  # zeros dropped, nothing else
        assert all(w > 0 for w in weights.values())
        assert list(weights.values()) == sorted(weights.values(), reverse=True)
    body = result.to_dict()["sparse_embedding"][0]
    assert body["is_truncated"] is False and isinstance(body["embedding"], dict)


def test_decode_sparse_pure() -> None:
    weights = np.array([0.0, 2.0, 0.0, 0.5, -1.0], dtype=np.float32)
    assert decode_sparse(weights, ["a", "b", "c", "d", "e"]) == {"b": 2.0, "d": 0.5}


def test_concurrent_calls_agree(tiny_dense: LocalModel) -> None:
    expected = tiny_dense.embed(TEXTS).embeddings
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: tiny_dense.embed(TEXTS).embeddings, range(16)))
    for got in results:
        np.testing.assert_allclose(got, expected, atol=1e-6)


def test_empty_list_and_single_string(tiny_dense: LocalModel) -> None:
    assert tiny_dense.embed([]).embeddings.shape == (0, 32)
    assert tiny_dense.embed("hello").embeddings.shape == (1, 32)  # type: ignore[arg-type]


def test_session_options_are_deliberate() -> None:
    opts = session_options(2)
    assert opts.intra_op_num_threads == 2
    assert opts.inter_op_num_threads == 1
    assert opts.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert opts.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    with pytest.raises(ValueError):
        session_options(0)


def test_closed_model_raises(tiny_dense_built: BuiltModel) -> None:
    model = LocalModel(tiny_dense_built)
    model.close()
    with pytest.raises(ModelError, match="closed"):
        model.embed(["hello"])
