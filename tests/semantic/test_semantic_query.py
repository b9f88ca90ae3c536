"""The ``semantic`` query helper on the embedded store, over documents written with the real tiny models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.context import AppContext
from ingest.models.errors import ElasticsearchError
from ingest.semantic.query import chunk_text, semantic_search
from ingest.sinks.base import BulkAction
from ingest.sinks.embedded import EmbeddedStore
from tests.processors.conftest import CountingAPI

TEXTS = {"a": "the cat sat on the mat", "b": "stock markets fell sharply today",
         "c": " ".join(f"filler{i}" for i in range(12)) + " quantum physics of black holes"}


class Recording:
    """The API, recording which endpoint embedded which inputs."""

    def __init__(self, api: CountingAPI) -> None:
        self.api, self.ids = api, []  # type: ignore[var-annotated]

    def infer(self, inference_id: str, inputs: Any, *, input_type: str | None = None) -> Any:
        self.ids.append((inference_id, input_type))
        return self.api.infer(inference_id, inputs, input_type=input_type)

    def endpoint(self, inference_id: str) -> Any:
        return self.api.endpoint(inference_id)


@pytest.fixture()
def store(tiny_api: CountingAPI, tmp_path: Path) -> EmbeddedStore:
    context = AppContext(api=tiny_api)
    sink = context.open_sink(f"embedded://{tmp_path / 's.duckdb'}")
    assert isinstance(sink, EmbeddedStore)
    sink.ensure_index("docs", {})
    sink.put_mapping("docs", {"dense": {"type": "semantic_text", "inference_id": "tiny-chunked",
                                        "search_inference_id": "tiny-dense"},
                              "sparse": {"type": "semantic_text", "inference_id": "tiny-sparse"},
                              "title": {"type": "keyword"}}, {})
    results = sink.write([BulkAction("index", "docs", i, {"dense": t, "sparse": t}) for i, t in TEXTS.items()]
                         + [BulkAction("index", "docs", "none", {"title": "no text"})])
    assert all(r.ok for r in results)
    return sink


def test_dense_semantic_query_scores_documents_by_their_best_chunk(store: EmbeddedStore, tiny_api: CountingAPI
                                                                   ) -> None:
    api = Recording(tiny_api)
    hits = semantic_search(store, "docs", "dense", "filler10 filler11 quantum physics of black holes", api)
    assert api.ids == [("tiny-dense", "search")]  # the field's search_inference_id
    assert hits[0].id == "c" and {h.id for h in hits} == {"a", "b", "c"}  # "none" has no chunks
    best = hits[0]
    assert best.chunk == 1 and TEXTS["c"][best.start_offset:best.end_offset].endswith("black holes")
    assert best.score == pytest.approx(1.0, abs=1e-4)  # cosine 1 → (1 + 1) / 2
    assert all(0 <= h.score <= 1 for h in hits) and hits[1].score < best.score
    # highlighting: the chunks best first, their text cut from the stored field
    doc = store.get("docs", "c")
    assert doc is not None and len(best.ranked) == 2 and best.ranked[0][0] == best.score
    assert chunk_text(doc, "dense", *best.ranked[0][1:]) == "filler10 filler11 quantum physics of black holes"
    assert chunk_text(doc, "dense", *best.ranked[1][1:]).startswith("filler0 filler1")
    assert chunk_text({"f": ["ab", "cd"]}, "f", 3, 5) == "cd"  # a list: values joined by one character


def test_sparse_semantic_query_is_the_dot_product(store: EmbeddedStore, tiny_api: CountingAPI) -> None:
    hits = semantic_search(store, "docs", "sparse", TEXTS["b"], tiny_api)
    query = tiny_api.infer("tiny-sparse", [TEXTS["b"]]).embeddings[0]
    stored = store.get("docs", "b")
    assert stored is not None
    chunk = stored["_inference_fields"]["sparse"]["inference"]["chunks"]["sparse"][0]["embeddings"]
    expected = sum(w * chunk.get(t, 0.0) for t, w in dict(query).items())
    by_id = {h.id: h.score for h in hits}
    assert by_id["b"] == pytest.approx(expected, rel=1e-5) and max(by_id, key=by_id.__getitem__) == "b"


def test_semantic_query_on_another_field_type_is_refused(store: EmbeddedStore, tiny_api: CountingAPI) -> None:
    with pytest.raises(ElasticsearchError) as refused:
        semantic_search(store, "docs", "title", "x", tiny_api)
    assert refused.value.status == 400
    assert refused.value.reason == "Field [title] of type [keyword] does not support [semantic] queries"


def test_search_runs_the_semantic_query(store: EmbeddedStore, tiny_api: CountingAPI) -> None:
    """``_search`` with ``{"semantic": ...}``: the same documents and scores as the helper, ranked, combinable."""
    from ingest.searching.api import search

    context = AppContext(api=tiny_api)
    text = "filler10 filler11 quantum physics of black holes"
    expected = semantic_search(store, "docs", "dense", text, tiny_api)
    out = search(context, store, ["docs"], {"query": {"semantic": {"field": "dense", "query": text}}})
    got = [(h["_id"], h["_score"]) for h in out["hits"]["hits"]]
    assert [i for i, _ in got] == [h.id for h in expected] and out["hits"]["total"]["value"] == 3
    assert all(s == pytest.approx(h.score, rel=1e-5) for (_, s), h in zip(got, expected, strict=True))
    # in a bool beside a filter; a boost scales the score
    out = search(context, store, ["docs"], {"query": {"bool": {
        "must": [{"semantic": {"field": "sparse", "query": TEXTS["b"], "boost": 2.0}}],
        "filter": [{"ids": {"values": ["a", "b"]}}]}}})
    sparse = {h.id: h.score for h in semantic_search(store, "docs", "sparse", TEXTS["b"], tiny_api)}
    assert {h["_id"] for h in out["hits"]["hits"]} <= {"a", "b"} and out["hits"]["hits"][0]["_id"] == "b"
    assert out["hits"]["hits"][0]["_score"] == pytest.approx(2.0 * sparse["b"], rel=1e-5)
    with pytest.raises(ElasticsearchError) as err:  # a field of another type: Elasticsearch's 400
        search(context, store, ["docs"], {"query": {"semantic": {"field": "title", "query": "x"}}})
    assert err.value.status == 400
