"""The Python inference API end to end with the tiny real model imported into the test home."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ingest.models.api import InferenceAPI
from ingest.models.catalogue import MULTILINGUAL_E5_SMALL, preferred_variant
from ingest.models.deployments import DeploymentManager
from ingest.models.errors import (
    ElasticsearchError,
    ResourceAlreadyExistsException,
    StatusException,
    ValidationException,
)
from ingest.models.results import SparseEmbeddingResults, TextEmbeddingResults
from ingest.models.store import Store


def _body(model_id: str, **settings: object) -> dict:
    return {"service": "elasticsearch",
            "service_settings": {"model_id": model_id, "num_threads": 1, "num_allocations": 1, **settings}}


@pytest.fixture()
def api(imported_tiny: dict[str, str]) -> Iterator[InferenceAPI]:
    api = InferenceAPI(deployments=DeploymentManager(scale_down_after_s=0.3, tick_s=0.02))
    yield api
    api.close()


def test_put_deploys_and_infers(api: InferenceAPI, imported_tiny: dict[str, str]) -> None:
    created = api.put("dense", _body(imported_tiny["dense"]))
    assert created["task_type"] == "text_embedding"  # taken from the model when the path has none
    assert created["service_settings"]["dimensions"] == 32
    assert created["chunking_settings"]["strategy"] == "sentence"
    deployment = api.deployments.get("dense")
    assert deployment is not None and deployment.snapshot()["allocations"] >= 1  # PUT deployed the model
    dense = api.infer("dense", ["hello world", "the cat"], input_type="SEARCH")
    assert isinstance(dense, TextEmbeddingResults)
    assert dense.embeddings.shape == (2, 32)
    assert np.allclose(np.linalg.norm(dense.embeddings, axis=1), 1, atol=1e-4)

    api.put("sparse", _body(imported_tiny["sparse"]), task_type="sparse_embedding")
    sparse = api.infer("sparse", "hello world", task_type="sparse_embedding")
    assert isinstance(sparse, SparseEmbeddingResults)
    assert sparse.embeddings[0] and all(v > 0 for v in sparse.embeddings[0].values())

    with pytest.raises(ResourceAlreadyExistsException, match=r"Inference endpoint \[dense\] already exists"):
        api.put("dense", _body(imported_tiny["dense"]))


def test_endpoints_persist_across_processes_and_deploy_lazily(api: InferenceAPI,
                                                              imported_tiny: dict[str, str]) -> None:
    api.put("dense", _body(imported_tiny["dense"]))
    other = InferenceAPI(Store())  # a batch job in another process would do exactly this
    try:
        assert other.get("dense")["endpoints"][0]["service_settings"]["model_id"] == imported_tiny["dense"]
        assert other.deployments.get("dense") is None
        out = other.infer("dense", "hello")
        assert np.allclose(out.embeddings, api.infer("dense", "hello").embeddings, atol=1e-6)
        assert other.model_version("dense") == api.model_version("dense")
        assert api.model_version("dense").startswith("elasticsearch:tiny-dense:")
    finally:
        other.close()


def test_concurrent_puts_of_one_id_leave_one_endpoint(api: InferenceAPI, imported_tiny: dict[str, str]) -> None:
    outcomes: list[str] = []
    barrier = threading.Barrier(6)

    def put(i: int) -> None:
        barrier.wait()
        try:
            api.put("race", _body(imported_tiny["dense" if i % 2 else "sparse"]), task_type=None)
            outcomes.append("created")
        except ElasticsearchError as exc:
            outcomes.append(exc.error_type)

    threads = [threading.Thread(target=put, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes.count("created") == 1
    assert outcomes.count("resource_already_exists_exception") == 5
    stored = Store().list_endpoints()
    assert [e.inference_id for e in stored] == ["race"]
    result = api.infer("race", "hello")  # the deployment matches the stored endpoint
    assert result.task_type == stored[0].task_type


def test_update_allocations_and_refusals(api: InferenceAPI, imported_tiny: dict[str, str]) -> None:
    api.put("dense", _body(imported_tiny["dense"]))
    updated = api.update("dense", {"service_settings": {"num_allocations": 2}})
    assert updated["service_settings"]["num_allocations"] == 2
    deployment = api.deployments.get("dense")
    assert deployment is not None and deployment.policy.max_allocations == 2
    with pytest.raises(ValidationException, match=r"\[model_id\] cannot be updated"):
        api.update("dense", {"service_settings": {"model_id": imported_tiny["sparse"]}})
    with pytest.raises(ValidationException, match="Cannot update service"):
        api.update("dense", {"service": "elser"})
    assert api.get("dense")["endpoints"][0]["service_settings"]["num_allocations"] == 2


def test_scale_to_zero_and_cold_start(api: InferenceAPI, imported_tiny: dict[str, str]) -> None:
    api.put("auto", {"service": "elasticsearch", "service_settings": {
        "model_id": imported_tiny["dense"], "num_threads": 1,
        "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 2}}})
    api.infer("auto", "warm")
    deadline = time.monotonic() + 10
    while api.trained_model_stats("auto")["trained_model_stats"][0]["deployment_stats"][
            "allocation_status"]["allocation_count"] > 0:
        assert time.monotonic() < deadline, "did not scale to zero"
        time.sleep(0.05)
    out = api.infer("auto", "cold request", timeout_s=10)  # waits for the model rather than failing
    assert len(out) == 1
    stats = api.trained_model_stats("tiny-dense")["trained_model_stats"][0]["deployment_stats"]
    assert stats["nodes"][0]["inference_count"] == 2


def test_delete_respects_pipeline_references(api: InferenceAPI, imported_tiny: dict[str, str]) -> None:
    api.put("dense", _body(imported_tiny["dense"]))
    api.store.put_pipeline("p1", {"processors": []}, ["dense"])
    dry = api.delete("dense", dry_run=True)
    assert (dry["acknowledged"], dry["pipelines"], dry["indexes"]) == (False, ["p1"], [])
    assert "referenced by pipelines: [p1]" in dry["dry_run_message"]
    assert api.get("dense")["endpoints"]  # a dry run deletes nothing
    with pytest.raises(StatusException) as exc:
        api.delete("dense")
    assert exc.value.status == 409
    assert exc.value.reason.startswith("Inference endpoint dense is referenced by pipelines: [p1].")
    with pytest.raises(StatusException, match="Incompatible task_type"):
        api.delete("dense", task_type="sparse_embedding", force=True)
    assert api.delete("dense", force=True)["acknowledged"] is True
    assert api.deployments.get("dense") is None  # memory released
    api.store.delete_pipelines("p1")
    api.put("dense", _body(imported_tiny["dense"]))  # the id can be reused
    assert api.delete("dense") == {"acknowledged": True, "pipelines": [], "indexes": []}


def test_failed_start_persists_nothing(ingest_home: Path, imported_tiny: dict[str, str]) -> None:
    def broken(model_id: str, threads: int) -> object:
        raise ElasticsearchError("model file is damaged", status=500)

    api = InferenceAPI(deployments=DeploymentManager(loader=broken))  # type: ignore[arg-type]
    try:
        with pytest.raises(ElasticsearchError, match="damaged"):
            api.put("dense", _body(imported_tiny["dense"]))
        assert Store().get_endpoint("dense") is None
        assert api.deployments.get("dense") is None
    finally:
        api.close()


@pytest.mark.realmodel
def test_preconfigured_e5_deploys_on_first_use(ingest_home: Path) -> None:
    api = InferenceAPI()
    try:
        assert api.deployments.get(".multilingual-e5-small-elasticsearch") is None
        out = api.infer(".multilingual-e5-small-elasticsearch", ["how far is the moon", "la lune"],
                        input_type="search", timeout_s=600)
        assert isinstance(out, TextEmbeddingResults)
        assert out.embeddings.shape == (2, 384)
        assert float(out.embeddings[0] @ out.embeddings[1]) > 0.5
        # chosen by platform as Elasticsearch does: the int8 build on linux-x86_64, the portable one elsewhere
        expected = preferred_variant(MULTILINGUAL_E5_SMALL).model_id
        assert api.model_version(".multilingual-e5-small-elasticsearch").startswith(f"elasticsearch:{expected}:")
    finally:
        api.close()
