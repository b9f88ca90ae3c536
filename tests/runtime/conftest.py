"""Tiny models (seeded, built in milliseconds) shared by the runtime tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.models.cache import BuiltModel
from ingest.models.results import TaskType
from ingest.models.runtime import LocalModel
from tests.models.tiny import make_tiny_model


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tiny-models")


@pytest.fixture(scope="session")
def tiny_dense_built(tiny_dir: Path) -> BuiltModel:
    return make_tiny_model(tiny_dir, TaskType.TEXT_EMBEDDING)


@pytest.fixture(scope="session")
def tiny_sparse_built(tiny_dir: Path) -> BuiltModel:
    return make_tiny_model(tiny_dir, TaskType.SPARSE_EMBEDDING)


@pytest.fixture()
def tiny_dense(tiny_dense_built: BuiltModel) -> Iterator[LocalModel]:
    model = LocalModel(tiny_dense_built)
    yield model
    model.close()


@pytest.fixture()
def tiny_sparse(tiny_sparse_built: BuiltModel) -> Iterator[LocalModel]:
    model = LocalModel(tiny_sparse_built)
    yield model
    model.close()
