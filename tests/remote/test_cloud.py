"""Providers with their own authentication: Vertex AI (JWT → OAuth), watsonx (IAM), Bedrock (SigV4), plus
Azure AI Studio and AlibabaCloud AI Search."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ingest.models.errors import ElasticsearchError, ValidationException
from ingest.models.results import InputType
from ingest.models.services.base import InferenceRequest
from tests.fakes.cloud import FakeAlibaba, FakeAzureAiStudio, FakeBedrock, FakeVertex, FakeWatsonx
from tests.fakes.server import FakeServer, deterministic_vector
from tests.remote.conftest import endpoint

FAST = {"rate_limit": {"requests_per_minute": 60000}}


def expected(texts, dims):
    return np.asarray([deterministic_vector(t, dims) for t in texts], dtype=np.float32)


class Late:
    """A handler whose base URL is only known once the server is up."""

    def __init__(self) -> None:
        self.inner: Any = None

    def __call__(self, request: Any) -> Any:
        return self.inner(request)


def test_vertex_service_account_token_embeddings_rerank_completion():
    fake, late = FakeVertex(), Late()
    with FakeServer(late) as server:
        late.inner = fake.handler(server.url)
        account = fake.service_account_json(server.url)
        base = {"service_account_json": account, "project_id": "p", "location": "us-central1", "model_id": "te-005"}
        url = server.url + "/v1/projects/p/locations/us-central1/publishers/google/models/te-005:predict"
        svc, config = endpoint("googlevertexai", "text_embedding", {**base, "url": url, "max_batch_size": 100, **FAST})
        texts = [f"v{i}" for i in range(230)]
        result = svc.infer(config, InferenceRequest(texts, input_type=InputType.INGEST))
        np.testing.assert_allclose(result.embeddings, expected(texts, 4), rtol=1e-6)
        predicts = [r for r in server.requests if r.path.endswith(":predict")]
        assert sorted(len(r.json()["instances"]) for r in predicts) == [30, 100, 100]
        assert predicts[0].json()["instances"][0]["task_type"] == "RETRIEVAL_DOCUMENT"
        assert fake.token_requests == 1  # one exchange, cached for every batch
        assert account not in repr(config.to_public_dict())
        svc, rerank = endpoint("googlevertexai", "rerank", {**base, "url": server.url + "/v1/x:rank"})
        assert svc.infer(rerank, InferenceRequest(["a", "q"], query="q")).to_dict()["rerank"][0]["index"] == 1
        svc, comp = endpoint("googlevertexai", "completion", {
            **base, "url": server.url + "/m:generateContent", "streaming_url": server.url + "/m:streamGenerateContent"})
        assert svc.infer(comp, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "Gemini is here"}]}
        assert len(list(svc.stream(comp, InferenceRequest(["q"])))) == 3
        garden = {"service_account_json": account, "provider": "anthropic", **FAST}
        svc, claude = endpoint("googlevertexai", "chat_completion", {
            **garden, "url": server.url + "/v1/projects/p/locations/l/publishers/anthropic/models/claude:rawPredict",
            "streaming_url": server.url + "/v1/projects/p/locations/l/publishers/anthropic/models/claude:streamRawPredict"})
        chunks = list(svc.stream(claude, InferenceRequest([], chat={"messages": [{"role": "user", "content": "q"}]})))
        assert [c["chat_completion"]["choices"][0]["delta"]["content"] for c in chunks[:3]] == [
            "Claude", " is", " here"]
        svc, llama = endpoint("googlevertexai", "completion", {
            **garden, "provider": "meta", "model_id": "llama", "url": server.url + "/v1/endpoints/openapi/chat/completions"})
        assert svc.infer(llama, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "Elastic is a search company."}]}
        with pytest.raises(ValidationException, match=r"required setting \[url\]"):
            endpoint("googlevertexai", "completion", {**garden, "provider": "meta"})
        with pytest.raises(ValidationException, match="service_account_json"):
            endpoint("googlevertexai", "text_embedding", {**base, "service_account_json": "{}"})
        other = FakeVertex()  # a key the token endpoint does not know: the exchange fails cleanly
        _, bad = endpoint("googlevertexai", "text_embedding",
                          {**base, "url": url, "service_account_json": other.service_account_json(server.url)})
        with pytest.raises(ElasticsearchError) as info:
            svc.infer(bad, InferenceRequest(["a"]))
        assert info.value.status == 400 and "Invalid JWT Signature" in info.value.reason
        assert "PRIVATE KEY" not in info.value.reason


def test_watsonx_iam_exchange_and_operations():
    fake = FakeWatsonx("wx-key-0123456789")
    with FakeServer(fake) as server:
        base = {"api_key": fake.api_key, "url": server.url, "model_id": "ibm/slate", "project_id": "proj",
                "api_version": "2024-05-02", "iam_url": server.url + "/identity/token", **FAST}
        svc, config = endpoint("watsonxai", "text_embedding", base)
        np.testing.assert_allclose(svc.infer(config, InferenceRequest(["a", "b"])).embeddings, expected(["a", "b"], 3),
                                   rtol=1e-6)
        svc.infer(config, InferenceRequest(["c"]))
        assert fake.token_requests == 1
        assert server.requests[-1].query == {"version": ["2024-05-02"]}
        svc, rerank = endpoint("watsonxai", "rerank", base)
        assert svc.infer(rerank, InferenceRequest(["x", "q"], query="q")).to_dict()["rerank"][0]["index"] == 1
        svc, comp = endpoint("watsonxai", "completion", base)
        assert svc.infer(comp, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "watsonx says hi"}]}
        assert [c["completion"][0]["delta"] for c in svc.stream(comp, InferenceRequest(["q"]))] == ["wx", " streams"]
        svc, chat = endpoint("watsonxai", "chat_completion", base)
        chunks = list(svc.stream(chat, InferenceRequest([], chat={"messages": [{"role": "user", "content": "q"}]})))
        assert chunks[0]["chat_completion"]["choices"][0]["delta"]["content"] == "Elastic"
        _, bad = endpoint("watsonxai", "completion", {**base, "api_key": "wx-wrong-key-987654321"})
        with pytest.raises(ElasticsearchError) as info:
            svc.infer(bad, InferenceRequest(["q"]))
        assert "Provided API key could not be found" in info.value.reason
        assert "wx-wrong-key-987654321" not in info.value.reason


def test_bedrock_sigv4_titan_cohere_converse():
    fake, late = FakeBedrock("AKIAFAKEACCESS", "fake/secret+key0123456789"), Late()
    with FakeServer(late) as server:
        late.inner = fake.handler(server.url)
        base = {"access_key": fake.access_key, "secret_key": fake.secret_key, "region": "us-east-1",
                "url": server.url, **FAST}
        svc, titan = endpoint("amazonbedrock", "text_embedding",
                              {**base, "model": "amazon.titan-embed-text-v2:0", "provider": "amazontitan"})
        np.testing.assert_allclose(svc.infer(titan, InferenceRequest(["a", "b"])).embeddings, expected(["a", "b"], 3),
                                   rtol=1e-6)
        assert len(server.requests) == 2  # Titan embeds one text per request
        # Titan v1 after a PUT (the validation call records the dimensions): inference still sends inputText alone
        svc, v1 = endpoint("amazonbedrock", "text_embedding", {**base, "model": "amazon.titan-embed-text-v1"})
        svc.start(v1, 5)
        assert v1.service_settings["dimensions"] == 3 and v1.service_settings["provider"] == "amazontitan"
        np.testing.assert_allclose(svc.infer(v1, InferenceRequest(["a"])).embeddings, expected(["a"], 3), rtol=1e-6)
        assert server.requests[-1].json() == {"inputText": "a"}
        svc, cohere = endpoint("amazonbedrock", "text_embedding",
                               {**base, "model": "cohere.embed-english-v3", "provider": "cohere"})
        texts = [f"c{i}" for i in range(100)]
        np.testing.assert_allclose(svc.infer(cohere, InferenceRequest(texts)).embeddings, expected(texts, 3), rtol=1e-6)
        svc, comp = endpoint("amazonbedrock", "completion",
                             {**base, "model": "anthropic.claude-3-haiku", "provider": "anthropic"},
                             {"max_new_tokens": 32})
        assert svc.infer(comp, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "Bedrock answers"}]}
        assert server.requests[-1].json()["inferenceConfig"] == {"maxTokens": 32}
        svc, chat = endpoint("amazonbedrock", "chat_completion",
                             {**base, "model": "anthropic.claude-3-haiku", "provider": "anthropic"})
        chunks = list(svc.stream(chat, InferenceRequest([], chat={"messages": [{"role": "user", "content": "q"}]})))
        assert [c["chat_completion"]["choices"][0]["delta"]["content"] for c in chunks[:2]] == ["Bedrock", " streams"]
        assert chunks[-1]["chat_completion"]["usage"] == {"completion_tokens": 2, "prompt_tokens": 2, "total_tokens": 4}
        assert server.requests[-1].path.endswith("/converse-stream")
        assert [c["completion"][0]["delta"] for c in svc.stream(comp, InferenceRequest(["q"]))] == ["Bedrock", " streams"]
        _, bad = endpoint("amazonbedrock", "completion", {**base, "secret_key": "wrong-secret-key-0000",
                                                          "model": "m", "provider": "meta"})
        with pytest.raises(ElasticsearchError) as info:
            svc.infer(bad, InferenceRequest(["q"]))
        assert info.value.status == 403 and "signature" in info.value.reason
        with pytest.raises(ValidationException):
            endpoint("amazonbedrock", "text_embedding", {**base, "model": "m", "provider": "meta"})


def test_azure_ai_studio_and_alibaba():
    key = "azure-ai-studio-key-012345"
    with FakeServer(FakeAzureAiStudio(key)) as server:
        svc, emb = endpoint("azureaistudio", "text_embedding", {"api_key": key, "target": server.url + "/embeddings",
                                                                "provider": "openai", "endpoint_type": "token", **FAST})
        np.testing.assert_allclose(svc.infer(emb, InferenceRequest(["a"])).embeddings, expected(["a"], 8), rtol=1e-6)
        svc, rt = endpoint("azureaistudio", "completion", {"api_key": key, "target": server.url + "/score",
                                                           "provider": "meta", "endpoint_type": "realtime"},
                           {"temperature": 0.5})
        assert svc.infer(rt, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "realtime: q"}]}
        assert server.requests[-1].json()["input_data"]["parameters"] == {"temperature": 0.5}
        svc, rr = endpoint("azureaistudio", "rerank", {"api_key": key, "target": server.url + "/rerank",
                                                       "provider": "cohere", "endpoint_type": "token"})
        assert svc.infer(rr, InferenceRequest(["x", "q"], query="q")).to_dict()["rerank"][0]["index"] == 1
    key = "alibaba-key-0123456789"
    with FakeServer(FakeAlibaba(key)) as server:
        base = {"api_key": key, "host": "example.com", "service_id": "ops-text-embedding-001", "workspace": "default",
                "url": server.url, **FAST}
        svc, emb = endpoint("alibabacloud-ai-search", "text_embedding", base)
        texts = ["a", "b", "c"]
        np.testing.assert_allclose(svc.infer(emb, InferenceRequest(texts)).embeddings, expected(texts, 3), rtol=1e-6)
        assert server.requests[-1].path == "/v3/openapi/workspaces/default/text-embedding/ops-text-embedding-001"
        svc, sparse = endpoint("alibabacloud-ai-search", "sparse_embedding", base, {"return_token": True})
        assert svc.infer(sparse, InferenceRequest(["hey"])).to_dict() == {
            "sparse_embedding": [{"is_truncated": False, "embedding": {"hey": 0.5}}]}
        svc, rr = endpoint("alibabacloud-ai-search", "rerank", base)
        assert svc.infer(rr, InferenceRequest(["x", "q"], query="q")).to_dict()["rerank"][0]["index"] == 1
        svc, comp = endpoint("alibabacloud-ai-search", "completion", base)
        assert svc.infer(comp, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "alibaba answers"}]}


def test_event_stream_framing_is_checked():
    from ingest.models.services.remote.eventstream import split_messages
    from tests.fakes.cloud import event_message

    one = event_message({":event-type": "contentBlockDelta", ":message-type": "event"}, b'{"delta": {"text": "x"}}')
    buffer = bytearray(one + one[:10])
    messages = split_messages(buffer)
    assert [(h[":event-type"], p) for h, p in messages] == [("contentBlockDelta", b'{"delta": {"text": "x"}}')]
    assert bytes(buffer) == one[:10]  # the incomplete second message waits for more bytes
    corrupt = bytearray(one[:-1] + bytes([one[-1] ^ 1]))
    with pytest.raises(ValueError, match="CRC"):
        split_messages(corrupt)
