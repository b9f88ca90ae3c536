"""``set_security_user`` over real HTTP: the server hands the authenticated caller (basic auth or an API key) to
``_simulate`` and to ``_bulk`` pipelines, in the shape Elasticsearch's SetSecurityUserProcessor writes."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.server.security.keys import put_user
from tests.servers import serve

PIPELINE = {"processors": [{"set_security_user": {"field": "user"}}]}
ALICE = {"username": "alice", "roles": ["superuser"], "full_name": "Alice Liddell", "email": "alice@example.com",
         "metadata": {"team": "search"}, "realm": {"name": "default_native", "type": "native"},
         "authentication_type": "REALM"}


@pytest.fixture()
def server(ingest_home: Path) -> Iterator[tuple[str, object]]:
    from ingest.models.api import InferenceAPI
    from ingest.server.app import create_app

    api = InferenceAPI()
    try:
        with serve(create_app(api)) as url:
            yield url, api
    finally:
        api.close()


def _simulate(url: str, auth: dict[str, str]) -> dict:
    r = httpx.post(f"{url}/_ingest/pipeline/_simulate", headers=auth, timeout=30,
                   json={"pipeline": PIPELINE, "docs": [{"_source": {"message": "hi"}}]})
    assert r.status_code == 200, r.text
    return r.json()["docs"][0]


def test_basic_auth_and_api_key_users_reach_simulate_and_bulk(server: tuple[str, object]) -> None:
    url, api = server
    api.store.put_setting("security.enabled", "true")  # type: ignore[attr-defined]
    put_user(api.store, "alice", "wonderland-pw", "superuser",  # type: ignore[attr-defined]
             {"full_name": "Alice Liddell", "email": "alice@example.com", "metadata": {"team": "search"}})
    basic = {"Authorization": "Basic " + base64.b64encode(b"alice:wonderland-pw").decode()}
    assert _simulate(url, basic)["doc"]["_source"] == {"message": "hi", "user": ALICE}

    r = httpx.post(f"{url}/_security/api_key", headers=basic, timeout=30,
                   json={"name": "shipper", "metadata": {"env": "prod"}})
    assert r.status_code == 200, r.text
    key = r.json()
    by_key = {"Authorization": f"ApiKey {key['encoded']}"}
    expected_key_user = {"username": "alice", "realm": {"name": "default_native", "type": "native"},
                         "authentication_type": "API_KEY",
                         "api_key": {"id": key["id"], "name": "shipper", "metadata": {"env": "prod"}}}
    assert _simulate(url, by_key)["doc"]["_source"] == {"message": "hi", "user": expected_key_user}

    assert httpx.put(f"{url}/_ingest/pipeline/who", headers=basic, json=PIPELINE, timeout=30).status_code == 200
    bulk = b'{"index": {"_index": "audit", "_id": "1"}}\n{"message": "one"}\n'
    for auth in (basic, by_key):
        r = httpx.post(f"{url}/_bulk?pipeline=who&refresh=true", content=bulk, timeout=60,
                       headers={**auth, "Content-Type": "application/x-ndjson"})
        assert r.status_code == 200 and r.json()["errors"] is False, r.text
        doc = httpx.get(f"{url}/audit/_doc/1", headers=basic, timeout=30).json()
        assert doc["_source"]["user"] == (ALICE if auth is basic else expected_key_user)


def test_without_security_the_processor_fails_as_elasticsearch(server: tuple[str, object]) -> None:
    url, _api = server
    doc = _simulate(url, {})
    assert doc["error"]["type"] == "illegal_state_exception"
    assert "Security (authentication) is not enabled" in doc["error"]["reason"]
