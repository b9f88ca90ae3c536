"""Shared fixtures. Cluster fixtures live in tests/clusters; they are loaded here as a plugin."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["tests.clusters.plugin"]


@pytest.fixture()
def ingest_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private $INGEST_HOME for one test; the model cache stays shared (see INGEST_MODEL_CACHE)."""
    home = tmp_path / "ingest-home"
    home.mkdir()
    monkeypatch.setenv("INGEST_HOME", str(home))
    yield home


def pytest_configure(config: pytest.Config) -> None:
    # Real models are built once per machine into a shared cache, not once per test.
    os.environ.setdefault("INGEST_MODEL_CACHE", str(Path.home() / ".cache" / "ingest" / "models"))
