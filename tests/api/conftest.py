"""Fixtures for the inference API tests: the tiny real model, imported into a private home."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.models.cache import BuiltModel
from ingest.models.results import InferenceResults, InputType, TaskType
from ingest.models.runtime import LocalModel
from tests.models.tiny import make_tiny_model
from tests.servers import serve


@pytest.fixture(scope="session")
def tiny_dense(tmp_path_factory: pytest.TempPathFactory) -> BuiltModel:
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), TaskType.TEXT_EMBEDDING)


@pytest.fixture(scope="session")
def tiny_sparse(tmp_path_factory: pytest.TempPathFactory) -> BuiltModel:
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), TaskType.SPARSE_EMBEDDING)


class GatedModel:
    """The real tiny model, held inside ``embed`` until the test opens the gate (to keep allocations busy)."""

    def __init__(self, built: BuiltModel, threads: int, gate: threading.Event, entered: threading.Semaphore) -> None:
        self.model = LocalModel(built, threads=threads)
        self.gate = gate
        self.entered = entered
        self.closed = False

    def embed(self, texts: list[str], input_type: InputType | None = None) -> InferenceResults:
        self.entered.release()
        assert self.gate.wait(10)
        return self.model.embed(texts, input_type)

    def close(self) -> None:
        self.closed = True
        self.model.close()


@pytest.fixture()
def gate() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture()
def imported_tiny(ingest_home: Path, tiny_dense: BuiltModel, tiny_sparse: BuiltModel) -> dict[str, str]:
    """The tiny models imported into the test home as ``tiny-dense`` and ``tiny-sparse``."""
    from ingest.models.imported import import_model

    import_model(tiny_dense.onnx_path, "tiny-dense", TaskType.TEXT_EMBEDDING)
    import_model(tiny_sparse.onnx_path, "tiny-sparse", TaskType.SPARSE_EMBEDDING)
    return {"dense": "tiny-dense", "sparse": "tiny-sparse"}


@pytest.fixture()
def live_server(ingest_home: Path) -> Iterator[tuple[str, object]]:
    """A real uvicorn server on a free 127.0.0.1 port, serving a fresh API; yields (url, api)."""
    from ingest.models.api import InferenceAPI
    from ingest.server.app import create_app

    api = InferenceAPI()
    try:
        with serve(create_app(api)) as url:
            yield url, api
    finally:
        api.close()
