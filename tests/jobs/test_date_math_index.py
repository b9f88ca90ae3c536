"""Date-math index names resolved where a document's index is decided, as Elasticsearch does: the ``_index`` a
``date_index_name`` pipeline writes (``_bulk`` and jobs), ``_index`` in bulk action lines, and index paths
(``/<logs-{now/d}>/_bulk``, URL-encoded)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.jobs import JobConfig, run_job
from ingest.models.api import InferenceAPI
from ingest.sinks import open_sink
from tests.jobs.helpers import write_jsonl

MONTHLY = {"processors": [{"date_index_name": {"field": "date1", "index_name_prefix": "my-index-",
                                               "date_rounding": "M"}}]}
NDJSON = {"Content-Type": "application/x-ndjson"}


def _ndjson(*objs: dict) -> bytes:
    return b"".join(json.dumps(o).encode() + b"\n" for o in objs)


def _today() -> set[str]:  # the name of today's daily index (either side of midnight, should the test cross it)
    return {f"logs-{datetime.now(UTC):%Y.%m.%d}"}


@pytest.fixture()
def client(ingest_home: Path) -> Iterator[TestClient]:
    from ingest.server.app import create_app

    api = InferenceAPI()
    with TestClient(create_app(api)) as c:
        yield c
    api.close()


def test_bulk_writes_into_the_index_date_index_name_chose(client: TestClient) -> None:
    assert client.put("/_ingest/pipeline/monthly", json=MONTHLY).status_code == 200
    body = _ndjson({"index": {"_index": "incoming", "_id": "1"}}, {"date1": "2016-04-25T12:02:01.789Z"})
    r = client.post("/_bulk?pipeline=monthly&refresh=true", content=body, headers=NDJSON)
    item = r.json()["items"][0]["index"]
    assert (item["status"], item["_index"]) == (201, "my-index-2016-04-01"), r.text
    doc = client.get("/my-index-2016-04-01/_doc/1").json()
    assert doc["found"] is True and doc["_source"]["date1"] == "2016-04-25T12:02:01.789Z"


def test_date_math_in_action_lines_and_the_path(client: TestClient) -> None:
    before = _today()
    body = _ndjson({"index": {"_index": "<logs-{now/d}>", "_id": "1"}}, {"m": 1},
                   {"index": {"_index": "<logs-{yesterday}>"}}, {"m": 2},
                   {"index": {"_id": "2"}}, {"m": 3})
    r = client.post("/%3Clogs-%7Bnow%2Fd%7D%3E/_bulk?refresh=true", content=body, headers=NDJSON)
    assert r.status_code == 200, r.text
    items = [next(iter(i.values())) for i in r.json()["items"]]
    names = before | _today()
    assert items[0]["status"] == 201 and items[0]["_index"] in names
    assert items[1]["status"] == 400 and "yesterday" in items[1]["error"]["reason"]  # that item alone
    assert items[2]["status"] == 201 and items[2]["_index"] == items[0]["_index"]  # the path's index, resolved
    assert client.get("/%3Clogs-%7Bnow%2Fd%7D%3E/_doc/2").json()["found"] is True
    assert client.get(f"/{items[0]['_index']}/_count").json()["count"] == 2


def test_a_job_writes_into_the_index_date_index_name_chose(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "date1": "2016-04-25T12:02:01.789Z"},
                                              {"id": "b", "date1": "2016-05-02T00:00:00.000Z"}])
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps(MONTHLY), encoding="utf-8")
    summary = run_job(JobConfig(source=str(src), index="incoming", pipeline=str(pipeline), id_field="id"))
    assert (summary.indexed, summary.failed) == (2, 0)
    store = open_sink("embedded")
    try:
        assert store.get("my-index-2016-04-01", "a") is not None  # type: ignore[attr-defined]
        assert store.get("my-index-2016-05-01", "b") is not None  # type: ignore[attr-defined]
    finally:
        store.close()


def test_the_official_client_sends_date_math_names(ingest_home: Path) -> None:
    """elasticsearch-py quotes ``<logs-{now/d}>`` into the path itself; the server resolves it."""
    from elasticsearch import Elasticsearch

    from ingest.server.app import create_app
    from tests.servers import serve

    api = InferenceAPI()
    try:
        with serve(create_app(api)) as url:
            es = Elasticsearch(url, request_timeout=60)
            before = _today()
            out = es.bulk(index="<logs-{now/d}>", operations=[{"index": {"_id": "1"}}, {"m": 1}], refresh=True)
            assert out["errors"] is False
            name = out["items"][0]["index"]["_index"]
            assert name in before | _today()
            assert es.get(index="<logs-{now/d}>", id="1")["_source"] == {"m": 1}
            assert es.count(index=name)["count"] == 1
    finally:
        api.close()
