"""``_update`` and ``_bulk`` update items as Elasticsearch runs them: the upsert part through the index's
pipelines (TransportBulkAction.getIndexWriteRequest), ``get`` when ``_source`` is asked, and ``_shards.total``
counting the replicas a single node does not hold."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch

from ingest.models.api import InferenceAPI


@pytest.fixture()
def es(live_server: tuple[str, InferenceAPI]) -> Elasticsearch:
    client = Elasticsearch(live_server[0], request_timeout=60)
    client.ingest.put_pipeline(id="stamp", processors=[{"set": {"field": "stamped", "value": True}},
                                                       {"uppercase": {"field": "name", "ignore_missing": True}}])
    client.indices.create(index="docs", settings={"index.default_pipeline": "stamp"})
    return client


def test_upsert_creates_through_the_default_pipeline(es: Elasticsearch) -> None:
    r = es.update(index="docs", id="1", doc={"name": "patch"}, upsert={"name": "new"})
    assert r["result"] == "created"
    assert es.get(index="docs", id="1")["_source"] == {"name": "NEW", "stamped": True}


def test_doc_as_upsert_runs_the_pipeline_on_the_doc_it_creates(es: Elasticsearch) -> None:
    es.update(index="docs", id="2", doc={"name": "first"}, doc_as_upsert=True)
    assert es.get(index="docs", id="2")["_source"] == {"name": "FIRST", "stamped": True}
    # (an existing document: see test_update_pipelines_es.py for what the real node does and where we differ)


def test_upsert_failing_in_its_pipeline_fails_the_item(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="refuse", processors=[{"fail": {"message": "no upserts"}}])
    ops: list[dict[str, Any]] = [{"update": {"_index": "docs", "_id": "9"}},
                                 {"doc": {"a": 1}, "upsert": {"a": 0}}]
    r = es.bulk(operations=ops, pipeline="refuse")
    item = r["items"][0]["update"]
    assert item["status"] == 500 and item["error"]["reason"] == "no upserts"
    assert es.exists(index="docs", id="9").body is False


def test_bulk_update_items_return_get_when_source_is_asked(es: Elasticsearch) -> None:
    es.index(index="docs", id="1", document={"name": "a", "n": 1}, pipeline="_none")
    ops: list[dict[str, Any]] = [
        {"update": {"_index": "docs", "_id": "1"}}, {"doc": {"n": 2}, "_source": True},
        {"update": {"_index": "docs", "_id": "1"}}, {"doc": {"n": 2}, "_source": {"includes": ["n"]}},  # noop
        {"update": {"_index": "docs", "_id": "4"}}, {"doc": {"x": 1}, "doc_as_upsert": True, "_source": "x"},
        {"update": {"_index": "docs", "_id": "1"}}, {"doc": {"n": 3}},
    ]
    items = [it["update"] for it in es.bulk(operations=ops)["items"]]
    assert items[0]["get"] == {"_seq_no": items[0]["_seq_no"], "_primary_term": 1, "found": True,
                               "_source": {"name": "a", "n": 2}}
    assert items[1]["result"] == "noop" and items[1]["get"]["_source"] == {"n": 2}
    assert items[1]["_shards"]["total"] == 2  # a bulk noop carries its shard request's copies (real node)
    assert items[2]["result"] == "created" and items[2]["get"]["_source"] == {"x": 1}
    assert "get" not in items[3]
    # the request's _source applies to every update item
    ops = [{"update": {"_index": "docs", "_id": "1"}}, {"doc": {"n": 4}},
           {"index": {"_index": "docs", "_id": "5"}}, {"n": 5}]
    items = [next(iter(it.values())) for it in es.bulk(operations=ops, source_includes=["n"])["items"]]
    assert items[0]["get"]["_source"] == {"n": 4}
    assert "get" not in items[1]


def test_shards_total_counts_replicas(es: Elasticsearch) -> None:
    es.indices.create(index="solo", settings={"number_of_replicas": 0})
    assert es.index(index="docs", id="1", document={"n": 1})["_shards"] == {"total": 2, "successful": 1,
                                                                             "failed": 0}
    assert es.index(index="solo", id="1", document={"n": 1})["_shards"] == {"total": 1, "successful": 1,
                                                                             "failed": 0}
    items = es.bulk(operations=[{"delete": {"_index": "docs", "_id": "1"}},
                                {"delete": {"_index": "docs", "_id": "1"}},
                                {"create": {"_index": "solo", "_id": "2"}}, {"n": 2}])["items"]
    assert [next(iter(it.values()))["_shards"]["total"] for it in items] == [2, 2, 1]
    noop = es.update(index="solo", id="1", doc={"n": 1})
    assert noop["result"] == "noop" and noop["_shards"] == {"total": 0, "successful": 0, "failed": 0}
