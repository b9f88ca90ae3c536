"""The runtime on the real packaged models (built once into the shared cache)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from ingest.models.results import SparseEmbeddingResults, TextEmbeddingResults
from ingest.models.runtime import LocalModel, load_model

pytestmark = pytest.mark.realmodel

VARIED = [
    "short",
    "How much protein should a healthy adult eat per day?",
    "Le chat est assis sur le tapis, et il regarde la pluie tomber dehors pendant des heures.",
    " ".join(["A long passage about cell biology and the immune response."] * 60),  # > 512 tokens
    "日本語のテキストも正しく処理されるべきです。",
    "",
]


@pytest.fixture(scope="module")
def e5() -> Iterator[LocalModel]:
    model = load_model(".multilingual-e5-small", threads=2)
    yield model
    model.close()


@pytest.fixture(scope="module")
def splade() -> Iterator[LocalModel]:
    model = load_model(".elser_model_2", threads=2)  # the portable fp32 build (the _linux-x86_64 id is int8)
    yield model
    model.close()


def test_e5_batched_equals_one_by_one(e5: LocalModel) -> None:
    batched = e5.embed(VARIED, "ingest")
    assert isinstance(batched, TextEmbeddingResults)
    assert batched.embeddings.shape == (len(VARIED), 384)
    for i, text in enumerate(VARIED):
        alone = e5.embed([text], "ingest").embeddings[0]
        np.testing.assert_allclose(batched.embeddings[i], alone, atol=2e-5)


def test_e5_prefixes_and_semantics(e5: LocalModel) -> None:
    docs = [
        "To reset your password, open the sign-in page and choose 'Forgot password'.",
        "The city council voted to build protected bike lanes along the main avenues.",
    ]
    d = e5.embed(docs, "ingest").embeddings
    q = e5.embed(["I forgot my password"], "search").embeddings[0]
    assert q @ d[0] > q @ d[1] + 0.05
    plain = e5.embed(["I forgot my password"]).embeddings[0]
    assert not np.allclose(plain, q, atol=1e-3)  # the prefix reaches the model
    # XLM-R pieces: "▁que" "ry" ":" — the prefix adds three tokens
    assert e5.count_tokens(["hello"], "search")[0] == e5.count_tokens(["hello"])[0] + 3


def test_e5_truncates_long_text(e5: LocalModel) -> None:
    encoded = e5.encoder.encode([VARIED[3]], "ingest")[0]
    assert len(encoded.ids) == 512 and encoded.truncated
    assert e5.count_tokens([VARIED[3]])[0] > 512


def test_splade_expands_cat_sat_on_mat(splade: LocalModel) -> None:
    result = splade.embed(["the cat sat on the mat", " ".join(["word"] * 600)])
    assert isinstance(result, SparseEmbeddingResults)
    top = list(result.embeddings[0])[:8]
    assert {"cat", "mat", "sat"} <= set(top)
    assert result.truncated == [False, True]
    assert all(w > 0 for w in result.embeddings[0].values())
