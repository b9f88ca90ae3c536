"""Bad input: each case is a clear Elasticsearch-shaped error or documented behaviour, never a crash or hang."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np
import pytest

from ingest.models.cache import BuiltModel
from ingest.models.errors import (
    ActionRequestValidationException,
    IllegalArgumentException,
    ModelError,
    ResourceNotFoundException,
)
from ingest.models.runtime import LocalModel, load_model
from ingest.models.runtime.tokenize import clean_text


def test_empty_and_whitespace_are_embedded_like_elasticsearch(tiny_dense: LocalModel, tiny_sparse: LocalModel) -> None:
    dense = tiny_dense.embed(["", "   \t\n ", "cat"]).embeddings
    assert dense.shape == (3, 32)
    assert np.isfinite(dense).all()
    np.testing.assert_allclose(np.linalg.norm(dense, axis=1), 1.0, atol=1e-5)
    # Whitespace normalises away: same tokens as the empty string, so the same vector.
    np.testing.assert_allclose(dense[0], dense[1], atol=1e-6)
    sparse = tiny_sparse.embed(["", " "])
    assert len(sparse) == 2 and sparse.truncated == [False, False]


@pytest.mark.parametrize("value", [None, 42, 3.5, b"bytes", ["nested"], {"a": 1}])
def test_non_string_values_name_position_and_type(tiny_dense: LocalModel, value: object) -> None:
    with pytest.raises(IllegalArgumentException) as info:
        tiny_dense.embed(["fine", value])  # type: ignore[list-item]
    assert "input [1] must be a string" in info.value.reason
    assert type(value).__name__ in info.value.reason
    assert info.value.status == 400


def test_one_megabyte_text_is_truncated_quickly(tiny_sparse: LocalModel) -> None:
    text = "the cat sat on the mat. " * 45_000  # ~1 MB
    assert len(text) > 1_000_000
    start = time.perf_counter()
    result = tiny_sparse.embed([text, "cat"])
    elapsed = time.perf_counter() - start
    assert result.truncated == [True, False]
    assert elapsed < 1.0, f"1 MB input took {elapsed:.2f}s"
    assert len(tiny_sparse.encoder.encode([text])[0].ids) == tiny_sparse.spec.max_tokens


def test_long_text_of_few_tokens_is_not_reported_truncated(tiny_sparse: LocalModel) -> None:
    # 5,000 characters, but one over-long "word" is a single [UNK]: cut for speed, yet nothing lost.
    result = tiny_sparse.embed(["x" * 5000])
    assert result.truncated == [False]


def test_lone_surrogates_become_replacement_characters(tiny_dense: LocalModel) -> None:
    assert clean_text("a\ud800b", 0) == "a\ufffdb"
    assert clean_text("\ud83d\ude00", 0) == "\U0001f600"  # a split pair is joined back
    result = tiny_dense.embed(["cat \udfff", "\ud800"]).embeddings
    assert result.shape == (2, 32) and np.isfinite(result).all()


def test_bad_input_type(tiny_dense: LocalModel) -> None:
    with pytest.raises(ActionRequestValidationException, match=r"Field \[input_type\] must be one of .* got \[sideways\]"):
        tiny_dense.embed(["cat"], "sideways")


def test_corrupted_onnx_file_is_a_model_error(tiny_dense_built: BuiltModel, tmp_path: Path) -> None:
    broken = tmp_path / "model.onnx"
    broken.write_bytes(tiny_dense_built.onnx_path.read_bytes()[:500])
    with pytest.raises(ModelError) as info:
        LocalModel(dataclasses.replace(tiny_dense_built, onnx_path=broken))
    assert "ingest models build" in info.value.reason
    assert str(broken) in info.value.reason


def test_corrupted_tokenizer_is_a_model_error(tiny_dense_built: BuiltModel, tmp_path: Path) -> None:
    broken = tmp_path / "tokenizer.json"
    broken.write_text('{"version": "1.0", "model": ')
    with pytest.raises(ModelError, match="Could not load the tokenizer"):
        LocalModel(dataclasses.replace(tiny_dense_built, tokenizer_path=broken))


def test_unknown_model_id(ingest_home: Path) -> None:
    with pytest.raises(ResourceNotFoundException) as info:
        load_model("no-such-model")
    assert info.value.status == 404
    assert "no-such-model" in info.value.reason
