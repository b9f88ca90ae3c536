"""``python -m tests.clusters kafka|opensearch|elasticsearch``: the address as the first stdout line once ready, then a clean
stop on SIGTERM (the server process gone, its scratch folder removed)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.clusters import elasticsearch

pytestmark = [pytest.mark.cluster, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> list[int]:
    """Every process under ``pid`` (Elasticsearch's launcher starts the server JVM as its own child)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    children = [int(p) for p in out.split()]
    return children + [d for c in children for d in _descendants(c)]


@pytest.mark.parametrize("kind, key", [("kafka", "bootstrap"), ("opensearch", "url"), ("elasticsearch", "url")])
def test_started_by_hand_prints_its_address_and_stops_on_sigterm(kind: str, key: str) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "tests.clusters", kind], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True, env=dict(os.environ))
    try:
        assert proc.stdout is not None
        first = json.loads(proc.stdout.readline())
        assert list(first) == [key]
        server = _descendants(proc.pid)
        assert server, "no server process"
        if kind == "kafka":
            host, port = first["bootstrap"].split(":")
            socket.create_connection((host, int(port)), timeout=5).close()
        elif kind == "opensearch":
            with urllib.request.urlopen(first["url"], timeout=10) as resp:
                assert json.loads(resp.read())["version"]["distribution"] == "opensearch"
        else:  # the integ-test distribution has no `GET /` (its rest-root module is left out)
            with urllib.request.urlopen(first["url"] + "/_nodes/_local", timeout=10) as resp:
                assert resp.headers["X-elastic-product"] == "Elasticsearch"
                nodes = json.loads(resp.read())["nodes"]
            assert [n["version"] for n in nodes.values()] == [elasticsearch.DEFAULT_VERSION]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 0
        assert all(not Path(f"/proc/{pid}").exists() for pid in server)
    finally:
        if proc.poll() is None:
            proc.kill()
