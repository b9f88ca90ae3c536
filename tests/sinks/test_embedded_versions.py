"""Embedded store: real ``_version``, per-index ``_seq_no``, optimistic concurrency, external versions,
scripted updates, generated ids, and the in-place migration of stores from before sequence numbers."""

from __future__ import annotations

import base64
import time
from pathlib import Path

import duckdb
import pytest

from ingest.sinks.base import BulkAction, ItemResult
from ingest.sinks.embedded import EmbeddedStore
from ingest.sinks.ids import TimeBasedIds


def _meta(r: ItemResult) -> tuple[object, ...]:
    return (r.status, r.result, r.version, r.seq_no)


def test_versions_and_seq_nos_are_real_and_persist(ingest_home: Path) -> None:
    store = EmbeddedStore()
    results = store.write([BulkAction("index", "a", "1", {"n": 1}), BulkAction("index", "a", "1", {"n": 2}),
                           BulkAction("index", "b", "1", {"n": 1}), BulkAction("delete", "a", "1", None),
                           BulkAction("delete", "a", "1", None)])
    assert [_meta(r) for r in results] == [(201, "created", 1, 0), (200, "updated", 2, 1), (201, "created", 1, 0),
                                           (200, "deleted", 3, 2), (404, "not_found", 4, 3)]
    store.close()
    store = EmbeddedStore()  # the counter survives a restart
    r1, r2 = store.write([BulkAction("index", "a", "2", {"n": 1}), BulkAction("index", "a", "2", {"n": 5})])
    assert _meta(r1) == (201, "created", 1, 4) and _meta(r2) == (200, "updated", 2, 5)
    doc = store.get_docs("a", ["2", "missing"])
    assert list(doc) == ["2"] and (doc["2"].version, doc["2"].seq_no, doc["2"].primary_term) == (2, 5, 1)
    assert doc["2"].source == {"n": 5}
    store.close()


def test_if_seq_no_conflicts_with_elasticsearch_messages(ingest_home: Path) -> None:
    store = EmbeddedStore()
    store.write([BulkAction("index", "a", "1", {"n": 1})])
    ok, stale, missing = store.write([
        BulkAction("index", "a", "1", {"n": 2}, if_seq_no=0, if_primary_term=1),
        BulkAction("index", "a", "1", {"n": 3}, if_seq_no=0, if_primary_term=1),
        BulkAction("delete", "a", "9", None, if_seq_no=0, if_primary_term=1),
    ])
    assert ok.status == 200 and ok.seq_no == 1
    assert stale.status == 409 and stale.error is not None
    assert stale.error["type"] == "version_conflict_engine_exception"
    assert stale.error["reason"] == ("[1]: version conflict, required seqNo [0], primary term [1]. current document "
                                     "has seqNo [1] and primary term [1]")
    assert missing.error is not None and missing.error["reason"] == (
        "[9]: version conflict, required seqNo [0], primary term [1]. but no document was found")
    bad, = store.write([BulkAction("index", "a", "1", {"n": 4}, if_seq_no=1)])
    assert bad.status == 400 and bad.error is not None
    assert bad.error["reason"] == "Validation Failed: 1: ifSeqNo is set, but primary term is [0];"
    assert store.get_docs("a", ["1"])["1"].source == {"n": 2}
    store.close()


def test_external_versions(ingest_home: Path) -> None:
    store = EmbeddedStore()
    a, b, c, d = store.write([
        BulkAction("index", "a", "1", {"n": 1}, version=5, version_type="external"),
        BulkAction("index", "a", "1", {"n": 2}, version=5, version_type="external"),
        BulkAction("index", "a", "1", {"n": 3}, version=5, version_type="external_gte"),
        BulkAction("index", "a", "1", {"n": 4}, version=3),
    ])
    assert (a.status, a.version) == (201, 5)
    assert b.status == 409 and b.error is not None and b.error["reason"] == (
        "[1]: version conflict, current version [5] is higher or equal to the one provided [5]")
    assert (c.status, c.version) == (200, 5)
    assert d.status == 400 and d.error is not None and "internal versioning can not be used" in d.error["reason"]
    store.close()


