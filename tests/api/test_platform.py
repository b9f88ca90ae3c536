"""The platform variants as Elasticsearch chooses and refuses them (no model is loaded: parsing only)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.models.deployments import DeploymentManager
from ingest.models.endpoints.preconfigured import preconfigured_settings
from ingest.models.errors import IllegalArgumentException
from ingest.models.results import TaskType
from ingest.models.services.elasticsearch import ElasticsearchService, ElserService

E5_OPT, ELSER_OPT = ".multilingual-e5-small_linux-x86_64", ".elser_model_2_linux-x86_64"


@pytest.fixture()
def manager() -> Iterator[DeploymentManager]:
    m = DeploymentManager()
    yield m
    m.close()


def _parse(service: ElasticsearchService, task: TaskType, settings: dict[str, object]) -> dict[str, object]:
    config = service.parse_config("e", task, {"num_threads": 1, "num_allocations": 1, **settings}, {}, None)
    return config.service_settings


def test_other_platform_refuses_the_optimised_ids_with_elasticsearchs_message(
        manager: DeploymentManager, monkeypatch: pytest.MonkeyPatch, ingest_home: Path) -> None:
    monkeypatch.setenv("INGEST_ML_PLATFORM", "darwin-aarch64")
    service = ElasticsearchService(manager)
    with pytest.raises(IllegalArgumentException) as e5:
        _parse(service, TaskType.TEXT_EMBEDDING, {"model_id": E5_OPT})
    assert e5.value.reason == ("Error parsing request config, model id does not match any models available on "
                               f"this platform. Was [{E5_OPT}]")
    assert e5.value.status == 400
    with pytest.raises(IllegalArgumentException) as elser:
        _parse(service, TaskType.SPARSE_EMBEDDING, {"model_id": ELSER_OPT})
    assert elser.value.reason.endswith(f"Was [{ELSER_OPT}]. You may need to use a platform agnostic model.")
    # portable ids run anywhere; the elser service without model_id takes the portable one here
    assert _parse(service, TaskType.TEXT_EMBEDDING, {"model_id": ".multilingual-e5-small"})["model_id"] == \
        ".multilingual-e5-small"
    assert _parse(ElserService(manager), TaskType.SPARSE_EMBEDDING, {})["model_id"] == ".elser_model_2"
    assert preconfigured_settings(".elser-2-elasticsearch")[2]["model_id"] == ".elser_model_2"
    assert preconfigured_settings(".multilingual-e5-small-elasticsearch")[2]["model_id"] == \
        ".multilingual-e5-small"


def test_linux_x86_64_prefers_the_optimised_variant_and_keeps_explicit_portable_ids(
        manager: DeploymentManager, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        ingest_home: Path) -> None:
    monkeypatch.setenv("INGEST_ML_PLATFORM", "linux-x86_64")
    service = ElasticsearchService(manager)
    assert preconfigured_settings(".elser-2-elasticsearch")[2]["model_id"] == ELSER_OPT
    assert preconfigured_settings(".multilingual-e5-small-elasticsearch")[2]["model_id"] == E5_OPT
    assert _parse(ElserService(manager), TaskType.SPARSE_EMBEDDING, {})["model_id"] == ELSER_OPT
    assert _parse(service, TaskType.TEXT_EMBEDDING, {"model_id": E5_OPT})["dimensions"] == 384
    with caplog.at_level(logging.WARNING):
        kept = _parse(service, TaskType.SPARSE_EMBEDDING, {"model_id": ".elser_model_2"})
    assert kept["model_id"] == ".elser_model_2"  # stays fp32, as asked
    assert ("The platform agnostic model [.elser_model_2] was requested on Linux x86_64. It is recommended to use "
            f"the optimized model instead [{ELSER_OPT}]") in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        _parse(service, TaskType.TEXT_EMBEDDING, {"model_id": ".multilingual-e5-small"})
    assert "recommended" not in caplog.text  # Elasticsearch warns for ELSER only
