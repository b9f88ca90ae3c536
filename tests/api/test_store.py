"""The registry database: endpoints, secrets file permissions, pipelines, concurrency across processes."""

from __future__ import annotations

import multiprocessing
import stat
from pathlib import Path

import pytest

from ingest.models.errors import IllegalArgumentException, ResourceAlreadyExistsException
from ingest.models.results import TaskType
from ingest.models.services.base import EndpointConfig
from ingest.models.store import Store


def _endpoint(inference_id: str = "e1", secret: str | None = None) -> EndpointConfig:
    return EndpointConfig(
        inference_id=inference_id,
        task_type=TaskType.TEXT_EMBEDDING,
        service="elasticsearch",
        service_settings={"model_id": "m", "num_threads": 1},
        secret_settings={"api_key": secret} if secret else {},
    )


def test_endpoint_roundtrip_and_duplicate(ingest_home: Path) -> None:
    store = Store()
    assert store.path == ingest_home / "registry.sqlite"
    store.insert_endpoint(_endpoint(secret="sk-top-secret"))
    with pytest.raises(ResourceAlreadyExistsException, match=r"Inference endpoint \[e1\] already exists"):
        store.insert_endpoint(_endpoint())
    got = Store().get_endpoint("e1")
    assert got is not None
    assert got.secret_settings == {"api_key": "sk-top-secret"}
    assert got.service_settings == {"model_id": "m", "num_threads": 1}
    # the secret is not in the main database file, and the secrets file is owner-only
    assert b"sk-top-secret" not in store.path.read_bytes()
    assert stat.S_IMODE(store.secrets_path.stat().st_mode) == 0o600
    assert store.delete_endpoint("e1") is True
    assert store.get_endpoint("e1") is None
    assert store.delete_endpoint("e1") is False


def test_pipelines_versions_and_refs(ingest_home: Path) -> None:
    store = Store()
    store.put_pipeline("p1", {"processors": []}, ["e1", "e2"])
    store.put_pipeline("p2", {"processors": [], "version": 3}, ["e1"])
    store.put_pipeline("other", {"processors": []}, [])
    assert store.pipelines_referencing("e1") == ["p1", "p2"]
    assert store.pipelines_referencing("e2") == ["p1"]
    assert set(store.get_pipelines(["p*"])) == {"p1", "p2"}
    assert set(store.get_pipelines()) == {"p1", "p2", "other"}
    with pytest.raises(IllegalArgumentException, match=r"but current version is \[3\]"):
        store.put_pipeline("p2", {"processors": []}, [], if_version=2)
    with pytest.raises(IllegalArgumentException, match="but no pipeline was found"):
        store.put_pipeline("nope", {"processors": []}, [], if_version=1)
    store.put_pipeline("p2", {"processors": []}, [], if_version=3)
    assert store.get_pipelines(["p2"])["p2"]["version"] == 4
    assert store.pipelines_referencing("e1") == ["p1"]
    assert store.delete_pipelines("p*") == ["p1", "p2"]
    assert store.pipelines_referencing("e1") == []


def _insert_many(path: str, worker: int) -> int:
    store = Store(Path(path))
    wins = 0
    for i in range(20):
        try:
            store.insert_endpoint(_endpoint(f"id-{i}", secret=f"s{worker}"))
            wins += 1
        except ResourceAlreadyExistsException:
            pass
    return wins


def test_concurrent_processes_insert_each_id_once(ingest_home: Path) -> None:
    path = str(ingest_home / "registry.sqlite")
    Store(Path(path))
    with multiprocessing.get_context("spawn").Pool(3) as pool:
        wins = pool.starmap(_insert_many, [(path, w) for w in range(3)])
    assert sum(wins) == 20
    store = Store(Path(path))
    endpoints = store.list_endpoints()
    assert [e.inference_id for e in endpoints] == sorted(f"id-{i}" for i in range(20))
    assert all(e.secret_settings["api_key"].startswith("s") for e in endpoints)
