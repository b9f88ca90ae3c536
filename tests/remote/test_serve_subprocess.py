"""From the outside: ``ingest serve`` as a real process, a new provider behind it (its fake on 127.0.0.1), the
services listing and a streamed chat with reasoning; the process is stopped with SIGTERM."""

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

from tests.fakes.compatible import FakeCompatible
from tests.fakes.server import FakeServer

KEY = "subprocess-key-0123456789abcd"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_lists_services_and_streams_a_new_provider(tmp_path: Path):
    port = _free_port()
    env = {**os.environ, "INGEST_HOME": str(tmp_path), "PYTHONPATH": os.getcwd()}
    proc = subprocess.Popen([sys.executable, "-m", "ingest.cli.main", "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(base + "/", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.2)
        services = httpx.get(base + "/_inference/_services/chat_completion", timeout=10).json()
        assert {"groq", "deepseek", "ai21", "amazon_sagemaker"} <= {s["service"] for s in services}
        with FakeServer(FakeCompatible("groq", KEY, reasoning_key="reasoning")) as fake:
            put = httpx.put(base + "/_inference/chat_completion/groq-chat", timeout=30, json={
                "service": "groq", "service_settings": {"api_key": KEY, "model_id": "qwen/qwen3-32b",
                                                        "url": fake.url + "/chat"}})
            assert put.status_code == 200 and KEY not in put.text
            body = {"messages": [{"role": "user", "content": "hi"}], "reasoning": {"effort": "low"}}
            with httpx.stream("POST", base + "/_inference/chat_completion/groq-chat/_stream", json=body,
                              timeout=30) as response:
                assert response.status_code == 200
                events = [json.loads(line[6:]) for line in response.iter_lines()
                          if line.startswith("data: ") and line != "data: [DONE]"]
            deltas = [e["chat_completion"]["choices"][0]["delta"] for e in events if e["chat_completion"]["choices"]]
            assert "".join(d.get("reasoning", "") for d in deltas) == "Thinking"
            assert "".join(d.get("content", "") for d in deltas) == "Elastic is fast."
            assert fake.requests[-1].json()["reasoning_effort"] == "low"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()

