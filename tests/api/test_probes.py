"""The APIs shippers probe at start and the template APIs they call, through the unmodified official client."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from ingest.models.api import InferenceAPI


@pytest.fixture()
def es(live_server: tuple[str, InferenceAPI]) -> Elasticsearch:
    return Elasticsearch(live_server[0], request_timeout=30)


def es_url(es: Elasticsearch) -> str:
    return str(es.transport.node_pool.get().base_url)


def test_license_xpack_health(es: Elasticsearch) -> None:
    lic = es.license.get()["license"]
    assert (lic["type"], lic["status"]) == ("basic", "active")
    assert lic["uid"] == es.info()["cluster_uuid"]
    info = es.xpack.info()
    assert info["license"] == {"uid": lic["uid"], "type": "basic", "mode": "basic", "status": "active"}
    assert info["features"]["security"] == {"available": True, "enabled": False}  # the fresh home's setting
    assert info["features"]["ml"]["available"] is True
    assert info["features"]["ilm"] == {"available": False, "enabled": False}  # shippers then skip ILM
    assert set(es.xpack.info(categories="build")) == {"build", "tagline"}
    health = es.cluster.health(wait_for_status="yellow", timeout="2s")
    assert health["status"] == "green" and health["number_of_nodes"] == 1 and health["timed_out"] is False
    with pytest.raises(BadRequestError):
        es.cluster.health(wait_for_status="purple")


def test_xpack_reports_security_from_the_home(ingest_home: Path) -> None:
    from fastapi.testclient import TestClient

    from ingest.server.app import create_app
    from ingest.server.security.keys import create_role_key

    api = InferenceAPI()
    api.store.put_setting("security.enabled", "true")
    key = create_role_key(api.store, "probe", "superuser")
    with TestClient(create_app(api)) as client:
        assert client.get("/_xpack").status_code == 401  # security on: the probe needs credentials, as in Elasticsearch
        r = client.get("/_xpack", headers={"Authorization": f"ApiKey {key.encoded}"})
        assert r.status_code == 200, r.text
        assert r.json()["features"]["security"] == {"available": True, "enabled": True}
    api.close()


def test_nodes_info_as_one_node(es: Elasticsearch) -> None:
    nodes = es.nodes.info()
    assert nodes["_nodes"] == {"total": 1, "successful": 1, "failed": 0}
    ((node_id, node),) = nodes["nodes"].items()
    assert len(node_id) == 22
    assert {"ingest", "ml", "data", "master"} <= set(node["roles"])
    assert node["version"] == es.info()["version"]["number"]
    assert node["name"] == es.info()["name"]
    assert {"type": "set"} in node["ingest"]["processors"] and {"type": "inference"} in node["ingest"]["processors"]
    host, port = node["http"]["publish_address"].rsplit(":", 1)
    assert host == "127.0.0.1" and f":{port}" in str(es.transport.node_pool.get().base_url)
    assert "jvm" in node and "os" in node
    assert es.nodes.info(node_id="_local")["nodes"].keys() == {node_id}
    assert es.nodes.info(node_id=node_id)["nodes"].keys() == {node_id}
    assert es.nodes.info(node_id="ingest:true")["nodes"].keys() == {node_id}
    assert es.nodes.info(node_id="someone-else")["nodes"] == {}
    only_http = es.nodes.info(metric="http")["nodes"][node_id]
    assert "http" in only_http and "jvm" not in only_http and "ingest" not in only_http
    both = es.nodes.info(node_id="_all", metric="jvm,plugins")["nodes"][node_id]
    assert {"jvm", "plugins"} <= set(both) and "http" not in both
    with pytest.raises(BadRequestError):
        es.nodes.info(node_id="_all", metric="bogus")


def test_index_template_lifecycle(es: Elasticsearch) -> None:
    assert es.indices.exists_index_template(name="logs").body is False
    es.cluster.put_component_template(name="logs-settings", template={"settings": {"number_of_shards": 1}},
                                      meta={"by": "test"})
    assert es.cluster.exists_component_template(name="logs-settings").body is True
    comp = es.cluster.get_component_template(name="logs-settings")["component_templates"][0]
    assert comp["name"] == "logs-settings"
    assert comp["component_template"]["template"] == {"settings": {"index": {"number_of_shards": "1"}}}
    assert comp["component_template"]["_meta"] == {"by": "test"}

    assert es.indices.put_index_template(
        name="logs", index_patterns=["logs-*"], composed_of=["logs-settings"], priority=200,
        template={"mappings": {"properties": {"message": {"type": "text"}}}})["acknowledged"] is True
    assert es.indices.exists_index_template(name="logs").body is True
    got = es.indices.get_index_template(name="logs")["index_templates"]
    assert [t["name"] for t in got] == ["logs"]
    body = got[0]["index_template"]
    assert body["index_patterns"] == ["logs-*"] and body["composed_of"] == ["logs-settings"]
    assert body["priority"] == 200
    assert body["template"]["mappings"] == {"properties": {"message": {"type": "text"}}}
    es.indices.put_index_template(name="metrics", index_patterns="metrics-*")
    assert [t["name"] for t in es.indices.get_index_template()["index_templates"]] == ["logs", "metrics"]
    assert [t["name"] for t in es.indices.get_index_template(name="met*")["index_templates"]] == ["metrics"]
    assert httpx.get(f"{es_url(es)}/_component_template/zz*", timeout=30).status_code == 404  # a pattern, no match
    assert httpx.get(f"{es_url(es)}/_index_template/zz*", timeout=30).json() == {"index_templates": []}

    with pytest.raises(BadRequestError) as exists:
        es.indices.put_index_template(name="logs", index_patterns=["x"], create=True)
    assert exists.value.message == "illegal_argument_exception"
    assert exists.value.body["error"]["reason"] == "index template [logs] already exists"
    with pytest.raises(BadRequestError) as missing:
        es.indices.put_index_template(name="bad", index_patterns=["b-*"], composed_of=["nope"])
    assert missing.value.body["error"]["reason"] == (
        "index_template [bad] invalid, cause [index template [bad] specifies component templates [nope] "
        "that do not exist]")
    with pytest.raises(BadRequestError) as in_use:
        es.cluster.delete_component_template(name="logs-settings")
    assert in_use.value.body["error"]["reason"] == (
        "component templates [logs-settings] cannot be removed as they are still in use by index templates [logs]")

    with pytest.raises(NotFoundError) as not_found:
        es.indices.get_index_template(name="nope")
    assert not_found.value.body["error"]["reason"] == "index template matching [nope] not found"
    assert es.indices.delete_index_template(name="logs")["acknowledged"] is True
    with pytest.raises(NotFoundError) as gone:
        es.indices.delete_index_template(name="logs")
    assert gone.value.body["error"]["type"] == "index_template_missing_exception"
    assert es.cluster.delete_component_template(name="logs-settings")["acknowledged"] is True
    assert es.cluster.exists_component_template(name="logs-settings").body is False
    assert es.indices.delete_index_template(name="*")["acknowledged"] is True
    assert es.indices.get_index_template()["index_templates"] == []


def test_templates_survive_a_restart(live_server: tuple[str, InferenceAPI]) -> None:
    from ingest.models.store import Store

    url, api = live_server
    r = httpx.put(f"{url}/_index_template/kept", json={"index_patterns": ["k-*"], "version": 3}, timeout=30)
    assert r.json() == {"acknowledged": True}
    other = Store(api.store.path)  # another process's view of the same registry
    stored = other.get_templates("index", "kept")["kept"]
    assert stored["version"] == 3 and stored["index_patterns"] == ["k-*"]
    other.close()


def test_template_body_errors(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    r = httpx.put(f"{url}/_index_template/t", json={"template": {}}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["reason"] == "Required [index_patterns]"
    r = httpx.put(f"{url}/_index_template/t", json={"index_patterns": ["a"], "colour": 1}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["type"] == "x_content_parse_exception"
    r = httpx.put(f"{url}/_component_template/c", json={"version": 1}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["reason"] == "Required [template]"
    r = httpx.put(f"{url}/_index_template/t?colour=red", json={"index_patterns": ["a"]}, timeout=30)
    assert r.status_code == 400 and "unrecognized parameter: [colour]" in r.json()["error"]["reason"]


def test_templates_of_one_priority_may_not_overlap(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    put = lambda name, body: httpx.put(f"{url}/_index_template/{name}", json=body, timeout=30)  # noqa: E731
    assert put("t1", {"index_patterns": ["t1-*"], "priority": 10}).status_code == 200
    r = put("t2", {"index_patterns": ["t1-*"], "priority": 10})
    assert r.status_code == 400
    assert r.json()["error"]["reason"] == (
        "index template [t2] has index patterns [t1-*] matching patterns from existing templates [t1] with patterns "
        "(t1 => [t1-*]) that have the same priority [10], multiple index templates may not match during index "
        "creation, please use a different priority")
    assert put("t2", {"index_patterns": ["t1-a*"], "priority": 11}).status_code == 200  # another priority
    assert put("t3", {"index_patterns": ["other-*"], "priority": 10}).status_code == 200  # disjoint patterns
    assert put("t1", {"index_patterns": ["t1-*", "x"], "priority": "10"}).status_code == 200  # replacing itself
    assert put("t4", {"index_patterns": ["*-a*"], "priority": 10}).status_code == 400  # t1-a... matches both
    r = put("t5", {"index_patterns": ["z"], "priority": -1})
    assert r.status_code == 400 and r.json()["error"]["reason"] == (
        "Validation Failed: 1: index template priority must be >= 0;")


def test_template_names_and_patterns_are_validated(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    r = httpx.put(f"{url}/_index_template/Bad", json={"index_patterns": ["_x", "a:b"]}, timeout=30)
    assert r.status_code == 400 and r.json()["error"]["type"] == "invalid_index_template_exception"
    assert r.json()["error"]["reason"] == (
        "index_template [Bad] invalid, cause [Validation Failed: 1: name must be lower cased;2: index_pattern [_x] "
        "must not start with '_';3: index_pattern [a:b] must not contain a ':';]")
    r = httpx.put(f"{url}/_component_template/_c", json={"template": {}}, timeout=30)
    assert r.json()["error"]["reason"] == "index_template [_c] invalid, cause [Validation Failed: 1: name must not start with '_';]"
    r = httpx.post(f"{url}/_index_template/_simulate", json={"index_patterns": ["a"]}, timeout=30)
    assert r.json() == {"error": "no handler found for uri [/_index_template/_simulate] and method [POST]", "status": 400}


def test_index_health(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    assert httpx.put(f"{url}/books", json={}, timeout=30).json()["acknowledged"] is True
    es = Elasticsearch(url, request_timeout=30)
    # one node: the primary is active, its replica (number_of_replicas defaults to 1) unassigned
    health = es.cluster.health(index="books", wait_for_status="yellow", timeout="1s")
    assert (health["status"], health["active_primary_shards"], health["unassigned_shards"]) == ("yellow", 1, 1)
    assert health["active_shards_percent_as_number"] == 50.0
    r = httpx.get(f"{url}/_cluster/health/books?wait_for_status=green&timeout=300ms", timeout=30)
    assert r.status_code == 408 and r.json()["timed_out"] is True and r.json()["status"] == "yellow"
    assert httpx.put(f"{url}/solo", json={"settings": {"number_of_replicas": 0}}, timeout=30).status_code == 200
    assert es.cluster.health(index="solo", wait_for_status="green", timeout="1s")["status"] == "green"
    r = httpx.get(f"{url}/_cluster/health/nope", timeout=30)  # no wait: answered at once, red
    assert r.status_code == 200 and r.json()["status"] == "red" and r.json()["timed_out"] is False
    started = time.monotonic()
    r = httpx.get(f"{url}/_cluster/health/books,nope?wait_for_status=yellow&timeout=500ms", timeout=30)
    assert r.status_code == 408 and r.json()["status"] == "red" and r.json()["timed_out"] is True
    assert time.monotonic() - started >= 0.5
    assert httpx.get(f"{url}/_cluster/health/nope?wait_for_status=red", timeout=30).status_code == 200
    assert httpx.get(f"{url}/_cluster/health/no*", timeout=30).json()["status"] == "green"  # matches nothing


def test_cluster_health_counts_every_index(live_server: tuple[str, InferenceAPI]) -> None:
    """The whole cluster's health covers every index (yellow while one asks for a replica a single node cannot
    hold), ``level=indices|shards`` adds Elasticsearch's sections, wildcards and aliases name indices."""
    url, _ = live_server
    es = Elasticsearch(url, request_timeout=30)
    assert es.cluster.health(level="indices")["indices"] == {}  # nothing yet: green, an empty section
    es.indices.create(index="logs-a", settings={"number_of_shards": 2, "number_of_replicas": 0})
    es.indices.create(index="logs-b", aliases={"current": {}})  # replicas default to 1: unassigned here
    health = es.cluster.health()
    assert (health["status"], health["active_primary_shards"], health["active_shards"]) == ("yellow", 3, 3)
    assert health["unassigned_shards"] == 1 and health["active_shards_percent_as_number"] == 75.0
    assert "indices" not in health
    per_index = es.cluster.health(level="indices")["indices"]
    assert per_index["logs-a"] == {"status": "green", "number_of_shards": 2, "number_of_replicas": 0,
                                   "active_primary_shards": 2, "active_shards": 2, "relocating_shards": 0,
                                   "initializing_shards": 0, "unassigned_shards": 0, "unassigned_primary_shards": 0}
    assert per_index["logs-b"]["status"] == "yellow" and per_index["logs-b"]["unassigned_shards"] == 1
    shards = es.cluster.health(level="shards")["indices"]["logs-a"]["shards"]
    assert sorted(shards) == ["0", "1"] and shards["1"]["primary_active"] is True
    assert es.cluster.health(index="logs-*")["active_primary_shards"] == 3
    assert es.cluster.health(index="current")["status"] == "yellow"  # the alias's index
    assert es.cluster.health(index="logs-a")["status"] == "green"
    r = httpx.get(f"{url}/_cluster/health?level=everything", timeout=30)
    assert r.status_code == 400 and r.json()["error"]["type"] == "illegal_argument_exception"
