"""OpenSearch's ``skip_existing`` on ``text_embedding`` / ``sparse_encoding``: stored outputs of unchanged inputs
are copied and those inputs never reach the endpoint (the tiny real models; an in-memory stored-documents
lookup standing in for the index, as the sinks implement it in ingest/)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pytest

from ingest.models.errors import ElasticsearchError
from ingest.processors import PipelineService
from ingest.processors.document import IngestDocument
from ingest.processors.pipeline import Pipeline
from tests.processors.conftest import CountingAPI

MARK = [0.25] * 32  # a stored vector no model would produce: seeing it proves it was copied, not recomputed


class MemoryStore:
    """A real ``StoredSources``: documents by index and id, recording every lookup."""

    def __init__(self, docs: dict[str, dict[str, dict[str, Any]]] | None = None, fail: bool = False) -> None:
        self.docs = docs or {}
        self.fail = fail
        self.fetches: list[tuple[str, list[str]]] = []

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        self.fetches.append((index, list(ids)))
        if self.fail:
            raise ElasticsearchError("the store is down", status=503, error_type="unavailable")
        stored = self.docs.get(index, {})
        return {i: stored[i] for i in ids if i in stored}


def _pipeline(api: CountingAPI, processor: str, field_map: dict[str, Any], **options: Any) -> Pipeline:
    return PipelineService(api.store, api).parse({"processors": [
        {processor: {"model_id": "tiny-dense" if processor == "text_embedding" else "tiny-sparse",
                     "field_map": field_map, "skip_existing": True, **options}}]})


def _run_docs(pipeline: Pipeline, docs: list[dict[str, Any]], store: MemoryStore) -> list[dict[str, Any]]:
    """The sources after the pipeline, run per document (nested and list fields) with ``store``."""
    ingest_docs = [IngestDocument.from_source(d["_source"], {"_index": d["_index"], "_id": d["_id"]}) for d in docs]
    assert pipeline.execute_docs(ingest_docs, pipeline.env(store)) == [None] * len(docs)
    return [d.source() for d in ingest_docs]


def _texts(api: CountingAPI) -> list[str]:
    return [t for call in api.calls for t in call]


def test_unchanged_texts_reuse_the_stored_vector_changed_and_new_ones_are_embedded(tiny_api: CountingAPI) -> None:
    pipeline = _pipeline(tiny_api, "text_embedding", {"text": "vec"})
    store = MemoryStore({"idx": {"1": {"text": "the cat sat", "vec": MARK},
                                 "2": {"text": "hello world", "vec": MARK}}})
    table = pa.table({"_index": ["idx"] * 3, "_id": ["1", "2", "3"],
                      "text": ["the cat sat", "hello world again", "a new dog"]})
    result = pipeline.run(table, stored=store)
    assert store.fetches == [("idx", ["1", "2", "3"])]  # one lookup for the whole batch
    assert _texts(tiny_api) == ["hello world again", "a new dog"] and len(tiny_api.calls) == 1
    vecs = result.table.column("vec").to_pylist()
    assert vecs[0] == pytest.approx(MARK)
    assert vecs[1] != pytest.approx(MARK) and len(vecs[1]) == 32 and len(vecs[2]) == 32
    assert [o.status for o in result.outcomes] == ["indexed"] * 3

    # Everything unchanged: no call at all, and the output column is still a float32 vector column.
    tiny_api.calls.clear()
    store.docs["idx"]["2"] = {"text": "hello world again", "vec": MARK}
    store.docs["idx"]["3"] = {"text": "a new dog", "vec": MARK}
    fresh = _pipeline(tiny_api, "text_embedding", {"text": "vec"})
    again = fresh.run(table, stored=store)
    assert tiny_api.calls == []
    assert again.table.column("vec").to_pylist() == [pytest.approx(MARK)] * 3
    assert again.table.schema.field("vec").type == pa.list_(pa.float32(), 32)


def test_list_inputs_are_compared_as_a_whole(tiny_api: CountingAPI) -> None:
    pipeline = _pipeline(tiny_api, "text_embedding", {"passages": "passage_vecs"})
    stored_vecs = [{"knn": MARK}, {"knn": [0.5] * 32}]
    store = MemoryStore({"idx": {"same": {"passages": ["the cat", "sat on"], "passage_vecs": stored_vecs},
                                 "edit": {"passages": ["the cat", "sat on"], "passage_vecs": stored_vecs}}})
    docs = [{"_index": "idx", "_id": "same", "_source": {"passages": ["the cat", "sat on"]}},
            {"_index": "idx", "_id": "edit", "_source": {"passages": ["the cat", "sat on a mat"]}}]
    out = _run_docs(pipeline, docs, store)
    assert out[0]["passage_vecs"] == stored_vecs
    # One item changed: OpenSearch re-embeds the whole list (it compares lists with equals).
    assert _texts(tiny_api) == ["the cat", "sat on a mat"]
    assert [len(v["knn"]) for v in out[1]["passage_vecs"]] == [32, 32]
    assert out[1]["passage_vecs"][0]["knn"] != pytest.approx(MARK)

    # The same on Arrow: the list outputs stay lists of {"knn": vector} objects (not a vector column).
    tiny_api.calls.clear()
    table = pa.table({"_index": ["idx", "idx"], "_id": ["same", "edit"],
                      "passages": [["the cat", "sat on"], ["the cat", "sat on a mat"]]})
    rows = _pipeline(tiny_api, "text_embedding", {"passages": "passage_vecs"}).run(table, stored=store)
    assert _texts(tiny_api) == ["the cat", "sat on a mat"]
    vecs = rows.table.column("passage_vecs").to_pylist()
    assert [v["knn"] for v in vecs[0]] == [pytest.approx(MARK), pytest.approx([0.5] * 32)]
    assert [len(v["knn"]) for v in vecs[1]] == [32, 32]


def test_nested_field_maps_and_fields_decided_one_by_one(tiny_api: CountingAPI) -> None:
    pipeline = _pipeline(tiny_api, "text_embedding", {"meta": {"title": "title_vec"}, "body": "body_vec"})
    store = MemoryStore({"idx": {"1": {"meta": {"title": "cat", "title_vec": MARK}, "body": "old body",
                                       "body_vec": MARK},
                                 "2": {"meta": {"title": "dog"}, "body": "the mat"}}})  # no stored output
    docs = [{"_index": "idx", "_id": "1", "_source": {"meta": {"title": "cat"}, "body": "new body"}},
            {"_index": "idx", "_id": "2", "_source": {"meta": {"title": "dog"}, "body": "the mat"}}]
    out = _run_docs(pipeline, docs, store)
    assert out[0]["meta"]["title_vec"] == pytest.approx(MARK)
    assert out[0]["body_vec"] != pytest.approx(MARK)
    assert sorted(_texts(tiny_api)) == sorted(["new body", "dog", "the mat"])
    assert len(out[1]["meta"]["title_vec"]) == 32 and len(out[1]["body_vec"]) == 32


def test_sparse_encoding_reuses_stored_weights(tiny_api: CountingAPI) -> None:
    pipeline = _pipeline(tiny_api, "sparse_encoding", {"text": "tokens"}, prune_type="top_k", prune_ratio=3)
    stored = {"marker": 7.0}
    store = MemoryStore({"idx": {"1": {"text": "the cat", "tokens": stored}}})
    table = pa.table({"_index": ["idx", "idx"], "_id": ["1", "2"], "text": ["the cat", "the cat"]})
    result = pipeline.run(table, stored=store)
    assert _texts(tiny_api) == ["the cat"]  # only document 2's
    rows = [dict(r) for r in result.table.column("tokens").to_pylist()]
    assert rows[0] == {"marker": 7.0}
    assert "marker" not in rows[1] and 0 < len(rows[1]) <= 3


def test_documents_without_id_or_store_are_embedded(tiny_api: CountingAPI) -> None:
    pipeline = _pipeline(tiny_api, "text_embedding", {"text": "vec"})
    store = MemoryStore({"idx": {"1": {"text": "the cat", "vec": MARK}}})
    no_id = pa.table({"_index": ["idx", "idx"], "_id": pa.array([None, "1"], pa.string()),
                      "text": ["the cat", "the cat"]})
    result = pipeline.run(no_id, stored=store)
    assert store.fetches == [("idx", ["1"])]  # the document without an id is not looked up
    assert _texts(tiny_api) == ["the cat"]
    assert result.table.column("vec").to_pylist()[1] == pytest.approx(MARK)

    # No lookup at all (_simulate without a store, or a caller that has none): as if nothing were stored.
    tiny_api.calls.clear()
    result = pipeline.run(no_id)
    assert _texts(tiny_api) == ["the cat", "the cat"]
    assert result.table.column("vec").to_pylist()[1] != pytest.approx(MARK)


def test_one_lookup_per_index_and_a_failed_lookup_fails_those_documents(tiny_api: CountingAPI) -> None:
    pipeline = _pipeline(tiny_api, "text_embedding", {"text": "vec"})
    store = MemoryStore({"a": {"1": {"text": "cat", "vec": MARK}}, "b": {"9": {"text": "dog", "vec": MARK}}})
    table = pa.table({"_index": ["a", "b", "a", "b"], "_id": ["1", "9", "2", "8"],
                      "text": ["cat", "dog", "mat", "sat"]})
    result = pipeline.run(table, stored=store)
    assert sorted(store.fetches) == [("a", ["1", "2"]), ("b", ["9", "8"])]
    assert _texts(tiny_api) == ["mat", "sat"]
    assert [v == pytest.approx(MARK) for v in result.table.column("vec").to_pylist()] == [True, True, False, False]

    tiny_api.calls.clear()
    down = MemoryStore(fail=True)
    result = pipeline.run(table, stored=down)
    assert [o.status for o in result.outcomes] == ["failed"] * 4
    error = result.outcomes[0].error
    assert error is not None and error.reason == "the store is down" and error.status == 503
    assert tiny_api.calls == []


def test_skip_existing_is_accepted_and_the_default_does_not_look_up(tiny_api: CountingAPI) -> None:
    store = MemoryStore({"idx": {"1": {"text": "cat", "vec": MARK}}})
    plain = PipelineService(tiny_api.store, tiny_api).parse({"processors": [
        {"text_embedding": {"model_id": "tiny-dense", "field_map": {"text": "vec"}}}]})
    assert not plain.reads_stored_documents()
    result = plain.run(pa.table({"_index": ["idx"], "_id": ["1"], "text": ["cat"]}), stored=store)
    assert store.fetches == [] and _texts(tiny_api) == ["cat"]
    assert result.table.column("vec").to_pylist()[0] != pytest.approx(MARK)
    # A pipeline calling one with skip_existing reads stored documents too.
    service = PipelineService(tiny_api.store, tiny_api)
    service.put("inner", {"processors": [{"text_embedding": {"model_id": "tiny-dense", "field_map": {"t": "v"},
                                                             "skip_existing": True}}]})
    service.put("outer", {"processors": [{"pipeline": {"name": "inner"}}]})
    assert service.load("outer").reads_stored_documents()
    # _simulate has no store: the option is accepted and the document is embedded.
    out = service.simulate({"pipeline": {"processors": [{"text_embedding": {
        "model_id": "tiny-dense", "field_map": {"text": "vec"}, "skip_existing": True}}]},
        "docs": [{"_index": "idx", "_id": "1", "_source": {"text": "cat"}}]})
    assert len(out["docs"][0]["doc"]["_source"]["vec"]) == 32
    with pytest.raises(ElasticsearchError, match="skip_existing"):
        service.parse({"processors": [{"text_embedding": {"model_id": "tiny-dense", "field_map": {"t": "v"},
                                                          "skip_existing": "yes"}}]})
