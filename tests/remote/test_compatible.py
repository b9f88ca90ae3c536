"""The OpenAI-compatible providers (deepseek, groq, ai21, llama, nvidia, openshift_ai, fireworksai, contextualai,
mixedbread) against their fakes: every task type, streaming, batching caps, faults, settings and rate limits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ingest.models.errors import ElasticsearchError, StatusException, ValidationException
from ingest.models.results import InputType, TaskType
from ingest.models.services.base import InferenceRequest
from ingest.models.services.remote import REMOTE_SERVICES
from tests.fakes.compatible import FakeCompatible
from tests.fakes.server import FakeServer, Fault, deterministic_vector
from tests.remote.conftest import endpoint

KEY = "compat-key-0123456789abcdef"
FAST = {"rate_limit": {"requests_per_minute": 60000}}
CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 20}

# service → its task types, as Elasticsearch supports them
TASKS = {
    "deepseek": {"completion", "chat_completion"},
    "groq": {"completion", "chat_completion"},
    "ai21": {"completion", "chat_completion"},
    "llama": {"text_embedding", "completion", "chat_completion"},
    "nvidia": {"text_embedding", "completion", "chat_completion", "rerank"},
    "openshift_ai": {"text_embedding", "completion", "chat_completion", "rerank"},
    "fireworksai": {"text_embedding", "completion", "chat_completion", "rerank"},
    "contextualai": {"rerank"},
    "mixedbread": {"text_embedding", "rerank"},
}
DEFAULT_RPM = {"deepseek": 2**31 - 1, "groq": 1000, "ai21": 200, "llama": 3000, "nvidia": 3000, "openshift_ai": 3000,
               "fireworksai": 6000, "contextualai": 1000, "mixedbread": 240}


def settings(service: str, url: str, task: str) -> dict[str, Any]:
    path = {"text_embedding": "/embed", "rerank": "/rerank"}.get(task, "/chat")
    return {"api_key": KEY, "url": url + path, "model_id": "some-model", **FAST}


def test_task_types_and_default_rate_limits_match_elasticsearch():
    for service, task_types in TASKS.items():
        svc = REMOTE_SERVICES[service]()
        assert {str(t) for t in svc.task_types} == task_types, service
        for task in task_types:
            _, config = endpoint(service, task, settings(service, "http://127.0.0.1:9", task) | {"rate_limit": None})
            assert config.service_settings["rate_limit"] == {"requests_per_minute": DEFAULT_RPM[service]}
            assert "api_key" not in config.service_settings and config.secret_settings == {"api_key": KEY}
        unsupported = {str(t) for t in TaskType} - task_types
        for task in unsupported:
            with pytest.raises(StatusException, match="does not support task type"):
                endpoint(service, task, {"api_key": KEY, "model_id": "m"})


@pytest.mark.parametrize("service", sorted(s for s, t in TASKS.items() if "completion" in t))
def test_chat_and_completion(service: str):
    with FakeServer(FakeCompatible(service, KEY)) as server:
        svc, comp = endpoint(service, "completion", settings(service, server.url, "completion"))
        assert svc.infer(comp, InferenceRequest(["q"])).to_dict() == {
            "completion": [{"result": "Elastic is a search company."}]}
        assert [c["completion"][0]["delta"] for c in svc.stream(comp, InferenceRequest(["q"]))] == [
            "Elastic", " is", " fast", "."]
        svc, chat = endpoint(service, "chat_completion", settings(service, server.url, "chat_completion"))
        chunks = list(svc.stream(chat, InferenceRequest([], chat=CHAT)))
        assert chunks[0]["chat_completion"]["choices"][0]["delta"]["content"] == "Elastic"
        sent = server.requests[-1].json()
        assert sent["stream"] is True and sent["model"] == "some-model"
        assert sent.get("max_tokens", sent.get("max_completion_tokens")) == 20


@pytest.mark.parametrize("service", sorted(s for s, t in TASKS.items() if "text_embedding" in t))
def test_embeddings_in_order_and_batched(service: str):
    fake = FakeCompatible(service, KEY, max_batch=REMOTE_SERVICES[service].max_batch)  # type: ignore[attr-defined]
    with FakeServer(fake) as server:
        svc, config = endpoint(service, "text_embedding", settings(service, server.url, "text_embedding"))
        texts = [f"{service} text {i}" for i in range(svc.max_batch + 3)]
        result = svc.infer(config, InferenceRequest(texts, input_type=InputType.INGEST))
        want = np.asarray([deterministic_vector(t, 4) for t in texts], dtype=np.float32)
        np.testing.assert_allclose(result.embeddings, want, rtol=1e-6)
        assert len(server.requests) == 2
        if service == "nvidia":
            assert {r.json()["input_type"] for r in server.requests} == {"passage"}
            with pytest.raises(ValidationException, match=r"Input type \[classification\] is not supported"):
                svc.infer(config, InferenceRequest(["x"], input_type=InputType.CLASSIFICATION))


@pytest.mark.parametrize("service", sorted(s for s, t in TASKS.items() if "rerank" in t))
def test_rerank(service: str):
    docs = ["a long document here", "short", "mid doc"]
    with FakeServer(FakeCompatible(service, KEY)) as server:
        svc, config = endpoint(service, "rerank", settings(service, server.url, "rerank"))
        result = svc.infer(config, InferenceRequest(docs, query="q", top_n=2, return_documents=True)).to_dict()
        assert [r["index"] for r in result["rerank"]] == [1, 2]
        assert result["rerank"][0]["text"] == "short"


@pytest.mark.parametrize("service", sorted(TASKS))
def test_faults_are_retried_and_errors_reported(service: str):
    task = next(t for t in ("text_embedding", "rerank", "completion") if t in TASKS[service])
    with FakeServer(FakeCompatible(service, KEY)) as server:
        svc, config = endpoint(service, task, settings(service, server.url, task))
        request = InferenceRequest(["one", "two"], query="q" if task == "rerank" else None)
        good = svc.infer(config, request).to_dict()
        server.faults.extend([Fault(status=429, headers={"retry-after": "0"}), Fault(status=503),
                              Fault(kind="close"), Fault(kind="malformed"), Fault(status=500)])
        assert svc.infer(config, request).to_dict() == good
        server.faults.append(Fault(status=401, body={"error": {"message": f"bad key {KEY}"}}))
        with pytest.raises(ElasticsearchError) as info:
            svc.infer(config, request)
        assert info.value.status == 401 and KEY not in info.value.reason


def test_settings_are_validated_with_elasticsearch_messages():
    with pytest.raises(ValidationException, match=r"required setting \[url\]"):
        endpoint("llama", "text_embedding", {"model_id": "all-MiniLM-L6-v2"})
    with pytest.raises(ValidationException, match=r"required setting \[api_key\]"):
        endpoint("groq", "chat_completion", {"model_id": "llama-3.3-70b-versatile"})
    with pytest.raises(ValidationException, match=r"settings \[embedding_type\] unknown to the \[nvidia\] service"):
        endpoint("nvidia", "text_embedding", {"api_key": KEY, "model_id": "m", "embedding_type": "bit"})
    _, llama = endpoint("llama", "completion", {"url": "http://127.0.0.1:1/v1/openai/v1/chat/completions",
                                                "model_id": "llama3.2:3b"})
    assert llama.secret_settings == {}  # Llama Stack needs no key
    _, served = endpoint("openshift_ai", "rerank", {"api_key": KEY, "url": "http://127.0.0.1:1/v1/rerank"})
    assert "model_id" not in served.service_settings  # OpenShift AI serves one model per URL


def test_reasoning_goes_to_providers_that_take_it():
    with FakeServer(FakeCompatible("groq", KEY)) as server:
        svc, chat = endpoint("groq", "chat_completion", settings("groq", server.url, "chat_completion"))
        list(svc.stream(chat, InferenceRequest([], chat={**CHAT, "reasoning": {"effort": "high"}})))
        assert server.requests[-1].json()["reasoning_effort"] == "high"
    svc, chat = endpoint("deepseek", "chat_completion", {"api_key": KEY, "model_id": "deepseek-reasoner"})
    with pytest.raises(ValidationException, match=r"\[reasoning\] is not supported by the \[deepseek\] service"):
        svc.stream(chat, InferenceRequest([], chat={**CHAT, "reasoning": {"effort": "high"}}))


@pytest.mark.parametrize(("service", "key"), [("deepseek", "reasoning_content"), ("groq", "reasoning"),
                                              ("fireworksai", "reasoning_content")])
def test_streamed_reasoning_is_forwarded_as_elasticsearch_names_it(service: str, key: str):
    with FakeServer(FakeCompatible(service, KEY, reasoning_key=key)) as server:
        svc, chat = endpoint(service, "chat_completion", settings(service, server.url, "chat_completion"))
        deltas = [c["chat_completion"]["choices"][0]["delta"]
                  for c in svc.stream(chat, InferenceRequest([], chat=CHAT)) if c["chat_completion"]["choices"]]
        assert [d.get("reasoning") for d in deltas[:2]] == ["Think", "ing"] and all(key not in d or key == "reasoning"
                                                                                  for d in deltas)
        assert "".join(d.get("content", "") for d in deltas) == "Elastic is fast."
        if svc.takes_reasoning:  # exclude: true drops the thinking from the answer
            excluded = {**CHAT, "reasoning": {"effort": "low", "exclude": True}}
            deltas = [c["chat_completion"]["choices"][0]["delta"]
                      for c in svc.stream(chat, InferenceRequest([], chat=excluded)) if c["chat_completion"]["choices"]]
            assert not any("reasoning" in d or key in d for d in deltas)
