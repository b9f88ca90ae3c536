"""The REST dialect and security, in-process (TestClient): headers, media types, error envelopes, auth."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.models.api import InferenceAPI
from ingest.server.app import create_app
from ingest.server.security import check_bind
from ingest.server.security.keys import create_role_key, put_user

COMPAT9 = "application/vnd.elasticsearch+json; compatible-with=9"
JSON = {"Content-Type": "application/json"}


@pytest.fixture()
def api(ingest_home: Path) -> Iterator[InferenceAPI]:
    api = InferenceAPI()
    yield api
    api.close()


@pytest.fixture()
def client(api: InferenceAPI) -> TestClient:
    return TestClient(create_app(api, max_body_bytes=10_000))


def _is_envelope(body: dict, status: int, error_type: str) -> None:
    assert body["status"] == status
    assert body["error"]["type"] == error_type
    assert body["error"]["root_cause"][0]["type"] == error_type
    assert body["error"]["reason"]


def test_info_headers_and_compat_media_type(client: TestClient) -> None:
    r = client.get("/", headers={"Accept": COMPAT9})
    assert r.status_code == 200
    assert r.headers["x-elastic-product"] == "Elasticsearch"
    assert r.headers["content-type"] == "application/vnd.elasticsearch+json;compatible-with=9"
    assert r.json()["version"]["number"].startswith("9.")
    assert r.json()["tagline"] == "You Know, for Search"
    r = client.get("/", headers={"Accept": "application/vnd.elasticsearch+json; compatible-with=7"})
    _is_envelope(r.json(), 400, "media_type_header_exception")
    assert r.headers["x-elastic-product"] == "Elasticsearch"


def test_errors_use_the_envelope(client: TestClient) -> None:
    r = client.get("/_nothing/here/at/all")  # Elasticsearch's flat body for an unknown path
    assert r.status_code == 400
    assert r.json() == {"error": "no handler found for uri [/_nothing/here/at/all] and method [GET]", "status": 400}
    r = client.patch("/_inference/x")
    assert r.status_code == 405
    assert r.headers["allow"] == "DELETE,GET,POST,PUT"
    assert r.json() == {"error": "Incorrect HTTP method for uri [/_inference/x] and method [PATCH], "
                                 "allowed: [DELETE, GET, POST, PUT]", "status": 405}
    r = client.put("/_inference/x", content=b'{"service": ', headers=JSON)
    _is_envelope(r.json(), 400, "x_content_parse_exception")
    r = client.put("/_inference/x", content=b"")
    _is_envelope(r.json(), 400, "parse_exception")
    r = client.put("/_inference/x", content=json.dumps({"service": "x" * 20_000}), headers=JSON)
    assert r.status_code == 413
    _is_envelope(r.json(), 413, "content_too_long_exception")
    r = client.get("/_inference?colour=red")
    _is_envelope(r.json(), 400, "illegal_argument_exception")
    assert r.json()["error"]["reason"] == "request [/_inference] contains unrecognized parameter: [colour]"
    r = client.get("/_inference/ghost")
    _is_envelope(r.json(), 404, "resource_not_found_exception")
    r = client.delete("/_inference/ghost?force=maybe")
    _is_envelope(r.json(), 400, "illegal_argument_exception")
    r = client.put("/_inference/x?timeout=soon", json={"service": "elasticsearch"})
    _is_envelope(r.json(), 400, "illegal_argument_exception")
    r = client.post("/_inference/.elser-2-elasticsearch", json={"input": 3})
    _is_envelope(r.json(), 400, "action_request_validation_exception")


def test_pretty_and_error_trace(client: TestClient) -> None:
    r = client.get("/_inference/ghost?pretty&error_trace=true")
    assert r.text.startswith("{\n  ")
    assert "Traceback" in r.json()["error"]["stack_trace"]
    assert "stack_trace" not in client.get("/_inference/ghost").json()["error"]


def test_openapi_document_lists_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert "/_inference/{task_type}/{inference_id}" in paths
    assert "/_ml/trained_models/{model_id}/_stats" in paths


def test_security_api_keys_and_roles(api: InferenceAPI, client: TestClient) -> None:
    api.store.put_setting("security.enabled", "true")
    admin = create_role_key(api.store, "admin", "inference_admin")
    user = create_role_key(api.store, "user", "inference_user")
    root = create_role_key(api.store, "root", "superuser")
    r = client.get("/_inference")
    assert r.status_code == 401
    _is_envelope(r.json(), 401, "security_exception")
    assert "ApiKey" in r.headers["www-authenticate"]
    assert r.json()["error"]["reason"] == "missing authentication credentials for REST request [/_inference]"
    bad = base64.b64encode(f"{admin.id}:wrong".encode()).decode()
    assert client.get("/_inference", headers={"Authorization": f"ApiKey {bad}"}).status_code == 401
    ok = client.get("/_inference", headers={"Authorization": f"ApiKey {user.encoded}"})
    assert ok.status_code == 200
    r = client.put("/_inference/x", headers={"Authorization": f"ApiKey {user.encoded}"}, json={"service": "x"})
    assert r.status_code == 403
    _is_envelope(r.json(), 403, "security_exception")
    assert "cluster:admin/xpack/inference/put" in r.json()["error"]["reason"]
    assert "manage_inference" in r.json()["error"]["reason"]
    r = client.put("/_inference/x", headers={"Authorization": f"ApiKey {admin.encoded}"}, json={"service": "x"})
    assert r.status_code == 400  # authorised; then the unknown service is reported
    me = client.get("/_security/_authenticate", headers={"Authorization": f"ApiKey {admin.encoded}"}).json()
    assert me["api_key"] == {"id": admin.id, "name": "admin"} and me["authentication_type"] == "api_key"
    # revoke the user key: it stops working
    r = client.request("DELETE", "/_security/api_key", headers={"Authorization": f"ApiKey {root.encoded}"},
                       json={"ids": [user.id]})
    assert r.json()["invalidated_api_keys"] == [user.id]
    assert client.get("/_inference", headers={"Authorization": f"ApiKey {user.encoded}"}).status_code == 401
    # keys are stored hashed
    raw = api.store.path.read_bytes()
    assert admin.api_key.encode() not in raw


def test_basic_auth(api: InferenceAPI, client: TestClient) -> None:
    api.store.put_setting("security.enabled", "true")
    put_user(api.store, "alice", "s3cret-pw", "inference_user")
    good = base64.b64encode(b"alice:s3cret-pw").decode()
    bad = base64.b64encode(b"alice:nope").decode()
    assert client.get("/_inference", headers={"Authorization": f"Basic {good}"}).status_code == 200
    r = client.get("/_inference", headers={"Authorization": f"Basic {bad}"})
    assert r.status_code == 401
    assert r.json()["error"]["reason"] == "unable to authenticate user [alice] for REST request [/_inference]"
    assert client.delete("/_inference/x", headers={"Authorization": f"Basic {good}"}).status_code == 403


def test_non_loopback_bind_refused_without_security(api: InferenceAPI) -> None:
    check_bind("127.0.0.1", api.store)
    check_bind("::1", api.store)
    create_role_key(api.store, "k", "inference_admin")  # keys alone do not enable security any more
    with pytest.raises(SystemExit, match="ingest security enable"):
        check_bind("0.0.0.0", api.store)
    api.store.put_setting("security.enabled", "true")
    check_bind("0.0.0.0", api.store)


def test_stream_errors_before_the_stream_are_plain_json(client: TestClient) -> None:
    r = client.post("/_inference/sparse_embedding/.elser-2-elasticsearch/_stream", json={"input": "hi"})
    _is_envelope(r.json(), 400, "status_exception")
    assert r.json()["error"]["reason"] == (
        "Streaming is not allowed for service [elasticsearch] and task [sparse_embedding]")
    r = client.post("/_inference/completion/ghost/_stream", json={"input": "hi"})
    _is_envelope(r.json(), 404, "resource_not_found_exception")


def test_put_task_type_in_the_body_or_path_as_elasticsearch(client: TestClient) -> None:
    """ServiceUtils.resolveTaskType: the body's ``task_type`` is read (not an unknown field), checked with
    TaskType.fromStringOrStatusException, and must agree with the path's."""
    body = {"service": "elasticsearch", "service_settings": {"model_id": ".multilingual-e5-small",
                                                             "num_allocations": 1, "num_threads": 1}}
    r = client.put("/_inference/x", json={**body, "task_type": "bad"})
    assert r.status_code == 400
    _is_envelope(r.json(), 400, "status_exception")
    assert r.json()["error"]["reason"] == "Unknown task_type [bad]"
    r = client.put("/_inference/bad/x", json=body)
    assert (r.status_code, r.json()["error"]["reason"]) == (400, "Unknown task_type [bad]")
    r = client.put("/_inference/sparse_embedding/x", json={**body, "task_type": "text_embedding"})
    assert r.status_code == 400
    assert r.json()["error"]["reason"] == ("Cannot resolve conflicting task_type parameter in the request URL "
                                           "[sparse_embedding] and the request body [text_embedding]")
    # a valid body task type is taken: completion is not a task of the local service, so this is the next check
    r = client.put("/_inference/x", json={**body, "task_type": "completion"})
    assert r.json()["error"]["reason"] == "The [elasticsearch] service does not support task type [completion]"
