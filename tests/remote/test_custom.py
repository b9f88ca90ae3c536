"""The ``custom`` service: templates, secret parameters, JSONPath parsing, input-type translation, batching."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ingest.models.errors import StatusException, ValidationException
from ingest.models.results import InputType
from ingest.models.services.base import InferenceRequest
from ingest.models.services.remote.jsonpath import extract
from tests.fakes.cohere import FakeCohere
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import FakeServer, Recorded, Reply, deterministic_vector
from tests.remote.conftest import endpoint

KEY = "custom-secret-key-0123456789"


def test_jsonpath_subset():
    data = {"data": [{"embedding": [1, 2]}, {"embedding": [3, 4]}], "r": {"s": [{"i": 2}, {"i": 0}]}}
    assert extract(data, "$.data[*].embedding[*]") == [[1, 2], [3, 4]]
    assert extract(data, "$.data[*].embedding") == [[1, 2], [3, 4]]
    assert extract(data, "$.r.s[*].i") == [2, 0]
    assert extract(data, "$.data[1].embedding[0]") == 3
    with pytest.raises(KeyError):
        extract(data, "$.nope[*]")
    with pytest.raises(ValueError):
        extract(data, "data.x")


def test_custom_text_embedding_against_an_openai_compatible_server():
    with FakeServer(FakeOpenAI(KEY)) as server:
        settings = {
            "secret_parameters": {"api_key": KEY},
            "url": server.url + "/v1/embeddings",
            "headers": {"Authorization": "Bearer ${api_key}"},
            "request": '{"input": ${input}, "model": ${model}, "user": ${input_type}}',
            "response": {"json_parser": {"text_embeddings": "$.data[*].embedding[*]"}},
            "input_type": {"translation": {"search": "q", "ingest": "d"}, "default": "x"},
            "batch_size": 3,
            "rate_limit": {"requests_per_minute": 60000},
        }
        svc, config = endpoint("custom", "text_embedding", settings, {"parameters": {"model": "m1"}})
        public = json.dumps(config.to_public_dict())
        assert KEY not in public and "secret_parameters" not in public
        texts = ["a", "b", "c", "d", "e"]
        result = svc.infer(config, InferenceRequest(texts, input_type=InputType.SEARCH))
        # the fake answers in reverse index order; custom parsing keeps the response order, as Elasticsearch
        got = {tuple(np.round(r, 5)) for r in result.embeddings}
        assert got == {tuple(np.round(np.asarray(deterministic_vector(t, 8), dtype=np.float32), 5)) for t in texts}
        bodies = sorted((r.json() for r in server.requests), key=lambda b: len(b["input"]))
        assert [b["input"] for b in bodies] == [["d", "e"], ["a", "b", "c"]]
        assert bodies[0]["model"] == "m1" and bodies[0]["user"] == "q"


def test_custom_rerank_and_query_parameters():
    with FakeServer(FakeCohere(KEY)) as server:
        settings = {
            "secret_parameters": {"api_key": KEY},
            "url": server.url + "/v2/rerank",
            "query_parameters": [["source", "${origin}"]],
            "headers": {"Authorization": "bearer ${api_key}"},
            "request": '{"documents": ${input}, "query": ${query}, "model": "rerank-v3.5"}',
            "response": {"json_parser": {"reranked_index": "$.results[*].index",
                                         "relevance_score": "$.results[*].relevance_score"}},
        }
        svc, config = endpoint("custom", "rerank", settings, {"parameters": {"origin": "tests"}})
        result = svc.infer(config, InferenceRequest(["luke", "star wars"], query="star wars"))
        assert result.to_dict() == {"rerank": [{"index": 1, "relevance_score": 1.0},
                                               {"index": 0, "relevance_score": 0.0}]}
        assert server.requests[-1].query == {"source": ["tests"]}


def test_custom_sparse_and_completion():
    def handler(request: Recorded) -> Reply:
        body = request.json()
        if request.path == "/sparse":
            return Reply(200, {"result": {"sparse_embeddings": [
                {"index": i, "embedding": [{"token_id": len(t), "weight": 0.5}, {"token_id": 7, "weight": 1.5}]}
                for i, t in enumerate(body["input"])]}})
        return Reply(200, {"choices": [{"message": {"content": f"echo {body['prompt']}"}}]})

    with FakeServer(handler) as server:
        sparse = {"secret_parameters": {"k": KEY}, "url": server.url + "/sparse", "request": '{"input": ${input}}',
                  "response": {"json_parser": {"token_path": "$.result.sparse_embeddings[*].embedding[*].token_id",
                                               "weight_path": "$.result.sparse_embeddings[*].embedding[*].weight"}}}
        svc, config = endpoint("custom", "sparse_embedding", sparse)
        assert svc.infer(config, InferenceRequest(["abc"])).to_dict() == {
            "sparse_embedding": [{"is_truncated": False, "embedding": {"3": 0.5, "7": 1.5}}]}
        completion = {"secret_parameters": {"k": KEY}, "url": server.url + "/c", "request": '{"prompt": ${input}}',
                      "response": {"json_parser": {"completion_result": "$.choices[*].message.content"}}}
        svc, config = endpoint("custom", "completion", completion)
        assert svc.infer(config, InferenceRequest(["hi"])).to_dict() == {"completion": [{"result": "echo ['hi']"}]}


def test_custom_validation_and_missing_placeholders():
    base = {"secret_parameters": {"api_key": KEY}, "url": "http://127.0.0.1:9/x", "request": '{"a": ${nope}}',
            "response": {"json_parser": {"text_embeddings": "$.data[*].embedding"}}}
    with pytest.raises(ValidationException) as info:
        endpoint("custom", "text_embedding", {**base, "response": {"json_parser": {"relevance_score": "$.x"}}})
    assert "does not contain the required setting [text_embeddings]" in info.value.reason
    with pytest.raises(ValidationException):
        endpoint("custom", "text_embedding", {"url": "http://x"})
    svc, config = endpoint("custom", "text_embedding", base)
    with pytest.raises(StatusException, match=r"Found placeholder \[\$\{nope\}\] in field \[request\]"):
        svc.infer(config, InferenceRequest(["a"]))
