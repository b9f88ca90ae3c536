"""Remote services through the endpoint API and the REST server: PUT's validation call, _update of rate limits,
and ``_stream`` as Elasticsearch frames it (``event: message`` / ``[DONE]`` / ``event: error``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ingest.models.api import InferenceAPI
from ingest.models.errors import ElasticsearchError, ResourceNotFoundException
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import FakeServer
from tests.remote.conftest import stream_router_app
from tests.servers import serve

KEY = "sk-api-server-test-0123456789"
BOM = "\ufeff"


@pytest.fixture()
def fake() -> FakeOpenAI:
    return FakeOpenAI(KEY, stream_words=["Elastic", " streams"])


@pytest.fixture()
def server(fake: FakeOpenAI):
    with FakeServer(fake) as srv:
        yield srv


def openai_body(server: FakeServer, path: str, key: str = KEY, **extra) -> dict:
    return {"service": "openai", "service_settings": {"api_key": key, "model_id": "m", "url": server.url + path,
                                                      **extra}}


def test_put_validates_creates_nothing_on_failure_and_update_changes_rate(ingest_home: Path, server: FakeServer):
    api = InferenceAPI()
    try:
        with pytest.raises(ElasticsearchError) as info:
            api.put("bad", openai_body(server, "/v1/embeddings", key="sk-wrong-0123456789"), task_type="text_embedding")
        assert info.value.status == 400 and info.value.caused_by is not None
        assert info.value.caused_by.status == 401
        with pytest.raises(ResourceNotFoundException):
            api.get("bad")
        created = api.put("emb", openai_body(server, "/v1/embeddings"), task_type="text_embedding")
        assert "api_key" not in json.dumps(created) and KEY not in json.dumps(created)
        assert created["service_settings"]["rate_limit"] == {"requests_per_minute": 3000}
        assert server.requests[-1].json()["input"] == ["how big"]
        version = api.model_version("emb")
        assert api.infer("emb", ["a", "b"]).to_dict()["text_embedding"][1]["embedding"].__len__() == 8
        updated = api.update("emb", {"service_settings": {"rate_limit": {"requests_per_minute": 120}}})
        assert updated["service_settings"]["rate_limit"] == {"requests_per_minute": 120}
        assert api.model_version("emb") == version  # the rate limit does not change the vectors
        assert api.get("emb")["endpoints"][0]["service_settings"]["rate_limit"] == {"requests_per_minute": 120}
        api.infer("emb", ["c"])
        start = time.monotonic()
        api.infer("emb", ["d"])  # 120 rpm: the next slot is half a second after the previous request
        assert time.monotonic() - start >= 0.4
    finally:
        api.close()


def sse_events(text: str) -> list[tuple[str, str]]:
    out = []
    for frame in text.split("\n\n"):
        if not frame:
            continue
        lines = frame.removeprefix(BOM).split("\n")
        assert lines[0].startswith("event: ") and lines[1].startswith("data: "), frame
        out.append((lines[0][7:], lines[1][6:]))
    return out


def test_stream_routes_frame_events_like_elasticsearch(live_server, fake: FakeOpenAI, server: FakeServer):
    url, api = live_server
    api.put("comp", openai_body(server, "/v1/chat/completions"), task_type="completion")
    api.put("chat", openai_body(server, "/v1/chat/completions"), task_type="chat_completion")
    with httpx.Client(base_url=url, timeout=10) as client:
        resp = client.post("/_inference/completion/comp/_stream", json={"input": "What is Elastic?"})
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        assert resp.text.startswith(BOM + "event: message\ndata: ")
        assert sse_events(resp.text) == [("message", '{"completion": [{"delta": "Elastic"}]}'),
                                         ("message", '{"completion": [{"delta": " streams"}]}'),
                                         ("message", "[DONE]")]
        resp = client.post("/_inference/chat_completion/chat/_stream",
                           json={"messages": [{"role": "user", "content": "hi"}]})
        events = sse_events(resp.text)
        first = json.loads(events[0][1])["chat_completion"]
        assert first["object"] == "chat.completion.chunk" and first["choices"][0]["delta"]["content"] == "Elastic"
        assert json.loads(events[-2][1])["chat_completion"]["choices"] == [] and events[-1] == ("message", "[DONE]")
        fake.stream_error_after = 1
        events = sse_events(client.post("/_inference/completion/comp/_stream", json={"input": "q"}).text)
        assert events[0] == ("message", '{"completion": [{"delta": "Elastic"}]}')
        assert events[-1][0] == "error"
        error = json.loads(events[-1][1])
        assert error["status"] == 400 and error["error"]["type"] == "status_exception"
        assert "The server had an error while processing your request." in error["error"]["reason"]


def test_client_disconnect_cancels_the_upstream_stream(ingest_home: Path, fake: FakeOpenAI, server: FakeServer):
    """Through the stream router alone: the assembled app's ``@app.middleware("http")`` (BaseHTTPMiddleware)
    holds disconnects back for about 5 s, which is the app's business, not the route's."""
    fake.stream_words = [f" w{i}" for i in range(300)]
    fake.chunk_delay_s = 0.02
    api = InferenceAPI()
    api.put("slow", openai_body(server, "/v1/chat/completions"), task_type="completion")
    try:
        with serve(stream_router_app(api)) as url, httpx.Client(base_url=url, timeout=10) as client, client.stream(
                "POST", "/_inference/completion/slow/_stream", json={"input": "go"}) as resp:
            for line in resp.iter_lines():
                if line.startswith("data: "):
                    assert json.loads(line[6:]) == {"completion": [{"delta": " w0"}]}
                    break
        closed = time.monotonic()
        while server.disconnects == 0 and time.monotonic() - closed < 3:
            time.sleep(0.02)
        assert server.disconnects == 1 and time.monotonic() - closed < 1.0
    finally:
        api.close()


def test_custom_endpoint_survives_storage_and_secret_update(ingest_home: Path, server: FakeServer):
    api = InferenceAPI()
    try:
        body: dict[str, Any] = {"service": "custom", "service_settings": {
            "secret_parameters": {"api_key": "sk-wrong-custom-0000000"}, "url": server.url + "/v1/embeddings",
            "headers": {"Authorization": "Bearer ${api_key}"}, "request": '{"input": ${input}, "model": "m"}',
            "response": {"json_parser": {"text_embeddings": "$.data[*].embedding"}}}}
        with pytest.raises(ElasticsearchError):
            api.put("c1", body, task_type="text_embedding")  # the validation call fails with the wrong key
        body["service_settings"]["secret_parameters"] = {"api_key": KEY}
        api.put("c1", body, task_type="text_embedding")
        assert api.get("c1")["endpoints"][0]["service_settings"]["dimensions"] == 8  # learnt by the validation call
        assert len(api.infer("c1", ["x"]).to_dict()["text_embedding"]) == 1
        api.update("c1", {"service_settings": {"secret_parameters": {"api_key": "sk-rotated-wrong-111111"}}})
        with pytest.raises(ElasticsearchError) as info:
            api.infer("c1", ["x"])
        assert info.value.status == 401 and "sk-rotated-wrong-111111" not in info.value.reason
        api.update("c1", {"service_settings": {"secret_parameters": {"api_key": KEY}}})
        assert len(api.infer("c1", ["y"]).to_dict()["text_embedding"]) == 1
    finally:
        api.close()
