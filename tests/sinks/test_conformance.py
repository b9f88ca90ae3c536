"""The sink contract, checked the same way against every sink (embedded, files, Elasticsearch, OpenSearch)."""

from __future__ import annotations

import json

import pytest

from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import BulkAction, FieldHint
from tests.sinks.conftest import Target

HINTS = {"emb": FieldHint("dense", 3, "cosine"), "ml.tokens": FieldHint("sparse")}


def _close(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and all(abs(x - y) < 1e-3 for x, y in zip(a, b, strict=True))


def test_bulk_semantics_match_elasticsearch(target: Target) -> None:
    sink, index = target.sink, target.index("conf")
    sink.ensure_index(index, HINTS)
    sink.ensure_index(index, HINTS)  # idempotent
    actions = [
        BulkAction("index", index, "1", {"title": "one", "emb": [1.0, 0.0, 0.0], "ml": {"tokens": {"a": 1.5, "b": 0.25}}}),
        BulkAction("index", index, "2", {"title": "two", "nested": {"x": 1}, "emb": [0.0, 1.0, 0.0]}),
        BulkAction("create", index, "1", {"title": "dup"}),
        BulkAction("create", index, "3", {"title": "three"}),
        BulkAction("update", index, "2", {"doc": {"nested": {"y": 2}, "extra": True}}),
        BulkAction("update", index, "missing", {"doc": {"title": "nope"}}),
        BulkAction("delete", index, "3", None),
        BulkAction("delete", index, "never", None),
        BulkAction("update", index, "4", {"doc": {"title": "upserted"}, "doc_as_upsert": True}),
        BulkAction("index", index, "5", {"title": "bad dims", "emb": [1.0, 2.0]}),
        BulkAction("index", index, None, {"title": "auto id"}),
        BulkAction("index", index, "1", {"title": "one again", "emb": [0.6, 0.8, 0.0]}),
    ]
    results = sink.write(actions)
    assert len(results) == len(actions)
    statuses = [r.status for r in results]
    assert statuses == [201, 201, 409, 201, 200, 404, 200, 404, 201, 400, 201, 200]
    assert results[2].error is not None and results[2].error["type"] == "version_conflict_engine_exception"
    assert results[5].error is not None and results[5].error["type"] == "document_missing_exception"
    assert results[7].error is None and results[7].result == "not_found"
    assert results[9].error is not None and "dimension" in json.dumps(results[9].error).lower()
    assert [r.result for r in results if r.error is None][:4] == ["created", "created", "created", "updated"]
    auto_id = results[10].id
    assert auto_id

    sink.refresh(index)
    if target.name == "files":
        assert target.path is not None and (target.path / f"{index}.jsonl").exists()
    assert target.count(index) == 4  # 1, 2, 4 and the auto id; 3 deleted, 5 rejected
    one = target.get(index, "1")
    assert one is not None and one["title"] == "one again" and _close(one["emb"], [0.6, 0.8, 0.0])
    assert "ml" not in one  # an index replaces the whole document
    two = target.get(index, "2")
    assert two is not None and two["nested"] == {"x": 1, "y": 2} and two["extra"] is True
    assert _close(two["emb"], [0.0, 1.0, 0.0])
    assert target.get(index, "3") is None and target.get(index, "5") is None
    assert (target.get(index, "4") or {})["title"] == "upserted"
    assert (target.get(index, str(auto_id)) or {})["title"] == "auto id"


def test_vectors_round_trip(target: Target) -> None:
    sink, index = target.sink, target.index("vec")
    sink.ensure_index(index, HINTS)
    docs = {str(i): {"n": i, "emb": [1.0, i / 10, 0.5], "ml": {"tokens": {"tok": 0.5 + i, "other": 2.0}}}
            for i in range(5)}
    results = sink.write([BulkAction("index", index, i, d) for i, d in docs.items()])
    assert all(r.status == 201 for r in results), results
    sink.refresh(index)
    for doc_id, doc in docs.items():
        got = target.get(index, doc_id)
        assert got is not None and got["n"] == doc["n"]
        assert _close(got["emb"], doc["emb"])
        # rank_features / sparse_vector store weights lossily: compare approximately
        assert set(got["ml"]["tokens"]) == {"tok", "other"}
        assert abs(got["ml"]["tokens"]["tok"] - doc["ml"]["tokens"]["tok"]) < 0.01


def test_one_request_for_several_indices_and_invalid_names(target: Target) -> None:
    sink = target.sink
    a, b = target.index("multi-a"), target.index("multi-b")
    results = sink.write([
        BulkAction("index", a, "1", {"v": 1}),
        BulkAction("index", "Not_Lowercase", "1", {"v": 2}),
        BulkAction("index", b, "1", {"v": 3}),
        BulkAction("index", a, "2", {"v": object()}),  # cannot be serialised: this item fails alone
    ])
    assert [r.status for r in results] == [201, 400, 201, 400]
    assert results[1].error is not None and results[1].error["type"] == "invalid_index_name_exception"
    assert results[3].error is not None and results[3].error["type"] == "document_parsing_exception"
    sink.refresh(a)
    sink.refresh(b)
    assert target.count(a) == 1 and target.count(b) == 1


def test_conflicting_mapping_is_refused(target: Target) -> None:
    sink, index = target.sink, target.index("conflict")
    sink.ensure_index(index, {"emb": FieldHint("dense", 3, "cosine")})
    sink.ensure_index(index, {"emb": FieldHint("dense", 3, "cosine"), "more": FieldHint("dense", 2, "cosine")})
    with pytest.raises(IllegalArgumentException):
        sink.ensure_index(index, {"emb": FieldHint("dense", 4, "cosine")})
    results = sink.write([BulkAction("index", index, "1", {"emb": [1.0, 0.0, 0.0], "more": [0.0, 1.0]})])
    assert results[0].status == 201


def test_load_mode_is_restored(target: Target) -> None:
    sink, index = target.sink, target.index("load")
    sink.ensure_index(index, {})
    if target.url:
        target.http("PUT", f"/{index}/_settings", {"index": {"refresh_interval": "7s"}})
    sink.begin_load(index)
    sink.begin_load(index)  # a job killed mid-load and resumed: the saved originals must survive
    if target.url:
        during = target.settings(index)
        assert during["index.refresh_interval"] == "-1" and during["index.number_of_replicas"] == "0"
    assert sink.write([BulkAction("index", index, "1", {"v": 1})])[0].status == 201
    sink.end_load(index)
    assert target.count(index) == 1
    if target.url:
        after = target.settings(index)
        assert after["index.refresh_interval"] == "7s"
        assert after.get("index.number_of_replicas") == "1"


# (first document, later document, expected status of the later one): Elasticsearch's dynamic mapping
DYNAMIC_MAPPING_CASES = [
    ({"s": "text"}, {"s": 42}, 201), ({"s": "text"}, {"s": True}, 201), ({"n": 1}, {"n": "42"}, 201),
    ({"n": 1}, {"n": 2.7}, 201), ({"n": 1}, {"n": "abc"}, 400), ({"n": 1}, {"n": True}, 400),
    ({"f": 1.5}, {"f": "2.5"}, 201), ({"f": 1.5}, {"f": "N/A"}, 400), ({"b": True}, {"b": "false"}, 201),
    ({"b": True}, {"b": "yes"}, 400), ({"d": "2024-01-02"}, {"d": "2024-01-02T03:04:05Z"}, 201),
    ({"d": "2024-01-02"}, {"d": 1700000000000}, 201), ({"d": "2024-01-02"}, {"d": "soon"}, 400),
    ({"d2": "2015/09/02"}, {"d2": "2015/09/03 10:11:12"}, 201), ({"d2": "2015/09/02"}, {"d2": "x"}, 400),
    ({"o": {"a": 1}}, {"o": "flat"}, 400), ({"t": "x"}, {"t": {"a": 1}}, 400), ({"num": "42"}, {"num": "abc"}, 201),
]


def test_dynamic_mapping_accepts_and_rejects_as_elasticsearch(target: Target) -> None:
    if target.name == "opensearch":
        pytest.skip("Elasticsearch's dynamic mapping is the reference")
    index = target.index("dyn")
    for i, (first, later, expected) in enumerate(DYNAMIC_MAPPING_CASES):
        name = f"{index}-{i}"
        results = target.sink.write([BulkAction("index", name, "a", first), BulkAction("index", name, "b", later)])
        assert results[0].status == 201, (first, results[0].error)
        assert results[1].status == expected, (first, later, results[1].error)
        if expected == 400:
            assert results[1].error is not None
            assert results[1].error["type"] in ("document_parsing_exception", "mapper_parsing_exception")
