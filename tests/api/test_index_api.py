"""Index APIs through the unmodified official client against a real server: create with settings, mappings
and templates, get/exists/delete with expressions, mappings, settings, refresh/flush, _cat."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError
from fastapi.testclient import TestClient

from ingest.models.api import InferenceAPI
from ingest.server.app import create_app
from ingest.server.security.keys import create_role_key


@pytest.fixture()
def es(live_server: tuple[str, InferenceAPI]) -> Elasticsearch:
    return Elasticsearch(live_server[0], request_timeout=60)


def test_create_get_exists_delete(es: Elasticsearch) -> None:
    created = es.indices.create(index="books", settings={"number_of_shards": 2, "index.default_pipeline": "p",
                                                          "refresh_interval": "5s"},
                                mappings={"dynamic": "strict", "properties": {
                                    "title": {"type": "text"}, "year": {"type": "integer"},
                                    "tags": {"type": "keyword"}, "vec": {"type": "dense_vector", "dims": 3}}})
    assert created.body == {"acknowledged": True, "shards_acknowledged": True, "index": "books"}
    assert es.indices.exists(index="books")
    assert not es.indices.exists(index="nope")
    got = es.indices.get(index="books")["books"]
    settings = got["settings"]["index"]
    assert settings["number_of_shards"] == "2" and settings["number_of_replicas"] == "1"
    assert settings["default_pipeline"] == "p" and settings["refresh_interval"] == "5s"
    assert settings["provided_name"] == "books" and len(settings["uuid"]) > 10
    props = got["mappings"]["properties"]
    assert got["mappings"]["dynamic"] == "strict"
    assert props["year"] == {"type": "integer"} and props["tags"] == {"type": "keyword"}
    assert props["vec"]["type"] == "dense_vector" and props["vec"]["dims"] == 3
    with pytest.raises(BadRequestError) as dup:
        es.indices.create(index="books")
    assert dup.value.error == "resource_already_exists_exception"
    with pytest.raises(NotFoundError) as missing:
        es.indices.get(index="books,nope")
    assert missing.value.error == "index_not_found_exception"
    assert list(es.indices.get(index="books,nope", ignore_unavailable=True)) == ["books"]
    assert es.indices.get(index="zz*").body == {}
    with pytest.raises(NotFoundError):
        es.indices.get(index="zz*", allow_no_indices=False)
    es.indices.create(index="books-2")
    assert sorted(es.indices.get(index="books*")) == ["books", "books-2"]
    assert sorted(es.indices.get(index="books*,-books-2")) == ["books"]
    assert es.indices.delete(index="books*").body == {"acknowledged": True}
    assert not es.indices.exists(index="books")
    with pytest.raises(NotFoundError):
        es.indices.delete(index="books")


@pytest.mark.parametrize(("name", "why"), [
    ("Upper", "must be lowercase"),
    ("a#b", "must not contain '#'"),
    ("a:b", "must not contain ':'"),
    ("-x", "must not start with '_', '-', or '+'"),
    ("a b", 'must not contain the following characters [ , ", *, \\, <, |, ,, >, /, ?]'),
    ("..", "must not be '.' or '..'"),
])
def test_invalid_index_names(es: Elasticsearch, name: str, why: str) -> None:
    with pytest.raises(BadRequestError) as bad:
        es.indices.create(index=name)
    assert bad.value.error == "invalid_index_name_exception"
    assert bad.value.info["error"]["reason"] == f"Invalid index name [{name}], {why}"


def test_strict_and_typed_mappings_apply_to_writes(es: Elasticsearch) -> None:
    es.indices.create(index="typed", mappings={"dynamic": "strict", "properties": {
        "n": {"type": "integer"}, "t": {"type": "text"}}})
    ok = es.bulk(operations=[{"index": {"_index": "typed", "_id": "1"}}, {"n": "42", "t": 7}])
    assert ok["errors"] is False  # "42" coerced into an integer, a number into text
    bad = es.bulk(operations=[{"index": {"_index": "typed", "_id": "2"}}, {"n": 1, "other": "x"},
                              {"index": {"_index": "typed", "_id": "3"}}, {"n": 2**40}])
    first, second = (item["index"] for item in bad["items"])
    assert first["error"]["type"] == "strict_dynamic_mapping_exception"
    assert first["error"]["reason"] == "mapping set to strict, dynamic introduction of [other] within [_doc] is not allowed"
    assert "out of range for an integer" in second["error"]["caused_by"]["reason"]
    es.indices.create(index="loose", mappings={"dynamic": False})
    es.bulk(operations=[{"index": {"_index": "loose", "_id": "1"}}, {"free": "x"}])
    assert "properties" not in es.indices.get_mapping(index="loose")["loose"]["mappings"]
    assert es.get(index="loose", id="1")["_source"] == {"free": "x"}


def test_mapping_and_settings_apis(es: Elasticsearch) -> None:
    es.indices.create(index="m1")
    es.bulk(operations=[{"index": {"_index": "m1", "_id": "1"}}, {"seen": 1}])
    assert es.indices.put_mapping(index="m1", properties={"kw": {"type": "keyword"}}).body == {"acknowledged": True}
    mapping = es.indices.get_mapping(index="m1")["m1"]["mappings"]["properties"]
    assert mapping["kw"] == {"type": "keyword"} and mapping["seen"] == {"type": "long"}
    with pytest.raises(BadRequestError) as conflict:
        es.indices.put_mapping(index="m1", properties={"seen": {"type": "keyword"}})
    assert conflict.value.info["error"]["reason"] == "mapper [seen] cannot be changed from type [long] to [keyword]"
    with pytest.raises(BadRequestError) as unknown:
        es.indices.put_mapping(index="m1", properties={"x": {"type": "nonsense"}})
    assert unknown.value.error == "mapper_parsing_exception"
    es.indices.put_settings(index="m1", settings={"index": {"number_of_replicas": 0, "final_pipeline": "f"}})
    settings = es.indices.get_settings(index="m1")["m1"]["settings"]["index"]
    assert settings["number_of_replicas"] == "0" and settings["final_pipeline"] == "f"
    flat = es.indices.get_settings(index="m1", flat_settings=True)["m1"]["settings"]
    assert flat["index.final_pipeline"] == "f"
    es.indices.put_settings(index="m1", settings={"index.final_pipeline": None})
    assert "final_pipeline" not in es.indices.get_settings(index="m1")["m1"]["settings"]["index"]
    with pytest.raises(BadRequestError) as unknown_param:
        es.perform_request("GET", "/m1/_mapping", params={"bogus": "1"})
    assert "unrecognized parameter: [bogus]" in str(unknown_param.value.info)
    with pytest.raises(BadRequestError) as static:
        es.indices.put_settings(index="m1", settings={"number_of_shards": 3})
    assert "Can't update non dynamic settings [[index.number_of_shards]]" in static.value.info["error"]["reason"]


def test_refresh_flush_and_cat(es: Elasticsearch) -> None:
    es.indices.create(index="c1", settings={"number_of_replicas": 0})
    es.indices.create(index="c2")
    es.bulk(operations=[{"index": {"_index": "c1"}}, {"a": 1}, {"index": {"_index": "c1"}}, {"a": 2},
                        {"index": {"_index": "c2"}}, {"a": 3}])
    assert es.indices.refresh(index="c1")["_shards"] == {"total": 1, "successful": 1, "failed": 0}
    assert es.indices.flush(index="c*")["_shards"] == {"total": 3, "successful": 2, "failed": 0}
    rows = cast(list[dict[str, str]], es.cat.indices(format="json", index="c*").body)
    by_name = {r["index"]: r for r in rows}
    assert by_name["c1"]["docs.count"] == "2" and by_name["c1"]["health"] == "green"
    assert by_name["c2"]["health"] == "yellow" and by_name["c2"]["rep"] == "1"
    text = es.cat.indices(index="c*", v=True, h="index,docs.count", s="index")
    assert text.body.splitlines() == ["index docs.count", "c1    2", "c2    1"]
    counted = cast(list[dict[str, str]], es.cat.count(index="c*", format="json").body)
    assert counted[0]["count"] == "3"
    assert es.cat.count(index="c1", h="count").body.strip() == "2"


def test_templates_apply_at_creation_and_auto_create(es: Elasticsearch) -> None:
    es.cluster.put_component_template(name="base", template={"settings": {"number_of_replicas": 0},
                                                             "mappings": {"properties": {"k": {"type": "keyword"}}}})
    es.indices.put_index_template(name="logs", index_patterns=["logs-*"], composed_of=["base"], priority=10,
                                  template={"settings": {"index.default_pipeline": "tp"},
                                            "aliases": {"all-logs": {}}})
    es.indices.put_index_template(name="low", index_patterns=["logs-*"], priority=1,
                                  template={"settings": {"number_of_replicas": 5}})
    es.indices.create(index="logs-a", settings={"number_of_shards": 3})
    got = es.indices.get(index="logs-a")["logs-a"]
    assert got["settings"]["index"]["number_of_replicas"] == "0"  # the higher-priority template's component
    assert got["settings"]["index"]["number_of_shards"] == "3"  # the request wins
    assert got["settings"]["index"]["default_pipeline"] == "tp"
    assert got["aliases"] == {"all-logs": {}}
    assert got["mappings"]["properties"]["k"] == {"type": "keyword"}
    es.ingest.put_pipeline(id="tp", processors=[{"set": {"field": "via", "value": "template"}}])
    es.bulk(operations=[{"index": {"_index": "logs-b", "_id": "1"}}, {"k": "x"}])  # auto-created
    assert es.indices.get_settings(index="logs-b")["logs-b"]["settings"]["index"]["default_pipeline"] == "tp"
    assert es.get(index="logs-b", id="1")["_source"] == {"k": "x", "via": "template"}


def test_listing_apis_show_only_the_indices_a_caller_may_see(ingest_home: Path) -> None:
    api = InferenceAPI()
    api.store.put_setting("security.enabled", "true")
    api.store.put_role("docs_viewer", '{"indices": [{"names": ["docs*"], "privileges": ["view_index_metadata", '
                                      '"monitor"]}]}')
    root = create_role_key(api.store, "root", "superuser")
    viewer = create_role_key(api.store, "viewer", "docs_viewer")
    with TestClient(create_app(api)) as client:
        for name in ("docs-1", "secret"):
            assert client.put(f"/{name}", headers={"Authorization": f"ApiKey {root.encoded}"}).status_code == 200
        as_viewer = {"Authorization": f"ApiKey {viewer.encoded}"}
        rows = client.get("/_cat/indices?format=json", headers=as_viewer).json()
        assert [r["index"] for r in rows] == ["docs-1"]
        assert list(client.get("/_mapping", headers=as_viewer).json()) == ["docs-1"]
        assert client.get("/secret/_mapping", headers=as_viewer).status_code == 403
        everything = client.get("/_cat/indices?format=json", headers={"Authorization": f"ApiKey {root.encoded}"})
        assert sorted(r["index"] for r in everything.json()) == ["docs-1", "secret"]
    api.close()


def test_pipeline_in_use_by_an_index_cannot_be_deleted(es: Elasticsearch) -> None:
    """Elasticsearch refuses to delete a pipeline an index names as its default or final pipeline (its documents
    would go in unprocessed); once the indices stop naming it, it deletes."""
    es.ingest.put_pipeline(id="tidy", processors=[{"trim": {"field": "a"}}])
    es.ingest.put_pipeline(id="unused", processors=[])
    es.indices.create(index="logs-b", settings={"index.default_pipeline": "tidy"})
    es.indices.create(index="logs-a", settings={"index.default_pipeline": "tidy", "index.final_pipeline": "tidy"})
    with pytest.raises(BadRequestError) as refused:
        es.ingest.delete_pipeline(id="tidy")
    assert refused.value.error == "illegal_argument_exception"
    assert refused.value.info["error"]["reason"] == (
        "pipeline [tidy] cannot be deleted because it is the default pipeline for 2 index(es) including "
        "[logs-a,logs-b] and the final pipeline for 1 index(es) including [logs-a]")
    with pytest.raises(BadRequestError):
        es.ingest.delete_pipeline(id="t*")  # a pattern that matches it: refused as well, nothing deleted
    assert "tidy" in es.ingest.get_pipeline(id="tidy")
    assert es.ingest.delete_pipeline(id="unused")["acknowledged"] is True
    es.indices.delete(index="logs-a")
    es.indices.put_settings(index="logs-b", settings={"index.default_pipeline": None})
    assert es.ingest.delete_pipeline(id="tidy")["acknowledged"] is True
