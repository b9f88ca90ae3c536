"""Deployments started with ``_start`` survive a server restart, as Elasticsearch's assignments (kept in its
persistent cluster state) do: a real ``ingest serve`` subprocess, stopped with SIGTERM and started again on the
same home, deploys them again with their ``_update``\\ d allocations, until ``_stop``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from ingest.models.cache import BuiltModel
from ingest.models.results import TaskType


@contextmanager
def _serve(home: Path) -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "INGEST_HOME": str(home), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "server exited"
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise


def _deployments(url: str) -> dict[str, dict]:
    stats = httpx.get(f"{url}/_ml/trained_models/tiny-dense/_stats", timeout=30).json()
    return {s["deployment_stats"]["deployment_id"]: s["deployment_stats"]
            for s in stats["trained_model_stats"] if "deployment_stats" in s}


def test_started_deployments_come_back_after_a_restart_until_stopped(ingest_home: Path,
                                                                     tiny_dense: BuiltModel) -> None:
    from ingest.models.imported import import_model

    import_model(tiny_dense.onnx_path, "tiny-dense", TaskType.TEXT_EMBEDDING)
    with _serve(ingest_home) as url:
        started = httpx.post(f"{url}/_ml/trained_models/tiny-dense/deployment/_start", timeout=60, params={
            "deployment_id": "kept", "number_of_allocations": "2", "queue_capacity": "77"})
        assert started.status_code == 200, started.text
        low = httpx.post(f"{url}/_ml/trained_models/tiny-dense/deployment/_start", timeout=60, params={
            "deployment_id": "background", "priority": "low"})
        assert low.status_code == 200, low.text
        updated = httpx.post(f"{url}/_ml/trained_models/kept/deployment/_update", timeout=30,
                             json={"number_of_allocations": 1})
        assert updated.status_code == 200, updated.text
        put = httpx.put(f"{url}/_inference/text_embedding/e", timeout=60,
                        json={"service": "elasticsearch", "service_settings": {"deployment_id": "kept"}})
        assert put.status_code == 200, put.text

    with _serve(ingest_home) as url:
        kept = _deployments(url)
        assert set(kept) == {"kept", "background"}
        assert (kept["kept"]["queue_capacity"], kept["kept"]["priority"]) == (77, "normal")
        assert kept["kept"]["allocation_status"]["target_allocation_count"] == 1  # the _update survived
        assert kept["background"]["priority"] == "low" and kept["background"]["threads_per_allocation"] == 1
        # The endpoint on the restored deployment answers.
        out = httpx.post(f"{url}/_inference/text_embedding/e", json={"input": ["hello world"]}, timeout=60)
        assert out.status_code == 200 and out.json()["text_embedding"][0]["embedding"], out.text
        stopped = httpx.post(f"{url}/_ml/trained_models/background/deployment/_stop", timeout=30)
        assert stopped.status_code == 200, stopped.text

    with _serve(ingest_home) as url:
        assert set(_deployments(url)) == {"kept"}  # a stopped deployment stays stopped
