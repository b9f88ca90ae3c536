"""``ingest serve`` observability: JSON logs parsed line by line from a real subprocess (secrets absent), and
``GET /_prometheus/metrics`` scraped before and after requests, in-process and from the official client's view
of the server (a real uvicorn)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from ingest.models.api import InferenceAPI
from ingest.processors import PipelineService
from ingest.server.app import create_app
from tests.jobs.conftest import pipeline_body
from tests.jobs.helpers import ROOT
from tests.servers import serve

NDJSON = {"content-type": "application/x-ndjson"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(server: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert server.poll() is None, server.communicate()[1]
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)


def test_json_logs_are_one_ecs_object_per_line_without_secrets(ingest_home: Path) -> None:
    port, dead = _free_port(), _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port), "--log-format", "json",
         "--dest", f"http://elastic:hunter22@127.0.0.1:{dead}"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(server, url)
        assert httpx.get(f"{url}/_inference/nope?pretty", timeout=30).status_code == 404
        bulk = httpx.post(f"{url}/_bulk?timeout=500ms", content=b'{"index":{"_index":"a"}}\n{"x":1}\n',
                          headers=NDJSON, timeout=60)
        assert bulk.status_code == 200
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert "hunter22" not in out + err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    docs = [json.loads(ln) for ln in lines]  # every line is one JSON object
    for doc in docs:
        assert {"@timestamp", "log.level", "message", "ecs.version"} <= set(doc), doc
        assert doc["@timestamp"].endswith("Z") and doc["log.level"] in ("debug", "info", "warning", "error")
    warning = [d for d in docs if d["log.level"] == "warning" and "not reachable yet" in d["message"]]
    assert warning and "::es_redacted::" in warning[0]["message"]
    access = [d for d in docs if d["log"]["logger"] == "ingest.access"]
    seen = [(d["http"]["request"]["method"], d["url"]["path"], d["http"]["response"]["status_code"]) for d in access]
    assert ("GET", "/_inference/nope", 404) in seen and ("POST", "/_bulk", 200) in seen
    assert all(isinstance(d["event"]["duration"], int) and d["event"]["duration"] > 0 for d in access)
    took = next(d for d in access if d["url"]["path"] == "/_bulk")["event"]["duration"]
    assert took >= 400_000_000  # the bulk waited for the unreachable cluster until its 500ms timeout
    assert all("?" not in d["url"]["path"] for d in access)  # query strings are not logged


def _scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    resp = client.get("/_prometheus/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    values = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def _get(values: dict, name: str, **labels: str) -> float:
    return values.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_pipelines_inference_deployments_and_dead_letters(
    tiny_endpoints: dict[str, str]
) -> None:
    api = InferenceAPI()
    PipelineService(api.store, api).put("tiny", pipeline_body())
    try:
        with serve(create_app(api)) as url, httpx.Client(base_url=url, timeout=60) as client:
            before = _scrape(client)
            body = (b'{"index":{"_index":"m","_id":"1"}}\n{"text":"the cat"}\n'
                    b'{"index":{"_index":"m","_id":"2"}}\n{"text":"a dog"}\n'
                    b'{"index":{"_index":"m","_id":"3"}}\n{"no_text":1}\n')
            out = client.post("/_bulk?pipeline=tiny", content=body, headers=NDJSON).json()
            assert [it["index"]["status"] for it in out["items"]][:2] == [201, 201] and out["errors"]
            assert client.post("/_inference/text_embedding/tiny-dense", json={"input": ["x", "y", "z"]}).status_code == 200
            assert client.get("/m/_doc/1").status_code == 200
            assert client.get("/m/_doc/2").status_code == 200
            after = _scrape(client)
    finally:
        api.close()

    def delta(name: str, **labels: str) -> float:
        return _get(after, name, **labels) - _get(before, name, **labels)

    assert delta("ingest_http_requests_total", method="POST", route="/_bulk", status="200") == 1
    assert delta("ingest_http_requests_total", method="GET", route="/{index}/_doc/{doc_id}", status="200") == 2
    assert delta("ingest_http_request_duration_seconds_count", method="GET", route="/{index}/_doc/{doc_id}") == 2
    assert delta("ingest_pipeline_documents_total", pipeline="tiny") == 3
    assert delta("ingest_pipeline_failed_documents_total", pipeline="tiny") == 1
    assert delta("ingest_bulk_items_total", outcome="ok") == 2
    assert delta("ingest_bulk_items_total", outcome="failed") == 1
    assert delta("ingest_deadletter_documents_total") == 1 and delta("ingest_deadletter_entries") == 1
    # The pipeline's one batch (two documents reach the model) and the direct call with three inputs.
    assert delta("ingest_inference_requests_total", inference_id="tiny-dense", outcome="ok") == 2
    assert delta("ingest_inference_inputs_total", inference_id="tiny-dense") == 5
    assert delta("ingest_inference_duration_seconds_count", inference_id="tiny-dense") == 2
    assert delta("ingest_inference_requests_total", inference_id="tiny-sparse", outcome="ok") == 1
    assert _get(after, "ingest_deployment_allocations", deployment_id="tiny-dense") >= 1
    assert _get(after, "ingest_deployment_queue_depth", deployment_id="tiny-dense") == 0
    assert delta("ingest_deployment_inferences_total", deployment_id="tiny-dense") >= 2


def test_text_logs_have_an_access_line_per_request_and_a_bad_format_is_refused(ingest_home: Path) -> None:
    bad = subprocess.run([sys.executable, "-m", "ingest.cli.main", "serve", "--log-format", "xml"], cwd=ROOT,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--log-format must be text or json" in bad.stderr
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        _wait_up(server, f"http://127.0.0.1:{port}")
        assert httpx.get(f"http://127.0.0.1:{port}/_ingest/pipeline/nope?pretty", timeout=30).status_code == 404
    finally:
        server.send_signal(signal.SIGINT)
        _out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert 'INFO:     127.0.0.1 "GET /_ingest/pipeline/nope" 404 ' in err
    assert "?pretty" not in err and not err.lstrip().startswith("{")


def test_metrics_need_the_monitor_privilege_once_security_is_on(ingest_home: Path) -> None:
    from fastapi.testclient import TestClient

    from ingest.server.security.keys import create_role_key

    api = InferenceAPI()
    api.store.put_setting("security.enabled", "true")  # what `ingest security enable` persists
    admin = create_role_key(api.store, "admin", "inference_admin")  # Elasticsearch's: manage_inference, no monitor
    root = create_role_key(api.store, "root", "superuser")
    try:
        with TestClient(create_app(api)) as client:
            assert client.get("/_prometheus/metrics").status_code == 401
            refused = client.get("/_prometheus/metrics", headers={"Authorization": f"ApiKey {admin.encoded}"})
            assert refused.status_code == 403
            assert "action [cluster:monitor/prometheus/metrics] is unauthorized" in refused.json()["error"]["reason"]
            ok = client.get("/_prometheus/metrics", headers={"Authorization": f"ApiKey {root.encoded}"})
            assert ok.status_code == 200
            # Refusals are counted too: the metrics middleware is outside authentication (a 401 is answered before
            # routing; a 403 by the route's privilege declaration, under its template).
            assert 'ingest_http_requests_total{method="GET",route="unmatched",status="401"} 1.0' in ok.text
            assert 'ingest_http_requests_total{method="GET",route="/_prometheus/metrics",status="403"} 1.0' in ok.text
    finally:
        api.close()
