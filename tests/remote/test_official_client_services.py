"""The unmodified official client's typed PUT helpers and task methods for the new services, against the real
server with provider fakes on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from ingest.models.api import InferenceAPI
from tests.fakes.cloud import FakeSageMaker
from tests.fakes.compatible import FakeCompatible
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import FakeServer, deterministic_vector
from tests.remote.test_cloud import Late
from tests.servers import serve

KEY = "official-client-key-0123456789"


@pytest.fixture
def es(ingest_home: Any) -> Iterator[Elasticsearch]:
    from ingest.server.app import create_app

    api = InferenceAPI()
    try:
        with serve(create_app(api)) as url:
            yield Elasticsearch(url, request_timeout=30)
    finally:
        api.close()


def test_put_helpers_and_task_methods(es: Elasticsearch):
    with FakeServer(FakeCompatible("nvidia", KEY)) as nvidia:
        created = es.inference.put_nvidia(task_type="rerank", nvidia_inference_id="nv-rerank", service="nvidia",
                                          service_settings={"api_key": KEY, "model_id": "nv-rerank-qa-mistral-4b:1",
                                                            "url": nvidia.url + "/rerank"})
        assert created["service"] == "nvidia" and "api_key" not in created["service_settings"]
        ranked = es.inference.rerank(inference_id="nv-rerank", query="q", input=["long document", "doc"])
        assert [r["index"] for r in ranked["rerank"]] == [1, 0]

    fake, late = FakeSageMaker("AKIAOFFICIAL00001", "official/secret+key0"), Late()
    with FakeServer(late) as sagemaker:
        late.inner = fake.handler(sagemaker.url)
        es.inference.put_amazonsagemaker(
            task_type="text_embedding", amazonsagemaker_inference_id="sm", service="amazon_sagemaker",
            service_settings={"access_key": fake.access_key, "secret_key": fake.secret_key, "region": "us-east-1",
                              "endpoint_name": "e5", "api": "openai", "url": sagemaker.url})
        out = es.inference.text_embedding(inference_id="sm", input=["hello"])
        assert out["text_embedding"][0]["embedding"] == pytest.approx(deterministic_vector("hello", 4), rel=1e-6)

    with FakeServer(FakeOpenAI(KEY)) as openai:
        es.inference.put(task_type="embedding", inference_id="oa-embedding", inference_config={
            "service": "openai", "service_settings": {"api_key": KEY, "model_id": "text-embedding-3-small",
                                                      "url": openai.url + "/v1/embeddings"}})
        out = es.inference.embedding(inference_id="oa-embedding", body={
            "input": [{"content": {"type": "text", "format": "text", "value": "hello"}}]})
        assert out["embeddings"][0]["embedding"] == pytest.approx(deterministic_vector("hello", 8), rel=1e-6)

    listed = {e["inference_id"]: e for e in es.inference.get()["endpoints"]}
    assert listed["sm"]["service"] == "amazon_sagemaker" and "secret_key" not in listed["sm"]["service_settings"]
