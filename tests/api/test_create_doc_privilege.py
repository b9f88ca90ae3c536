"""``create_doc`` as Elasticsearch grants it (its CreateDocsIndexPrivilegeTests): new documents only, per request and
per ``_bulk`` item; overwriting, updating or deleting needs more."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.models.api import InferenceAPI
from ingest.server.app import create_app
from ingest.server.security.keys import create_role_key


@pytest.fixture()
def clients(ingest_home: Path) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    api = InferenceAPI()
    api.store.put_setting("security.enabled", "true")
    api.store.put_role("appender", '{"indices": [{"names": ["logs"], "privileges": ["create_doc"]}]}')
    api.store.put_role("admin", '{"cluster": ["all"], "indices": [{"names": ["*"], "privileges": ["all"]}]}')
    appender = create_role_key(api.store, "k-appender", "appender")
    admin = create_role_key(api.store, "k-admin", "admin")
    with TestClient(create_app(api)) as client:
        yield (client, {"Authorization": f"ApiKey {appender.encoded}"},
               {"Authorization": f"ApiKey {admin.encoded}"})
    api.close()


def _reason(r: Any) -> str:
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["type"] == "security_exception"
    return str(error["reason"])


def test_create_doc_creates_new_documents(clients: tuple[TestClient, dict[str, str], dict[str, str]]) -> None:
    client, appender, admin = clients
    assert client.put("/logs", headers=admin).status_code == 200
    r = client.post("/logs/_doc", json={"n": 1}, headers=appender)  # a generated id is a create
    assert r.status_code == 201 and r.json()["result"] == "created", r.text
    generated = r.json()["_id"]
    for method in ("PUT", "POST"):
        r = client.request(method, f"/logs/_doc/{method}?op_type=create", json={"n": 2}, headers=appender)
        assert r.status_code == 201, r.text
        r = client.request(method, f"/logs/_create/c-{method}", json={"n": 3}, headers=appender)
        assert r.status_code == 201, r.text
    # a create of an existing id is Elasticsearch's 409, not a 403: the privilege allowed the attempt
    assert client.put("/logs/_create/c-PUT", json={"n": 4}, headers=appender).status_code == 409
    ids = [generated, "PUT", "POST", "c-PUT", "c-POST"]
    found = client.post("/logs/_mget", json={"ids": ids}, headers=admin).json()["docs"]
    assert all(d["found"] for d in found)


def test_create_doc_cannot_overwrite_update_or_delete(
        clients: tuple[TestClient, dict[str, str], dict[str, str]]) -> None:
    client, appender, admin = clients
    assert client.put("/logs/_doc/1", json={"n": 1}, headers=admin).status_code == 201
    for method in ("PUT", "POST"):
        reason = _reason(client.request(method, "/logs/_doc/1", json={"n": 2}, headers=appender))
        assert "action [indices:data/write/index]" in reason and "on indices [logs]" in reason
    # an explicit op_type=index with a generated id is an index operation too
    assert "action [indices:data/write/index]" in _reason(
        client.post("/logs/_doc?op_type=index", json={"n": 2}, headers=appender))
    assert "indices:data/write/update" in _reason(
        client.post("/logs/_update/1", json={"doc": {"n": 2}, "doc_as_upsert": True}, headers=appender))
    assert "indices:data/write/delete" in _reason(client.delete("/logs/_doc/1", headers=appender))
    # other indices stay closed, creates included
    assert "on indices [other]" in _reason(client.post("/other/_doc", json={"n": 1}, headers=appender))
    assert client.get("/logs/_doc/1", headers=admin).json()["_source"] == {"n": 1}


def test_create_doc_per_bulk_item(clients: tuple[TestClient, dict[str, str], dict[str, str]]) -> None:
    client, appender, admin = clients
    assert client.put("/logs/_doc/old", json={"n": 0}, headers=admin).status_code == 201
    lines = [{"create": {"_index": "logs", "_id": "a"}}, {"n": 1},
             {"create": {"_index": "logs"}}, {"n": 2},
             {"index": {"_index": "logs", "_id": "b"}}, {"n": 3},
             {"index": {"_index": "logs"}}, {"n": 4},
             {"update": {"_index": "logs", "_id": "old"}}, {"doc": {"n": 5}},
             {"delete": {"_index": "logs", "_id": "old"}},
             {"create": {"_index": "other", "_id": "c"}}, {"n": 6}]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    r = client.post("/_bulk", content=body, headers={**appender, "Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    statuses = [next(iter(item.values()))["status"] for item in r.json()["items"]]
    # Bulk's index action needs the index privilege even without an id (Elasticsearch's bulk API docs)
    assert statuses == [201, 201, 403, 403, 403, 403, 403]
    assert r.json()["errors"] is True
    assert client.get("/logs/_doc/old", headers=admin).json()["_source"] == {"n": 0}
