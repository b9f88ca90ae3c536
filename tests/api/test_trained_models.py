"""Trained-model APIs through the unmodified official client against a real uvicorn server: listing (built-in,
optimised variants, imported), deployments started, shared by endpoints, updated and stopped, and stats from
real counters."""

from __future__ import annotations

import pytest
from elasticsearch import BadRequestError, ConflictError, Elasticsearch, NotFoundError

from ingest.models.api import InferenceAPI
from ingest.models.deployments.counters import DeploymentCounters


def test_listing_includes_platform_variants_and_imported_models(live_server: tuple[str, InferenceAPI],
                                                               imported_tiny: dict[str, str]) -> None:
    url, _ = live_server
    es = Elasticsearch(url, request_timeout=60)
    listed = es.ml.get_trained_models()
    ids = [c["model_id"] for c in listed["trained_model_configs"]]
    assert {".multilingual-e5-small", ".multilingual-e5-small_linux-x86_64", ".elser_model_2",
            ".elser_model_2_linux-x86_64", "tiny-dense", "tiny-sparse"} <= set(ids)
    assert listed["count"] == len(ids)
    opt = es.ml.get_trained_models(model_id=".elser_model_2_linux-x86_64")["trained_model_configs"][0]
    assert opt["platform_architecture"] == "linux-x86_64" and opt["model_type"] == "pytorch"
    assert "text_expansion" in opt["inference_config"] and "fully_defined" not in opt
    portable = es.ml.get_trained_models(model_id=".multilingual-e5-small")["trained_model_configs"][0]
    assert "platform_architecture" not in portable
    assert portable["inference_config"]["text_embedding"]["embedding_size"] == 384
    status = es.ml.get_trained_models(model_id="tiny-*", include="definition_status")
    assert [c["model_id"] for c in status["trained_model_configs"]] == ["tiny-dense", "tiny-sparse"]
    assert all(isinstance(c["fully_defined"], bool) for c in status["trained_model_configs"])
    assert status["trained_model_configs"][0]["created_by"] == "api_user"
    page = es.ml.get_trained_models(from_=1, size=2)
    assert page["count"] == len(ids) and [c["model_id"] for c in page["trained_model_configs"]] == ids[1:3]
    with pytest.raises(NotFoundError) as missing:
        es.ml.get_trained_models(model_id="no-such-model")
    assert "No known trained model with model_id [no-such-model]" in str(missing.value)


def test_endpoints_on_one_deployment_share_its_model_and_queue(live_server: tuple[str, InferenceAPI],
                                                              imported_tiny: dict[str, str]) -> None:
    url, api = live_server
    es = Elasticsearch(url, request_timeout=60)
    started = es.ml.start_trained_model_deployment(
        model_id="tiny-dense", deployment_id="shared", number_of_allocations=1, threads_per_allocation=1,
        queue_capacity=50, priority="normal", wait_for="started")
    params = started["assignment"]["task_parameters"]
    assert (params["deployment_id"], params["model_id"], params["queue_capacity"]) == ("shared", "tiny-dense", 50)
    with pytest.raises(BadRequestError) as twice:
        es.ml.start_trained_model_deployment(model_id="tiny-dense", deployment_id="shared")
    assert "an existing deployment with the same id [shared] exist" in str(twice.value)

    for name in ("a", "b"):
        created = es.inference.put(task_type="text_embedding", inference_id=name, inference_config={
            "service": "elasticsearch", "service_settings": {"deployment_id": "shared"}})
        assert created["service_settings"]["deployment_id"] == "shared"
        assert created["service_settings"]["model_id"] == "tiny-dense"
    assert es.inference.inference(inference_id="a", input=["hello"])["text_embedding"]
    assert es.inference.inference(inference_id="b", input=["the cat", "a dog"])["text_embedding"]
    assert api.deployments.get("a") is None and api.deployments.get("b") is None  # no deployment of their own
    with pytest.raises(NotFoundError, match=r"Cannot find deployment \[gone\]"):
        es.inference.put(task_type="text_embedding", inference_id="c", inference_config={
            "service": "elasticsearch", "service_settings": {"deployment_id": "gone"}})
    with pytest.raises(BadRequestError, match="does not match the requested task type"):
        es.inference.put(task_type="sparse_embedding", inference_id="c", inference_config={
            "service": "elasticsearch", "service_settings": {"deployment_id": "shared"}})

    stats = es.ml.get_trained_models_stats(model_id="shared")
    assert stats["count"] == 1
    entry = stats["trained_model_stats"][0]
    dep, node = entry["deployment_stats"], entry["deployment_stats"]["nodes"][0]
    assert dep["deployment_id"] == "shared" and dep["queue_capacity"] == 50
    assert node["inference_count"] == 2  # both endpoints' requests ran on the one deployment
    assert node["throughput_last_minute"] == 2 and node["peak_throughput_per_minute"] == 2
    assert node["number_of_pending_requests"] == 0 and node["average_inference_time_ms"] > 0
    assert entry["model_size_stats"]["model_size_bytes"] > 0
    everything = es.ml.get_trained_models_stats()
    paged = es.ml.get_trained_models_stats(from_=1, size=1)
    assert paged["count"] == everything["count"] > 1
    assert paged["trained_model_stats"] == everything["trained_model_stats"][1:2]

    updated = es.ml.update_trained_model_deployment(model_id="shared", number_of_allocations=2)
    assert updated["assignment"]["task_parameters"]["number_of_allocations"] == 2
    api.store.put_pipeline("uses-a", {"processors": []}, ["a"])
    with pytest.raises(ConflictError, match="referenced by ingest processors"):
        es.ml.stop_trained_model_deployment(model_id="shared")
    assert es.ml.stop_trained_model_deployment(model_id="shared", force=True)["stopped"] is True
    with pytest.raises(NotFoundError, match="Cannot find deployment"):
        es.inference.inference(inference_id="a", input=["hello"])
    with pytest.raises(NotFoundError, match=r"Could not find trained model deployment \[shared\]"):
        es.ml.stop_trained_model_deployment(model_id="shared")


def test_start_validates_like_elasticsearch(live_server: tuple[str, InferenceAPI],
                                            imported_tiny: dict[str, str]) -> None:
    url, _ = live_server
    es = Elasticsearch(url, request_timeout=60)
    with pytest.raises(BadRequestError, match="must be a power of 2 less than or equal to 32"):
        es.ml.start_trained_model_deployment(model_id="tiny-dense", threads_per_allocation=3)
    with pytest.raises(BadRequestError, match=r"\[number_of_allocations\] must be 1 when \[priority\] is low"):
        es.ml.start_trained_model_deployment(model_id="tiny-dense", priority="low", number_of_allocations=2)
    with pytest.raises(NotFoundError):
        es.ml.start_trained_model_deployment(model_id="nope")


def test_peak_throughput_is_the_busiest_minute() -> None:
    c = DeploymentCounters()
    for t in (0.0, 1.0, 2.0):
        c.record(10, ok=True, now=t)
    c.record(10, ok=True, now=100.0)  # the first three left the window
    assert c.throughput_last_minute(now=100.0) == 1
    assert c.peak_throughput_per_minute == 3
    c.record(5, ok=False, now=101.0)
    assert (c.inference_count, c.error_count, c.average_ms()) == (4, 1, 10.0)
    assert c.average_ms_last_minute(now=101.0) == 10.0
