"""OpenAI end to end against the fake: wire format, batching, retries, errors, validation, streaming."""

from __future__ import annotations

import base64
import time

import numpy as np
import pytest

from ingest.models.errors import ElasticsearchError, StatusException, ValidationException
from ingest.models.results import TaskType
from ingest.models.services.base import InferenceRequest
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import FakeServer, Fault, deterministic_vector
from tests.remote.conftest import endpoint

KEY = "sk-test-openai-0123456789abcdef"


@pytest.fixture()
def fake() -> FakeOpenAI:
    return FakeOpenAI(api_key=KEY)


@pytest.fixture()
def server(fake: FakeOpenAI):
    with FakeServer(fake) as srv:
        yield srv


def embed_endpoint(server: FakeServer, **extra):
    settings = {"api_key": KEY, "model_id": "text-embedding-3-small", "url": server.url + "/v1/embeddings",
                "rate_limit": {"requests_per_minute": 60000}, **extra}
    return endpoint("openai", "text_embedding", settings)


def test_parse_config_reports_every_problem_and_keeps_secrets_out():
    svc, _ = endpoint("openai", "text_embedding", {"api_key": KEY, "model_id": "m"})
    with pytest.raises(ValidationException) as info:
        svc.parse_config("x", TaskType.TEXT_EMBEDDING, {"dimensions": "big", "bogus": 1}, {}, None)
    reason = info.value.reason
    assert "[service_settings] does not contain the required setting [api_key]" in reason
    assert "[service_settings] does not contain the required setting [model_id]" in reason
    assert "unknown to the [openai] service" in reason and "bogus" in reason
    assert "field [dimensions] is not of the expected type" in reason
    _, config = endpoint("openai", "completion", {"api_key": KEY, "model_id": "gpt-4o"})
    public = config.to_public_dict()
    assert public["service_settings"]["rate_limit"] == {"requests_per_minute": 500}
    assert KEY not in repr(public) and KEY not in repr(config)
    _, config = endpoint("openai", "text_embedding", {"api_key": KEY, "model_id": "m"})
    assert config.service_settings["rate_limit"] == {"requests_per_minute": 3000}
    with pytest.raises(StatusException):
        svc.parse_config("x", TaskType.RERANK, {"api_key": KEY, "model_id": "m"}, {}, None)


def test_embeddings_wire_format_order_and_base64(server: FakeServer):
    svc, config = embed_endpoint(server, dimensions=8)
    config.task_settings["user"] = "alice"
    texts = ["one", "two", "three", "four", "five"]
    result = svc.infer(config, InferenceRequest(texts))
    expected = np.asarray([deterministic_vector(t, 8) for t in texts], dtype=np.float32)
    np.testing.assert_allclose(result.embeddings, expected, rtol=1e-6)
    (req,) = server.requests
    assert req.path == "/v1/embeddings" and req.headers["authorization"] == f"Bearer {KEY}"
    assert req.json() == {"input": texts, "model": "text-embedding-3-small", "dimensions": 8, "user": "alice",
                          "encoding_format": "base64"}


def test_batches_respect_count_and_token_caps_and_keep_order(server: FakeServer):
    svc, config = embed_endpoint(server)
    texts = [f"text number {i}" for i in range(2050)]
    result = svc.infer(config, InferenceRequest(texts))
    assert sorted(len(r.json()["input"]) for r in server.requests) == [2, 2048]
    np.testing.assert_allclose(result.embeddings[2049], deterministic_vector(texts[2049], 8), rtol=1e-6)
    server.requests.clear()
    big = ["word " * 100_000, "small", "word " * 100_000]  # ~167k estimated tokens each: over 300k together
    result = svc.infer(config, InferenceRequest(big))
    assert sorted(len(r.json()["input"]) for r in server.requests) == [1, 2]
    np.testing.assert_allclose(result.embeddings[1], deterministic_vector("small", 8), rtol=1e-6)


