"""The document APIs answer as a real Elasticsearch node does: the same calls, through the official client,
against ``ingest serve`` and against the Elasticsearch 9 test node, compared body by body."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch

from ingest.models.api import InferenceAPI

pytestmark = pytest.mark.cluster
_names = itertools.count()


def _without_uuids(value: Any) -> Any:
    """The body without ``index_uuid`` (a real index has one; the embedded store says ``_na_``)."""
    if isinstance(value, dict):
        return {k: _without_uuids(v) for k, v in value.items() if k != "index_uuid"}
    if isinstance(value, list):
        return [_without_uuids(v) for v in value]
    return value


def _answer(call: Callable[[], Any]) -> tuple[int, Any]:
    status, body = _raw_answer(call)
    return status, _without_uuids(body)


def _raw_answer(call: Callable[[], Any]) -> tuple[int, Any]:
    try:
        response = call()
    except ApiError as exc:
        body = exc.body
        if isinstance(body, dict) and isinstance(body.get("error"), dict):  # uuids and node details differ
            error = body["error"]
            body = {"status": body.get("status"), "type": error.get("type"), "reason": error.get("reason")}
        return exc.meta.status, body
    if isinstance(response, dict):
        return 200, response
    if hasattr(response, "meta") and response.meta.status and not isinstance(response.body, bool):
        return response.meta.status, response.body
    return 200, response.body


def _calls(es: Elasticsearch, index: str) -> list[tuple[str, Callable[[], Any]]]:
    return [
        ("index", lambda: es.index(index=index, id="1", document={"n": 1, "t": "a"})),
        ("reindex", lambda: es.index(index=index, id="1", document={"n": 2, "t": "b"}, refresh=True)),
        ("get", lambda: es.get(index=index, id="1")),
        ("get filtered", lambda: es.get(index=index, id="1", source_includes=["t"])),
        ("get missing", lambda: es.get(index=index, id="nope")),
        ("exists", lambda: es.exists(index=index, id="1")),
        ("source", lambda: es.get_source(index=index, id="1")),
        ("create existing", lambda: es.create(index=index, id="1", document={"n": 3})),
        ("stale seq_no", lambda: es.index(index=index, id="1", document={"n": 3}, if_seq_no=0, if_primary_term=1)),
        ("seq_no of a missing doc", lambda: es.index(index=index, id="9", document={}, if_seq_no=0,
                                                     if_primary_term=1)),
        ("good seq_no", lambda: es.index(index=index, id="1", document={"n": 3}, if_seq_no=1, if_primary_term=1)),
        ("update", lambda: es.update(index=index, id="1", doc={"t": "c"})),
        ("noop update", lambda: es.update(index=index, id="1", doc={"t": "c"})),
        ("update missing", lambda: es.update(index=index, id="2", doc={"t": "c"})),
        ("upsert", lambda: es.update(index=index, id="2", doc={"t": "u"}, doc_as_upsert=True)),
        ("external", lambda: es.index(index=index, id="3", document={}, version=7, version_type="external")),
        ("external too old", lambda: es.index(index=index, id="3", document={}, version=7, version_type="external")),
        ("internal version", lambda: es.index(index=index, id="3", document={}, version=7)),
        ("mget", lambda: es.mget(index=index, ids=["1", "nope"])),
        ("delete", lambda: es.delete(index=index, id="2")),
        ("delete again", lambda: es.delete(index=index, id="2")),
        ("get after delete", lambda: es.get(index=index, id="2")),
        ("index after delete", lambda: es.index(index=index, id="2", document={"t": "again"})),
        ("update with _source", lambda: es.update(index=index, id="2", doc={"u": 1}, source_includes=["u"])),
        ("mget docs", lambda: es.mget(docs=[{"_index": index, "_id": "2", "_source": ["t"]},
                                            {"_index": f"{index}-missing", "_id": "1"}])),
        ("mget without index", lambda: es.mget(docs=[{"_id": "1"}])),
        ("get from a missing index", lambda: es.get(index=f"{index}-missing", id="1")),
        ("delete from a missing index", lambda: es.delete(index=f"{index}-missing", id="1")),
        ("bulk", lambda: es.bulk(operations=[
            {"index": {"_index": index, "_id": "b1"}}, {"n": 1},
            {"create": {"_index": index, "_id": "b1"}}, {"n": 2},
            {"update": {"_index": index, "_id": "b1"}}, {"doc": {"n": 3}},
            {"delete": {"_index": index, "_id": "b1"}},
            {"delete": {"_index": index, "_id": "b1"}},
            {"index": {"_index": index, "_id": "b2", "if_seq_no": 99, "if_primary_term": 1}}, {"n": 1}])
         .body | {"took": 0}),
    ]


def test_document_api_bodies_match_elasticsearch(live_server: tuple[str, InferenceAPI], elasticsearch9_url: str
                                                 ) -> None:
    ours, theirs = Elasticsearch(live_server[0], request_timeout=60), Elasticsearch(elasticsearch9_url, request_timeout=60)
    index = f"docapi-{next(_names)}"
    for es in (ours, theirs):
        es.indices.create(index=index, settings={"number_of_shards": 1, "number_of_replicas": 0})
    differences = []
    for (name, mine), (_, real) in zip(_calls(ours, index), _calls(theirs, index), strict=True):
        got, expected = _answer(mine), _answer(real)
        if got != expected:
            differences.append((name, got, expected))
    assert differences == [], json.dumps(differences, indent=1)
