"""Every provider against its fake with injected faults: retryable ones are retried, others fail with
Elasticsearch's message and status, and the answers stay complete and in order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from ingest.models.errors import ElasticsearchError
from ingest.models.services.base import InferenceRequest
from tests.fakes.cohere import FakeCohere
from tests.fakes.google import FakeGoogleAiStudio
from tests.fakes.openai import FakeOpenAI
from tests.fakes.others import FakeHuggingFace, FakeJina, FakeVoyage
from tests.fakes.server import FakeServer, Fault, deterministic_vector
from tests.remote.conftest import endpoint

KEY = "fault-test-key-0123456789"
FAST = {"rate_limit": {"requests_per_minute": 60000}}

# service, fake, settings(url), embedding dims
CASES: list[tuple[str, Callable[[], Any], Callable[[str], dict[str, Any]], int]] = [
    ("openai", lambda: FakeOpenAI(KEY), lambda u: {"api_key": KEY, "model_id": "m", "url": u + "/v1/embeddings"}, 8),
    ("mistral", lambda: FakeOpenAI(KEY), lambda u: {"api_key": KEY, "model": "m", "url": u}, 8),
    ("cohere", lambda: FakeCohere(KEY), lambda u: {"api_key": KEY, "model_id": "m", "url": u}, 6),
    ("googleaistudio", lambda: FakeGoogleAiStudio(KEY), lambda u: {"api_key": KEY, "model_id": "m", "url": u}, 5),
    ("hugging_face", lambda: FakeHuggingFace(KEY), lambda u: {"api_key": KEY, "url": u + "/embed"}, 4),
    ("jinaai", lambda: FakeJina(KEY), lambda u: {"api_key": KEY, "model_id": "m", "url": u}, 4),
    ("voyageai", lambda: FakeVoyage(KEY), lambda u: {"api_key": KEY, "model_id": "m", "url": u}, 4),
]


@pytest.mark.parametrize(("service", "make_fake", "settings", "dims"), CASES, ids=[c[0] for c in CASES])
def test_faults(service: str, make_fake: Callable[[], Any], settings: Callable[[str], dict[str, Any]], dims: int):
    with FakeServer(make_fake()) as server:
        svc, config = endpoint(service, "text_embedding", {**settings(server.url), **FAST})
        texts = [f"{service} {i}" for i in range(5)]
        want = np.asarray([deterministic_vector(t, dims) for t in texts], dtype=np.float32)
        server.faults.extend([Fault(status=429, headers={"retry-after": "0"}), Fault(status=503),
                              Fault(kind="close"), Fault(kind="truncated"), Fault(status=500)])
        result = svc.infer(config, InferenceRequest(texts))
        np.testing.assert_allclose(result.embeddings, want, rtol=1e-6)
        assert len(server.requests) == 6
        server.faults.append(Fault(status=403, body={"message": "forbidden here"}))
        with pytest.raises(ElasticsearchError) as info:
            svc.infer(config, InferenceRequest(texts))
        assert info.value.status == 403
        assert info.value.reason == ("Received a permission denied error status code for request from inference "
                                     "entity id [my-endpoint] status [403]. Error message: [forbidden here]")
        server.faults.append(Fault(status=404, body={"message": "no such model"}))
        with pytest.raises(ElasticsearchError) as info:
            svc.infer(config, InferenceRequest(texts))
        assert info.value.status == 404 and info.value.reason.startswith(f"Resource not found at [{server.url}")
