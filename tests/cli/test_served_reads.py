"""``ingest search`` and ``ingest export`` while ``ingest serve`` owns the home's store (issue 14 item 4): real
processes, the same answers as on the store itself, and reads answered while a job writes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Server
from tests.jobs.helpers import ROOT, ingest, write_jsonl

pytestmark = [pytest.mark.timeout(600)]


def _send(server: Server, method: str, path: str, body: Any, ndjson: bool = False) -> Any:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    kind = "application/x-ndjson" if ndjson else "application/json"
    request = urllib.request.Request(server.url + path, method=method, data=data, headers={"content-type": kind})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def _vectors(server: Server) -> None:
    _send(server, "PUT", "/vec", {"mappings": {"properties": {"v": {"type": "dense_vector", "dims": 3,
                                                                     "similarity": "cosine"}}}})
    body = "".join(json.dumps({"index": {"_index": "vec", "_id": f"v{i}"}}) + "\n"
                   + json.dumps({"v": [1.0 + i, 0.5, -1.0 + i / 10], "name": f"name {i}", "n": i}) + "\n"
                   for i in range(30))
    assert _send(server, "POST", "/_bulk?refresh=true", body, ndjson=True)["errors"] is False


QUERIES = [
    {"query": {"match": {"name": "name 7"}}},
    {"knn": {"field": "v", "query_vector": [3.0, 0.5, -0.8], "k": 3, "num_candidates": 30}},
    {"query": {"range": {"n": {"gte": 25}}}, "sort": [{"n": "desc"}], "size": 2},
]


def _search(env: dict[str, str], body: dict[str, Any], *more: str) -> dict[str, Any]:
    proc = ingest("search", "vec", "--query", json.dumps(body), *more, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "lock" not in proc.stderr.lower()
    return dict(json.loads(proc.stdout))


def _hits(answer: dict[str, Any]) -> list[tuple[str, float | None, dict[str, Any]]]:
    return [(h["_id"], round(h["_score"], 5) if h["_score"] is not None else None, h["_source"])
            for h in answer["hits"]["hits"]]


def test_search_through_the_server_answers_as_the_store_does(server: Server, home: Path) -> None:
    from ingest.sinks.served import open_served

    env = {"INGEST_HOME": str(home)}
    _vectors(server)
    served = [_search(env, body) for body in QUERIES]
    assert [len(a["hits"]["hits"]) > 0 for a in served] == [True] * 3 and served[0]["hits"]["hits"][0]["_id"] == "v7"
    assert all("v" not in h["_source"] for a in served for h in a["hits"]["hits"])  # vectors left out
    with_vectors = _search(env, QUERIES[0], "--vectors")
    assert with_vectors["hits"]["hits"][0]["_source"]["v"] == pytest.approx([8.0, 0.5, -0.3])
    missing = ingest("search", "nope", "--query", "{}", env=env)
    assert missing.returncode == 2 and json.loads(missing.stderr)["status"] == 404
    info = json.loads((home / "serve.json").read_text())
    client = open_served(info["url"], info["token"])
    try:
        knn = client.search("vec", "v", [3.0, 0.5, -0.8], 3)
    finally:
        client.close()
    server.stop()  # the same searches on the store itself
    direct = [_search(env, body) for body in QUERIES]
    assert [_hits(a) for a in served] == [_hits(a) for a in direct]
    assert [h[0] for h in _hits(direct[1])] == [h["_id"] for h in knn]
    assert [round(h["_score"], 5) for h in knn] == [h[1] for h in _hits(direct[1])]
    assert _hits(_search(env, QUERIES[0], "--vectors")) == _hits(with_vectors)


def test_export_while_a_job_writes_and_after_it(server: Server, home: Path, tmp_path: Path) -> None:
    env = {"INGEST_HOME": str(home)}
    n = 150_000  # the server runs the job fast: long enough for an export (a CLI start each) to land mid-way
    docs = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "text": f"text {i}", "n": i} for i in range(n)])
    job = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "run", "--source", str(docs), "--index", "big",
                            "--id-field", "id", "--bulk-docs", "500", "--batch-size", "500"], cwd=ROOT,
                           env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    during: list[int] = []
    deadline = time.monotonic() + 300
    while job.poll() is None and time.monotonic() < deadline:
        out = tmp_path / "during.jsonl"
        proc = ingest("export", "big", "--format", "jsonl", "-o", str(out), env=env)
        if proc.returncode == 0:
            rows = [json.loads(line) for line in out.read_text().splitlines()]
            assert all(r["_id"] == r["id"] for r in rows)
            during.append(len(rows))
        else:  # only before the job's first write
            assert "no such index [big]" in proc.stderr, proc.stderr
        assert "lock" not in proc.stderr.lower()
    out_text, err = job.communicate(timeout=300)
    assert job.returncode == 0, err
    assert json.loads(out_text.splitlines()[-1])["indexed"] == n
    assert any(0 < c < n for c in during), during  # a read answered while the job was writing
    final = tmp_path / "big.parquet"
    assert ingest("export", "big", "-o", str(final), env=env).returncode == 0
    import pyarrow.parquet as pq

    table = pq.read_table(final)
    assert table.num_rows == n and sorted(table.column("n").to_pylist()) == list(range(n))


def test_analysts_read_parquet_snapshots_while_the_server_runs(server: Server, home: Path, tmp_path: Path) -> None:
    import stat

    import duckdb
    import pandas as pd
    import polars as pl

    env = {"INGEST_HOME": str(home)}
    _vectors(server)
    snapshot = home / "snapshots" / "vec.parquet"
    assert not snapshot.exists()  # written on _flush, not on every write
    _send(server, "POST", "/vec/_flush", {})
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o600 and stat.S_IMODE(snapshot.parent.stat().st_mode) == 0o700
    assert duckdb.sql(f"SELECT count(*) FROM '{snapshot}' WHERE n >= 10").fetchall() == [(20,)]
    assert str(pl.read_parquet(snapshot).schema["v"]) == "List(Float32)"
    assert pd.read_parquet(snapshot).set_index("_id").loc["v7", "name"] == "name 7"
    docs = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"j{i}", "n": 100 + i} for i in range(500)])
    job = ingest("run", "--source", str(docs), "--index", "vec", "--id-field", "id", env=env)
    assert job.returncode == 0, job.stderr  # through the server: snapshotted once the job's writes stop
    deadline = time.monotonic() + 60
    while duckdb.sql(f"SELECT count(*) FROM '{snapshot}'").fetchall() != [(530,)]:  # never half a file
        assert time.monotonic() < deadline, "no snapshot after the job"
        time.sleep(0.2)
    assert not list(snapshot.parent.glob(".*"))  # no temporary file left beside it
    deleted = ingest("indices", "delete", "vec", "--yes", env=env)
    assert deleted.returncode == 0, deleted.stderr
    assert not snapshot.exists()
