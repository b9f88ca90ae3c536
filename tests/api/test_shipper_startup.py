"""A shipper's start-up against ``ingest serve`` run as a real subprocess: the requests Logstash's and Filebeat's
Elasticsearch outputs send (version, license, x-pack features, template check and install, a filtered ``_bulk``),
then a restart on the same home that still has the template."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.servers import free_port


@contextmanager
def _serve(home: Path) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "INGEST_HOME": str(home), "INGEST_BULK_DEST": "embedded"}
    proc = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "ingest serve did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            assert proc.wait(10) in (0, -15)  # uvicorn shuts down, then re-raises SIGTERM
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
            raise


def test_shipper_startup_sequence_and_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    template = {"index_patterns": ["logstash-*"], "priority": 200,
                "template": {"settings": {"index.refresh_interval": "5s"},
                             "mappings": {"properties": {"@timestamp": {"type": "date"}}}}}
    with _serve(home) as url:
        assert httpx.get(url).json()["version"]["number"].startswith("9.")
        assert httpx.get(f"{url}/_license?human=false").json()["license"]["status"] == "active"
        features = httpx.get(f"{url}/_xpack").json()["features"]
        assert features["ilm"]["enabled"] is False
        assert httpx.head(f"{url}/_index_template/ecs-logstash").status_code == 404
        assert httpx.put(f"{url}/_index_template/ecs-logstash", json=template).json() == {"acknowledged": True}
        assert httpx.head(f"{url}/_index_template/ecs-logstash").status_code == 200
        nodes = httpx.get(f"{url}/_nodes/http?filter_path=nodes.*.http.publish_address").json()["nodes"]
        assert [n["http"]["publish_address"] for n in nodes.values()] == [url.removeprefix("http://")]
        lines = [{"create": {"_index": "logstash-1"}}, {"message": "hello"}]
        r = httpx.post(f"{url}/_bulk?filter_path=errors,items.*.error,items.*.status",
                       content="".join(json.dumps(x) + "\n" for x in lines),
                       headers={"content-type": "application/x-ndjson"}, timeout=60)
        assert r.json() == {"errors": False, "items": [{"create": {"status": 201}}]}
        assert httpx.post(f"{url}/_mget", json={}).status_code == 400
    with _serve(home) as url:  # a new process on the same home keeps the template
        got = httpx.get(f"{url}/_index_template/ecs-logstash").json()["index_templates"][0]["index_template"]
        assert got["template"]["settings"] == {"index": {"refresh_interval": "5s"}}
        assert got["index_patterns"] == ["logstash-*"] and got["priority"] == 200
