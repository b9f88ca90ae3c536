"""One Settings read once, one AppContext passed down: the server honours what it was given, not the environment."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ingest.context import AppContext
from ingest.models.api import InferenceAPI
from ingest.models.settings import Settings
from ingest.models.store import Store
from ingest.server.app import create_app
from ingest.server.limits import DEFAULT_MAX_CONTENT_LENGTH

NDJSON = {"Content-Type": "application/x-ndjson"}
PIPELINE = {"processors": [{"set": {"field": "tagged", "value": "yes"}}, {"lowercase": {"field": "title"}}]}


def _bulk(*docs: dict) -> bytes:
    lines = []
    for n, doc in enumerate(docs, 1):
        lines += [json.dumps({"index": {"_index": "books", "_id": str(n)}}), json.dumps(doc)]
    return ("\n".join(lines) + "\n").encode()


def test_settings_come_from_the_given_environment_and_are_frozen(tmp_path: Path) -> None:
    settings = Settings.from_env({"INGEST_HOME": str(tmp_path / "h"), "INGEST_DUCKDB_MEMORY_LIMIT": "64MB",
                                  "INGEST_SCALE_TO_ZERO_TIME": "", "INGEST_FAULT": "bulk:2", "OTHER": "x"})
    assert settings.home == tmp_path / "h" and settings.models == tmp_path / "h" / "models"
    assert settings.duckdb_memory_limit == "64MB" and settings.scale_to_zero_time is None  # empty means unset
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.home = tmp_path  # type: ignore[misc]
    shipped = settings.to_env()
    assert "INGEST_FAULT" not in shipped  # a kill point is aimed at one process, never at Ray workers
    assert Settings.from_env(shipped) == dataclasses.replace(settings, fault=None)
    assert Settings.from_env({}).home == Path.home() / ".cache" / "ingest"


def test_a_context_keeps_everything_in_its_settings_home(tmp_path: Path, ingest_home: Path) -> None:
    home = tmp_path / "elsewhere"
    context = AppContext(Settings(home=home, duckdb_memory_limit="64MB"))
    try:
        assert context.api.store.path == home / "registry.sqlite"
        assert context.deadletters().path == home / "deadletter.sqlite"
        assert context.checkpoints("j").path == home / "jobs" / "j.json"
        sink = context.open_sink("embedded")
        try:
            assert sink.path == home / "indices.duckdb"  # type: ignore[attr-defined]
        finally:
            sink.close()
    finally:
        context.close()
    assert not (ingest_home / "registry.sqlite").exists()  # $INGEST_HOME was never touched


def test_bulk_uses_the_api_passed_to_create_app(tmp_path: Path, ingest_home: Path) -> None:
    """``_bulk?pipeline=`` finds the pipeline in the registry of the api given to ``create_app`` and writes the
    documents and dead letters beside it, not into ``$INGEST_HOME``."""
    from ingest.processors import PipelineService

    own = tmp_path / "own-home"
    own.mkdir()
    api = InferenceAPI(Store(own / "registry.sqlite"))
    try:
        PipelineService(api.store, api).put("tagging", PIPELINE)
        with TestClient(create_app(api)) as client:
            out = client.post("/_bulk?pipeline=tagging", content=_bulk({"title": "Dune"}, {"other": 1}),
                              headers=NDJSON).json()
            assert out["items"][0]["index"]["status"] == 201
            assert out["items"][1]["index"]["status"] == 400  # no title: the pipeline fails, a dead letter
            assert client.get("/books/_doc/1").json()["_source"] == {"title": "dune", "tagged": "yes"}
            assert client.post("/_bulk?pipeline=missing", content=_bulk({"x": 1}),
                               headers=NDJSON).json()["items"][0]["index"]["status"] == 400
    finally:
        api.close()
    assert (own / "indices.duckdb").exists() and (own / "deadletter.sqlite").exists()
    assert not (ingest_home / "indices.duckdb").exists() and not (ingest_home / "deadletter.sqlite").exists()
    assert not (ingest_home / "registry.sqlite").exists()


def test_changing_the_environment_after_building_the_context_changes_nothing(
        tmp_path: Path, ingest_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    context = AppContext()  # reads $INGEST_HOME (the test's home) now, and never again
    monkeypatch.setenv("INGEST_HOME", str(tmp_path / "later"))
    monkeypatch.setenv("INGEST_HTTP_MAX_CONTENT_LENGTH", "1kb")
    try:
        app = create_app(context=context)
        assert app.state.max_body_bytes == DEFAULT_MAX_CONTENT_LENGTH
        with TestClient(app) as client:
            assert client.post("/_bulk", content=_bulk({"title": "x" * 2000}), headers=NDJSON).json()[
                "items"][0]["index"]["status"] == 201
            assert client.get("/books/_count").json()["count"] == 1
        assert context.api.store.path == ingest_home / "registry.sqlite"
    finally:
        context.close()
    assert (ingest_home / "indices.duckdb").exists()
    assert not (tmp_path / "later").exists()


def test_create_app_refuses_an_api_and_a_different_context(ingest_home: Path) -> None:
    context, api = AppContext(), InferenceAPI()
    try:
        with pytest.raises(ValueError, match="not both"):
            create_app(api, context=context)
    finally:
        api.close()
        context.close()


def test_the_registry_and_the_api_share_one_store(tmp_path: Path) -> None:
    context = AppContext(Settings(home=tmp_path / "h"))
    try:
        registry = context.registry()  # opened alone (ingest keys, ingest security)
        assert context.api.store is registry and registry.path == tmp_path / "h" / "registry.sqlite"
    finally:
        context.close()
