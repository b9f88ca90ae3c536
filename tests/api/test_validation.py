"""Endpoint validation through the Python API: nothing is persisted for an invalid PUT, messages are ES's."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.models.api import InferenceAPI
from ingest.models.errors import (
    ActionRequestValidationException,
    ResourceNotFoundException,
    StatusException,
    ValidationException,
)


@pytest.fixture()
def api(ingest_home: Path) -> InferenceAPI:
    api = InferenceAPI()
    yield api
    api.close()


E5 = ".multilingual-e5-small"


@pytest.mark.parametrize("bad_id", ["UPPER", "-lead", "trail-", "sp ace", "a/b", "_all", "*", ".dot", "", "é"])
def test_invalid_ids_rejected(api: InferenceAPI, bad_id: str) -> None:
    with pytest.raises(ActionRequestValidationException, match="Invalid inference_id"):
        api.put(bad_id, {"service": "elasticsearch", "service_settings": {"model_id": E5, "num_threads": 1,
                                                                          "num_allocations": 1}})


def test_every_problem_is_listed_and_nothing_persisted(api: InferenceAPI) -> None:
    with pytest.raises(ValidationException) as exc:
        api.put("bad", {"service": "elasticsearch",
                        "service_settings": {"model_id": E5, "num_threads": 3, "num_allocations": 2,
                                             "adaptive_allocations": {"enabled": True}, "colour": "red",
                                             "size": 1}},
                task_type="text_embedding")
    assert exc.value.status == 400
    assert exc.value.error_type == "validation_exception"
    reason = exc.value.reason
    assert "[threads_per_allocation] must be a power of 2 less than or equal to 32" in reason
    assert "[num_allocations] cannot be set if adaptive allocations is enabled" in reason
    assert "Model configuration contains settings [colour, size] unknown to the [elasticsearch] service" in reason
    assert "red" not in reason  # values are not echoed
    with pytest.raises(ResourceNotFoundException, match=r"Inference endpoint not found \[bad\]"):
        api.get("bad")


def test_missing_required_settings(api: InferenceAPI) -> None:
    with pytest.raises(ValidationException) as exc:
        api.put("e", {"service": "elasticsearch", "service_settings": {"model_id": E5}})
    assert "[service_settings] does not contain the required setting [num_threads]" in exc.value.reason
    assert ("[service_settings] does not contain one of the required settings "
            "[num_allocations, adaptive_allocations]") in exc.value.reason


def test_adaptive_bounds(api: InferenceAPI) -> None:
    with pytest.raises(ValidationException) as exc:
        api.put("e", {"service": "elasticsearch", "service_settings": {
            "model_id": E5, "num_threads": 1,
            "adaptive_allocations": {"enabled": True, "min_number_of_allocations": 4,
                                     "max_number_of_allocations": 2}}})
    assert "[max_number_of_allocations] must be greater than or equal to [min_number_of_allocations]" in exc.value.reason


def test_unknown_service_task_type_and_model(api: InferenceAPI) -> None:
    with pytest.raises(StatusException, match=r"Unknown service \[nope\] for model \[e\]"):
        api.put("e", {"service": "nope"})
    with pytest.raises(StatusException, match=r"Unknown task_type \[frobnicate\]"):
        api.put("e", {"service": "elasticsearch"}, task_type="frobnicate")
    with pytest.raises(StatusException, match=r"does not support task type \[completion\]"):
        api.put("e", {"service": "elasticsearch", "service_settings": {}}, task_type="completion")
    with pytest.raises(ValidationException, match=r"Could not find trained model \[no-such-model\]"):
        api.put("e", {"service": "elasticsearch", "service_settings": {"model_id": "no-such-model",
                                                                         "num_threads": 1, "num_allocations": 1}},
                task_type="text_embedding")
    with pytest.raises(ValidationException, match=r"is a \[text_embedding\] model and cannot serve task type"):
        api.put("e", {"service": "elasticsearch", "service_settings": {"model_id": E5, "num_threads": 1,
                                                                         "num_allocations": 1}},
                task_type="sparse_embedding")


def test_body_shape_errors(api: InferenceAPI) -> None:
    with pytest.raises(ValidationException, match=r"unknown field \[servce\]"):
        api.put("e", {"service": "elasticsearch", "servce": 1})
    with pytest.raises(ValidationException, match=r"\[service\] is required"):
        api.put("e", {"service_settings": {}})
    with pytest.raises(ValidationException, match=r"\[service_settings\]"):
        api.put("e", {"service": "elasticsearch", "service_settings": [1, 2]})


def test_chunking_settings_validated(api: InferenceAPI) -> None:
    with pytest.raises(ValidationException) as exc:
        api.put("e", {"service": "elasticsearch",
                      "service_settings": {"model_id": E5, "num_threads": 1, "num_allocations": 1},
                      "chunking_settings": {"strategy": "word", "max_chunk_size": 100, "overlap": 80}})
    assert "[overlap] must be a positive integer less than or equal to half of [max_chunk_size]" in exc.value.reason


def test_preconfigured_endpoints_are_listed_and_reserved(api: InferenceAPI) -> None:
    listed = api.get()["endpoints"]
    ids = [e["inference_id"] for e in listed]
    assert ".elser-2-elasticsearch" in ids and ".multilingual-e5-small-elasticsearch" in ids
    e5 = api.get(".multilingual-e5-small-elasticsearch")["endpoints"][0]
    assert e5["service_settings"]["adaptive_allocations"] == {
        "enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 32}
    assert e5["service_settings"]["dimensions"] == 384
    assert e5["chunking_settings"] == {"strategy": "sentence", "max_chunk_size": 250, "sentence_overlap": 1}
    assert [e["inference_id"] for e in api.get("_all", task_type="sparse_embedding")["endpoints"]] == [
        ".elser-2-elasticsearch"]
    with pytest.raises(StatusException, match="reserved inference endpoint"):
        api.delete(".elser-2-elasticsearch")
    with pytest.raises(StatusException, match="preconfigured endpoint"):
        api.update(".elser-2-elasticsearch", {"service_settings": {"num_allocations": 2}})
    with pytest.raises(StatusException, match=r"Requested task type \[text_embedding\] does not match"):
        api.get(".elser-2-elasticsearch", task_type="text_embedding")


def test_not_found_everywhere(api: InferenceAPI) -> None:
    for call in (lambda: api.get("ghost"), lambda: api.infer("ghost", "x"), lambda: api.delete("ghost"),
                 lambda: api.update("ghost", {}), lambda: api.model_version("ghost")):
        with pytest.raises(ResourceNotFoundException, match=r"Inference endpoint not found \[ghost\]"):
            call()


def test_infer_task_type_mismatch(api: InferenceAPI) -> None:
    with pytest.raises(StatusException) as exc:
        api.infer(".elser-2-elasticsearch", "hi", task_type="text_embedding")
    assert exc.value.reason == ("Incompatible task_type, the requested type [text_embedding] does not match the "
                                "model type [sparse_embedding]")
    with pytest.raises(ActionRequestValidationException, match=r"Field \[input\] cannot be an empty array"):
        api.infer(".elser-2-elasticsearch", [])
    with pytest.raises(ActionRequestValidationException, match=r"Field \[input_type\] must be one of"):
        api.infer(".elser-2-elasticsearch", "x", input_type="sideways")


def test_deprecated_elser_service(api: InferenceAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INGEST_ML_PLATFORM", "linux-x86_64")  # the default model is the platform's variant
    with pytest.raises(StatusException, match=r"The \[elser\] service does not support task type \[text_embedding\]"):
        api.put("e", {"service": "elser", "service_settings": {"num_threads": 1, "num_allocations": 1}},
                task_type="text_embedding")
    service = api.services["elser"]
    config = service.parse_config("e", service.default_task_type({}), {"num_threads": 1, "num_allocations": 1},
                                  {}, None)
    assert config.service == "elser"
    assert config.service_settings["model_id"] == ".elser_model_2_linux-x86_64"
