"""Every route declares its privilege, and every route × role answers 401 / 403 / authorised accordingly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.models.api import InferenceAPI
from ingest.server.app import create_app
from ingest.server.security.declare import Requirement, api_routes, declaration, undeclared
from ingest.server.security.keys import create_role_key, key_permission
from ingest.server.security.roles import RESERVED

SAMPLE = {"task_type": "text_embedding", "inference_id": "ghost", "model_id": "ghost", "pipeline_id": "ghost",
          "index": "docs", "doc_id": "1", "name": "ghost-role", "username": "ghost-user",
          "node_id": "_local", "metric": "http", "deployment_id": "ghost", "_all": "", "target": "ingest"}
# Bodies that keep the request inside the caller's own keys (manage_own_api_key must be enough for them).
BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/_security/api_key"): {"name": "k"}, ("PUT", "/_security/api_key"): {"name": "k"},
    ("DELETE", "/_security/api_key"): {"owner": True, "name": "no-such-key"},
}
QUERIES = {("GET", "/_security/api_key"): "?owner=true"}
ROLES = [*RESERVED, "docs_reader", "nothing"]


@pytest.fixture()
def setup(ingest_home: Path) -> Iterator[tuple[TestClient, InferenceAPI, dict[str, Any]]]:
    api = InferenceAPI()
    api.store.put_setting("security.enabled", "true")
    api.store.put_role("docs_reader", '{"cluster": ["manage_own_api_key"], "indices": '
                                      '[{"names": ["docs*"], "privileges": ["read"]}]}')
    api.store.put_role("nothing", "{}")
    keys = {role: create_role_key(api.store, f"key-{role}", role) for role in ROLES}
    with TestClient(create_app(api)) as client:
        yield client, api, keys
    api.close()


def _path(template: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLE[m.group(1)], template)


def _cases(app: FastAPI) -> list[tuple[str, str, Requirement]]:
    out = []
    for route in api_routes(app.routes):
        need = declaration(route)
        assert need is not None
        out += [(method, route.path, need) for method in sorted(route.methods or ())]
    return out


def test_every_route_declares_a_privilege(ingest_home: Path) -> None:
    api = InferenceAPI()
    app = create_app(api)
    assert undeclared(app.routes) == []
    assert len(_cases(app)) >= 45

    @app.get("/_undeclared")
    async def undeclared_route() -> dict[str, str]:
        return {}

    assert undeclared(app.routes) == ["GET /_undeclared"]
    api.close()


def test_create_app_refuses_an_undeclared_route(ingest_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.server.routes import ml

    @ml.router.get("/_ml/undeclared")
    async def sneaky() -> dict[str, str]:
        return {}

    try:
        with pytest.raises(RuntimeError, match=r"GET /_ml/undeclared"):
            create_app(InferenceAPI())
    finally:
        ml.router.routes.pop()


def _expected(need: Requirement, role_key: Any, api: InferenceAPI, action: str) -> bool:
    record = api.store.get_api_key(role_key.id)
    assert record is not None
    permission = key_permission(record)
    if need.kind in ("cluster", "api_keys", "own_user"):  # own_user: a key is never "the user itself"
        return permission.cluster(need.action)
    if need.kind == "index":
        return permission.index(action, SAMPLE[need.param or "index"])
    # authenticated / bulk (items are checked one by one): allowed; local: the home's own CLI only (its local
    # token), never an API key, not even a superuser's
    return need.kind != "local"


def test_route_by_role_matrix(setup: tuple[TestClient, InferenceAPI, dict[str, Any]]) -> None:
    client, api, keys = setup
    checked = 0
    for method, template, need in _cases(client.app):  # type: ignore[arg-type]
        path = _path(template) + QUERIES.get((method, template), "")
        body = BODIES.get((method, template), {} if method in ("POST", "PUT", "DELETE") else None)
        anon = client.request(method, path, json=body)
        assert anon.status_code == 401, (method, path, anon.text)
        for role, key in keys.items():
            r = client.request(method, path, json=body, headers={"Authorization": f"ApiKey {key.encoded}"})
            action = need.action_for({}, {"doc_id": "1"} if "{doc_id}" in template else {})
            allowed = _expected(need, key, api, action)
            if allowed:
                assert r.status_code not in (401, 403), (role, method, path, r.status_code, r.text)
            else:
                assert r.status_code == 403, (role, method, path, r.status_code, r.text)
                if method != "HEAD":
                    error = r.json()["error"]
                    assert error["type"] == "security_exception" and f"action [{action}]" in error["reason"]
            checked += 1
    assert checked >= 45 * len(ROLES)
    # FastAPI's own documents (not API routes) still need credentials, and unknown paths answer 401 before 404
    for path in ("/openapi.json", "/docs", "/no/such/path"):
        assert client.get(path).status_code == 401, path


# Hand-written expectations for the built-in roles, independent of the declarations above.
SPOT = [
    ("inference_user", "POST", "/_inference/ghost", True),
    ("inference_user", "GET", "/_inference", True),
    ("inference_user", "PUT", "/_inference/ghost", False),
    ("inference_user", "POST", "/_security/api_key", False),
    ("inference_user", "GET", "/_ml/trained_models/_stats", False),
    ("inference_admin", "PUT", "/_inference/ghost", True),
    ("inference_admin", "DELETE", "/_inference/ghost", True),
    ("inference_admin", "PUT", "/_ingest/pipeline/ghost", False),
    ("ingest_admin", "POST", "/_ingest/pipeline/ghost", True),
    ("ingest_admin", "POST", "/_inference/ghost", False),
    ("viewer", "GET", "/docs/_count", True),
    ("viewer", "POST", "/docs/_search", True),
    ("docs_reader", "POST", "/docs/_search", True),
    ("docs_reader", "POST", "/other/_search", False),
    ("docs_reader", "POST", "/other/_pit?keep_alive=1m", False),
    ("viewer", "PUT", "/docs", False),
    ("editor", "GET", "/_ingest/pipeline", False),
    ("superuser", "PUT", "/_security/role/ghost-role", True),
    ("docs_reader", "GET", "/docs/_doc/1", True),
    ("docs_reader", "GET", "/other/_doc/1", False),
    ("ingest_admin", "PUT", "/_index_template/ghost", True),
    ("ingest_admin", "DELETE", "/_component_template/ghost", True),
    ("ingest_admin", "GET", "/_license", False),
    ("inference_admin", "PUT", "/_index_template/ghost", False),
    ("viewer", "GET", "/_nodes", False),
    ("superuser", "GET", "/_cluster/health", True),
    ("superuser", "GET", "/_xpack", True),
    ("viewer", "GET", "/docs/_source/1", True),
    ("viewer", "PUT", "/docs/_doc/1", False),
    ("viewer", "POST", "/docs/_update/1", False),
    ("superuser", "PUT", "/docs/_create/1", True),
    ("docs_reader", "POST", "/docs/_mget", True),
    ("docs_reader", "DELETE", "/docs/_doc/1", False),
    ("docs_reader", "POST", "/docs/_delete_by_query", False),
    ("editor", "POST", "/docs/_update_by_query", False),
    ("superuser", "POST", "/_ingest_local/arrow_bulk", False),
    ("superuser", "POST", "/_ingest_local/job", False),
    ("superuser", "POST", "/_ingest_local/job/stream", False),
    ("superuser", "POST", "/_ingest_local/job/stop", False),
]


@pytest.mark.parametrize(("role", "method", "path", "allowed"), SPOT)
def test_builtin_roles_as_elasticsearch_defines_them(setup: tuple[TestClient, InferenceAPI, dict[str, Any]],
                                                     role: str, method: str, path: str, allowed: bool) -> None:
    client, _, keys = setup
    body: dict[str, Any] | None = {} if method in ("POST", "PUT") else None
    r = client.request(method, path, json=body, headers={"Authorization": f"ApiKey {keys[role].encoded}"})
    assert (r.status_code != 403) == allowed, r.text


def test_mget_and_by_query_check_every_index(setup: tuple[TestClient, InferenceAPI, dict[str, Any]]) -> None:
    client, _, keys = setup
    admin = {"Authorization": f"ApiKey {keys['superuser'].encoded}"}
    reader = {"Authorization": f"ApiKey {keys['docs_reader'].encoded}"}
    for index in ("docs", "other"):
        assert client.put(f"/{index}/_doc/1", json={"n": 1}, headers=admin).status_code == 201
    r = client.post("/_mget", json={"docs": [{"_index": "docs", "_id": "1"}, {"_index": "other", "_id": "1"}]},
                    headers=reader)
    assert r.status_code == 200, r.text
    first, second = r.json()["docs"]
    assert first["found"] is True and first["_source"] == {"n": 1}
    assert second["error"]["type"] == "security_exception" and "on indices [other]" in second["error"]["reason"]
    # the delete half of _delete_by_query is granted, the search half (read) is not
    api_store = setup[1].store
    api_store.put_role("docs_deleter", '{"indices": [{"names": ["other"], "privileges": ["delete"]}]}')
    deleter = create_role_key(api_store, "key-deleter", "docs_deleter")
    r = client.post("/other/_delete_by_query", json={"query": {"match_all": {}}},
                    headers={"Authorization": f"ApiKey {deleter.encoded}"})
    assert r.status_code == 403 and "indices:data/read/search" in r.json()["error"]["reason"]
    assert client.get("/other/_doc/1", headers=admin).json()["found"] is True
