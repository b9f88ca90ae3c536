"""The attacks of issue 11 that concern authentication and authorisation, each a regression test."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ingest.models.api import InferenceAPI
from ingest.models.errors import ElasticsearchError
from ingest.server.app import create_app
from ingest.server.security import authn
from ingest.server.security.keys import CreatedKey, create_role_key, put_user


@pytest.fixture()
def api(ingest_home: Path) -> Iterator[InferenceAPI]:
    api = InferenceAPI()
    api.store.put_setting("security.enabled", "true")
    yield api
    api.close()


@pytest.fixture()
def client(api: InferenceAPI) -> TestClient:
    return TestClient(create_app(api))


def _key(key: CreatedKey) -> dict[str, str]:
    return {"Authorization": f"ApiKey {key.encoded}"}


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


SUPER_DESCRIPTORS = {"root": {"cluster": ["all"], "indices": [{"names": ["*"], "privileges": ["all"]}]}}


def test_inference_user_cannot_mint_a_superuser_key(api: InferenceAPI, client: TestClient) -> None:
    user = create_role_key(api.store, "u", "inference_user")
    r = client.post("/_security/api_key", headers=_key(user), json={"name": "x", "role_descriptors": SUPER_DESCRIPTORS})
    assert r.status_code == 403 and "api_key/create" in r.json()["error"]["reason"]
    # the old body field that named a role is gone
    r = client.post("/_security/api_key", headers=_key(user), json={"name": "x", "role": "superuser"})
    assert r.status_code in (400, 403)


def test_a_key_never_exceeds_its_creator(api: InferenceAPI, client: TestClient) -> None:
    api.store.put_role("self_service", json.dumps({"cluster": ["monitor_inference", "manage_own_api_key"]}))
    put_user(api.store, "bob", "bob-password", ["self_service"])
    r = client.post("/_security/api_key", headers=_basic("bob", "bob-password"),
                    json={"name": "escalate", "role_descriptors": SUPER_DESCRIPTORS})
    assert r.status_code == 200
    minted = {"Authorization": f"ApiKey {r.json()['encoded']}"}
    assert client.get("/_inference", headers=minted).status_code == 200  # what bob may do
    assert client.put("/_inference/x", headers=minted, json={}).status_code == 403  # what bob may not
    assert client.put("/_security/role/evil", headers=minted, json={"cluster": ["all"]}).status_code == 403
    # a key made by that key, asking for everything again, is bounded by both
    r = client.post("/_security/api_key", headers=minted, json={"name": "again", "role_descriptors": SUPER_DESCRIPTORS})
    assert r.status_code == 200
    derived = {"Authorization": f"ApiKey {r.json()['encoded']}"}
    assert client.put("/_inference/x", headers=derived, json={}).status_code == 403
    assert client.get("/_inference", headers=derived).status_code == 200
    # a key with narrower descriptors loses what they do not grant
    r = client.post("/_security/api_key", headers=_basic("bob", "bob-password"),
                    json={"name": "narrow", "role_descriptors": {"r": {"cluster": ["monitor_ml"]}}})
    narrow = {"Authorization": f"ApiKey {r.json()['encoded']}"}
    assert client.get("/_inference", headers=narrow).status_code == 403


def test_manage_own_api_key_sees_and_invalidates_only_own_keys(api: InferenceAPI, client: TestClient) -> None:
    admin = create_role_key(api.store, "admin", "superuser")
    api.store.put_role("self_service", json.dumps({"cluster": ["monitor_inference", "manage_own_api_key"]}))
    put_user(api.store, "carol", "carol-password", ["self_service"])
    carol = _basic("carol", "carol-password")
    mine = client.post("/_security/api_key", headers=carol, json={"name": "carol-key"}).json()
    assert client.get("/_security/api_key", headers=carol).status_code == 403  # must ask for own keys
    listed = client.get("/_security/api_key?owner=true", headers=carol).json()["api_keys"]
    assert [k["id"] for k in listed] == [mine["id"]] and listed[0]["username"] == "carol"
    assert client.get("/_security/api_key?username=elastic", headers=carol).status_code == 403
    assert client.get(f"/_security/api_key?id={admin.id}", headers=carol).status_code == 403
    r = client.request("DELETE", "/_security/api_key", headers=carol, json={"ids": [admin.id]})
    assert r.status_code == 403
    r = client.request("DELETE", "/_security/api_key", headers=carol, json={"owner": True, "ids": [admin.id]})
    assert r.json()["invalidated_api_keys"] == []
    r = client.request("DELETE", "/_security/api_key", headers=carol, json={"owner": True})
    assert r.json()["invalidated_api_keys"] == [mine["id"]]
    assert client.get("/_inference", headers=_key(admin)).status_code == 200
    # a key with manage_own_api_key sees itself only
    key = {"Authorization": f"ApiKey {client.post('/_security/api_key', headers=carol, json={'name': 'k2'}).json()['encoded']}"}
    own = client.get("/_security/api_key?owner=true", headers=key).json()["api_keys"]
    assert [k["name"] for k in own] == ["k2"]
    query = client.post("/_security/_query/api_key", headers=carol, json={"query": {"match_all": {}}}).json()
    assert {k["username"] for k in query["api_keys"]} == {"carol"}
    # manage_api_key sees everyone's
    everyone = client.get("/_security/api_key", headers=_key(admin)).json()["api_keys"]
    assert {"admin", "carol-key", "k2"} <= {k["name"] for k in everyone}


def test_post_pipeline_needs_manage_pipeline(api: InferenceAPI, client: TestClient) -> None:
    api.store.put_role("reader", json.dumps({"cluster": ["read_pipeline"]}))
    reader = create_role_key(api.store, "r", "reader")
    body = {"processors": [{"set": {"field": "a", "value": 1}}]}
    for method in ("POST", "PUT"):
        r = client.request(method, "/_ingest/pipeline/p1", headers=_key(reader), json=body)
        assert r.status_code == 403 and "cluster:admin/ingest/pipeline/put" in r.json()["error"]["reason"]
    assert client.get("/_ingest/pipeline", headers=_key(reader)).status_code == 200
    assert api.store.get_pipelines() == {}


def test_revoking_the_last_key_keeps_the_server_closed(api: InferenceAPI, client: TestClient) -> None:
    only = create_role_key(api.store, "only", "superuser")
    r = client.request("DELETE", "/_security/api_key", headers=_key(only), json={"ids": [only.id]})
    assert r.json()["invalidated_api_keys"] == [only.id]
    assert not api.store.has_credentials()
    r = client.get("/_inference")
    assert r.status_code == 401
    assert client.put("/_security/role/x", json={"cluster": ["all"]}).status_code == 401
    assert client.get("/_inference", headers=_key(only)).status_code == 401


def test_unknown_users_pay_for_a_hash(api: InferenceAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = authn.verify_password

    def counting(password: str, stored: str) -> bool:
        calls.append(stored)
        return real(password, stored)

    monkeypatch.setattr(authn, "verify_password", counting)
    put_user(api.store, "dave", "dave-password", ["inference_user"])
    assert client.get("/_inference", headers=_basic("nobody", "whatever")).status_code == 401
    assert client.get("/_inference", headers=_basic("dave", "wrong-one")).status_code == 401
    assert len(calls) == 2 and calls[0].startswith("pbkdf2$")  # the unknown user was hashed too
    # verified logins are cached, and a password change invalidates the cached login
    assert client.get("/_inference", headers=_basic("dave", "dave-password")).status_code == 200
    assert client.get("/_inference", headers=_basic("dave", "dave-password")).status_code == 200
    assert len(calls) == 3
    put_user(api.store, "dave", "new-password", ["inference_user"])
    assert client.get("/_inference", headers=_basic("dave", "dave-password")).status_code == 401


def test_bulk_items_are_checked_against_their_index(api: InferenceAPI, client: TestClient) -> None:
    api.store.put_role("logs_writer", json.dumps({"indices": [{"names": ["logs-*"], "privileges": ["write"]}]}))
    writer = create_role_key(api.store, "w", "logs_writer")
    api.store.put_setting("security.audit", "true")
    lines = [{"index": {"_index": "logs-a", "_id": "1"}}, {"m": 1},
             {"index": {"_index": "secrets", "_id": "1"}}, {"m": 2},
             {"delete": {"_index": "secrets", "_id": "9"}}]
    raw = "".join(json.dumps(x) + "\n" for x in lines)
    r = client.post("/_bulk", headers={**_key(writer), "Content-Type": "application/x-ndjson"}, content=raw)
    assert r.status_code == 200
    items = [next(iter(i.values())) for i in r.json()["items"]]
    assert [i["status"] for i in items] == [201, 403, 403]
    assert items[1]["error"]["type"] == "security_exception"
    assert "on indices [secrets]" in items[1]["error"]["reason"]
    assert items[2]["error"]["reason"].startswith("action [indices:data/write/delete] is unauthorized for API key")
    events = [json.loads(x) for x in (api.store.path.parent / "logs" / "audit.json").read_text().splitlines()]
    assert [(e["action"], e["indices"]) for e in events if e["event.action"] == "access_denied"] == [
        ("indices:data/write/index", ["secrets"]), ("indices:data/write/delete", ["secrets"])]
    root = create_role_key(api.store, "root", "superuser")
    assert client.get("/secrets/_count", headers=_key(root)).status_code == 404  # never created
    assert client.get("/logs-a/_count", headers=_key(root)).json()["count"] == 1
    assert client.get("/logs-a/_count", headers=_key(writer)).status_code == 403  # write is not read


def test_roles_and_users_api(api: InferenceAPI, client: TestClient) -> None:
    root = create_role_key(api.store, "root", "superuser")
    r = client.put("/_security/role/superuser", headers=_key(root), json={"cluster": ["all"]})
    assert r.status_code == 400 and "reserved" in r.json()["error"]["reason"]
    assert client.put("/_security/role/%20padded", headers=_key(root), json={}).status_code == 400
    r = client.put("/_security/role/bad", headers=_key(root), json={"cluster": ["fly"]})
    assert r.status_code == 400 and "unknown cluster privilege [fly]" in r.json()["error"]["reason"]
    assert client.put("/_security/role/ops", headers=_key(root),
                      json={"cluster": ["monitor_inference"]}).json() == {"role": {"created": True}}
    roles = client.get("/_security/role", headers=_key(root)).json()
    assert roles["ops"]["cluster"] == ["monitor_inference"] and roles["inference_user"]["metadata"]["_reserved"]
    assert client.get("/_security/role/nope", headers=_key(root)).status_code == 404
    r = client.put("/_security/user/erin", headers=_key(root), json={"password": "erin-pass", "roles": ["ops"]})
    assert r.json() == {"created": True}
    users = client.get("/_security/user", headers=_key(root)).json()
    assert users["erin"]["roles"] == ["ops"] and "password" not in json.dumps(users)
    me = client.get("/_security/_authenticate", headers=_basic("erin", "erin-pass")).json()
    assert me["username"] == "erin" and me["roles"] == ["ops"] and me["authentication_realm"]["type"] == "native"
    assert client.delete("/_security/role/ops", headers=_key(root)).json() == {"found": True}
    assert client.get("/_inference", headers=_basic("erin", "erin-pass")).status_code == 403  # role gone
    assert client.delete("/_security/user/erin", headers=_key(root)).json() == {"found": True}
    assert client.get("/_inference", headers=_basic("erin", "erin-pass")).status_code == 401


def test_api_key_info_and_expiry(api: InferenceAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    root = create_role_key(api.store, "root", "superuser")
    made: dict[str, Any] = client.post("/_security/api_key", headers=_key(root), json={
        "name": "short", "expiration": "1d", "metadata": {"team": "a"},
        "role_descriptors": {"r": {"cluster": ["monitor_inference"]}}}).json()
    assert set(made) == {"id", "name", "api_key", "encoded", "expiration"}
    info = client.get(f"/_security/api_key?id={made['id']}&with_limited_by=true", headers=_key(root)).json()
    key = info["api_keys"][0]
    assert key["metadata"] == {"team": "a"} and key["role_descriptors"]["r"]["cluster"] == ["monitor_inference"]
    assert key["invalidated"] is False and key["expiration"] == made["expiration"] and "limited_by" in key
    assert made["api_key"] not in json.dumps(info)
    import time as time_module

    later = time_module.time() + 2 * 86400
    monkeypatch.setattr("ingest.server.security.keys.time.time", lambda: later)
    assert client.get("/_inference", headers={"Authorization": f"ApiKey {made['encoded']}"}).status_code == 401


def test_audit_log_records_failures_denials_and_changes(api: InferenceAPI, client: TestClient) -> None:
    import stat

    api.store.put_setting("security.audit", "true")
    root = create_role_key(api.store, "root", "superuser")
    user = create_role_key(api.store, "user", "inference_user")
    assert client.get("/_inference", headers=_basic("mallory", "guess")).status_code == 401
    assert client.put("/_inference/x", headers=_key(user), json={}).status_code == 403
    made = client.post("/_security/api_key", headers=_key(root), json={"name": "audited"}).json()
    client.put("/_security/role/r1", headers=_key(root), json={"cluster": ["monitor"]})
    client.put("/_security/user/u1", headers=_key(root), json={"password": "u1-password", "roles": ["r1"]})
    log = api.store.path.parent / "logs" / "audit.json"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    text = log.read_text()
    events = [json.loads(line) for line in text.splitlines()]
    by_action = {e["event.action"]: e for e in events}
    assert by_action["authentication_failed"]["url.path"] == "/_inference"
    assert by_action["authentication_failed"]["user.name"] == "mallory"
    denied = by_action["access_denied"]
    assert denied["action"] == "cluster:admin/xpack/inference/put" and denied["apikey.id"] == user.id
    assert by_action["create_apikey"]["event.type"] == "security_config_change"
    assert by_action["create_apikey"]["apikey"]["id"] == made["id"]
    assert {"put_role", "put_user"} <= set(by_action)
    for secret in (made["api_key"], root.api_key, "u1-password", "guess"):
        assert secret not in text


def test_passwords_are_hashed_off_the_event_loop(api: InferenceAPI, client: TestClient,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    threads: list[str] = []
    real = authn.verify_password

    def recording(password: str, stored: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(password, stored)

    monkeypatch.setattr(authn, "verify_password", recording)
    put_user(api.store, "gina", "gina-password", ["inference_user"])
    assert client.get("/_inference", headers=_basic("gina", "bad-password")).status_code == 401
    assert client.get("/_inference", headers=_basic("gina", "gina-password")).status_code == 200
    assert len(threads) == 2 and all(name.startswith("ingest-auth-hash") for name in threads)


def test_home_with_keys_from_before_the_setting_is_migrated_as_enabled(tmp_path: Path) -> None:
    import hashlib
    import sqlite3

    from ingest.models.store import Store
    from ingest.server.security.authn import SecurityState
    from ingest.server.security.keys import key_permission, verify_api_key

    path = tmp_path / "registry.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, key_hash TEXT NOT NULL, role TEXT NOT NULL,
                               created_at REAL NOT NULL, expires_at REAL, invalidated INTEGER NOT NULL DEFAULT 0);
        CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, role TEXT NOT NULL);
    """)
    salt = "00112233"
    conn.execute("INSERT INTO api_keys VALUES ('old', 'legacy', ?, 'inference_user', 0, NULL, 1)",
                 (salt + "$" + hashlib.sha256((salt + "secret").encode()).hexdigest(),))
    conn.commit()
    conn.close()
    store = Store(path)
    assert SecurityState.read(store).enabled  # even though its only key is revoked: never opened by upgrading
    conn = sqlite3.connect(path)
    conn.execute("UPDATE api_keys SET invalidated = 0")
    conn.commit()
    conn.close()
    record = verify_api_key(store, "old", "secret")
    assert record is not None and record.owner == "elastic"
    permission = key_permission(record)
    assert permission.cluster("cluster:monitor/xpack/inference") and not permission.cluster(
        "cluster:admin/xpack/inference/put")
    fresh = Store(tmp_path / "fresh.sqlite")
    assert not SecurityState.read(fresh).enabled


