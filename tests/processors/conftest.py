"""Fixtures for the processors tests: the tiny real models as inference endpoints in a private home."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.models.api import InferenceAPI
from ingest.models.cache import BuiltModel
from ingest.models.results import InferenceResults, TaskType
from tests.models.tiny import make_tiny_model


@pytest.fixture(scope="session")
def proc_tiny_dense(tmp_path_factory: pytest.TempPathFactory) -> BuiltModel:
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), TaskType.TEXT_EMBEDDING)


@pytest.fixture(scope="session")
def proc_tiny_sparse(tmp_path_factory: pytest.TempPathFactory) -> BuiltModel:
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), TaskType.SPARSE_EMBEDDING)


class CountingAPI(InferenceAPI):
    """The real InferenceAPI, recording each ``infer`` call's inputs (to check batching)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[list[str]] = []

    def infer(self, inference_id: str, inputs: str | list[str], **kwargs: Any) -> InferenceResults:
        self.calls.append([inputs] if isinstance(inputs, str) else list(inputs))
        return super().infer(inference_id, inputs, **kwargs)


@pytest.fixture()
def tiny_api(ingest_home: Path, proc_tiny_dense: BuiltModel, proc_tiny_sparse: BuiltModel) -> Iterator[CountingAPI]:
    """Endpoints ``tiny-dense``, ``tiny-sparse`` and ``tiny-chunked`` (word chunks of 10) on the tiny models."""
    from ingest.models.imported import import_model

    import_model(proc_tiny_dense.onnx_path, "tiny-dense", TaskType.TEXT_EMBEDDING)
    import_model(proc_tiny_sparse.onnx_path, "tiny-sparse", TaskType.SPARSE_EMBEDDING)
    api = CountingAPI()
    settings = {"num_allocations": 1, "num_threads": 1}
    api.put("tiny-dense", {"service": "elasticsearch", "service_settings": {"model_id": "tiny-dense", **settings},
                           "chunking_settings": {"strategy": "none"}}, task_type="text_embedding")
    api.put("tiny-sparse", {"service": "elasticsearch", "service_settings": {"model_id": "tiny-sparse", **settings},
                            "chunking_settings": {"strategy": "none"}}, task_type="sparse_embedding")
    api.put("tiny-chunked", {"service": "elasticsearch", "service_settings": {"model_id": "tiny-dense", **settings},
                             "chunking_settings": {"strategy": "word", "max_chunk_size": 10, "overlap": 0}},
            task_type="text_embedding")
    api.calls.clear()
    yield api
    api.close()
