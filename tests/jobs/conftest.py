"""Fixtures for the job tests: the tiny real models as elasticsearch-service endpoints in a private home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.models.cache import BuiltModel
from ingest.models.results import TaskType
from tests.models.tiny import make_tiny_model


@pytest.fixture(scope="session")
def jobs_tiny_dense(tmp_path_factory: pytest.TempPathFactory) -> BuiltModel:
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), TaskType.TEXT_EMBEDDING)


@pytest.fixture(scope="session")
def jobs_tiny_sparse(tmp_path_factory: pytest.TempPathFactory) -> BuiltModel:
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), TaskType.SPARSE_EMBEDDING)


@pytest.fixture()
def tiny_endpoints(ingest_home: Path, jobs_tiny_dense: BuiltModel, jobs_tiny_sparse: BuiltModel) -> Iterator[dict[str, str]]:
    """Endpoints ``tiny-dense`` (text_embedding) and ``tiny-sparse`` (sparse_embedding) on the tiny models."""
    from ingest.models.api import InferenceAPI
    from ingest.models.imported import import_model

    import_model(jobs_tiny_dense.onnx_path, "tiny-dense", TaskType.TEXT_EMBEDDING)
    import_model(jobs_tiny_sparse.onnx_path, "tiny-sparse", TaskType.SPARSE_EMBEDDING)
    api = InferenceAPI()
    for endpoint, task in (("tiny-dense", "text_embedding"), ("tiny-sparse", "sparse_embedding")):
        api.put(endpoint, {"service": "elasticsearch", "service_settings": {
            "model_id": endpoint, "num_allocations": 1, "num_threads": 1}}, task_type=task)
    api.close()
    yield {"dense": "tiny-dense", "sparse": "tiny-sparse"}


def pipeline_body(dense: str = "tiny-dense", sparse: str = "tiny-sparse") -> dict:
    """Both endpoints through the inference processor, plus an ordinary processor."""
    return {
        "description": "tiny dense + sparse",
        "processors": [
            {"set": {"field": "source", "value": "jobs-test"}},
            {"inference": {"model_id": dense, "input_output": [{"input_field": "text", "output_field": "vec"}]}},
            {"inference": {"model_id": sparse, "input_output": [{"input_field": "text", "output_field": "tokens"}]}},
        ],
    }