def test_one_client_cannot_fill_the_hashing_queue(api: InferenceAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import threading

    from ingest.server.security.authn import MAX_QUEUED_PER_CLIENT, Authenticator

    release = threading.Event()

    def slow(password: str, stored: str) -> bool:
        release.wait(10)
        return False

    monkeypatch.setattr(authn, "verify_password", slow)
    auth = Authenticator(api.store)

    async def flood() -> tuple[list[object], bool]:
        tasks = [asyncio.create_task(auth._hash_check("x", "h", "10.0.0.9")) for _ in range(MAX_QUEUED_PER_CLIENT)]
        await asyncio.sleep(0.05)
        with pytest.raises(ElasticsearchError) as info:
            await auth._hash_check("x", "h", "10.0.0.9")
        assert info.value.status == 429 and info.value.error_type == "es_rejected_execution_exception"
        other = asyncio.create_task(auth._hash_check("x", "h", "10.0.0.10"))  # another client still queues
        await asyncio.sleep(0.05)
        release.set()
        return list(await asyncio.gather(*tasks)), await other

    done, other = asyncio.run(flood())
    assert done == [False] * MAX_QUEUED_PER_CLIENT and other is False
    assert auth._queued == 0 and auth._queued_by == {}
    auth.close()


def test_has_privileges_and_own_privileges(api: InferenceAPI, client: TestClient) -> None:
    api.store.put_role("self_service", json.dumps({"cluster": ["monitor_inference", "manage_own_api_key"],
                                                   "indices": [{"names": ["docs-*"], "privileges": ["read"]}]}))
    put_user(api.store, "hank", "hank-password", ["self_service"])
    hank = _basic("hank", "hank-password")
    body = {"cluster": ["monitor_inference", "manage_inference", "manage_own_api_key", "all"],
            "index": [{"names": ["docs-1", "other"], "privileges": ["read", "write"]}]}
    r = client.post("/_security/user/_has_privileges", headers=hank, json=body).json()
    assert r["username"] == "hank" and r["has_all_requested"] is False
    assert r["cluster"] == {"monitor_inference": True, "manage_inference": False, "manage_own_api_key": True,
                            "all": False}
    assert r["index"] == {"docs-1": {"read": True, "write": False}, "other": {"read": False, "write": False}}
    mine = client.get("/_security/user/_privileges", headers=hank).json()
    assert mine["cluster"] == ["manage_own_api_key", "monitor_inference"]
    assert mine["indices"][0]["names"] == ["docs-*"]
    root = create_role_key(api.store, "root", "superuser")
    r = client.post("/_security/user/_has_privileges", headers=_key(root), json=body).json()
    assert r["has_all_requested"] is True
    bad = client.post("/_security/user/_has_privileges", headers=hank, json={"cluster": ["fly"]})
    assert bad.status_code == 400
    assert client.get("/_security/user/_privileges", headers=_key(root)).status_code == 400  # as Elasticsearch
    # manage (everything but security) does not hold manage_security; manage_api_key holds manage_own_api_key
    api.store.put_role("ops", json.dumps({"cluster": ["manage", "manage_api_key"]}))
    put_user(api.store, "ivy", "ivy-password", ["ops"])
    r = client.post("/_security/user/_has_privileges", headers=_basic("ivy", "ivy-password"),
                    json={"cluster": ["manage_security", "manage_inference", "manage_own_api_key"]}).json()
    assert r["cluster"] == {"manage_security": False, "manage_inference": True, "manage_own_api_key": True}


def test_change_password(api: InferenceAPI, client: TestClient) -> None:
    put_user(api.store, "jo", "jo-password", ["inference_user"])
    put_user(api.store, "kim", "kim-password", ["inference_user"])
    jo = _basic("jo", "jo-password")
    assert client.get("/_inference", headers=jo).status_code == 200  # cached login
    assert client.post("/_security/user/kim/_password", headers=jo, json={"password": "hijacked"}).status_code == 403
    assert client.post("/_security/user/_password", headers=jo, json={"password": "jo-new-password"}).json() == {}
    assert client.get("/_inference", headers=jo).status_code == 401  # the cached login is gone with the password
    assert client.get("/_inference", headers=_basic("jo", "jo-new-password")).status_code == 200
    root = create_role_key(api.store, "root", "superuser")
    assert client.put("/_security/user/kim/_password", headers=_key(root), json={"password": "kim-2-pass"}).json() == {}
    assert client.get("/_inference", headers=_basic("kim", "kim-2-pass")).status_code == 200
    assert client.put("/_security/user/ghost/_password", headers=_key(root),
                      json={"password": "whatever1"}).status_code == 404
