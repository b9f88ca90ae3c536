"""Ingest parity through the official client: aliases (writes and default pipelines through them), the
final pipeline, empty documents, index changes by processors (reroute, cycles), and the ingest node stats."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch, NotFoundError

from ingest.models.api import InferenceAPI


@pytest.fixture()
def es(live_server: tuple[str, InferenceAPI]) -> Elasticsearch:
    return Elasticsearch(live_server[0], request_timeout=60)


def _bulk_one(es: Elasticsearch, index: str, doc: dict[str, Any], doc_id: str = "1") -> dict[str, Any]:
    out = es.bulk(operations=[{"index": {"_index": index, "_id": doc_id}}, doc])
    item: dict[str, Any] = out["items"][0]["index"]
    return item


def test_aliases_lifecycle_and_writes_through_them(es: Elasticsearch) -> None:
    es.indices.create(index="v1", settings={"index.default_pipeline": "mark"})
    es.indices.create(index="v2")
    es.ingest.put_pipeline(id="mark", processors=[{"set": {"field": "marked", "value": True}}])
    assert es.indices.put_alias(index="v1", name="current").body == {"acknowledged": True}
    assert es.indices.get_alias(name="current").body == {"v1": {"aliases": {"current": {}}}}
    assert es.indices.exists_alias(name="current")
    assert not es.indices.exists_alias(name="nope")
    item = _bulk_one(es, "current", {"x": 1})
    assert item["_index"] == "v1" and item["status"] == 201
    assert es.get(index="v1", id="1")["_source"] == {"x": 1, "marked": True}  # v1's default pipeline ran
    # swap atomically; two indices without a write index refuse writes
    swapped = es.indices.update_aliases(actions=[{"remove": {"index": "v1", "alias": "current"}},
                                                 {"add": {"index": "v2", "alias": "current"}},
                                                 {"add": {"indices": ["v1", "v2"], "alias": "both"}}])
    assert swapped.body == {"acknowledged": True, "errors": False}
    assert es.indices.get_alias(index="v*").body == {"v1": {"aliases": {"both": {}}},
                                                     "v2": {"aliases": {"both": {}, "current": {}}}}
    refused = _bulk_one(es, "both", {"x": 2})
    assert refused["status"] == 400 and "no write index is defined for alias [both]" in str(refused["error"])
    es.indices.update_aliases(actions=[{"add": {"index": "v2", "alias": "both", "is_write_index": True}}])
    assert _bulk_one(es, "both", {"x": 3})["_index"] == "v2"
    assert es.indices.get_alias(name="both")["v2"]["aliases"]["both"] == {"is_write_index": True}
    with pytest.raises(NotFoundError) as gone:
        es.indices.delete_alias(index="v1", name="current")
    assert gone.value.error == "aliases_not_found_exception"
    with pytest.raises(NotFoundError):
        es.indices.get_alias(name="nope")
    with pytest.raises(BadRequestError) as clash:
        es.indices.put_alias(index="v1", name="v2")
    assert clash.value.error == "invalid_alias_name_exception"
    with pytest.raises(BadRequestError) as by_alias:
        es.indices.delete(index="current")
    assert "matches an alias" in by_alias.value.info["error"]["reason"]
    es.indices.update_aliases(actions=[{"remove_index": {"index": "v1"}}])
    assert not es.indices.exists(index="v1")


def test_final_pipeline_runs_after_the_default_and_cannot_move_the_document(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="first", processors=[{"set": {"field": "order", "value": "first"}}])
    es.ingest.put_pipeline(id="last", processors=[{"set": {"field": "then", "value": "last"}}])
    es.ingest.put_pipeline(id="mover", processors=[{"set": {"field": "_index", "value": "elsewhere"}}])
    es.indices.create(index="f", settings={"index": {"default_pipeline": "first", "final_pipeline": "last"}})
    assert _bulk_one(es, "f", {})["status"] == 201
    assert es.get(index="f", id="1")["_source"] == {"order": "first", "then": "last"}
    # the request pipeline replaces the default, never the final one; _none skips the default only
    es.bulk(operations=[{"index": {"_index": "f", "_id": "2", "pipeline": "_none"}}, {"a": 1}])
    assert es.get(index="f", id="2")["_source"] == {"a": 1, "then": "last"}
    es.indices.create(index="g", settings={"index.final_pipeline": "mover"})
    moved = _bulk_one(es, "g", {"a": 1}, "d1")
    assert moved["status"] == 500
    assert moved["error"] == {"type": "illegal_state_exception", "reason": "final pipeline [mover] can't change the "
                              "target index (from [g] to [elsewhere]) for document [d1]"}


def test_every_pipeline_runs_on_empty_documents(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="no", processors=[{"fail": {"message": "refused"}}])
    es.ingest.put_pipeline(id="fill", processors=[{"set": {"field": "filled", "value": 1}}])
    out = es.bulk(pipeline="no", operations=[{"index": {"_index": "e", "_id": "1"}}, {}])
    assert out["items"][0]["index"]["error"]["reason"] == "refused"
    es.bulk(pipeline="fill", operations=[{"index": {"_index": "e", "_id": "2"}}, {},
                                         {"index": {"_index": "e", "_id": "3"}}, {}])
    assert es.get(index="e", id="3")["_source"] == {"filled": 1}


def test_a_moved_document_gets_the_new_index_pipelines_and_cycles_are_refused(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="to-b", processors=[{"reroute": {"destination": "b"}}])
    es.ingest.put_pipeline(id="to-a", processors=[{"reroute": {"destination": "a"}}])
    es.ingest.put_pipeline(id="stamp", processors=[{"set": {"field": "at", "value": "{{_index}}"}},
                                                   {"set": {"field": "ts", "copy_from": "_ingest.timestamp"}}])
    es.indices.create(index="a", settings={"index.default_pipeline": "to-b"})
    es.indices.create(index="b", settings={"index.default_pipeline": "stamp"})
    item = _bulk_one(es, "a", {"x": 1})
    assert item["_index"] == "b"
    source = es.get(index="b", id="1")["_source"]
    assert source["at"] == "b" and source["ts"].startswith("20")  # b's default pipeline ran after the reroute
    es.indices.put_settings(index="b", settings={"index.default_pipeline": "to-a"})
    cycle = _bulk_one(es, "a", {"x": 1}, "c1")
    assert cycle["error"]["reason"] == ("index cycle detected while processing pipeline [to-a] for document [c1]: "
                                        "[a, b, a]")


def test_pipeline_processor_cycle_in_bulk(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="p1", processors=[{"pipeline": {"name": "p2"}}])
    es.ingest.put_pipeline(id="p2", processors=[{"pipeline": {"name": "p1"}}])
    item = _bulk_one(es, "cyc", {"x": 1})
    assert item["status"] == 201  # no pipeline: written
    bad = es.bulk(pipeline="p1", operations=[{"index": {"_index": "cyc", "_id": "2"}}, {"x": 1}])["items"][0]["index"]
    assert "Cycle detected for pipeline: p1" in bad["error"]["reason"]


def test_nodes_stats_ingest_counts_pipeline_runs(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="ok", processors=[{"set": {"field": "a", "value": 1}}])
    es.ingest.put_pipeline(id="bad", processors=[{"fail": {"message": "no"}}])
    es.bulk(pipeline="ok", operations=[{"index": {"_index": "s"}}, {"x": 1}, {"index": {"_index": "s"}}, {"x": 2}])
    es.bulk(pipeline="bad", operations=[{"index": {"_index": "s"}}, {"x": 3}])
    stats = es.nodes.stats(metric="ingest")
    (node,) = stats["nodes"].values()
    ingest = node["ingest"]
    assert ingest["total"]["count"] == 3 and ingest["total"]["failed"] == 1 and ingest["total"]["current"] == 0
    assert ingest["pipelines"]["ok"]["count"] == 2 and ingest["pipelines"]["ok"]["failed"] == 0
    assert ingest["pipelines"]["bad"]["failed"] == 1
    assert isinstance(ingest["pipelines"]["ok"]["time_in_millis"], int)
    ok = ingest["pipelines"]["ok"]  # {"x":1} in, {"x":1,"a":1} out, twice
    assert ok["ingested_as_first_pipeline_in_bytes"] == 2 * len('{"x":1}')
    assert ok["produced_as_first_pipeline_in_bytes"] == 2 * len('{"x":1,"a":1}')
    assert ingest["pipelines"]["bad"]["produced_as_first_pipeline_in_bytes"] == 0
    info = es.cluster.info(target="ingest")
    assert info["ingest"]["pipelines"]["ok"]["count"] == 2
    with pytest.raises(BadRequestError):
        es.nodes.stats(metric="jvm")


def test_pipeline_dates_meta_deprecated_and_delete_of_nothing(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="dated", processors=[], meta={"owner": "me"}, deprecated=True)
    first = es.ingest.get_pipeline(id="dated")["dated"]
    assert first["_meta"] == {"owner": "me"} and first["deprecated"] is True
    created = first["created_date_millis"]
    assert created == first["modified_date_millis"] and created > 1_700_000_000_000
    es.ingest.put_pipeline(id="dated", processors=[], description="again")
    second = es.ingest.get_pipeline(id="dated", human=True)["dated"]
    assert second["created_date_millis"] == created and second["modified_date_millis"] >= created
    assert second["created_date"].endswith("Z") and second["modified_date"].startswith("20")
    with pytest.raises(NotFoundError) as nothing:
        es.ingest.delete_pipeline(id="my_*")
    assert nothing.value.error == "resource_not_found_exception"
    assert nothing.value.info["error"]["reason"] == "pipeline [my_*] is missing"
    assert es.ingest.delete_pipeline(id="dat*").body == {"acknowledged": True}
