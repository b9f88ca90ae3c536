"""``ingest serve --dest URL``: ``_bulk?pipeline=`` posted here lands, enriched, in a real cluster, through a
proxy that answers 429 for every third item; the response's items are the cluster's answers, what the cluster
refuses for good is dead-lettered. Also the CLI's checks of ``--dest`` as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from ingest.deadletter.store import DeadLetterStore
from ingest.models.api import InferenceAPI
from ingest.processors import PipelineService
from ingest.server.app import create_app
from ingest.server.destination import JOB_ID
from tests.jobs.conftest import pipeline_body
from tests.jobs.helpers import ROOT, docs, ingest
from tests.jobs.proxy import ThrottlingProxy
from tests.servers import serve


@pytest.fixture()
def throttled(request: pytest.FixtureRequest) -> Iterator[tuple[str, ThrottlingProxy]]:
    url = request.getfixturevalue(request.param)
    proxy = ThrottlingProxy(url, reject_every=3).start()
    yield url, proxy
    proxy.close()


def _ids(url: str, index: str) -> dict[str, dict]:
    httpx.post(f"{url}/{index}/_refresh", timeout=30)
    body = httpx.post(f"{url}/{index}/_search", json={"size": 1000}, timeout=30).json()
    return {h["_id"]: h["_source"] for h in body["hits"]["hits"]}


@pytest.mark.cluster
@pytest.mark.parametrize("throttled", ["opensearch_url", "elasticsearch_url", "elasticsearch9_url"], indirect=True)
def test_bulk_through_the_server_lands_enriched_in_the_cluster(
    tiny_endpoints: dict[str, str], throttled: tuple[str, ThrottlingProxy]
) -> None:
    cluster, proxy = throttled
    for index in ("dest-a", "dest-b"):
        httpx.delete(f"{cluster}/{index}", timeout=30)
    api = InferenceAPI()
    PipelineService(api.store, api).put("tiny", pipeline_body())
    data = docs(30)
    try:
        with serve(create_app(api, dest=proxy.url)) as url:
            es = Elasticsearch(url, request_timeout=120)
            ops: list[dict] = []
            for d in data:
                ops += [{"index": {"_index": "dest-a", "_id": d["doc_id"]}}, d]
            resp = es.bulk(operations=ops, pipeline="tiny").body
            assert resp["errors"] is False, resp
            assert [it["index"]["status"] for it in resp["items"]] == [201] * 30
            assert all(it["index"]["result"] == "created" and it["index"]["_index"] == "dest-a"
                       for it in resp["items"])
            assert proxy.rejected >= 10  # every third item was refused once, and retried by the server

            # The cluster's own per-item answers come back: a second index of d0 is an update; a document
            # the cluster's mapping refuses (n is a long there) is its 400, and is dead-lettered as sent.
            again = es.bulk(operations=[{"index": {"_index": "dest-a", "_id": "d0"}}, data[0],
                                        {"index": {"_index": "dest-a", "_id": "bad"}}, {"text": "a dog", "n": "x"}],
                            pipeline="tiny").body
            first, bad = (it["index"] for it in again["items"])
            assert again["errors"] is True
            assert first["status"] == 200 and first["result"] == "updated" and first["_version"] == 2
            assert bad["status"] == 400 and bad["error"]["type"] in ("mapper_parsing_exception",
                                                                      "document_parsing_exception")

            # The index's default pipeline, set through this server, runs here before the cluster sees it.
            assert es.indices.create(index="dest-b", settings={"index": {"default_pipeline": "tiny"}},
                                     mappings={"properties": {"text": {"type": "keyword"}}}).body["acknowledged"]
            # The cluster got the mapping, not the pipeline setting (the pipeline runs here).
            mapping = httpx.get(f"{cluster}/dest-b/_mapping", timeout=30).json()["dest-b"]["mappings"]
            assert mapping["properties"]["text"] == {"type": "keyword"}
            settings = httpx.get(f"{cluster}/dest-b/_settings", timeout=30).json()["dest-b"]["settings"]["index"]
            assert "default_pipeline" not in settings
            into_b = es.bulk(operations=[{"index": {"_index": "dest-b", "_id": "x"}}, {"text": "a dog"}], refresh=True)
            assert into_b["errors"] is False, into_b
            # Reads through this server are the cluster's answers.
            assert es.count(index="dest-b")["count"] == 1
            got = es.get(index="dest-b", id="x")
            assert got["found"] and got["_source"]["tokens"] and got["_source"]["source"] == "jobs-test"
            assert httpx.get(f"{url}/dest-b/_doc/nope", timeout=30).json()["found"] is False
    finally:
        api.close()
    stored = _ids(cluster, "dest-a")
    assert sorted(stored) == sorted(d["doc_id"] for d in data)  # nothing lost to the 429s
    assert len(stored["d3"]["vec"]) == 32 and stored["d3"]["tokens"] and stored["d3"]["source"] == "jobs-test"
    assert _ids(cluster, "dest-b")["x"]["tokens"]
    letters = DeadLetterStore().entries(JOB_ID)
    assert [(x.doc_id, x.stage, x.status) for x in letters] == [("bad", "write", 400)]
    assert json.loads(letters[0].content)["vec"]  # kept enriched: a replay needs no model call


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_refuses_a_destination_that_cannot_work(ingest_home: Path) -> None:
    proc = ingest("serve", "--port", str(_free_port()), "--dest", "ftp://user:hunter22@example.org/x", timeout=60)
    assert proc.returncode == 2
    assert "unknown destination" in proc.stderr and "hunter22" not in proc.stderr


def test_serve_starts_while_the_cluster_is_not_up_yet(ingest_home: Path) -> None:
    """An unreachable cluster is a warning (it is tried again at each _bulk), and the password in the URL is
    not printed; a _bulk meanwhile gets per-item 503s after the request's timeout, never a 500."""
    port, dead = _free_port(), _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port),
         "--dest", f"http://elastic:hunter22@127.0.0.1:{dead}"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[1]
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        resp = httpx.post(f"http://127.0.0.1:{port}/_bulk?timeout=1s",
                          content=b'{"index":{"_index":"a","_id":"1"}}\n{"x":1}\n',
                          headers={"content-type": "application/x-ndjson"}, timeout=60)
        assert resp.status_code == 200
        item = resp.json()["items"][0]["index"]
        assert item["status"] == 503 and resp.json()["errors"] is True
    finally:
        server.send_signal(signal.SIGINT)
        _out, err = server.communicate(timeout=30)
    assert "is not reachable yet" in err and "hunter22" not in err
    assert [x.doc_id for x in DeadLetterStore().entries(JOB_ID)] == ["1"]


