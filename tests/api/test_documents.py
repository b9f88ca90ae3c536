"""Document APIs through the unmodified official ``elasticsearch`` client against a real uvicorn server:
``_doc``, ``_create``, ``_source``, ``_update``, delete, ``_mget``, versions, sequence numbers and conflicts."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from elasticsearch import BadRequestError, ConflictError, Elasticsearch, NotFoundError, helpers

from ingest.models.api import InferenceAPI


@pytest.fixture()
def es(live_server: tuple[str, InferenceAPI]) -> Elasticsearch:
    return Elasticsearch(live_server[0], request_timeout=60)


def test_index_get_and_versions(es: Elasticsearch) -> None:
    first = es.index(index="docs", id="1", document={"title": "one", "n": 1})
    assert first.meta.status == 201
    assert dict(first) == {"_index": "docs", "_id": "1", "_version": 1, "result": "created",
                           "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": 0, "_primary_term": 1}
    second = es.index(index="docs", id="1", document={"title": "uno", "n": 2}, refresh=True)
    assert second.meta.status == 200
    assert (second["result"], second["_version"], second["_seq_no"], second["forced_refresh"]) == (
        "updated", 2, 1, True)
    got = es.get(index="docs", id="1")
    assert dict(got) == {"_index": "docs", "_id": "1", "_version": 2, "_seq_no": 1, "_primary_term": 1,
                         "found": True, "_source": {"title": "uno", "n": 2}}
    assert es.get(index="docs", id="1", source_includes=["title"])["_source"] == {"title": "uno"}
    assert es.get(index="docs", id="1", source_excludes=["title"])["_source"] == {"n": 2}
    assert "_source" not in es.get(index="docs", id="1", source=False)
    assert "_source" not in es.get(index="docs", id="1", stored_fields=["title"])  # nothing is stored: ignored
    assert es.get(index="docs", id="1", realtime=False)["found"] is True
    assert es.exists(index="docs", id="1").body is True
    assert es.exists(index="docs", id="2").body is False
    assert es.get_source(index="docs", id="1") == {"title": "uno", "n": 2}
    assert es.exists_source(index="docs", id="1").body is True
    with pytest.raises(NotFoundError) as missing:
        es.get(index="docs", id="2")
    assert missing.value.body == {"_index": "docs", "_id": "2", "found": False}
    with pytest.raises(NotFoundError) as no_source:
        es.get_source(index="docs", id="2")
    assert no_source.value.error == "resource_not_found_exception"
    assert no_source.value.body["error"]["reason"] == "Document not found [docs]/[2]"
    with pytest.raises(NotFoundError) as no_index:
        es.get(index="nope", id="1")
    assert no_index.value.error == "index_not_found_exception"


def test_generated_ids_create_and_op_type(es: Elasticsearch) -> None:
    made = es.index(index="docs", document={"a": 1})
    assert made.meta.status == 201 and len(made["_id"]) == 20
    assert len(base64.urlsafe_b64decode(made["_id"] + "=")) == 15
    assert es.get(index="docs", id=made["_id"])["_source"] == {"a": 1}
    created = es.create(index="docs", id="c", document={"b": 1})
    assert (created.meta.status, created["result"]) == (201, "created")
    with pytest.raises(ConflictError) as conflict:
        es.create(index="docs", id="c", document={"b": 2})
    body = conflict.value.body
    assert body["status"] == 409 and body["error"]["type"] == "version_conflict_engine_exception"
    assert body["error"]["reason"] == "[c]: version conflict, document already exists (current version [1])"
    assert body["error"]["root_cause"][0]["type"] == "version_conflict_engine_exception"
    with pytest.raises(ConflictError):
        es.index(index="docs", id="c", document={"b": 3}, op_type="create")
    assert es.get(index="docs", id="c")["_source"] == {"b": 1}


def test_optimistic_concurrency_and_external_versions(es: Elasticsearch) -> None:
    es.index(index="docs", id="1", document={"n": 1})
    ok = es.index(index="docs", id="1", document={"n": 2}, if_seq_no=0, if_primary_term=1)
    assert ok["_seq_no"] == 1
    with pytest.raises(ConflictError) as stale:
        es.index(index="docs", id="1", document={"n": 3}, if_seq_no=0, if_primary_term=1)
    assert stale.value.body["error"]["reason"] == (
        "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary "
        "term [1]")
    with pytest.raises(ConflictError):
        es.delete(index="docs", id="1", if_seq_no=0, if_primary_term=1)
    ext = es.index(index="ext", id="1", document={"n": 1}, version=10, version_type="external")
    assert ext["_version"] == 10
    with pytest.raises(ConflictError) as older:
        es.index(index="ext", id="1", document={"n": 2}, version=9, version_type="external")
    assert older.value.body["error"]["reason"] == (
        "[1]: version conflict, current version [10] is higher or equal to the one provided [9]")
    with pytest.raises(BadRequestError) as internal:
        es.index(index="ext", id="1", document={"n": 2}, version=11)
    assert "internal versioning can not be used for optimistic concurrency control" in str(internal.value.body)


def test_delete(es: Elasticsearch) -> None:
    es.index(index="docs", id="1", document={"n": 1})
    gone = es.delete(index="docs", id="1")
    assert (gone.meta.status, gone["result"], gone["_version"], gone["_seq_no"]) == (200, "deleted", 2, 1)
    with pytest.raises(NotFoundError) as again:
        es.delete(index="docs", id="1")
    assert again.value.body["result"] == "not_found" and again.value.body["_index"] == "docs"
    with pytest.raises(NotFoundError) as no_index:
        es.delete(index="nope", id="1")
    assert no_index.value.error == "index_not_found_exception"


def test_update(es: Elasticsearch) -> None:
    es.index(index="docs", id="1", document={"n": 1, "obj": {"a": 1}, "tags": ["x"]})
    merged = es.update(index="docs", id="1", doc={"obj": {"b": 2}}, source=True)
    assert (merged["result"], merged["_version"]) == ("updated", 2)
    assert merged["get"]["_source"] == {"n": 1, "obj": {"a": 1, "b": 2}, "tags": ["x"]}
    assert merged["get"]["found"] is True and merged["get"]["_seq_no"] == 1
    noop = es.update(index="docs", id="1", doc={"n": 1})
    assert (noop["result"], noop["_version"], noop["_shards"]["total"]) == ("noop", 2, 0)
    forced = es.update(index="docs", id="1", doc={"n": 1}, detect_noop=False)
    assert (forced["result"], forced["_version"]) == ("updated", 3)
    scripted = es.update(index="docs", id="1", script={"source": "ctx._source.n += params.by; ctx._source.tags.add('y')",
                                                         "params": {"by": 5}})
    assert scripted["result"] == "updated"
    assert es.get_source(index="docs", id="1") == {"n": 6, "obj": {"a": 1, "b": 2}, "tags": ["x", "y"]}
    assert es.update(index="docs", id="1", script={"source": "ctx.op = 'noop'"})["result"] == "noop"
    deleted = es.update(index="docs", id="1", script={"source": "ctx.op = 'delete'"})
    assert deleted["result"] == "deleted"
    assert es.exists(index="docs", id="1").body is False
    with pytest.raises(NotFoundError) as missing:
        es.update(index="docs", id="1", doc={"n": 1})
    assert missing.value.error == "document_missing_exception"
    assert missing.value.body["error"]["reason"] == "[1]: document missing"
    upserted = es.update(index="docs", id="2", doc={"n": 1}, doc_as_upsert=True)
    assert (upserted.meta.status, upserted["result"]) == (201, "created")
    es.update(index="docs", id="3", script={"source": "ctx._source.n = 7"}, upsert={"n": 0}, scripted_upsert=True)
    es.update(index="docs", id="4", script={"source": "ctx._source.n = 7"}, upsert={"n": 0})
    assert [es.get_source(index="docs", id=i)["n"] for i in ("3", "4")] == [7, 0]
    with pytest.raises(ConflictError):
        es.update(index="docs", id="2", doc={"n": 9}, if_seq_no=0, if_primary_term=1)
    with pytest.raises(BadRequestError) as broken:
        es.update(index="docs", id="2", script={"source": "ctx._source.n = ctx._source.missing.deeper"})
    assert broken.value.body["error"]["reason"] == "failed to execute script"
    assert broken.value.body["error"]["caused_by"]["type"] == "script_exception"
    with pytest.raises(BadRequestError) as unknown:
        es.perform_request("POST", "/docs/_update/2", headers={"content-type": "application/json"},
                           body={"doc": {}, "nope": 1})
    assert unknown.value.error == "x_content_parse_exception"


def test_mget(es: Elasticsearch) -> None:
    es.index(index="a", id="1", document={"x": 1, "y": 2})
    es.index(index="b", id="1", document={"x": 3})
    got = es.mget(docs=[{"_index": "a", "_id": "1", "_source": ["x"]}, {"_index": "b", "_id": "1"},
                        {"_index": "a", "_id": "9"}, {"_index": "nope", "_id": "1"}])
    docs: list[dict[str, Any]] = got["docs"]
    assert docs[0] == {"_index": "a", "_id": "1", "_version": 1, "_seq_no": 0, "_primary_term": 1, "found": True,
                       "_source": {"x": 1}}
    assert docs[1]["_source"] == {"x": 3}
    assert docs[2] == {"_index": "a", "_id": "9", "found": False}
    assert docs[3]["error"]["type"] == "index_not_found_exception"
    by_ids = es.mget(index="a", ids=["1", "2"])
    assert [d["found"] for d in by_ids["docs"]] == [True, False]
    with pytest.raises(BadRequestError) as invalid:
        es.mget(docs=[{"_id": "1"}])
    assert invalid.value.body["error"]["reason"] == "Validation Failed: 1: index is missing for doc 0;"


def test_bulk_items_carry_seq_no_and_pipelines_run_on_empty_documents(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="stamp", processors=[{"set": {"field": "stamped", "value": True}}])
    ok, errors = helpers.bulk(es, [{"_index": "docs", "_id": str(i), "n": i} for i in range(3)], refresh=True)
    assert (ok, errors) == (3, [])
    raw = es.bulk(operations=[{"index": {"_index": "docs", "_id": "e"}}, {},
                              {"delete": {"_index": "docs", "_id": "0"}},
                              {"index": {"_index": "docs", "_id": "1", "if_seq_no": 0, "if_primary_term": 1}},
                              {"a": 1}], pipeline="stamp")
    items = [next(iter(i.values())) for i in raw["items"]]
    assert "ingest_took" in raw
    assert (items[0]["_seq_no"], items[0]["_primary_term"]) == (3, 1)
    assert (items[1]["result"], items[1]["_seq_no"]) == ("deleted", 4)
    assert items[2]["status"] == 409 and "required seqNo [0]" in items[2]["error"]["reason"]
    assert es.get_source(index="docs", id="e") == {"stamped": True}  # an empty document still ran the pipeline
    es.ingest.put_pipeline(id="refuse", processors=[{"fail": {"message": "no"}}])
    refused = es.bulk(operations=[{"index": {"_index": "docs", "_id": "f"}}, {}], pipeline="refuse")
    assert refused["errors"] is True and refused["items"][0]["index"]["error"]["reason"] == "no"


def test_pipeline_parameter_and_refresh_on_single_documents(es: Elasticsearch) -> None:
    es.ingest.put_pipeline(id="upper", processors=[{"uppercase": {"field": "t"}}])
    es.index(index="docs", id="1", document={"t": "abc"}, pipeline="upper", refresh="wait_for")
    assert es.get_source(index="docs", id="1") == {"t": "ABC"}
    es.indices.create(index="piped", settings={"index": {"default_pipeline": "upper"}})
    es.index(index="piped", id="1", document={"t": "xyz"})
    assert es.get_source(index="piped", id="1") == {"t": "XYZ"}
    with pytest.raises(BadRequestError) as unknown:
        es.index(index="docs", id="2", document={"t": "x"}, pipeline="ghost")
    assert unknown.value.body["error"]["reason"] == "pipeline with id [ghost] does not exist"


def test_delete_by_query(es: Elasticsearch) -> None:
    helpers.bulk(es, [{"_index": "logs", "_id": str(i), "level": "error" if i % 3 == 0 else "info", "n": i}
                      for i in range(10)])
    out = es.delete_by_query(index="logs", query={"term": {"level": "error"}}, refresh=True)
    assert {k: out[k] for k in ("total", "deleted", "batches", "version_conflicts", "noops", "failures")} == {
        "total": 4, "deleted": 4, "batches": 1, "version_conflicts": 0, "noops": 0, "failures": []}
    assert out["timed_out"] is False and out["requests_per_second"] == -1.0
    assert es.count(index="logs")["count"] == 6
    limited = es.delete_by_query(index="logs", query={"range": {"n": {"gte": 0}}}, max_docs=2, scroll_size=1)
    assert (limited["deleted"], limited["batches"]) == (2, 2)
    assert es.count(index="logs")["count"] == 4
    es.index(index="logs", id="m", document={"level": "info", "msg": "Disk FULL on sda"})
    worded = es.delete_by_query(index="logs", query={"term": {"msg": "full"}})  # a token of a text field
    assert worded["deleted"] == 1
    with pytest.raises(BadRequestError) as unsupported:
        es.delete_by_query(index="logs", query={"match": {"level": "info"}})
    assert unsupported.value.error == "parsing_exception"
    with pytest.raises(NotFoundError):
        es.delete_by_query(index="nope", query={"match_all": {}})
    with pytest.raises(BadRequestError) as sliced:
        es.delete_by_query(index="logs", query={"match_all": {}}, slice={"id": 0, "max": 2})
    assert "manual slicing" in sliced.value.body["error"]["reason"]
    assert es.count(index="logs")["count"] == 4  # nothing deleted


def test_update_by_query_runs_scripts_and_pipelines(es: Elasticsearch) -> None:
    helpers.bulk(es, [{"_index": "logs", "_id": str(i), "n": i} for i in range(6)])
    out = es.update_by_query(index="logs", query={"range": {"n": {"lt": 4}}}, script={
        "source": "if (ctx._source.n == 0) { ctx.op = 'noop' } else if (ctx._source.n == 1) { ctx.op = 'delete' } "
                  "else { ctx._source.n += 100 }"})
    assert {k: out[k] for k in ("total", "updated", "deleted", "noops", "version_conflicts")} == {
        "total": 4, "updated": 2, "deleted": 1, "noops": 1, "version_conflicts": 0}
    got = es.mget(index="logs", ids=["0", "1", "2", "3", "4"])["docs"]
    assert [d.get("_source", {}).get("n") for d in got] == [0, None, 102, 103, 4]
    assert [d.get("_version") for d in got] == [1, None, 2, 2, 1]
    es.ingest.put_pipeline(id="mark", processors=[{"set": {"field": "marked", "value": True}}])
    piped = es.update_by_query(index="logs", pipeline="mark", query={"ids": {"values": ["4", "5"]}})
    assert piped["updated"] == 2
    assert es.get_source(index="logs", id="5") == {"n": 5, "marked": True}


def test_by_query_version_conflicts_abort_or_proceed(ingest_home: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A document changed between the scan and the write is a conflict: 409 with conflicts=abort, counted with
    proceed (the scan is made to race with a writer)."""
    from fastapi.testclient import TestClient

    from ingest.server.app import create_app
    from ingest.sinks.base import BulkAction
    from ingest.sinks.embedded import EmbeddedStore

    real_scan = EmbeddedStore.scan

    def racing_scan(self: EmbeddedStore, index: str, page: int = 1000) -> Any:
        for docs in real_scan(self, index, page):
            self.write([BulkAction("index", index, "1", {"n": 100})])  # someone else writes meanwhile
            yield docs

    monkeypatch.setattr(EmbeddedStore, "scan", racing_scan)
    api = InferenceAPI()
    with TestClient(create_app(api)) as client:
        for i in range(3):
            client.put(f"/race/_doc/{i}", json={"n": i})
        aborted = client.post("/race/_delete_by_query", json={"query": {"match_all": {}}})
        assert aborted.status_code == 409, aborted.text
        body = aborted.json()
        assert body["version_conflicts"] == 1 and body["failures"][0]["status"] == 409
        assert body["failures"][0]["cause"]["type"] == "version_conflict_engine_exception"
        assert body["failures"][0]["id"] == "1"
        proceed = client.post("/race/_update_by_query?conflicts=proceed",
                              json={"script": {"source": "ctx._source.n += 1"}})
        assert proceed.status_code == 200, proceed.text
        counts = proceed.json()
        assert (counts["version_conflicts"], counts["failures"]) == (1, [])
        assert client.get("/race/_doc/1").json()["_source"] == {"n": 100}  # the other writer's version stays
    api.close()


