"""``_bulk`` and friends over HTTP on the embedded store, answered as Elasticsearch does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.context import AppContext
from ingest.models.api import InferenceAPI
from ingest.models.errors import ElasticsearchError
from ingest.models.store import Store
from ingest.server.destination import Destination
from ingest.server.dialect import error_response
from ingest.server.routes import bulk, documents, indices, search
from ingest.server.security import Authenticator
from ingest.server.security.middleware import install


def _ndjson(*objs: dict) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


@pytest.fixture()
def client(ingest_home: Path) -> Iterator[TestClient]:
    app = FastAPI()
    app.include_router(documents.router)  # GET _doc
    app.include_router(bulk.router)
    app.include_router(search.router)  # _count
    app.include_router(indices.router)  # PUT /{index}; its errors reach the client through create_app's handler
    app.add_exception_handler(ElasticsearchError, error_response)  # type: ignore[arg-type]

    @app.get("/_probe/_count")  # registered after the catch-all routes: must still be reachable
    def probe() -> dict:
        return {"probe": True}

    app.state.destination = Destination(AppContext(api=InferenceAPI()))
    app.state.context = app.state.destination.context
    install(app, Authenticator(Store()))
    with TestClient(app) as c:
        yield c
    app.state.destination.close()


def test_bulk_index_create_update_delete_and_read_back(client: TestClient) -> None:
    body = _ndjson(
        {"index": {"_index": "books", "_id": "1"}}, {"title": "Dune", "year": 1965},
        {"create": {"_index": "books", "_id": "2"}}, {"title": "Emma"},
        {"create": {"_index": "books", "_id": "1"}}, {"title": "dup"},
        {"update": {"_index": "books", "_id": "2"}}, {"doc": {"year": 1815}},
        {"delete": {"_index": "books", "_id": "404"}},
    )
    resp = client.post("/_bulk", content=body, headers={"content-type": "application/x-ndjson"})
    assert resp.status_code == 200
    out = resp.json()
    assert out["errors"] is True and isinstance(out["took"], int)
    statuses = [next(iter(item.items())) for item in out["items"]]
    assert [(op, it["status"]) for op, it in statuses] == [
        ("index", 201), ("create", 201), ("create", 409), ("update", 200), ("delete", 404)]
    assert statuses[2][1]["error"]["type"] == "version_conflict_engine_exception"
    doc = client.get("/books/_doc/2").json()
    assert doc["found"] is True and doc["_source"] == {"title": "Emma", "year": 1815}
    missing = client.get("/books/_doc/nope")
    assert missing.status_code == 404 and missing.json() == {"_index": "books", "_id": "nope", "found": False}
    assert client.get("/books/_count").json()["count"] == 2


def test_index_scoped_bulk_and_malformed_requests(client: TestClient) -> None:
    ok = client.post("/logs/_bulk", content=_ndjson({"index": {}}, {"msg": "a"}, {"index": {"_id": "x"}}, {"msg": "b"}))
    items = ok.json()["items"]
    assert ok.json()["errors"] is False and items[1]["index"]["_id"] == "x" and items[0]["index"]["_id"]
    assert client.get("/logs/_count").json()["count"] == 2
    bad = client.post("/_bulk", content=_ndjson({"explode": {"_index": "logs"}}, {"a": 1}))
    assert bad.status_code == 400
    assert bad.json()["error"]["type"] == "illegal_argument_exception"
    assert "expected field [create], [delete], [index] or [update] but found [explode]" in bad.json()["error"]["reason"]
    no_newline = client.post("/_bulk", content=b'{"index": {"_index": "logs"}}\n{"a": 1}')
    assert no_newline.status_code == 400 and "terminated by a newline" in no_newline.json()["error"]["reason"]
    empty = client.post("/_bulk", content=b"")
    assert empty.status_code == 400 and empty.json()["error"]["type"] == "action_request_validation_exception"
    no_index = client.post("/_bulk", content=_ndjson({"index": {}}, {"a": 1})).json()
    assert no_index["errors"] and no_index["items"][0]["index"]["status"] == 400


def test_index_names_are_validated_and_underscore_paths_not_shadowed(client: TestClient) -> None:
    assert client.get("/_probe/_count").json() == {"probe": True}
    upper = client.put("/Books", json={})
    assert upper.status_code == 400 and upper.json()["error"]["type"] == "invalid_index_name_exception"
    assert "must be lowercase" in upper.json()["error"]["reason"]
    # "_books" is never an index route; the full app answers with the invalid name (tests/api/test_routing.py)
    assert client.put("/_books", json={}).status_code == 404
    assert client.put("/books", json={"settings": {"number_of_shards": 1}}).json() == {
        "acknowledged": True, "shards_acknowledged": True, "index": "books"}
    again = client.put("/books", json={})
    assert again.status_code == 400 and again.json()["error"]["type"] == "resource_already_exists_exception"
    gone = client.get("/nothing-here/_count")
    assert gone.status_code == 404 and gone.json()["error"]["type"] == "index_not_found_exception"


def test_documents_of_one_pipeline_batch_keep_fields_the_first_one_lacks(client: TestClient) -> None:
    """Arrow takes a batch's columns from its first row: a field only later documents have was silently
    dropped (top level), and nested keys of other documents came back as nulls."""
    from ingest.models.api import InferenceAPI
    from ingest.models.store import Store
    from ingest.processors import PipelineService

    PipelineService(Store(), InferenceAPI()).put("tag", {"processors": [{"set": {"field": "tag", "value": "t"}}]})
    body = _ndjson({"index": {"_index": "mixed", "_id": "1"}}, {"a": 1, "obj": {"x": 1}},
                   {"index": {"_index": "mixed", "_id": "2"}}, {"b": 2, "obj": {"y": 2}})
    out = client.post("/_bulk?pipeline=tag", content=body).json()
    assert out["errors"] is False
    assert client.get("/mixed/_doc/1").json()["_source"] == {"a": 1, "obj": {"x": 1}, "tag": "t"}
    assert client.get("/mixed/_doc/2").json()["_source"] == {"b": 2, "obj": {"y": 2}, "tag": "t"}


def test_bulk_timeout_parameter_is_an_elasticsearch_time_value(client: TestClient) -> None:
    from ingest.server.routes.bulk import parse_timeout

    assert [parse_timeout(v) for v in (None, "30s", "1m", "500ms", "0", "-1")] == [60.0, 30.0, 60.0, 0.5, 0.0, 86400.0]
    bad = client.post("/_bulk?timeout=soon", content=_ndjson({"index": {"_index": "t"}}, {"a": 1}))
    assert bad.status_code == 400 and "failed to parse setting [timeout] with value [soon]" in bad.json()["error"]["reason"]
