"""Each provider's wire format against its fake: requests checked as the provider would, answers parsed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ingest.models.errors import ElasticsearchError, ValidationException
from ingest.models.results import InputType
from ingest.models.services.base import InferenceRequest
from tests.fakes.cohere import FakeCohere
from tests.fakes.google import FakeGoogleAiStudio
from tests.fakes.openai import FakeOpenAI
from tests.fakes.others import FakeAnthropic, FakeHuggingFace, FakeJina, FakeVoyage
from tests.fakes.server import FakeServer, deterministic_vector
from tests.remote.conftest import endpoint

KEY = "provider-test-key-0123456789"
FAST = {"rate_limit": {"requests_per_minute": 60000}}


def expected(texts, dims):
    return np.asarray([deterministic_vector(t, dims) for t in texts], dtype=np.float32)


def test_cohere_embed_rerank_completion_stream():
    with FakeServer(FakeCohere(KEY)) as server:
        svc, config = endpoint("cohere", "text_embedding", {"api_key": KEY, "model_id": "embed-v4.0",
                                                            "url": server.url, **FAST})
        texts = [f"doc {i}" for i in range(100)]
        result = svc.infer(config, InferenceRequest(texts, input_type=InputType.SEARCH))
        np.testing.assert_allclose(result.embeddings, expected(texts, 6), rtol=1e-6)
        bodies = sorted((r.json() for r in server.requests), key=lambda b: len(b["texts"]))
        assert [len(b["texts"]) for b in bodies] == [4, 96]
        assert bodies[0]["input_type"] == "search_query" and bodies[0]["embedding_types"] == ["base64"]
        svc, rerank = endpoint("cohere", "rerank", {"api_key": KEY, "model_id": "rerank-v3.5", "url": server.url},
                               {"return_documents": True})
        result = svc.infer(rerank, InferenceRequest(["luke", "star wars", "leia"], query="star wars", top_n=2))
        assert result.to_dict() == {"rerank": [{"index": 1, "relevance_score": 1.0, "text": "star wars"},
                                               {"index": 0, "relevance_score": 0.0, "text": "luke"}]}
        svc, chat = endpoint("cohere", "completion", {"api_key": KEY, "model_id": "command-r", "url": server.url})
        assert svc.infer(chat, InferenceRequest(["hi"])).to_dict() == {"completion": [{"result": "Cohere says hi"}]}
        chunks = list(svc.stream(chat, InferenceRequest(["hi"])))
        assert chunks == [{"completion": [{"delta": w}]} for w in ["Cohere", " says", " hi"]]


def test_cohere_v1():
    with FakeServer(FakeCohere(KEY)) as server:
        base = {"api_key": KEY, "model_id": "m", "url": server.url, "api_version": "v1", **FAST}
        svc, config = endpoint("cohere", "text_embedding", base)
        np.testing.assert_allclose(svc.infer(config, InferenceRequest(["a"])).embeddings, expected(["a"], 6), rtol=1e-6)
        assert server.requests[-1].path == "/v1/embed" and server.requests[-1].json()["embedding_types"] == ["float"]
        svc, chat = endpoint("cohere", "completion", base)
        assert list(svc.stream(chat, InferenceRequest(["hi"]))) == [{"completion": [{"delta": "Cohere v1 says hi"}]}]
        assert server.requests[-1].json() == {"model": "m", "message": "hi"}
        svc, rerank = endpoint("cohere", "rerank", base)
        result = svc.infer(rerank, InferenceRequest(["x", "q"], query="q", return_documents=True))
        assert result.to_dict()["rerank"][0] == {"index": 1, "relevance_score": 1.0, "text": "q"}
        assert server.requests[-1].json()["return_documents"] is True


def test_mistral_and_azure_openai_speak_openai_shapes():
    mistral = FakeOpenAI(KEY)
    with FakeServer(mistral) as server:
        svc, config = endpoint("mistral", "text_embedding", {"api_key": KEY, "model": "mistral-embed",
                                                             "url": server.url, **FAST})
        assert svc.infer(config, InferenceRequest(["a", "b"])).embeddings.shape == (2, 8)
        assert server.requests[-1].json()["model"] == "mistral-embed"
        with pytest.raises(ValidationException, match=r"required setting \[model\]"):
            endpoint("mistral", "text_embedding", {"api_key": KEY, "model_id": "x"})
    azure = FakeOpenAI(KEY, auth="api-key", embeddings_path="/openai/deployments/emb/embeddings",
                       chat_path="/openai/deployments/emb/chat/completions", require_model=False)
    with FakeServer(azure) as server:
        settings = {"api_key": KEY, "resource_name": "res", "deployment_id": "emb", "api_version": "2024-10-21",
                    "url": server.url, **FAST}
        svc, config = endpoint("azureopenai", "text_embedding", settings)
        texts = ["x", "y", "z"]
        np.testing.assert_allclose(svc.infer(config, InferenceRequest(texts)).embeddings, expected(texts, 8), rtol=1e-6)
        request = server.requests[-1]
        assert request.query == {"api-version": ["2024-10-21"]} and request.headers["api-key"] == KEY
        assert "model" not in request.json()
        with pytest.raises(ValidationException, match=r"either contain \[api_key\] or \[entra_id\]"):
            endpoint("azureopenai", "text_embedding", {**settings, "entra_id": "token"})
        svc, chat = endpoint("azureopenai", "chat_completion", settings)
        chunks = list(svc.stream(chat, InferenceRequest([], chat={"messages": [{"role": "user", "content": "q"}]})))
        assert chunks[0]["chat_completion"]["choices"][0]["delta"]["content"] == "Elastic"


def test_google_ai_studio():
    with FakeServer(FakeGoogleAiStudio(KEY)) as server:
        svc, config = endpoint("googleaistudio", "text_embedding", {"api_key": KEY, "model_id": "text-embedding-004",
                                                                    "url": server.url, **FAST})
        texts = [f"t{i}" for i in range(150)]
        np.testing.assert_allclose(svc.infer(config, InferenceRequest(texts)).embeddings, expected(texts, 5), rtol=1e-6)
        assert sorted(len(r.json()["requests"]) for r in server.requests) == [50, 100]
        svc, comp = endpoint("googleaistudio", "completion", {"api_key": KEY, "model_id": "gemini-2.0-flash",
                                                              "url": server.url})
        assert svc.infer(comp, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "Gemini is here"}]}
        assert [c["completion"][0]["delta"] for c in svc.stream(comp, InferenceRequest(["q"]))] == [
            "Gemini", " is", " here"]
        _, bad = endpoint("googleaistudio", "completion", {"api_key": "wrong-google-key-123", "model_id": "g",
                                                           "url": server.url})
        with pytest.raises(ElasticsearchError) as info:
            svc.infer(bad, InferenceRequest(["q"]))
        assert info.value.status == 400 and "API key not valid" in info.value.reason


def test_anthropic_completion_and_streams():
    with FakeServer(FakeAnthropic(KEY)) as server:
        with pytest.raises(ValidationException, match=r"required setting \[max_tokens\]"):
            endpoint("anthropic", "completion", {"api_key": KEY, "model_id": "claude"})
        svc, comp = endpoint("anthropic", "completion", {"api_key": KEY, "model_id": "claude", "url": server.url, **FAST},
                             {"max_tokens": 64, "temperature": 0.2})
        assert svc.infer(comp, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "Claude is here"}]}
        assert server.requests[-1].json() == {"model": "claude", "messages": [{"role": "user", "content": "q"}],
                                              "max_tokens": 64, "temperature": 0.2}
        assert [c["completion"][0]["delta"] for c in svc.stream(comp, InferenceRequest(["q"]))] == [
            "Claude", " is", " here"]
        svc, chat = endpoint("anthropic", "chat_completion", {"api_key": KEY, "model_id": "claude", **FAST,
                                                              "url": server.url}, {"max_tokens": 10})
        messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "q"}]
        chunks = list(svc.stream(chat, InferenceRequest([], chat={"messages": messages})))
        assert [c["chat_completion"]["choices"][0]["delta"]["content"] for c in chunks[:3]] == [
            "Claude", " is", " here"]
        assert chunks[-1]["chat_completion"]["usage"]["completion_tokens"] == 3
        assert server.requests[-1].json()["system"] == "be brief"


def test_hugging_face_embed_rerank_chat():
    with FakeServer(FakeHuggingFace(KEY)) as server:
        svc, config = endpoint("hugging_face", "text_embedding", {"api_key": KEY, "url": server.url + "/embed", **FAST})
        texts = [f"w{i}" for i in range(40)]
        np.testing.assert_allclose(svc.infer(config, InferenceRequest(texts)).embeddings, expected(texts, 4), rtol=1e-6)
        assert sorted(len(r.json()["inputs"]) for r in server.requests) == [8, 32]
        svc, rerank = endpoint("hugging_face", "rerank", {"api_key": KEY, "url": server.url + "/rerank"})
        result = svc.infer(rerank, InferenceRequest(["a b", "c"], query="a", return_documents=True))
        assert result.to_dict()["rerank"][0] == {"index": 0, "relevance_score": 1.0, "text": "a b"}
        svc, chat = endpoint("hugging_face", "chat_completion", {"api_key": KEY, "model_id": "tgi",
                                                                 "url": server.url + "/v1/chat/completions"})
        chunks = list(svc.stream(chat, InferenceRequest([], chat={"messages": [{"role": "user", "content": "q"}]})))
        assert chunks[0]["chat_completion"]["choices"][0]["delta"]["content"] == "Elastic"


def test_jina_and_voyage():
    with FakeServer(FakeJina(KEY)) as server:
        svc, config = endpoint("jinaai", "text_embedding", {"api_key": KEY, "model_id": "jina-embeddings-v3",
                                                            "url": server.url, **FAST}, {"input_type": "ingest"})
        np.testing.assert_allclose(svc.infer(config, InferenceRequest(["a"])).embeddings, expected(["a"], 4), rtol=1e-6)
        body = server.requests[-1].json()
        assert body["task"] == "retrieval.passage" and body["embedding_type"] == "base64"
        svc, rerank = endpoint("jinaai", "rerank", {"api_key": KEY, "model_id": "jina-reranker-v2", "url": server.url})
        assert svc.infer(rerank, InferenceRequest(["x", "q"], query="q")).to_dict() == {
            "rerank": [{"index": 1, "relevance_score": 1.0}, {"index": 0, "relevance_score": 0.0}]}
    with FakeServer(FakeVoyage(KEY)) as server:
        svc, config = endpoint("voyageai", "text_embedding", {"api_key": KEY, "model_id": "voyage-3",
                                                              "dimensions": 4, "url": server.url, **FAST})
        result = svc.infer(config, InferenceRequest(["a", "b"], input_type=InputType.SEARCH))
        np.testing.assert_allclose(result.embeddings, expected(["a", "b"], 4), rtol=1e-6)
        body = server.requests[-1].json()
        assert body["input_type"] == "query" and body["encoding_format"] == "base64" and body["output_dimension"] == 4
        svc, rerank = endpoint("voyageai", "rerank", {"api_key": KEY, "model_id": "rerank-2", "url": server.url},
                               {"top_k": 1, "return_documents": True})
        assert svc.infer(rerank, InferenceRequest(["x", "q"], query="q")).to_dict() == {
            "rerank": [{"index": 1, "relevance_score": 1.0, "text": "q"}]}


def test_oauth_client_credentials_for_openai_and_azure():
    fake = FakeOpenAI(KEY, oauth_clients={"my-client": "client-secret-0123456789"})
    with FakeServer(fake) as server:
        oauth = {"client_id": "my-client", "client_secret": "client-secret-0123456789", "scopes": ["api.read"],
                 "token_url": server.url + "/oauth/token", **FAST}
        svc, config = endpoint("openai", "text_embedding", {"model_id": "m", "url": server.url + "/v1/embeddings",
                                                            **oauth})
        svc.infer(config, InferenceRequest(["a"]))
        svc.infer(config, InferenceRequest(["b"]))
        tokens = [r for r in server.requests if r.path == "/oauth/token"]
        assert len(tokens) == 1  # cached
        assert server.requests[-1].headers["authorization"] == "Bearer oauth-token-1-api.read"
        assert "client-secret-0123456789" not in repr(config.to_public_dict())
        with pytest.raises(ValidationException, match="not both"):
            endpoint("openai", "text_embedding", {"model_id": "m", "api_key": KEY, **oauth})
        with pytest.raises(ValidationException, match=r"required setting \[token_url\]"):
            endpoint("openai", "text_embedding", {"model_id": "m", "client_id": "c", "client_secret": "s"})
        _, bad = endpoint("openai", "text_embedding", {"model_id": "m", "url": server.url + "/v1/embeddings",
                                                        **{**oauth, "client_secret": "client-secret-wrong-000"}})
        with pytest.raises(ElasticsearchError) as info:
            svc.infer(bad, InferenceRequest(["a"]))
        assert info.value.status == 401 and "Client authentication failed." in info.value.reason
    azure = FakeOpenAI(KEY, auth="api-key", embeddings_path="/openai/deployments/d/embeddings", require_model=False,
                       oauth_clients={"app": "azure-secret-0123456789"})
    with FakeServer(azure) as server:
        svc, config = endpoint("azureopenai", "text_embedding", {
            "resource_name": "r", "deployment_id": "d", "api_version": "2024-10-21", "url": server.url,
            "client_id": "app", "client_secret": "azure-secret-0123456789", "tenant_id": "t",
            "token_url": server.url + "/oauth/token", **FAST})
        assert svc.infer(config, InferenceRequest(["a"])).embeddings.shape == (1, 8)
        assert server.requests[0].body.decode().endswith("scope=https%3A%2F%2Fcognitiveservices.azure.com%2F.default")


def test_dimensions_learnt_by_the_validation_call_are_enforced():
    fake = FakeCohere(KEY)
    with FakeServer(fake) as server:
        svc, config = endpoint("cohere", "text_embedding", {"api_key": KEY, "model_id": "embed-v4.0",
                                                            "url": server.url, **FAST})
        svc.start(config, 5)
        assert config.service_settings["dimensions"] == 6
        fake.dims = 7  # the provider changed its model behind the endpoint's back
        with pytest.raises(ElasticsearchError) as info:
            svc.infer(config, InferenceRequest(["a"]))
        assert info.value.status == 400 and "[7] dimensions" in info.value.reason


def test_google_429_retry_info_is_honoured():
    from ingest.models.services.remote.errors import UpstreamResponse, classify
    from tests.fakes.google import quota_exceeded
    from tests.fakes.server import Fault

    reply = quota_exceeded("37s")
    error = classify("g", UpstreamResponse(429, {}, json.dumps(reply.body).encode(), "u"), frozenset({429}))
    assert error.retryable and error.retry_after == 37.0
    fake = FakeGoogleAiStudio(KEY)
    with FakeServer(fake) as server:
        svc, config = endpoint("googleaistudio", "text_embedding", {"api_key": KEY, "model_id": "m", "url": server.url})
        server.faults.append(Fault(status=429, body=quota_exceeded("0.05s").body))
        result = svc.infer(config, InferenceRequest(["q"], input_type=InputType.SEARCH))
        np.testing.assert_allclose(result.embeddings, expected(["q"], 5), rtol=1e-6)
        assert len(server.requests) == 2 and fake.task_types == ["RETRIEVAL_QUERY"]
