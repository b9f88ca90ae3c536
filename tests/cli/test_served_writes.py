"""Writes of a job through the home's running server (issue 14 item 4): pipelines run once, and the local-only
routes and headers are worth something only with the local token. Real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from ingest.context import AppContext
from ingest.jobs.config import JobConfig
from ingest.jobs.runner import run_job
from ingest.models.settings import Settings
from tests.cli.conftest import Server
from tests.jobs.helpers import ROOT, ingest, write_jsonl

pytestmark = [pytest.mark.timeout(600)]


def _send(server: Server, method: str, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    kind = "application/x-ndjson" if isinstance(body, str) else "application/json"
    request = urllib.request.Request(server.url + path, method=method, data=data,
                                     headers={"content-type": kind, **(headers or {})})
    with urllib.request.urlopen(request, timeout=30) as resp:
        return json.loads(resp.read())


def test_a_jobs_final_pipeline_runs_once_and_the_flag_is_trusted_only_from_the_local_client(
        server: Server, home: Path, tmp_path: Path) -> None:
    _send(server, "PUT", "/_ingest/pipeline/final", {"processors": [{"append": {"field": "seen", "value": ["final"]}}]})
    _send(server, "PUT", "/fp", {"settings": {"index.final_pipeline": "final"}})
    docs = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "n": i} for i in range(20)])
    job = ingest("run", "--source", str(docs), "--index", "fp", "--id-field", "id", env={"INGEST_HOME": str(home)})
    assert job.returncode == 0, job.stderr
    assert server.get("/fp/_doc/d3")["_source"] == {"id": "d3", "n": 3, "seen": ["final"]}  # not ["final", "final"]

    token = json.loads((home / "serve.json").read_text())["token"]
    line = json.dumps({"index": {"_index": "fp", "_id": "x"}}) + "\n" + json.dumps({"n": 1}) + "\n"
    done = {"x-ingest-pipelines-done": "true"}
    for headers, expected in (
            (done, ["final"]),  # anyone else on loopback (security disabled): the flag is ignored
            ({**done, "authorization": f"ApiKey {token[:-1]}x"}, ["final"]),  # a wrong token is nobody
            ({**done, "authorization": f"ApiKey {token}"}, None),  # the home's own CLI: trusted
            ({"authorization": f"ApiKey {token}"}, ["final"])):  # without the flag, pipelines run as usual
        assert _send(server, "POST", "/_bulk?pipeline=_none", line, headers)["errors"] is False
        assert server.get("/fp/_doc/x")["_source"].get("seen") == expected, headers.keys()


def _arrow(server: Server, body: bytes, auth: str | None) -> tuple[int, Any]:
    headers = {"content-type": "application/vnd.apache.arrow.stream", **({"authorization": auth} if auth else {})}
    request = urllib.request.Request(server.url + "/_ingest_local/arrow_bulk", method="POST", data=body,
                                     headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_a_job_through_the_server_sends_arrow_and_writes_what_a_job_alone_writes(
        server: Server, home: Path, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    rows = [{"id": f"d{i}", "n": i, "t": f"text {i}", "v": [i / 10, 1.0, -1.0], "tags": {"a": i % 3}}
            for i in range(3000)]
    rows[7]["extra"] = "only here"  # a field the first batches did not have: the per-action path, as alone
    docs = write_jsonl(tmp_path / "docs.jsonl", rows)
    alone = tmp_path / "alone"
    alone.mkdir(mode=0o700)
    # the file: the server runs the job (it reads the file); standard input too (the CLI forwards it)
    for target, source in ((home, str(docs)), (alone, str(docs)), (home, "-")):
        job = subprocess.run([sys.executable, "-m", "ingest.cli.main", "run", "--source", source, "--index", "same",
                              "--id-field", "id", "--bulk-docs", "500"], input=docs.read_text(), cwd=ROOT,
                             env={**os.environ, "INGEST_HOME": str(target)}, capture_output=True, text=True,
                             timeout=300)
        assert job.returncode == 0, job.stderr
        assert json.loads(job.stdout.splitlines()[-1])["indexed"] == len(rows)
    # a job run in another process (``ingest.run_job``, as the CLI runs URL and Kafka sources): its batches go to
    # the server as Arrow, replacing every document
    context = AppContext(Settings(home=home))
    try:
        summary = run_job(JobConfig(source=str(docs), index="same", id_field="id", bulk_docs=500), context=context)
    finally:
        context.close()
    assert summary.indexed == len(rows)
    got = server.get("/same/_doc/d7")
    assert got["_version"] == 3 and got["_source"]["extra"] == "only here" and got["_source"]["tags"] == {"a": 1}
    server.stop()
    log = (server.log).read_text()
    assert log.count("/_ingest_local/job") == 2  # the file's and standard input's jobs ran in the server
    assert log.count("/_ingest_local/job/stream") == 1
    assert "/_ingest_local/arrow_bulk" in log and " /_bulk" not in log  # the other job's batches stayed Arrow
    exported = {}
    for target in (home, alone):
        out = tmp_path / f"{target.name}.parquet"
        assert ingest("export", "same", "-o", str(out), env={"INGEST_HOME": str(target)}).returncode == 0
        exported[target.name] = sorted(pq.read_table(out).to_pylist(), key=lambda r: r["_id"])
    assert exported["home"] == exported["alone"] and len(exported["home"]) == len(rows)


def test_the_arrow_route_is_the_local_clients_only(home: Path, tmp_path: Path) -> None:
    import pyarrow as pa

    from ingest.sinks.served.wire import encode_batch

    body = b"".join(bytes(p) for p in encode_batch("arrowed", pa.table({"n": [1, 2]}), ["a", "b"]))
    env = {"INGEST_HOME": str(home)}
    server = Server(home, tmp_path / "serve.log")
    try:
        token = json.loads((home / "serve.json").read_text())["token"]
        status, answer = _arrow(server, body, None)  # security disabled: loopback callers are anonymous superusers
        assert status == 403 and answer["error"]["type"] == "security_exception"
        assert "only the local client" in answer["error"]["reason"]
        assert _arrow(server, body, f"ApiKey {token[:-1]}x")[0] == 403
        status, answer = _arrow(server, body, f"ApiKey {token}")
        assert status == 200 and [item[:4] for item in answer["items"]] == [[201, None, "a", "created"],
                                                                          [201, None, "b", "created"]]
        status, answer = _arrow(server, body[:-9], f"ApiKey {token}")  # damaged: a clear 400, nothing written
        assert status == 400 and "not an Arrow bulk body" in answer["error"]["reason"]
        mismatch = b"".join(bytes(p) for p in encode_batch("arrowed", pa.table({"n": [1, 2]}), ["a", "b"]))
        mismatch = mismatch.replace(b'"ids": ["a", "b"]', b'"ids": ["a", "c", "d"]'[:len(b'"ids": ["a", "b"]')])
        assert _arrow(server, mismatch, f"ApiKey {token}")[0] == 400
    finally:
        server.stop()
    key = ingest("keys", "create", "--name", "root", "--role", "superuser", env=env)
    assert key.returncode == 0, key.stderr
    encoded = json.loads(key.stdout)["encoded"]
    assert ingest("security", "enable", env=env).returncode == 0
    server = Server(home, tmp_path / "serve2.log")
    try:
        assert _arrow(server, body, None)[0] == 401
        status, answer = _arrow(server, body, f"ApiKey {encoded}")  # not even a superuser's key
        assert status == 403 and "only the local client" in answer["error"]["reason"]
        token = json.loads((home / "serve.json").read_text())["token"]
        assert _arrow(server, body, f"ApiKey {token}")[0] == 200
    finally:
        server.stop()


def _job_post(server: Server, body: bytes, auth: str | None) -> tuple[int, Any]:
    headers = {"content-type": "application/json", **({"authorization": auth} if auth else {})}
    request = urllib.request.Request(server.url + "/_ingest_local/job", method="POST", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return resp.status, [json.loads(line) for line in resp.read().splitlines()]
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_the_job_route_is_the_local_clients_only_and_runs_one_job_id_at_a_time(
        server: Server, home: Path, tmp_path: Path) -> None:
    import http.client

    docs = write_jsonl(tmp_path / "docs.jsonl", [{"id": f"d{i}", "n": i} for i in range(200_000)])
    spec = {"config": {"source": str(docs), "index": "routed", "id_field": "id", "job_id": "once",
                       "bulk_docs": 200}, "source_path": str(docs)}
    body = json.dumps(spec).encode()
    token = json.loads((home / "serve.json").read_text())["token"]
    status, answer = _job_post(server, body, None)  # security disabled: loopback callers are anonymous superusers
    assert status == 403 and "only the local client" in answer["error"]["reason"]
    assert _job_post(server, body, f"ApiKey {token[:-1]}x")[0] == 403
    for bad, reason in ((b"{not json", "Unexpected character"),
                        (json.dumps({"config": {"source": "x", "index": "i", "bogus": 1}, "source_path": "/x"}).encode(),
                         "unknown options ['bogus']"),
                        (json.dumps({"config": {"index": "i"}, "source_path": "/x"}).encode(), "not a job"),
                        (json.dumps({"config": {"source": "x", "index": "i"}, "source_path": "x"}).encode(),
                         "must be absolute")):
        status, answer = _job_post(server, bad, f"ApiKey {token}")
        assert status == 400 and reason in answer["error"]["reason"], answer
    assert server.get("/_cat/indices?format=json") == []  # nothing started

    first = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    first.request("POST", "/_ingest_local/job", body=body, headers={"authorization": f"ApiKey {token}",
                                                                    "content-type": "application/json"})
    stream = first.getresponse()
    assert stream.status == 200 and json.loads(stream.readline())["event"] in ("progress", "alive")
    status, answer = _job_post(server, body, f"ApiKey {token}")  # the same job id while the first runs
    assert status == 409 and "job [once] is already running" in answer["error"]["reason"], answer
    events = [json.loads(line) for line in stream.read().splitlines()]
    first.close()
    assert events[-1]["event"] == "summary" and events[-1]["indexed"] == 200_000 and events[-1]["completed"]
    assert server.count("routed") == 200_000