def test_scripted_updates(ingest_home: Path) -> None:
    store = EmbeddedStore()
    store.write([BulkAction("index", "a", "1", {"count": 1, "tags": ["x"]})])
    inc, noop, gone, upserted, plain_upsert, broken = store.write([
        BulkAction("update", "a", "1", {"script": {"source": "ctx._source.count += params.n", "params": {"n": 4}}}),
        BulkAction("update", "a", "1", {"script": "ctx.op = 'noop'"}),
        BulkAction("update", "a", "1", {"script": "if (ctx._source.count == 5) { ctx.op = 'delete' }"}),
        BulkAction("update", "a", "2", {"script": "ctx._source.count = 10", "upsert": {"count": 0},
                                        "scripted_upsert": True}),
        BulkAction("update", "a", "3", {"script": "ctx._source.count = 10", "upsert": {"count": 0}}),
        BulkAction("update", "a", "2", {"script": "ctx._source.count = ctx._source.nope.deeper"}),
    ])
    assert (inc.status, inc.result, inc.version) == (200, "updated", 2)
    assert (noop.result, noop.version, noop.seq_no) == ("noop", 2, inc.seq_no)
    assert (gone.status, gone.result) == (200, "deleted")
    assert (upserted.status, upserted.result) == (201, "created")
    assert (plain_upsert.status, plain_upsert.result) == (201, "created")
    assert broken.status == 400 and broken.error is not None
    assert broken.error["type"] == "illegal_argument_exception" and broken.error["reason"] == "failed to execute script"
    assert broken.error["caused_by"]["type"] == "script_exception"
    docs = store.get_docs("a", ["1", "2", "3"])
    assert {k: v.source for k, v in docs.items()} == {"2": {"count": 10}, "3": {"count": 0}}
    store.close()


def test_generated_ids_are_elasticsearch_shaped_and_unique(ingest_home: Path) -> None:
    ids = TimeBasedIds()
    made = [ids.next() for _ in range(20_000)]
    assert len(set(made)) == len(made)
    assert all(len(i) == 20 and base64.urlsafe_b64decode(i + "=") for i in made)
    store = EmbeddedStore()
    r, = store.write([BulkAction("index", "a", None, {"n": 1})])
    assert r.status == 201 and r.id is not None and len(r.id) == 20 and "=" not in r.id
    store.close()


def test_a_store_from_before_sequence_numbers_is_migrated_in_place(ingest_home: Path) -> None:
    path = ingest_home / "indices.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE _indices (name VARCHAR PRIMARY KEY, fields JSON NOT NULL)")
    con.execute("INSERT INTO _indices VALUES ('old', '{}')")
    con.execute("CREATE TABLE old (_id VARCHAR PRIMARY KEY, _version BIGINT NOT NULL, _source JSON NOT NULL)")
    con.execute("""INSERT INTO old VALUES ('a', 3, '{"n": 1}'), ('b', 1, '{"n": 2}')""")
    con.close()
    store = EmbeddedStore()
    docs = store.get_docs("old", ["a", "b"])
    assert [(d.version, d.seq_no, d.primary_term) for d in docs.values()] == [(3, 0, 1), (1, 1, 1)]
    r, = store.write([BulkAction("index", "old", "a", {"n": 3})])
    assert (r.version, r.seq_no) == (4, 2)
    store.close()


def test_deletes_are_remembered_for_gc_deletes(ingest_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = EmbeddedStore()
    store.write([BulkAction("index", "a", "1", {"n": 1}), BulkAction("index", "a", "1", {"n": 2})])
    gone, = store.write([BulkAction("delete", "a", "1", None)])
    again, = store.write([BulkAction("delete", "a", "1", None)])
    back, = store.write([BulkAction("index", "a", "1", {"n": 3})])
    assert [(r.status, r.result, r.version) for r in (gone, again, back)] == [
        (200, "deleted", 3), (404, "not_found", 4), (201, "created", 5)]
    store.write([BulkAction("delete", "a", "1", None)])
    later = time.time() + 61  # after index.gc_deletes the id starts over, as in Elasticsearch
    monkeypatch.setattr(time, "time", lambda: later)
    fresh, = store.write([BulkAction("index", "a", "1", {"n": 4})])
    assert (fresh.result, fresh.version) == ("created", 1)
    store.close()