@pytest.mark.parametrize("fault", [
    Fault(status=429, headers={"retry-after-ms": "30"}),
    Fault(status=503),
    Fault(status=500),
    Fault(kind="close"),
    Fault(kind="truncated"),
    Fault(kind="malformed"),
])
def test_retryable_failures_are_retried(server: FakeServer, fault: Fault):
    svc, config = embed_endpoint(server)
    server.faults.extend([fault, fault])
    result = svc.infer(config, InferenceRequest(["a", "b"]))
    assert result.embeddings.shape == (2, 8)
    assert len(server.requests) == 3


def test_retry_after_is_honoured(server: FakeServer):
    svc, config = embed_endpoint(server)
    server.faults.append(Fault(status=429, headers={"retry-after": "1"}))
    start = time.monotonic()
    svc.infer(config, InferenceRequest(["a"]))
    assert time.monotonic() - start >= 0.95


def test_persistent_429_fails_with_elasticsearch_message_at_the_deadline(server: FakeServer):
    svc, config = embed_endpoint(server)
    server.faults.extend([Fault(status=429, headers={"x-ratelimit-limit-requests": "3000",
                                                      "x-ratelimit-remaining-requests": "0",
                                                      "x-ratelimit-limit-tokens": "1000000",
                                                      "x-ratelimit-remaining-tokens": "5"},
                                body={"error": {"message": "Rate limit reached"}})] * 1000)
    start = time.monotonic()
    with pytest.raises(ElasticsearchError) as info:
        svc.infer(config, InferenceRequest(["a"], timeout_s=0.6))
    assert time.monotonic() - start < 2.0
    assert info.value.status == 429
    assert info.value.reason == (
        "Received a rate limit status code. Token limit [1000000], remaining tokens [5]. Request limit [3000], "
        "remaining requests [0] for request from inference entity id [my-endpoint] status [429]. "
        "Error message: [Rate limit reached]")


def test_non_retryable_statuses_fail_at_once_with_scrubbed_messages(server: FakeServer):
    _, config = embed_endpoint(server)
    svc, bad = embed_endpoint(server, api_key="sk-wrong-key-abcdefghijkl")
    with pytest.raises(ElasticsearchError) as info:
        svc.infer(bad, InferenceRequest(["a"]))
    assert len(server.requests) == 1
    assert info.value.status == 401
    assert info.value.reason.startswith(
        "Received an authentication error status code for request from inference entity id [my-endpoint] "
        "status [401]. Error message: [Incorrect API key provided: ")
    assert "sk-wrong-key-abcdefghijkl" not in info.value.reason
    server.faults.append(Fault(status=400, body={"error": {"message": "bad input"}}))
    with pytest.raises(ElasticsearchError) as info:
        svc.infer(config, InferenceRequest(["a"]))
    assert info.value.status == 400 and info.value.reason.startswith("Received a bad request status code")
    server.faults.append(Fault(status=502))
    with pytest.raises(ElasticsearchError) as info:
        svc.infer(config, InferenceRequest(["a"]))
    assert info.value.status == 400 and "Received a server error status code" in info.value.reason
    assert info.value.error_type == "status_exception"


def test_content_too_large_halves_the_batch(server: FakeServer):
    svc, config = embed_endpoint(server)
    server.faults.append(Fault(status=413, body={"error": {"message": "too large"}}))
    result = svc.infer(config, InferenceRequest(["a", "b", "c", "d"]))
    assert sorted(len(r.json()["input"]) for r in server.requests) == [2, 2, 4]
    np.testing.assert_allclose(result.embeddings[3], deterministic_vector("d", 8), rtol=1e-6)


def test_wrong_dimensions_are_reported(fake: FakeOpenAI, server: FakeServer):
    svc, config = embed_endpoint(server, dimensions=8)
    fake.wrong_dims = 5
    with pytest.raises(ElasticsearchError) as info:
        svc.infer(config, InferenceRequest(["a"]))
    assert "[5] dimensions" in info.value.reason and "[dimensions] = [8]" in info.value.reason
    assert len(server.requests) == 1


def test_float_responses_are_read_too(server: FakeServer):
    from ingest.models.services.remote.openai_compat import decode_vector

    vector = [0.5, -0.25]
    encoded = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    np.testing.assert_array_equal(decode_vector(vector), decode_vector(encoded))


