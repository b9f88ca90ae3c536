"""Embedded DuckDB store: storage layout, persistence, search, and errors."""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import pytest

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.sinks import open_sink
from ingest.sinks.base import BulkAction, FieldHint
from ingest.sinks.embedded import EmbeddedStore


def _store(ingest_home: Path) -> EmbeddedStore:
    sink = open_sink("embedded")
    assert isinstance(sink, EmbeddedStore) and sink.path == ingest_home / "indices.duckdb"
    return sink


def test_layout_is_typed_columns(ingest_home: Path) -> None:
    store = _store(ingest_home)
    store.ensure_index("docs", {"ml.dense": FieldHint("dense", 4, "dot_product"), "ml.sparse": FieldHint("sparse")})
    store.write([BulkAction("index", "docs", "a", {"t": "x", "ml": {"dense": [0.5, 0.5, 0.5, 0.5], "sparse": {"k": 2.0}}})])
    store.close()
    con = duckdb.connect(str(ingest_home / "indices.duckdb"), read_only=True)
    types = {name: typ for name, typ, *_ in con.execute("DESCRIBE docs").fetchall()}
    assert types == {"_id": "VARCHAR", "_version": "BIGINT", "_source": "JSON", "ml.dense": "FLOAT[4]",
                     "ml.sparse": "MAP(VARCHAR, FLOAT)", "_seq_no": "BIGINT", "_primary_term": "BIGINT"}
    source, = con.execute("SELECT _source FROM docs").fetchone() or ("",)
    assert source == '{"t":"x"}'  # vectors live only in their columns
    con.close()


def test_persistence_and_versions(ingest_home: Path) -> None:
    store = _store(ingest_home)
    store.ensure_index("p", {"v": FieldHint("dense", 2, "cosine")})
    results = store.write([BulkAction("index", "p", "1", {"v": [1, 0]}), BulkAction("index", "p", "1", {"v": [0, 1]})])
    assert [(r.status, r.version) for r in results] == [(201, 1), (200, 2)]
    store.close()
    reopened = EmbeddedStore()
    assert reopened.count("p") == 1 and reopened.get("p", "1") == {"v": [0.0, 1.0]}
    assert reopened.hints("p") == {"v": FieldHint("dense", 2, "cosine")}
    assert reopened.write([BulkAction("update", "p", "1", {"doc": {"v": [0, 1]}})])[0].result == "noop"
    reopened.close()


def test_dense_and_sparse_search_rank_and_score(ingest_home: Path) -> None:
    store = _store(ingest_home)
    store.ensure_index("s", {"d": FieldHint("dense", 3, "cosine"), "sp": FieldHint("sparse")})
    store.write([
        BulkAction("index", "s", "near", {"d": [1, 0.1, 0], "sp": {"cat": 2.0, "dog": 0.5}}),
        BulkAction("index", "s", "far", {"d": [0, 1, 0], "sp": {"dog": 3.0}}),
        BulkAction("index", "s", "opposite", {"d": [-1, 0, 0]}),
    ])
    hits = store.search("s", "d", [1, 0, 0], 2)
    assert [h["_id"] for h in hits] == ["near", "far"]
    # Elasticsearch's cosine score: (1 + cos) / 2
    assert hits[0]["_score"] == pytest.approx((1 + 1 / math.sqrt(1.01)) / 2, rel=1e-5)
    assert hits[1]["_score"] == pytest.approx(0.5)
    assert hits[0]["_source"]["sp"] == {"cat": 2.0, "dog": 0.5}
    sparse = store.search("s", "sp", {"cat": 1.0, "dog": 1.0}, 5)
    assert [(h["_id"], h["_score"]) for h in sparse] == [("far", 3.0), ("near", 2.5)]
    with pytest.raises(IllegalArgumentException, match="dimensions"):
        store.search("s", "d", [1, 0], 2)
    with pytest.raises(IllegalArgumentException, match="not a mapped vector field"):
        store.search("s", "nope", [1, 0, 0], 2)
    store.close()


def test_auto_created_index_then_mapped(ingest_home: Path) -> None:
    store = _store(ingest_home)
    assert store.write([BulkAction("create", "auto", "1", {"v": [1.0, 2.0]})])[0].status == 201
    assert store.get("auto", "1") == {"v": [1.0, 2.0]}  # unmapped vectors stay in _source
    store.ensure_index("auto", {"w": FieldHint("dense", 2, None)})
    store.write([BulkAction("index", "auto", "2", {"w": [3.0, 4.0]})])
    assert store.get("auto", "2") == {"w": [3.0, 4.0]}
    assert [h["_id"] for h in store.search("auto", "w", [3.0, 4.0], 5)] == ["2"]
    store.close()


def test_missing_index_and_bad_documents(ingest_home: Path) -> None:
    store = _store(ingest_home)
    for call in (lambda: store.count("nope"), lambda: store.get("nope", "1")):
        with pytest.raises(ElasticsearchError) as err:
            call()
        assert err.value.status == 404 and err.value.error_type == "index_not_found_exception"
    store.ensure_index("b", {"v": FieldHint("dense", 2, "cosine"), "s": FieldHint("sparse")})
    results = store.write([
        BulkAction("index", "b", "1", {"v": ["a", "b"]}),
        BulkAction("index", "b", "2", {"v": [1.0, float("nan")]}),
        BulkAction("index", "b", "3", {"s": {"tok": "heavy"}}),
        BulkAction("index", "b", "4", {"when": object()}),
        BulkAction("index", "b", "x" * 513, {"a": 1}),
        BulkAction("update", "b", "5", {"script": {"source": "ctx._source.a = 1", "lang": "expression"}}),
        BulkAction("index", "b", "6", None),
        BulkAction("index", "b", "7", {"ok": True}),
    ])
    assert [r.status for r in results] == [400] * 5 + [404, 400, 201]  # the script is not run: no document
    assert [r.error["type"] for r in results[:7] if r.error] == [
        "document_parsing_exception", "document_parsing_exception", "document_parsing_exception",
        "document_parsing_exception", "action_request_validation_exception", "document_missing_exception",
        "action_request_validation_exception",
    ]
    assert store.count("b") == 1
    with pytest.raises(IllegalArgumentException):
        store.ensure_index("b", {"v": FieldHint("dense", 0, "cosine")})
    store.close()


def test_many_actions_on_one_id_apply_in_order(ingest_home: Path) -> None:
    store = _store(ingest_home)
    actions = [BulkAction("update", "seq", "k", {"doc": {"n": i}, "doc_as_upsert": True}) for i in range(50)]
    actions.append(BulkAction("delete", "seq", "k", None))
    actions.append(BulkAction("create", "seq", "k", {"n": 50, "tag": "final"}))
    results = store.write(actions)
    assert results[0].result == "created" and results[49].version == 50
    assert results[50].result == "deleted" and results[51].result == "created"
    assert store.get("seq", "k") == {"n": 50, "tag": "final"} and store.count("seq") == 1
    store.close()


def test_store_held_by_another_process_is_a_clear_error(ingest_home: Path) -> None:
    import subprocess
    import sys

    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
         "time.sleep(30)", str(ingest_home / "indices.duckdb")],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(ElasticsearchError) as err:
            EmbeddedStore()
        assert err.value.status == 503 and "indices.duckdb" in err.value.reason
    finally:
        holder.kill()
        holder.wait()
