"""Cases from Elasticsearch's ingest YAML REST tests (90_simulate.yml), run through our simulate API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.models.errors import ElasticsearchError
from ingest.models.store import Store
from ingest.processors import PipelineService

DOC = {"_index": "index", "_type": "type", "_id": "id", "_source": {"field1": "123.42 400 <foo>"}}


@pytest.fixture()
def service(tmp_path: Path) -> PipelineService:
    return PipelineService(Store(tmp_path / "registry.sqlite"))


def _verbose(service: PipelineService, processors: list[dict[str, Any]], doc: dict[str, Any] = DOC) -> Any:
    out = service.simulate({"pipeline": {"processors": processors}, "docs": [doc]}, verbose=True)
    return out["docs"][0]["processor_results"]


def test_invalid_processor_config_names_tag_type_and_property(service: PipelineService) -> None:
    with pytest.raises(ElasticsearchError) as info:
        service.simulate({"pipeline": {"processors": [{"set": {"tag": "fails", "value": "_value"}}]}, "docs": [DOC]})
    root = info.value.to_dict()["error"]["root_cause"][0]
    assert root == {"type": "parse_exception", "reason": "[field] required property is missing",
                    "processor_type": "set", "processor_tag": "fails", "property_name": "field"}
    with pytest.raises(ElasticsearchError) as info:
        service.simulate({"docs": [DOC]})
    assert info.value.to_dict()["error"]["root_cause"][0]["property_name"] == "pipeline"


def test_verbose_paths_with_list_index(service: PipelineService) -> None:
    results = _verbose(service, [
        {"set": {"tag": "processor[set]-0", "field": "field2.value", "value": "_value"}},
        {"set": {"field": "field3", "value": "third_val"}},
        {"uppercase": {"field": "field2.value"}},
        {"lowercase": {"field": "foo.bar.0.item"}}],
        {"_index": "index", "_id": "id", "_source": {"foo": {"bar": [{"item": "HELLO"}]}}})
    assert len(results) == 4 and results[0]["tag"] == "processor[set]-0"
    assert results[0]["doc"]["_source"] == {"foo": {"bar": [{"item": "HELLO"}]}, "field2": {"value": "_value"}}
    assert set(results[0]["doc"]["_ingest"]) == {"timestamp", "pipeline"}
    assert results[2]["doc"]["_source"]["field2"]["value"] == "_VALUE"
    assert results[3]["doc"]["_source"]["foo"]["bar"][0]["item"] == "hello"


def test_verbose_exception_stops_that_document(service: PipelineService) -> None:
    out = service.simulate({"pipeline": {"processors": [{"convert": {"field": "foo", "type": "integer"}},
                                                        {"uppercase": {"field": "bar"}}]},
                            "docs": [{"_source": {"foo": "bar", "bar": "hello"}},
                                     {"_source": {"foo": "5", "bar": "hello"}}]}, verbose=True)
    first, second = (d["processor_results"] for d in out["docs"])
    assert len(first) == 1 and first[0]["error"]["type"] == "illegal_argument_exception"
    assert len(second) == 2 and second[1]["doc"]["_source"] == {"foo": 5, "bar": "HELLO"}


def test_verbose_on_failure_chain(service: PipelineService) -> None:
    results = _verbose(service, [
        {"set": {"tag": "setstatus-1", "field": "status", "value": 200}},
        {"rename": {"tag": "rename-1", "field": "foofield", "target_field": "field1", "on_failure": [
            {"set": {"tag": "set on_failure rename", "field": "foofield", "value": "exists"}},
            {"rename": {"field": "foofield2", "target_field": "field1",
                        "on_failure": [{"set": {"field": "foofield2", "value": "ran"}}]}}]}}])
    assert len(results) == 5
    assert results[1]["tag"] == "rename-1" and results[1]["error"]["reason"] == "field [foofield] doesn't exist"
    assert results[2]["tag"] == "set on_failure rename"
    assert "tag" not in results[3] and "tag" not in results[4]
    assert results[4]["doc"]["_source"] == {"field1": "123.42 400 <foo>", "status": 200, "foofield": "exists",
                                            "foofield2": "ran"}


def test_verbose_ignore_failure(service: PipelineService) -> None:
    results = _verbose(service, [
        {"set": {"tag": "setstatus-1", "field": "status", "value": 200}},
        {"rename": {"tag": "rename-1", "field": "foofield", "target_field": "field1", "ignore_failure": True,
                    "on_failure": [{"set": {"field": "x", "value": 1}}]}}])
    assert len(results) == 2
    assert results[1]["ignored_error"]["error"]["reason"] == "field [foofield] doesn't exist"
    assert results[1]["doc"]["_source"] == {"field1": "123.42 400 <foo>", "status": 200}


def test_verbose_cycle_is_one_error(service: PipelineService) -> None:
    service.put("outer", {"processors": [{"pipeline": {"name": "inner"}}]})
    service.put("inner", {"processors": [{"pipeline": {"name": "outer"}}]})
    results = _verbose(service, [{"pipeline": {"name": "outer"}}])
    assert len(results) == 1 and results[0]["error"]["reason"] == "Cycle detected for pipeline: outer"


def test_verbose_multiple_pipelines(service: PipelineService) -> None:
    service.put("pipeline1", {"processors": [{"set": {"field": "pipeline1", "value": True}},
                                             {"pipeline": {"name": "pipeline2"}}]})
    service.put("pipeline2", {"processors": [{"set": {"field": "pipeline2", "value": True}}]})
    results = _verbose(service, [{"set": {"field": "pipeline0", "value": True}}, {"pipeline": {"name": "pipeline1"}}])
    docs = [r["doc"]["_source"] for r in results if "doc" in r]
    assert len(docs) == 3
    assert "pipeline1" not in docs[0] and docs[1]["pipeline1"] is True and docs[2]["pipeline2"] is True


def test_verbose_true_conditional_and_on_failure(service: PipelineService) -> None:
    results = _verbose(service, [{"rename": {
        "tag": "gunna_fail", "if": "true", "field": "foo1", "target_field": "fieldA", "on_failure": [
            {"set": {"field": "failed1", "value": "failed1", "tag": "failed1"}},
            {"rename": {"tag": "gunna_fail_again", "if": "true", "field": "foo2", "target_field": "fieldA",
                        "on_failure": [{"set": {"field": "failed2", "value": "failed2", "tag": "failed2"}}]}}]}}],
        {"_index": "index", "_id": "id", "_source": {"foo": "bar"}})
    assert [r["tag"] for r in results] == ["gunna_fail", "failed1", "gunna_fail_again", "failed2"]
    assert results[0]["error"]["reason"] == "field [foo1] doesn't exist"
    assert results[1]["doc"]["_ingest"]["on_failure_processor_tag"] == "gunna_fail"
    assert results[3]["doc"]["_ingest"]["on_failure_processor_tag"] == "gunna_fail_again"
    assert results[3]["doc"]["_source"] == {"foo": "bar", "failed1": "failed1", "failed2": "failed2"}
    assert results[0]["if"] == {"condition": "true", "result": True}