def test_validation_call_on_start(server: FakeServer):
    svc, config = embed_endpoint(server)
    svc.start(config, 5)
    assert server.requests[-1].json()["input"] == ["how big"]
    svc, bad = embed_endpoint(server, api_key="sk-another-wrong-key-xyz")
    with pytest.raises(StatusException) as info:
        svc.start(bad, 5)
    assert info.value.status == 400
    assert info.value.reason == (
        "Could not complete inference endpoint creation as validation call to service threw an exception.")
    assert info.value.caused_by is not None and info.value.caused_by.status == 401


def test_completion_and_streaming(fake: FakeOpenAI, server: FakeServer):
    svc, config = endpoint("openai", "completion", {"api_key": KEY, "model_id": "gpt-4o",
                                                    "url": server.url + "/v1/chat/completions"})
    result = svc.infer(config, InferenceRequest(["What is Elastic?"]))
    assert result.to_dict() == {"completion": [{"result": fake.reply_text}]}
    body = server.requests[-1].json()
    assert body["messages"] == [{"role": "user", "content": "What is Elastic?"}] and body["model"] == "gpt-4o"
    chunks = list(svc.stream(config, InferenceRequest(["What is Elastic?"])))
    assert chunks == [{"completion": [{"delta": w}]} for w in fake.stream_words]
    svc, chat = endpoint("openai", "chat_completion", {"api_key": KEY, "model_id": "gpt-4o",
                                                       "url": server.url + "/v1/chat/completions"})
    request = InferenceRequest([], chat={"messages": [{"role": "user", "content": "hi"}], "temperature": 0.1})
    chunks = list(svc.stream(chat, request))
    assert chunks[0]["chat_completion"]["object"] == "chat.completion.chunk"
    assert chunks[0]["chat_completion"]["choices"][0]["delta"] == {"content": "Elastic", "role": "assistant"}
    assert chunks[-1]["chat_completion"]["choices"] == [] and "usage" in chunks[-1]["chat_completion"]
    assert server.requests[-1].json()["temperature"] == 0.1
    with pytest.raises(StatusException):
        svc.infer(chat, request)


def test_closing_the_stream_cancels_upstream(fake: FakeOpenAI, server: FakeServer):
    fake.stream_words = [f" w{i}" for i in range(200)]
    fake.chunk_delay_s = 0.02
    svc, config = endpoint("openai", "completion", {"api_key": KEY, "model_id": "gpt-4o",
                                                    "url": server.url + "/v1/chat/completions"})
    stream = svc.stream(config, InferenceRequest(["go"]))
    assert next(stream) == {"completion": [{"delta": " w0"}]}
    stream.close()
    deadline = time.monotonic() + 3
    while server.disconnects == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.disconnects == 1


def test_slow_answers_fail_at_the_request_deadline(fake: FakeOpenAI):
    from ingest.models.errors import ElasticsearchTimeoutException

    with FakeServer(fake, latency_s=1.5) as slow:
        svc, config = embed_endpoint(slow)
        start = time.monotonic()
        with pytest.raises(ElasticsearchTimeoutException) as info:
            svc.infer(config, InferenceRequest(["a"], timeout_s=0.4))
        assert time.monotonic() - start < 1.2
        assert info.value.status == 408 and "[400ms]" in info.value.reason


def test_retry_after_headers():
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from ingest.models.services.remote.errors import retry_after_seconds

    assert retry_after_seconds({"retry-after-ms": "250"}) == 0.25
    assert retry_after_seconds({"retry-after": "3"}) == 3.0
    now = datetime.now(UTC)
    dated = retry_after_seconds({"retry-after": format_datetime(now + timedelta(seconds=10), usegmt=True)},
                                now.timestamp())
    assert dated is not None and 9 <= dated <= 10
    assert retry_after_seconds({"x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1m2.5s"}) == 62.5
    assert retry_after_seconds({"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "20ms"}) is None
    reset = (now + timedelta(seconds=4)).isoformat().replace("+00:00", "Z")
    got = retry_after_seconds({"anthropic-ratelimit-requests-remaining": "0",
                               "anthropic-ratelimit-requests-reset": reset}, now.timestamp())
    assert got is not None and 3.5 <= got <= 4
    assert retry_after_seconds({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6m0s",
                                "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "1s"}) == 360.0
    assert retry_after_seconds({}) is None
