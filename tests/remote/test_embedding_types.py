"""Byte and bit embeddings come back as Elasticsearch names them (``text_embedding_bytes`` / ``_bits``, int8
values), and the generic ``embedding`` task answers under ``embeddings``."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.models.api import InferenceAPI
from ingest.models.services.base import InferenceRequest
from tests.fakes.cohere import FakeCohere
from tests.fakes.openai import FakeOpenAI
from tests.fakes.others import FakeJina, FakeVoyage
from tests.fakes.server import FakeServer, deterministic_vector, int8_vector, packed_bits
from tests.remote.conftest import endpoint

KEY = "embedding-types-key-0123456789"
TEXTS = ["first text", "second text"]

CASES = [  # service, fake, embedding_type, expected key, quantiser, dims the fake returns
    ("cohere", FakeCohere, "byte", "text_embedding_bytes", int8_vector, 6),
    ("cohere", FakeCohere, "int8", "text_embedding_bytes", int8_vector, 6),
    ("cohere", FakeCohere, "bit", "text_embedding_bits", packed_bits, 6),
    ("cohere", FakeCohere, "binary", "text_embedding_bits", packed_bits, 6),
    ("voyageai", FakeVoyage, "int8", "text_embedding_bytes", int8_vector, 4),
    ("voyageai", FakeVoyage, "bit", "text_embedding_bits", packed_bits, 4),
    ("jinaai", FakeJina, "binary", "text_embedding_bits", packed_bits, 4),
    ("jinaai", FakeJina, "bit", "text_embedding_bits", packed_bits, 4),
]


@pytest.mark.parametrize(("service", "fake", "kind", "key", "quantise", "dims"), CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_byte_and_bit_results(service: str, fake: Any, kind: str, key: str, quantise: Any, dims: int):
    with FakeServer(fake(KEY)) as server:
        svc, config = endpoint(service, "text_embedding", {"api_key": KEY, "model_id": "m", "url": server.url,
                                                           "embedding_type": kind})
        svc.start(config, 5)
        result = svc.infer(config, InferenceRequest(TEXTS))
        body = result.to_dict()
        assert list(body) == [key]
        want = [quantise(deterministic_vector(t, dims)) for t in TEXTS]
        assert [row["embedding"] for row in body[key]] == want
        assert all(isinstance(v, int) for row in body[key] for v in row["embedding"])
        # a bit vector packs 8 dimensions into each value: the endpoint's dimensions count bits
        per_value = 8 if key.endswith("_bits") else 1
        if not svc.sends_dimensions:  # providers taking dimensions as a parameter record none they were not given
            assert config.service_settings["dimensions"] == len(want[0]) * per_value


def test_float_stays_text_embedding():
    with FakeServer(FakeCohere(KEY)) as server:
        svc, config = endpoint("cohere", "text_embedding", {"api_key": KEY, "model_id": "m", "url": server.url})
        body = svc.infer(config, InferenceRequest(TEXTS)).to_dict()
        assert list(body) == ["text_embedding"] and isinstance(body["text_embedding"][0]["embedding"][0], float)


@pytest.mark.parametrize(("service", "fake", "settings"), [
    ("openai", lambda: FakeOpenAI(KEY), lambda u: {"api_key": KEY, "model_id": "m", "url": u + "/v1/embeddings"}),
    ("jinaai", lambda: FakeJina(KEY), lambda u: {"api_key": KEY, "model_id": "m", "url": u}),
])
def test_embedding_task_answers_under_embeddings(service: str, fake: Any, settings: Any, ingest_home: Any):
    api = InferenceAPI()
    try:
        with FakeServer(fake()) as server:
            created = api.put("multi", {"service": service, "service_settings": settings(server.url)},
                              task_type="embedding", timeout_s=10)
            assert created["task_type"] == "embedding" and created["chunking_settings"]["strategy"] == "sentence"
            result = api.infer("multi", TEXTS, task_type="embedding").to_dict()
            assert list(result) == ["embeddings"] and len(result["embeddings"]) == 2
            bits = api.put("multi-bits", {"service": "jinaai", "service_settings": {
                "api_key": KEY, "model_id": "m", "url": server.url, "embedding_type": "bit"}},
                task_type="embedding", timeout_s=10) if service == "jinaai" else None
            if bits is not None:
                assert list(api.infer("multi-bits", TEXTS).to_dict()) == ["embeddings_bits"]
    finally:
        api.close()


def test_custom_service_embedding_type_byte_against_cohere_int8():
    with FakeServer(FakeCohere(KEY)) as server:
        settings = {
            "secret_parameters": {"api_key": KEY}, "url": server.url + "/v2/embed",
            "headers": {"Authorization": "Bearer ${api_key}"},
            "request": '{"texts": ${input}, "model": "m", "input_type": "search_document", "embedding_types": ["int8"]}',
            "response": {"json_parser": {"text_embeddings": "$.embeddings.int8[*]", "embedding_type": "byte"}},
        }
        svc, config = endpoint("custom", "text_embedding", settings)
        body = svc.infer(config, InferenceRequest(TEXTS)).to_dict()
        assert body == {"text_embedding_bytes": [{"embedding": int8_vector(deterministic_vector(t, 6))} for t in TEXTS]}
        from ingest.models.errors import ValidationException

        bad = {**settings, "response": {"json_parser": {"text_embeddings": "$.x", "embedding_type": "half"}}}
        with pytest.raises(ValidationException, match=r"\[embedding_type\] must be one of \[float, byte, bit\]"):
            endpoint("custom", "text_embedding", bad)
