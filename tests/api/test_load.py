"""Under load, as Elasticsearch behaves: a bounded loopback burst against a real ``ingest serve`` subprocess.

Inference requests reach the deployment's bounded queue at once (no server worker thread is held while they
wait), so the overflow gets 429 with Elasticsearch's queue-full message, and cheap requests (``_count``,
``_doc``) stay fast while inference is overloaded. Bounded: 160 requests on 127.0.0.1, one tiny model.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.models.cache import BuiltModel
from ingest.models.results import TaskType

BURST = 160
TEXTS = [f"the cat sat on the mat number {i} hello world search query passage" for i in range(128)]


@pytest.fixture()
def server(ingest_home: Path, tiny_dense: BuiltModel) -> Iterator[str]:
    from ingest.models.imported import import_model

    import_model(tiny_dense.onnx_path, "tiny-dense", TaskType.TEXT_EMBEDDING)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {**os.environ, "INGEST_HOME": str(ingest_home), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port), "--log-level", "warning"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
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
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def _timed(client: httpx.AsyncClient, method: str, path: str, **kw: object) -> float:
    start = time.perf_counter()
    response = await client.request(method, path, **kw)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text
    return time.perf_counter() - start


async def _scenario(url: str) -> tuple[list[httpx.Response], list[float], list[float]]:
    limits = httpx.Limits(max_connections=BURST + 20, max_keepalive_connections=BURST + 20)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        started = await client.post("/_ml/trained_models/tiny-dense/deployment/_start",
                                    params={"deployment_id": "busy", "queue_capacity": "50",
                                            "number_of_allocations": "1", "threads_per_allocation": "1"})
        assert started.status_code == 200, started.text
        put = await client.put("/_inference/text_embedding/e", json={
            "service": "elasticsearch", "service_settings": {"deployment_id": "busy"}})
        assert put.status_code == 200, put.text
        bulk = await client.post("/docs/_bulk", params={"refresh": "true"},
                                 content='{"index":{"_id":"1"}}\n{"title":"hello"}\n',
                                 headers={"content-type": "application/x-ndjson"})
        assert bulk.status_code == 200, bulk.text
        assert (await client.post("/_inference/e", json={"input": TEXTS[:2]})).status_code == 200  # warm
        idle = [await _timed(client, "GET", "/docs/_count") for _ in range(10)]
        idle += [await _timed(client, "GET", "/docs/_doc/1") for _ in range(10)]

        burst = [asyncio.create_task(client.post("/_inference/e", json={"input": TEXTS})) for _ in range(BURST)]
        await asyncio.sleep(0.2)  # the burst is in the server now
        loaded: list[float] = []
        while not all(t.done() for t in burst) and len(loaded) < 40:
            loaded.append(await _timed(client, "GET", "/docs/_count"))
            loaded.append(await _timed(client, "GET", "/docs/_doc/1"))
        responses = await asyncio.gather(*burst)
    return responses, idle, loaded


def test_overflow_gets_429_and_cheap_requests_stay_fast(server: str) -> None:
    responses, idle, loaded = asyncio.run(_scenario(server))
    codes = [r.status_code for r in responses]
    rejected = [r for r in responses if r.status_code == 429]
    assert set(codes) <= {200, 429}, codes
    assert rejected, "a queue of 50 behind one allocation must overflow under a burst of 160"
    assert codes.count(200) >= 51  # the running request plus a full queue at least
    error = rejected[0].json()["error"]
    assert error["type"] == "es_rejected_execution_exception"
    assert error["reason"] == "inference process queue is full. Unable to execute command"
    assert loaded, "the burst finished before any cheap request could be timed"
    # generous: was 10 ms -> 1.6-1.9 s when inference held the server's worker threads
    print(f"idle median {statistics.median(idle) * 1000:.1f} ms, under load {statistics.median(loaded) * 1000:.1f} ms, "
          f"{len(rejected)} of {BURST} rejected")
    assert statistics.median(loaded) < max(0.5, 20 * statistics.median(idle)), (idle, loaded)
