"""Secrets never appear in GET output, logs, error messages or reprs: everything the tests capture is grepped."""

from __future__ import annotations

import json
import logging
import traceback
from pathlib import Path

import httpx
import pytest

from ingest.models.api import InferenceAPI
from ingest.models.errors import ElasticsearchError
from ingest.models.services.remote.secret import Secret
from tests.fakes.cloud import FakeVertex
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import FakeServer, Fault

OPENAI_KEY = "sk-secret-grep-openai-0123456789"
WRONG_KEY = "sk-secret-grep-wrong-9876543210"
CUSTOM_KEY = "custom-secret-grep-key-55555"


def test_secret_type_redacts_itself():
    secret = Secret(OPENAI_KEY)
    for rendering in (str(secret), repr(secret), f"{secret}", f"{secret!r}", json.dumps({"k": str(secret)})):
        assert OPENAI_KEY not in rendering
    assert secret.reveal() == OPENAI_KEY


def test_nothing_captured_contains_a_key(ingest_home: Path, caplog: pytest.LogCaptureFixture,
                                         capsys: pytest.CaptureFixture[str]):
    caplog.set_level(logging.DEBUG)
    captured: list[str] = []
    vertex = FakeVertex()
    api = InferenceAPI()
    with FakeServer(FakeOpenAI(OPENAI_KEY)) as server:
        account = vertex.service_account_json(server.url)  # the fake does not know this key: exchange fails
        private_key = json.loads(account)["private_key"].splitlines()[1]

        def attempt(fn, *args, **kwargs):
            try:
                out = fn(*args, **kwargs)
                captured.append(json.dumps(out, default=str) if isinstance(out, dict) else repr(out))
            except ElasticsearchError as exc:
                captured.extend([str(exc), repr(exc), json.dumps(exc.to_dict()), "".join(traceback.format_exception(exc))])

        settings = {"api_key": OPENAI_KEY, "model_id": "m", "url": server.url + "/v1/embeddings"}
        attempt(api.put, "good", {"service": "openai", "service_settings": settings}, task_type="text_embedding")
        attempt(api.put, "bad", {"service": "openai", "service_settings": {**settings, "api_key": WRONG_KEY}},
                task_type="text_embedding")
        attempt(api.get)
        attempt(api.get, "good")
        captured.append(repr(api.endpoint("good")))
        server.faults.extend([Fault(status=429, body={"error": {"message": f"slow down {OPENAI_KEY}"}})] * 50)
        attempt(api.infer, "good", ["x"], timeout_s=0.3)
        server.faults.clear()
        attempt(api.update, "good", {"service_settings": {"api_key": WRONG_KEY}})
        attempt(api.infer, "good", ["x"])
        custom = {"service": "custom", "service_settings": {
            "secret_parameters": {"api_key": CUSTOM_KEY}, "url": server.url + "/v1/embeddings",
            "query_parameters": [["key", "${api_key}"]], "headers": {"Authorization": "Bearer ${api_key}"},
            "request": '{"input": ${input}, "model": "m"}',
            "response": {"json_parser": {"text_embeddings": "$.data[*].embedding"}}}}
        attempt(api.put, "custom", custom, task_type="text_embedding")
        attempt(api.get, "custom")
        vertex_body = {"service": "googlevertexai", "service_settings": {
            "service_account_json": account, "project_id": "p", "location": "l", "model_id": "m",
            "url": server.url + "/v1/x:predict"}}
        attempt(api.put, "vertex", vertex_body, task_type="text_embedding")
    api.close()
    out, err = capsys.readouterr()
    haystack = "\n".join([*captured, caplog.text, out, err])
    assert "Incorrect API key provided" in haystack  # the errors were captured, with the key scrubbed
    assert "::es_redacted::" in haystack
    assert "HTTP Request: POST" in haystack and "?[redacted]" in haystack  # httpx logged URLs, query dropped
    for secret in (OPENAI_KEY, WRONG_KEY, CUSTOM_KEY, private_key):
        assert secret not in haystack