def test_bulk_failures_are_dead_lettered_and_replayed_into_their_own_indices(
    tiny_endpoints: dict[str, str]
) -> None:
    """Pipeline failures of one _bulk across two indices are recorded under bulk-api (failed updates are not:
    they are no document); a replay sends each document back to its own index."""
    from fastapi.testclient import TestClient

    from ingest.deadletter.replay import replay
    from ingest.sinks import open_sink

    api = InferenceAPI()
    PipelineService(api.store, api).put("tiny", pipeline_body())
    app = create_app(api)
    with TestClient(app) as client:
        body = (b'{"index":{"_index":"one","_id":"1"}}\n{"no_text":1}\n'
                b'{"create":{"_index":"two","_id":"2"}}\n{"no_text":2}\n'
                b'{"index":{"_index":"two","_id":"3"}}\n{"text":"a dog"}\n'
                b'{"update":{"_index":"two","_id":"missing"}}\n{"doc":{"x":1}}\n')
        out = client.post("/_bulk?pipeline=tiny", content=body, headers={"content-type": "application/x-ndjson"})
        statuses = [next(iter(it.values()))["status"] for it in out.json()["items"]]
        assert statuses[2] == 201 and statuses[0] >= 400 and statuses[1] >= 400 and statuses[3] == 404
    api.close()
    store = DeadLetterStore()
    letters = store.entries(JOB_ID)
    assert sorted((x.index, x.doc_id, x.stage) for x in letters) == [("one", "1", "pipeline"), ("two", "2", "pipeline")]
    report = replay(store, job_id=JOB_ID)
    assert report.replayed == 2 and report.indexed == 2 and store.count(JOB_ID) == 0
    sink = open_sink("embedded")
    try:
        assert sink.get("one", "1") == {"no_text": 1}  # type: ignore[attr-defined]
        assert sink.get("two", "2") == {"no_text": 2}  # type: ignore[attr-defined]
        assert sink.get("one", "2") is None  # type: ignore[attr-defined]
    finally:
        sink.close()
