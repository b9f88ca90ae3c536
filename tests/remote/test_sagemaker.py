"""``amazon_sagemaker`` against a SigV4-checking fake SageMaker Runtime: both apis, streaming through AWS event-stream
``PayloadPart`` frames, routing headers, and Elasticsearch's task/api rule."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.models.errors import StatusException, ValidationException
from ingest.models.services.base import InferenceRequest
from tests.fakes.cloud import FakeSageMaker
from tests.fakes.server import FakeServer, Fault, deterministic_vector
from tests.remote.conftest import endpoint
from tests.remote.test_cloud import Late

ACCESS, SECRET = "AKIASAGEMAKER0001", "sage/secret+key0123456789"


def base(url: str, api: str) -> dict[str, object]:
    return {"access_key": ACCESS, "secret_key": SECRET, "region": "us-east-1", "endpoint_name": "my endpoint",
            "api": api, "url": url, "rate_limit": {"requests_per_minute": 60000}}


def test_openai_api_embeddings_chat_and_stream():
    fake, late = FakeSageMaker(ACCESS, SECRET, "openai"), Late()
    with FakeServer(late) as server:
        late.inner = fake.handler(server.url)
        svc, emb = endpoint("amazon_sagemaker", "text_embedding", {**base(server.url, "openai"), "batch_size": 2,
                                                                   "target_model": "model-a.tar.gz"},
                            {"session_id": "s-1"})
        texts = ["a", "b", "c"]
        result = svc.infer(emb, InferenceRequest(texts))
        np.testing.assert_allclose(result.embeddings, [deterministic_vector(t, 4) for t in texts], rtol=1e-6)
        assert [r.path for r in server.requests] == ["/endpoints/my%20endpoint/invocations"] * 2  # batch_size 2
        assert fake.seen_headers[-1] == {"x-amzn-sagemaker-target-model": "model-a.tar.gz",
                                         "x-amzn-sagemaker-session-id": "s-1"}
        # measured dimensions are recorded as such, also after the settings are parsed again (an _update)
        svc.start(emb, 5)
        assert emb.service_settings["dimensions"] == 4 and emb.service_settings["dimensions_set_by_user"] is False
        again = svc.parse_config("e", emb.task_type, {**emb.service_settings, **emb.secret_settings}, {}, None)
        assert again.service_settings["dimensions_set_by_user"] is False
        svc.infer(again, InferenceRequest(["a"]))
        assert "dimensions" not in server.requests[-1].json()
        _, chosen = endpoint("amazon_sagemaker", "text_embedding", {**base(server.url, "openai"), "dimensions": 4})
        svc.infer(chosen, InferenceRequest(["a"]))
        assert server.requests[-1].json()["dimensions"] == 4
        svc, chat = endpoint("amazon_sagemaker", "chat_completion", base(server.url, "openai"))
        chunks = list(svc.stream(chat, InferenceRequest([], chat={"messages": [{"role": "user", "content": "q"}]})))
        assert "".join(c["chat_completion"]["choices"][0]["delta"]["content"] for c in chunks) == "SageMaker ünïcode"
        assert server.requests[-1].path.endswith("/invocations-response-stream")
        svc, comp = endpoint("amazon_sagemaker", "completion", base(server.url, "openai"))
        assert svc.infer(comp, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "SageMaker says"}]}
        server.faults.extend([Fault(status=429), Fault(status=500), Fault(kind="close")])
        assert svc.infer(comp, InferenceRequest(["q"])).to_dict() == {"completion": [{"result": "SageMaker says"}]}


def test_elastic_api_every_task_type():
    fake, late = FakeSageMaker(ACCESS, SECRET, "elastic", element_type="byte"), Late()
    with FakeServer(late) as server:
        late.inner = fake.handler(server.url)
        svc, emb = endpoint("amazon_sagemaker", "text_embedding", {**base(server.url, "elastic"), "element_type": "byte"})
        svc.start(emb, 5)
        body = svc.infer(emb, InferenceRequest(["x", "y"])).to_dict()
        assert list(body) == ["text_embedding_bytes"] and isinstance(body["text_embedding_bytes"][0]["embedding"][0], int)
        assert emb.service_settings["dimensions"] == 4
        assert server.requests[-1].json() == {"input": ["x", "y"]}
        svc, sparse = endpoint("amazon_sagemaker", "sparse_embedding", base(server.url, "elastic"))
        out = svc.infer(sparse, InferenceRequest(["tok"], task_settings={"kind": "sparse"})).to_dict()
        assert out == {"sparse_embedding": [{"is_truncated": False, "embedding": {"tok": 1.0}}]}
        assert server.requests[-1].json() == {"input": "tok", "task_settings": {"kind": "sparse"}}
        svc, rerank = endpoint("amazon_sagemaker", "rerank", base(server.url, "elastic"))
        out = svc.infer(rerank, InferenceRequest(["aa", "a", "aaa"], query="q", top_n=2, return_documents=True)).to_dict()
        assert [r["index"] for r in out["rerank"]] == [2, 0] and out["rerank"][0]["text"] == "aaa"
        svc, comp = endpoint("amazon_sagemaker", "completion", base(server.url, "elastic"))
        assert svc.infer(comp, InferenceRequest(["q"], task_settings={"kind": "completion"})).to_dict() == {
            "completion": [{"result": "echo q"}]}
        assert [c["completion"][0]["delta"] for c in svc.stream(comp, InferenceRequest(["q"]))] == ["Elastic", " parts"]


def test_validation():
    with pytest.raises(StatusException, match=r"Task \[rerank\] is not compatible for service \[amazon_sagemaker\] "
                                              r"and api \[openai\]") as info:
        endpoint("amazon_sagemaker", "rerank", base("http://127.0.0.1:1", "openai"))
    assert info.value.status == 405
    with pytest.raises(ValidationException, match=r"required setting \[element_type\]"):
        endpoint("amazon_sagemaker", "text_embedding", base("http://127.0.0.1:1", "elastic"))
    with pytest.raises(ValidationException, match=r"\[api\] must be one of \[elastic, openai\]"):
        endpoint("amazon_sagemaker", "completion", base("http://127.0.0.1:1", "bedrock"))
    _, config = endpoint("amazon_sagemaker", "completion", base("http://127.0.0.1:1", "openai"))
    assert set(config.secret_settings) == {"access_key", "secret_key"}
    assert "secret_key" not in str(config.to_public_dict())
