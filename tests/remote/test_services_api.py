"""``GET _inference/_services[/{task_type}]``: Elasticsearch's shape, served to the official client, and generated
from the settings that validate a PUT (checked here by PUTting each advertised setting)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import BadRequestError, Elasticsearch

from ingest.models.api import InferenceAPI
from ingest.models.errors import StatusException, ValidationException
from ingest.models.results import TaskType
from ingest.models.services.elasticsearch import ElasticsearchService
from ingest.models.services.registry import LOCAL_SCHEMA
from ingest.models.services.remote import REMOTE_SERVICES
from tests.servers import serve

FIELD_KEYS = {"label", "required", "sensitive", "updatable", "supported_task_types"}
OPTIONAL_FIELD_KEYS = {"default_value", "description", "type"}
SAMPLE = {"str": "x", "int": 8, "bool": True, "list": ["x"], "map": {}}


@pytest.fixture
def server(ingest_home: Any) -> Iterator[tuple[Elasticsearch, InferenceAPI]]:
    from ingest.server.app import create_app

    api = InferenceAPI()
    try:
        with serve(create_app(api)) as url:
            yield Elasticsearch(url, request_timeout=30), api
    finally:
        api.close()


def test_shape_and_filter_through_the_official_client(server: tuple[Elasticsearch, InferenceAPI]):
    es, _api = server
    services = es.perform_request("GET", "/_inference/_services").body
    assert isinstance(services, list)  # Elasticsearch answers a bare array
    names = [s["service"] for s in services]
    assert names == sorted(names) and {"openai", "elasticsearch", "groq", "mixedbread", "amazonbedrock"} <= set(names)
    assert "elser" not in names  # deprecated; Elasticsearch hides it too
    for entry in services:
        assert set(entry) == {"service", "name", "task_types", "configurations"}
        assert entry["task_types"] and set(entry["task_types"]) <= {str(t) for t in TaskType}
        for key, field in entry["configurations"].items():
            assert FIELD_KEYS <= set(field) <= FIELD_KEYS | OPTIONAL_FIELD_KEYS, (entry["service"], key)
            assert set(field["supported_task_types"]) <= set(entry["task_types"])
            assert field.get("type", "str") in SAMPLE
    openai = next(s for s in services if s["service"] == "openai")
    assert openai["name"] == "OpenAI"
    assert openai["task_types"] == ["text_embedding", "completion", "chat_completion", "embedding"]
    assert openai["configurations"]["api_key"]["sensitive"] is True
    assert openai["configurations"]["api_key"]["updatable"] is True  # secrets can be rotated with _update
    assert openai["configurations"]["model_id"] == {
        "description": "The name of the model to use for the inference task.", "label": "Model ID",
        "required": True, "sensitive": False, "updatable": False, "type": "str",
        "supported_task_types": ["text_embedding", "completion", "chat_completion", "embedding"]}
    assert openai["configurations"]["dimensions"]["supported_task_types"] == ["text_embedding", "embedding"]
    rate = openai["configurations"]["rate_limit.requests_per_minute"]
    assert rate["updatable"] is True and "text_embedding 3000" in rate["description"]
    groq = next(s for s in services if s["service"] == "groq")
    assert groq["configurations"]["rate_limit.requests_per_minute"]["default_value"] == 1000

    rerank = es.perform_request("GET", "/_inference/_services/rerank").body
    assert {s["service"] for s in rerank} == {s["service"] for s in services if "rerank" in s["task_types"]}
    assert {"cohere", "contextualai", "nvidia"} <= {s["service"] for s in rerank}
    with pytest.raises(BadRequestError) as info:
        es.perform_request("GET", "/_inference/_services/not_a_task")
    assert info.value.body["error"]["reason"] == "Unknown task_type [not_a_task]"


def _sample(field: dict[str, Any]) -> Any:
    return SAMPLE.get(field.get("type", "str"), 1.5)


@pytest.mark.parametrize("service", sorted(REMOTE_SERVICES))
def test_every_advertised_setting_is_accepted_and_secrets_are_exactly_the_sensitive_ones(service: str):
    svc = REMOTE_SERVICES[service]()
    entry = svc.configuration(frozenset())  # type: ignore[attr-defined]
    fields = entry["configurations"]
    for task in entry["task_types"]:
        advertised = {k: f for k, f in fields.items() if task in f["supported_task_types"] and "." not in k}
        given: dict[str, Any] = {}
        for key, field in advertised.items():
            given[key] = field.get("default_value", _sample(field))
        try:
            config = svc.parse_config("e", TaskType(task), given, {}, None)
        except ValidationException as exc:  # values of the wrong kind are fine here; unknown keys are not
            assert not [p for p in exc.problems if "unknown to the" in p], (service, task, exc.problems)
            continue
        except StatusException:
            continue
        sensitive = {k for k, f in advertised.items() if f["sensitive"]}
        assert set(config.secret_settings) == sensitive, (service, task)
    required = [k for k, f in fields.items() if f["required"]]
    if required:
        with pytest.raises(ValidationException) as info:
            svc.parse_config("e", TaskType(entry["task_types"][0]), {}, {}, None)
        missing = " ".join(info.value.problems)
        assert all(f"[{k}]" in missing for k in required if TaskType(entry["task_types"][0]) in
                   {TaskType(t) for t in fields[k]["supported_task_types"]}), (service, missing)


def test_local_schema_matches_what_the_elasticsearch_service_accepts():
    svc = ElasticsearchService()
    for key in LOCAL_SCHEMA:
        with pytest.raises(Exception) as info:  # the model does not resolve; the setting must not be "unknown"
            svc.parse_config("e", TaskType.TEXT_EMBEDDING, {"model_id": "no-such-model", "num_threads": 1, key: None},
                             {}, None)
        assert "unknown to the" not in str(info.value), key
