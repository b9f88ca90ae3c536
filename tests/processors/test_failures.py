"""Failure semantics: ignore_failure, processor and pipeline on_failure, metadata, drop, recursion."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.models.store import Store
from ingest.processors import PipelineService
from tests.processors.helpers import run, source_of


@pytest.fixture()
def service(tmp_path: Path) -> PipelineService:
    return PipelineService(Store(tmp_path / "registry.sqlite"))


def test_ignore_failure_continues() -> None:
    out = source_of([{"rename": {"field": "nope", "target_field": "x", "ignore_failure": True}},
                     {"set": {"field": "after", "value": 1}}], {"a": 1})
    assert out == {"a": 1, "after": 1}


def test_processor_on_failure_sees_failure_metadata() -> None:
    out = source_of([{"convert": {"field": "n", "type": "integer", "tag": "conv",
                                  "on_failure": [{"set": {"field": "why", "value": "{{ _ingest.on_failure_message }}"}},
                                                 {"set": {"field": "who",
                                                          "value": "{{_ingest.on_failure_processor_type}}/"
                                                                   "{{_ingest.on_failure_processor_tag}}/"
                                                                   "{{_ingest.on_failure_pipeline}}"}}]}},
                     {"set": {"field": "continued", "value": True}},
                     {"set": {"field": "leftover", "value": "[{{_ingest.on_failure_message}}]"}}],
                    {"n": "abc"})
    assert out["why"] == "unable to convert [abc] to integer"
    assert out["who"] == "convert/conv/_simulate_pipeline"
    assert out["continued"] is True
    assert out["leftover"] == "[]"  # the metadata is gone once the handler finished


def test_pipeline_on_failure_stops_the_pipeline() -> None:
    out = source_of([{"fail": {"message": "boom"}}, {"set": {"field": "never", "value": 1}}], {"a": 1},
                    on_failure=[{"set": {"field": "err", "value": "{{_ingest.on_failure_message}}"}}])
    assert out == {"a": 1, "err": "boom"}


def test_failing_on_failure_handler_fails_the_document() -> None:
    doc = run([{"fail": {"message": "first", "on_failure": [{"fail": {"message": "second"}}]}}], {"a": 1})[0]
    assert doc["error"]["reason"] == "second"
    assert doc["error"]["type"] == "fail_processor_exception"


def test_nested_on_failure() -> None:
    out = source_of([{"fail": {"message": "outer", "on_failure": [
        {"fail": {"message": "inner", "on_failure": [{"set": {"field": "m", "value": "{{_ingest.on_failure_message}}"}}]}},
        {"set": {"field": "after_inner", "value": 1}}]}}], {})
    assert out == {"m": "inner", "after_inner": 1}


def test_drop_in_simulate_and_verbose() -> None:
    docs = run([{"drop": {"if": "ctx.keep != true"}}, {"set": {"field": "x", "value": 1}}],
               [{"keep": True}, {"keep": False}])
    assert docs[0]["doc"]["_source"] == {"keep": True, "x": 1}
    assert docs[1] is None
    verbose = run([{"drop": {}}, {"set": {"field": "x", "value": 1}}], {"a": 1}, verbose=True)
    assert verbose[0]["processor_results"] == [{"processor_type": "drop", "status": "dropped"}]


def test_verbose_statuses() -> None:
    docs = run([{"set": {"field": "a", "value": 1, "if": "ctx.skip == true", "tag": "t"}},
                {"rename": {"field": "nope", "target_field": "x", "ignore_failure": True}},
                {"fail": {"message": "bad", "description": "always fails"}}], {"skip": False}, verbose=True)
    results = docs[0]["processor_results"]
    assert [r["status"] for r in results] == ["skipped", "error_ignored", "error"]
    assert results[0]["if"] == {"condition": "ctx.skip == true", "result": False}
    assert results[1]["ignored_error"]["error"]["reason"] == "field [nope] doesn't exist"
    assert "doc" in results[1]
    assert results[2]["error"]["reason"] == "bad" and results[2]["description"] == "always fails"
    assert "doc" not in results[2]


def test_pipeline_processor_and_cycle_detection(service: PipelineService) -> None:
    service.put("inner", {"processors": [{"set": {"field": "inner", "value": "{{_ingest.pipeline}}"}}]})
    service.put("outer", {"processors": [{"pipeline": {"name": "inner"}}, {"set": {"field": "outer", "value": 1}}]})
    out = service.simulate({"docs": [{"_source": {}}]}, "outer")
    assert out["docs"][0]["doc"]["_source"] == {"inner": "inner", "outer": 1}
    service.put("a", {"processors": [{"pipeline": {"name": "b"}}]})
    service.put("b", {"processors": [{"pipeline": {"name": "a"}}]})
    err = service.simulate({"docs": [{"_source": {}}]}, "a")["docs"][0]["error"]
    assert err["type"] == "illegal_state_exception"
    assert err["reason"] == "Cycle detected for pipeline: a"


def test_missing_pipeline_in_pipeline_processor(service: PipelineService) -> None:
    service.put("p", {"processors": [{"pipeline": {"name": "ghost"}}]})
    err = service.simulate({"docs": [{"_source": {}}]}, "p")["docs"][0]["error"]
    assert err["reason"] == "Pipeline processor configured for non-existent pipeline [ghost]"
    service.put("q", {"processors": [{"pipeline": {"name": "ghost", "ignore_missing_pipeline": True}},
                                     {"set": {"field": "ok", "value": 1}}]})
    assert service.simulate({"docs": [{"_source": {}}]}, "q")["docs"][0]["doc"]["_source"] == {"ok": 1}


def test_terminate_only_stops_the_current_pipeline(service: PipelineService) -> None:
    service.put("inner", {"processors": [{"terminate": {}}, {"set": {"field": "no", "value": 1}}]})
    service.put("outer", {"processors": [{"pipeline": {"name": "inner"}}, {"set": {"field": "yes", "value": 1}}]})
    assert service.simulate({"docs": [{"_source": {}}]}, "outer")["docs"][0]["doc"]["_source"] == {"yes": 1}


def test_metadata_fields_are_writable() -> None:
    doc = run([{"set": {"field": "_index", "value": "logs-{{{kind}}}"}}, {"set": {"field": "_id", "value": "x1"}},
               {"set": {"field": "_routing", "value": "r"}}], {"kind": "app"})[0]["doc"]
    assert (doc["_index"], doc["_id"], doc["_routing"]) == ("logs-app", "x1", "r")
    assert doc["_source"] == {"kind": "app"}


def test_ingest_timestamp_available_to_templates() -> None:
    docs = run([{"set": {"field": "received", "value": "{{_ingest.timestamp}}"}}], {})
    assert docs[0]["doc"]["_source"]["received"] == docs[0]["doc"]["_ingest"]["timestamp"]


def test_verbose_pipeline_processor_entries(service: PipelineService) -> None:
    service.put("inner", {"processors": [{"set": {"field": "x", "value": 1, "tag": "in"}}]})
    service.put("outer", {"processors": [{"pipeline": {"name": "inner", "tag": "call"}},
                                         {"pipeline": {"name": "ghost", "ignore_missing_pipeline": True}},
                                         {"set": {"field": "y", "value": 2}}]})
    results = service.simulate({"docs": [{"_source": {}}]}, "outer", verbose=True)["docs"][0]["processor_results"]
    assert [(r["processor_type"], r["status"]) for r in results] == [
        ("pipeline", "success"), ("set", "success"), ("pipeline", "error_ignored"), ("set", "success")]
    assert results[0]["tag"] == "call" and results[1]["doc"]["_ingest"]["pipeline"] == "inner"
    assert results[2]["ignored_error"]["error"]["type"] == "illegal_argument_exception"  # as TrackingResultProcessor
    assert results[3]["doc"]["_source"] == {"x": 1, "y": 2}


def test_failing_condition_is_the_processors_failure() -> None:
    assert source_of([{"set": {"field": "a", "value": 1, "if": "ctx.n.length() > 1", "ignore_failure": True}},
                      {"set": {"field": "b", "value": 2}}], {"n": 5}) == {"n": 5, "b": 2}
    out = source_of([{"set": {"field": "a", "value": 1, "if": "ctx.missing.x == 1",
                              "on_failure": [{"set": {"field": "err", "value": "{{_ingest.on_failure_message}}"}}]}}],
                    {})
    assert out == {"err": "runtime error"}


def test_pipeline_processor_yaml_rest_cases(service: PipelineService) -> None:
    # After Elasticsearch's 210_pipeline_processor.yml: templated names and _ingest.pipeline per level.
    service.put("engineering-department", {"processors": [{"set": {"field": "manager", "value": "john"}}]})
    service.put("outer", {"processors": [{"pipeline": {"name": "{{org}}-department"}}]})
    out = service.simulate({"docs": [{"_source": {"org": "engineering"}}, {"_source": {"org": "legal"}}]}, "outer")
    assert out["docs"][0]["doc"]["_source"]["manager"] == "john"
    assert out["docs"][1]["error"]["root_cause"][0] == {
        "type": "illegal_state_exception",
        "reason": "Pipeline processor configured for non-existent pipeline [legal-department]"}
    for pid, nxt in (("pipeline1", "another_pipeline"), ("another_pipeline", "another_pipeline2"),
                     ("another_pipeline2", None)):
        procs: list[dict[str, object]] = [{"append": {"field": "pipelines", "value": "{{_ingest.pipeline}}"}}]
        if nxt:
            procs.append({"pipeline": {"name": nxt}})
        service.put(pid, {"processors": procs})
    out = service.simulate({"docs": [{"_source": {}}]}, "pipeline1")
    assert out["docs"][0]["doc"]["_source"]["pipelines"] == ["pipeline1", "another_pipeline", "another_pipeline2"]