def test_a_provider_echoing_most_of_the_key_leaks_no_fragment(ingest_home: Path, caplog: pytest.LogCaptureFixture
                                                             ) -> None:
    """Issue 11: an upstream error quoting the key minus its last character returned 27 of its 28 characters."""
    from ingest.server.app import create_app
    from tests.servers import serve

    caplog.set_level(logging.DEBUG)
    api = InferenceAPI()
    try:
        with FakeServer(FakeOpenAI(OPENAI_KEY)) as server, serve(create_app(api)) as url:
            settings = {"api_key": OPENAI_KEY, "model_id": "m", "url": server.url + "/v1/embeddings"}
            api.put("echo", {"service": "openai", "service_settings": settings}, task_type="text_embedding")
            echoes = [OPENAI_KEY[:-1], OPENAI_KEY[1:], OPENAI_KEY[3:14]]
            message = "bad key " + " / ".join(echoes)
            server.faults.append(Fault(status=400, body={"error": {"message": message}}))
            r = httpx.post(f"{url}/_inference/echo", json={"input": "x"})
            assert r.status_code == 400
            assert "bad key ::es_redacted::" in r.text
            haystack = r.text + caplog.text
            for i in range(len(OPENAI_KEY) - 7):
                assert OPENAI_KEY[i:i + 8] not in haystack
    finally:
        api.close()


def test_scrub_removes_every_fragment_of_eight_or_more_characters() -> None:
    from ingest.models.services.remote.secret import REDACTED, scrub

    key = "abcdefghijklmnop"
    assert scrub(f"x {key[:-1]} y {key[4:12]} z {key[:7]}", [key]) == f"x {REDACTED} y {REDACTED} z {key[:7]}"
    assert scrub("pin 1234 and 12345", ["1234"]) == f"pin {REDACTED} and {REDACTED}5"  # short secrets: whole only
    assert scrub("nothing here", [key, ""]) == "nothing here"


def test_lone_surrogates_reach_a_remote_provider_as_replacement_characters(ingest_home: Path) -> None:
    """Issue 11: a lone surrogate in the input of a remote endpoint was a 500; the local models send U+FFFD."""
    from ingest.server.app import create_app
    from tests.servers import serve

    api = InferenceAPI()
    try:
        with FakeServer(FakeOpenAI(OPENAI_KEY)) as server, serve(create_app(api)) as url:
            settings = {"api_key": OPENAI_KEY, "model_id": "m", "url": server.url + "/v1/embeddings"}
            api.put("sur", {"service": "openai", "service_settings": settings}, task_type="text_embedding")
            body = b'{"input": ["half \\ud800 here", "pair \\ud83d\\ude00"]}'
            r = httpx.post(f"{url}/_inference/sur", content=body, headers={"Content-Type": "application/json"})
            assert r.status_code == 200, r.text
            assert len(r.json()["text_embedding"]) == 2
            sent = server.requests[-1].json()["input"]
            assert sent == ["half \ufffd here", "pair \U0001f600"]
    finally:
        api.close()


def test_an_error_event_mid_stream_leaks_no_key_fragment(ingest_home: Path) -> None:
    from ingest.server.app import create_app
    from tests.servers import serve

    fake = FakeOpenAI(OPENAI_KEY)
    fake.stream_error_after = 1
    fake.stream_error_message = f"quota exceeded for {OPENAI_KEY[2:-2]}"
    api = InferenceAPI()
    try:
        with FakeServer(fake) as server, serve(create_app(api)) as url:
            settings = {"api_key": OPENAI_KEY, "model_id": "m", "url": server.url + "/v1/chat/completions"}
            api.put("comp", {"service": "openai", "service_settings": settings}, task_type="completion")
            r = httpx.post(f"{url}/_inference/completion/comp/_stream", json={"input": "q"}, timeout=30)
            assert "event: error" in r.text and "quota exceeded for ::es_redacted::" in r.text
            for i in range(len(OPENAI_KEY) - 7):
                assert OPENAI_KEY[i:i + 8] not in r.text
    finally:
        api.close()
