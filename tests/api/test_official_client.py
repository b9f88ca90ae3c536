"""The unmodified official ``elasticsearch`` client against a real uvicorn server (compatible-with=9)."""

from __future__ import annotations

import pytest
from elasticsearch import ApiError, BadRequestError, ConflictError, Elasticsearch, NotFoundError

from ingest.models.api import InferenceAPI


def test_inference_lifecycle_with_official_client(live_server: tuple[str, InferenceAPI],
                                                  imported_tiny: dict[str, str]) -> None:
    url, api = live_server
    es = Elasticsearch(url, request_timeout=60)
    assert es.info()["tagline"] == "You Know, for Search"

    created = es.inference.put(
        task_type="text_embedding", inference_id="tiny-e",
        inference_config={"service": "elasticsearch",
                          "service_settings": {"model_id": imported_tiny["dense"], "num_threads": 1,
                                               "num_allocations": 1}},
    )
    assert created["inference_id"] == "tiny-e"
    assert created["service_settings"]["num_allocations"] == 1
    with pytest.raises(BadRequestError) as dup:
        es.inference.put(inference_id="tiny-e", inference_config={
            "service": "elasticsearch",
            "service_settings": {"model_id": imported_tiny["dense"], "num_threads": 1, "num_allocations": 1}})
    assert dup.value.error == "resource_already_exists_exception"

    got = es.inference.get(inference_id="tiny-e")
    assert got["endpoints"][0]["task_type"] == "text_embedding"
    assert any(e["inference_id"] == "tiny-e" for e in es.inference.get()["endpoints"])

    out = es.inference.inference(inference_id="tiny-e", input=["hello world", "the cat sat"])
    vectors = out["text_embedding"]
    assert len(vectors) == 2 and len(vectors[0]["embedding"]) == 32
    typed = es.inference.text_embedding(inference_id="tiny-e", input="hello world")
    assert typed["text_embedding"][0]["embedding"] == pytest.approx(vectors[0]["embedding"], abs=1e-5)
    with pytest.raises(BadRequestError) as mismatch:
        es.inference.inference(task_type="sparse_embedding", inference_id="tiny-e", input="x")
    assert "Incompatible task_type" in str(mismatch.value)

    updated = es.inference.update(inference_id="tiny-e", inference_config={
        "service_settings": {"adaptive_allocations": {"enabled": True, "min_number_of_allocations": 0,
                                                      "max_number_of_allocations": 2}}})
    assert "num_allocations" not in updated["service_settings"]
    assert updated["service_settings"]["adaptive_allocations"]["max_number_of_allocations"] == 2

    stats = es.ml.get_trained_models_stats(model_id="tiny-e")
    assert stats["count"] == 1
    dep = stats["trained_model_stats"][0]["deployment_stats"]
    assert dep["deployment_id"] == "tiny-e"
    assert dep["nodes"][0]["inference_count"] == 2
    assert dep["adaptive_allocations"]["max_number_of_allocations"] == 2
    with pytest.raises(NotFoundError):
        es.ml.get_trained_models_stats(model_id="no-such-model")

    # a stored pipeline that references the endpoint blocks the delete
    api.store.put_pipeline("uses-tiny", {"processors": []}, ["tiny-e"])
    dry = es.inference.delete(inference_id="tiny-e", dry_run=True)
    assert dry["pipelines"] == ["uses-tiny"] and dry["acknowledged"] is False
    with pytest.raises(ConflictError) as refused:
        es.inference.delete(inference_id="tiny-e")
    assert "is referenced by pipelines: [uses-tiny]" in str(refused.value)
    deleted = es.inference.delete(inference_id="tiny-e", force=True)
    assert deleted["acknowledged"] is True
    with pytest.raises(NotFoundError):
        es.inference.get(inference_id="tiny-e")


def test_client_sees_elasticsearch_errors(live_server: tuple[str, InferenceAPI]) -> None:
    url, _ = live_server
    es = Elasticsearch(url)
    with pytest.raises(ApiError) as bad:
        es.inference.put(inference_id="Bad Id", inference_config={"service": "elasticsearch"})
    assert bad.value.meta.status == 400
    assert bad.value.error == "action_request_validation_exception"
