"""The sink registry: kinds by scheme, declared capabilities that hold, and the callers that ask it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.jobs.config import JobConfig
from ingest.models.api import InferenceAPI
from ingest.models.errors import IllegalArgumentException
from ingest.server.app import create_app
from ingest.sinks import open_sink, registry
from ingest.sinks.base import (
    BatchWrites,
    BulkAction,
    ClusterRequests,
    DocumentReads,
    FieldHint,
    Searching,
    Sink,
)
from ingest.sinks.elasticsearch import ElasticsearchSink
from ingest.sinks.opensearch import OpenSearchSink
from tests.jobs.helpers import ingest, summary_of


def _local_dest(kind: registry.SinkKind, tmp_path: Path) -> str:
    return {"embedded": f"embedded://{tmp_path / 'e.duckdb'}", "files": f"file://{tmp_path / 'files'}",
            "lancedb": f"lancedb://{tmp_path / 'lance'}"}[kind.name]


@pytest.mark.parametrize("kind", registry.KINDS, ids=lambda k: k.name)
def test_declared_capabilities_hold(kind: registry.SinkKind, tmp_path: Path) -> None:
    """What a kind declares is what its sink class implements (the registry is never consulted in vain)."""
    caps = kind.capabilities
    if kind.name == "cluster":
        classes: list[type[Sink]] = [ElasticsearchSink, OpenSearchSink]
        for cls in classes:
            assert issubclass(cls, ClusterRequests) == caps.cluster
            assert issubclass(cls, DocumentReads) == caps.documents
            assert issubclass(cls, Searching) == caps.search
            assert issubclass(cls, BatchWrites) == caps.batch_writes
            assert registry.named(cls.kind_name) is kind
        return
    if kind.name == "served":  # not a --dest: the class, as for clusters (a live server: tests/cli/test_served_*)
        from ingest.sinks.served import ServedSink

        assert issubclass(ServedSink, ClusterRequests) == caps.cluster
        assert issubclass(ServedSink, DocumentReads) == caps.documents
        assert issubclass(ServedSink, Searching) == caps.search
        assert issubclass(ServedSink, BatchWrites) == caps.batch_writes
        assert registry.named(ServedSink.kind_name) is kind and kind.schemes == ()
        return
    with open_sink(_local_dest(kind, tmp_path)) as sink:
        assert isinstance(sink, DocumentReads) == caps.documents
        assert isinstance(sink, Searching) == caps.search
        assert isinstance(sink, ClusterRequests) == caps.cluster
        assert isinstance(sink, BatchWrites) == caps.batch_writes
        assert registry.named(sink.kind_name) is kind  # the class declares the kind it implements
        assert (registry.batch_writes(sink) is sink) == caps.batch_writes
        sink.ensure_index("caps", {"emb": FieldHint("dense", 2, "cosine")})
        sink.write([BulkAction("index", "caps", "1", {"t": "x", "emb": [1.0, 0.0]})])
        sink.refresh("caps")
        assert (sink.fetch("caps", ["1"]) == {"1": {"t": "x", "emb": [1.0, 0.0]}}) == caps.fetch


def test_unknown_destination_lists_every_kind() -> None:
    with pytest.raises(IllegalArgumentException) as err:
        open_sink("ftp://user:hunter22@somewhere/x")
    message = str(err.value)
    assert "unknown destination" in message and "hunter22" not in message
    for kind in registry.KINDS:
        assert (kind.usage in message) == bool(kind.schemes)  # the served store is not a --dest


def test_a_missing_optional_dependency_names_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    absent = registry.SinkKind("absent", ("absent",), "absent:///x", "ingest.sinks.no_such_sink",
                               registry.KINDS[0].capabilities, extra="absent")
    monkeypatch.setattr(registry, "KINDS", (*registry.KINDS, absent))
    with pytest.raises(IllegalArgumentException, match=r"pip install 'ingest\[absent\]'"):
        open_sink("absent:///x")


def test_job_senders_follow_the_writers_capability() -> None:
    assert JobConfig(source="x", index="i", dest="http://127.0.0.1:9200").sender_count() == 3
    for dest in ("embedded", "file:///tmp/x.jsonl", "lancedb:///tmp/x"):
        assert JobConfig(source="x", index="i", dest=dest).sender_count() == 1


def test_search_refuses_a_destination_that_cannot_search() -> None:
    from ingest.jobs.search import search

    with pytest.raises(IllegalArgumentException, match=r"does not support vector search.*embedded, lancedb"):
        search("i", "q", dest="file:///tmp/out.jsonl")


@pytest.mark.parametrize("similarity", ["cosine", "dot_product", "l2_norm", "max_inner_product"])
def test_lancedb_search_scores_as_the_embedded_store(similarity: str, tmp_path: Path) -> None:
    """The same documents and query: LanceDB's k-NN and sparse hits carry the embedded store's ids and scores."""
    hints = {"emb": FieldHint("dense", 3, similarity), "sp": FieldHint("sparse")}
    docs = [BulkAction("index", "s", str(n), {"n": n, "emb": [0.6, 0.8 * (n % 3) / 2, 0.1 * n],
                                             "sp": {"a": 0.5 + n, "b": float(n % 2)}}) for n in range(8)]
    hits: dict[str, list[tuple[str, float]]] = {}
    for dest in (f"embedded://{tmp_path / 'e.duckdb'}", f"lancedb://{tmp_path / 'lance'}"):
        with open_sink(dest) as sink:
            sink.ensure_index("s", hints)
            sink.write(docs)
            assert isinstance(sink, Searching)
            dense = sink.search("s", "emb", [0.5, 0.5, 0.2], 4)
            sparse = sink.search("s", "sp", {"a": 1.0, "b": 2.0}, 3)
            hits[dest.split(":")[0]] = [(h["_id"], h["_score"]) for h in dense + sparse]
            assert dense[0]["_source"]["emb"] and sparse[0]["_source"]["n"] == 7
    assert [i for i, _ in hits["embedded"]] == [i for i, _ in hits["lancedb"]]
    assert all(abs(a - b) < 1e-4 for (_, a), (_, b) in zip(hits["embedded"], hits["lancedb"], strict=True))


def test_the_server_serves_a_new_kind_through_the_registry(ingest_home: Path, tmp_path: Path) -> None:
    """``ingest serve --dest lancedb:///…``: _bulk, _doc and _count, with no server code knowing LanceDB."""
    api = InferenceAPI()
    app = create_app(api, dest=f"lancedb://{tmp_path / 'lance'}")
    with TestClient(app) as client:
        body = b'{"index":{"_index":"srv","_id":"1"}}\n{"t":"one"}\n{"create":{"_index":"srv","_id":"1"}}\n{"t":"x"}\n'
        out = client.post("/_bulk", content=body, headers={"content-type": "application/x-ndjson"}).json()
        assert [next(iter(i.values()))["status"] for i in out["items"]] == [201, 409]
        doc = client.get("/srv/_doc/1")
        assert doc.status_code == 200 and doc.json()["_source"] == {"t": "one"}
        assert client.get("/srv/_count").json()["count"] == 1
        assert client.get("/nope/_count").status_code == 404
    api.close()


def test_ingest_run_into_lancedb_from_the_cli(ingest_home: Path, tmp_path: Path) -> None:
    """A real ``ingest run`` subprocess writes to LanceDB; the table is read back with LanceDB itself."""
    import lancedb

    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps({"id": f"d{n}", "text": f"doc {n}"}) + "\n" for n in range(25)))
    proc = ingest("run", "--source", str(source), "--index", "docs", "--id-field", "id",
                  "--dest", f"lancedb://{tmp_path / 'lance'}")
    assert proc.returncode == 0, proc.stderr
    assert summary_of(proc)["indexed"] == 25
    table = lancedb.connect(str(tmp_path / "lance")).open_table("docs")
    assert table.count_rows() == 25
    assert sorted(table.to_arrow().column("_id").to_pylist())[:2] == ["d0", "d1"]


def test_ray_workers_write_through_the_owner_where_one_process_writes() -> None:
    from ingest.executors.ray_job import _single_writer

    assert [_single_writer(d) for d in ("embedded", "embedded:///x.duckdb", "file:///x.jsonl", "lancedb:///x",
                                        "https://h:9200")] == [True, True, True, True, False]
