"""Elasticsearch's answers for unknown paths (400) and wrong methods (405), over raw HTTP to a real server."""

from __future__ import annotations

import httpx
import pytest

from ingest.models.api import InferenceAPI


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/_mtermvectors"), ("POST", "/_reindex"), ("GET", "/_nodes/hot_threads"), ("GET", "/_nothing/here/at/all"),
    ("DELETE", "/_snapshot/repo"),
])
def test_unknown_path_is_400_no_handler(live_server: tuple[str, InferenceAPI], method: str, path: str) -> None:
    url, _ = live_server
    r = httpx.request(method, url + path, timeout=30)
    assert r.status_code == 400, r.text
    assert r.json() == {"error": f"no handler found for uri [{path}] and method [{method}]", "status": 400}
    assert r.headers["x-elastic-product"] == "Elasticsearch"


def test_uri_in_the_message_keeps_the_query_string(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    r = httpx.post(f"{url}/_reindex?wait_for_completion=false", timeout=30)
    assert r.json()["error"] == "no handler found for uri [/_reindex?wait_for_completion=false] and method [POST]"


@pytest.mark.parametrize(("method", "path", "allowed"), [
    ("PUT", "/_nodes", ["GET"]),               # no longer "allowed: [PUT]" from the index-creation route
    ("POST", "/_license", ["GET"]),
    ("PATCH", "/_index_template/t", ["DELETE", "GET", "HEAD", "POST", "PUT"]),
    ("DELETE", "/_cluster/health", ["GET"]),
    ("POST", "/_nodes/stats/ingest", ["GET"]),
])
def test_known_path_wrong_method_is_405(live_server: tuple[str, InferenceAPI], method: str, path: str,
                                        allowed: list[str]) -> None:
    url, _ = live_server
    r = httpx.request(method, url + path, timeout=30)
    assert r.status_code == 405, r.text
    assert r.json() == {"error": f"Incorrect HTTP method for uri [{path}] and method [{method}], "
                                 f"allowed: [{', '.join(allowed)}]", "status": 405}
    assert r.headers["allow"] == ",".join(allowed)


def test_underscore_names_are_never_indices(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    r = httpx.put(f"{url}/_books", json={}, timeout=30)  # Elasticsearch routes this to index creation, and refuses
    assert r.status_code == 400
    assert r.json()["error"]["type"] == "invalid_index_name_exception"
    assert r.json()["error"]["reason"] == "Invalid index name [_books], must not start with '_', '-', or '+'"
    r = httpx.post(f"{url}/_books", json={}, timeout=30)
    assert r.json() == {"error": "no handler found for uri [/_books] and method [POST]", "status": 400}
    assert httpx.put(f"{url}/books", json={}, timeout=30).json()["acknowledged"] is True


def test_head_on_unknown_path_has_no_body(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    r = httpx.head(f"{url}/_nothing", timeout=30)
    assert r.status_code == 400 and r.content == b""


def test_trailing_slash_is_the_same_path(live_server: tuple[str, InferenceAPI]) -> None:
    """``/t1/_doc/`` is ``/t1/_doc`` as in Elasticsearch (its path trie drops a trailing slash): answered, never
    a 307 redirect that clients do not follow; unknown paths keep Elasticsearch's 400."""
    url, _ = live_server
    with httpx.Client(base_url=url, timeout=30, follow_redirects=False) as http:
        created = http.post("/slash/_doc/", json={"a": 1})
        assert created.status_code == 201 and created.json()["result"] == "created"
        assert http.put("/slash/_doc/x/", json={"a": 2}).status_code == 201
        got = http.get("/slash/_doc/x/")
        assert got.status_code == 200 and got.json()["_source"] == {"a": 2}
        assert http.post("/slash/_refresh/").status_code == 200
        assert http.get("/slash/_count/").json()["count"] == 2
        assert http.get("/").status_code == 200
        missing = http.post("/_nothing_here/")
        assert missing.status_code == 400 and missing.json()["error"].startswith("no handler found for uri [/_nothing_here")