def test_unknown_refresh_value_is_refused(es: Elasticsearch) -> None:
    """``refresh`` other than true/false/wait_for/empty is a 400 with Elasticsearch's message on every write path,
    and nothing is written (it used to be taken as ``false``)."""
    for call in (lambda: es.index(index="r", id="1", document={"a": 1}, refresh="bogus"),
                 lambda: es.create(index="r", id="1", document={"a": 1}, refresh="bogus"),
                 lambda: es.bulk(operations=[{"index": {"_index": "r", "_id": "1"}}, {"a": 1}],
                                 refresh="bogus")):
        with pytest.raises(BadRequestError) as bad:
            call()
        assert bad.value.error == "illegal_argument_exception"
        assert bad.value.info["error"]["reason"] == "Unknown value for refresh: [bogus]."
    assert not es.indices.exists(index="r")
    assert es.index(index="r", id="1", document={"a": 1}, refresh="wait_for")["result"] == "created"
    assert es.index(index="r", id="1", document={"a": 2}, refresh=True)["forced_refresh"] is True
    with pytest.raises(BadRequestError) as bad:
        es.update(index="r", id="1", doc={"a": 3}, refresh="yes")
    assert bad.value.info["error"]["reason"] == "Unknown value for refresh: [yes]."
    with pytest.raises(BadRequestError):
        es.delete(index="r", id="1", refresh="no")
    assert es.get(index="r", id="1")["_source"] == {"a": 2}
