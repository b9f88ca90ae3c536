"""normalize_for_stream (ingest-otel's YAML tests), recover_failure_document and set_security_user."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pytest

from ingest.processors import parse_pipeline
from ingest.processors.base import SecurityUser
from ingest.processors.errors import ParseException
from ingest.processors.simulate import simulate
from tests.processors.helpers import error_of, run, source_of

NORMALIZE: list[dict[str, Any]] = [{"normalize_for_stream": {}}]


def test_normalize_ecs_document() -> None:
    src = {"@timestamp": "2023-10-01T12:00:00Z", "message": "hello", "log": {"level": "INFO"},
           "trace": {"id": "t1"}, "span": {"id": "s1"}, "host": {"name": "h1"}, "service": {"name": "svc"},
           "custom": {"a": {"b": 1}}, "tags": ["x"]}
    out = source_of(NORMALIZE, src)
    assert out == {"@timestamp": "2023-10-01T12:00:00Z", "body": {"text": "hello"}, "severity_text": "INFO",
                   "trace_id": "t1", "span_id": "s1", "attributes": {"custom.a.b": 1, "tags": ["x"]},
                   "resource": {"attributes": {"host.name": "h1", "service.name": "svc"}}}


def test_otel_document_is_left_alone() -> None:
    src = {"resource": {"attributes": {"service.name": "s"}}, "body": {"text": "t"}, "attributes": {"a": 1}}
    assert source_of(NORMALIZE, src) == src


def test_normalize_ecs_json_message() -> None:
    # 20_normalize_json_message.yml, "Test ECS JSON message normalization"
    message = {"@timestamp": "2023-10-02T12:00:00Z", "log.level": "WARN", "span": {"id": "spanIdValue"},
               "trace.id": "traceIdValue", "message": "This is the actual log message",
               "cloud": {"region": "overriddenCloudRegion"}, "process": {"args": ["arg1", "arg2"]},
               "tags": ["tag1", "tag2"]}
    src = {"@timestamp": "2023-10-01T12:00:00Z", "agent": {"name": "agentNameValue", "type": "agentTypeValue"},
           "cloud": {"region": "originalCloudRegion"}, "message": json.dumps(message)}
    out = source_of(NORMALIZE, src)
    assert out["@timestamp"] == "2023-10-02T12:00:00Z"
    assert out["resource"]["attributes"] == {"agent.name": "agentNameValue", "agent.type": "agentTypeValue",
                                             "cloud.region": "overriddenCloudRegion", "process.args": ["arg1", "arg2"]}
    assert (out["body"], out["severity_text"], out["attributes"]) == (
        {"text": "This is the actual log message"}, "WARN", {"tags": ["tag1", "tag2"]})


def test_normalize_non_ecs_json_message() -> None:
    # 20_normalize_json_message.yml, "Test non-ECS JSON message normalization"
    message = {"message": "This is the actual log message", "cloud.region": "cloudRegionValue",
               "nested": {"child": "nestedValue", "next-level": {"grandchild": "deepValue"}, "array": ["v1", "v2"]}}
    src = {"@timestamp": "2023-10-01T12:00:00Z", "agent": {"name": "agentNameValue", "type": "agentTypeValue"},
           "message": json.dumps(message)}
    out = source_of(NORMALIZE, src)
    assert out["@timestamp"] == "2023-10-01T12:00:00Z"
    assert out["body"] == {"structured": message}
    assert out["resource"]["attributes"] == {"agent.name": "agentNameValue", "agent.type": "agentTypeValue"}


def test_recover_failure_document() -> None:
    failure = {"@timestamp": "2024-01-01T00:00:00Z", "error": {"type": "mapper_parsing_exception"},
               "document": {"index": "logs-app", "id": "7", "routing": "r", "source": {"message": "m", "n": 1}}}
    doc = run([{"recover_failure_document": {}}], failure)[0]["doc"]
    assert (doc["_index"], doc["_id"], doc["_routing"], doc["_source"]) == ("logs-app", "7", "r",
                                                                           {"message": "m", "n": 1})
    pre = doc["_ingest"]["pre_recovery"]
    assert pre["document"] == {"index": "logs-app", "id": "7", "routing": "r"}
    assert pre["error"] == {"type": "mapper_parsing_exception"}
    assert error_of([{"recover_failure_document": {}}], {"document": {"source": {}}})["reason"] == \
        "field [error] not present as part of path [error]"
    assert error_of([{"recover_failure_document": {}}], {"document": {}, "error": {}})["reason"] == \
        "field [source] not present as part of path [document.source]"


USER = SecurityUser("jane", roles=["admin", "ingest"], full_name="Jane Doe", email="jane@example.com",
                    metadata={"team": "a"}, realm_name="native1", realm_type="native", authentication_type="REALM")


def test_set_security_user_with_a_user() -> None:
    pipeline = parse_pipeline("p", {"processors": [{"set_security_user": {"field": "user"}}]})
    result = simulate(pipeline, {"docs": [{"_source": {"user": {"kept": True}}}]}, False, USER)
    assert result["docs"][0]["doc"]["_source"]["user"] == {
        "kept": True, "username": "jane", "roles": ["admin", "ingest"], "full_name": "Jane Doe",
        "email": "jane@example.com", "metadata": {"team": "a"}, "realm": {"name": "native1", "type": "native"},
        "authentication_type": "REALM"}
    chosen = parse_pipeline("p", {"processors": [{"set_security_user": {"field": "u", "properties": ["username"]}}]})
    out = chosen.run(pa.table({"x": [1]}), user=USER)
    assert out.table.column("u").to_pylist() == [{"username": "jane"}]
    key_user = SecurityUser("svc", authentication_type="API_KEY", api_key={"id": "k1", "name": "ci"})
    keyed = simulate(chosen, {"docs": [{"_source": {}}]}, False, key_user)["docs"][0]["doc"]["_source"]
    assert keyed == {"u": {"username": "svc"}}
    api = parse_pipeline("p", {"processors": [{"set_security_user": {"field": "u", "properties": ["api_key"]}}]})
    assert simulate(api, {"docs": [{"_source": {}}]}, False, key_user)["docs"][0]["doc"]["_source"] == \
        {"u": {"api_key": {"id": "k1", "name": "ci"}}}


def test_set_security_user_without_security() -> None:
    err = error_of([{"set_security_user": {"field": "user"}}], {})
    assert (err["type"], err["reason"]) == ("illegal_state_exception",
                                            "Security (authentication) is not enabled on this cluster, so there is "
                                            "no active user - the [set_security_user] processor cannot be used "
                                            "without security")
    with pytest.raises(ParseException, match=r"Property value \[nope\] is in valid"):
        parse_pipeline("p", {"processors": [{"set_security_user": {"field": "u", "properties": ["nope"]}}]})


def test_called_pipelines_keep_the_user() -> None:
    inner = parse_pipeline("inner", {"processors": [{"set_security_user": {"field": "u",
                                                                           "properties": ["username"]}}]})
    outer = parse_pipeline("outer", {"processors": [{"pipeline": {"name": "inner"}}]})
    outer.resolve_pipeline = lambda name: inner if name == "inner" else None
    result = simulate(outer, {"docs": [{"_source": {}}]}, False, USER)
    assert result["docs"][0]["doc"]["_source"] == {"u": {"username": "jane"}}


def test_normalize_yaml_attributes_namespacing() -> None:
    # 10_normalize_for_stream.yml, "Test attributes namespacing"
    src = {"agent.name": "agentNameValue",
           "agent": {"type": "agentTypeValue", "deep": {"nested": "nestedValue", "scalar-array": ["a1", "a2"],
                                                        "object-array": [{"key1": "value1"}, {"key2": "value2"}]},
                     "scalar-array": ["a1", "a2"]},
           "cloud.region": "cloudRegionValue",
           "cloud": {"service": {"name": ["n1", "n2"]}, "account.id": [{"key1": "value1"}, {"key2": "value2"}]},
           "host.name": "hostNameValue", "host": {"type": "hostTypeValue"},
           "service.name": "serviceNameValue", "service": {"type": "serviceTypeValue"}}
    out = source_of(NORMALIZE, src)
    assert out["resource"]["attributes"] == {
        "agent.name": "agentNameValue", "agent.type": "agentTypeValue", "cloud.region": "cloudRegionValue",
        "cloud.service.name": ["n1", "n2"], "cloud.account.id": [{"key1": "value1"}, {"key2": "value2"}],
        "host.name": "hostNameValue", "host.type": "hostTypeValue", "service.name": "serviceNameValue"}
    assert out["attributes"] == {
        "agent.scalar-array": ["a1", "a2"], "agent.deep.nested": "nestedValue", "agent.deep.scalar-array": ["a1", "a2"],
        "agent.deep.object-array": [{"key1": "value1"}, {"key2": "value2"}], "service.type": "serviceTypeValue"}
    assert set(out) == {"attributes", "resource"}


def test_normalize_yaml_rename_special_keys() -> None:
    src = {"span": {"id": "nestedSpanIdValue"}, "span.id": "topLevelSpanIdValue", "log.level": "topLevelLogLevelValue",
           "trace": {"id": "traceIdValue"}, "trace.id": "topLevelTraceIdValue", "message": "this is a message"}
    out = source_of(NORMALIZE, src)
    assert (out["span_id"], out["severity_text"], out["trace_id"], out["body"]) == (
        "nestedSpanIdValue", "topLevelLogLevelValue", "traceIdValue", {"text": "this is a message"})
    assert not {"span", "span.id", "log.level", "trace", "trace.id", "message"} & set(out)


def test_normalize_yaml_invalid_body_field() -> None:
    src = {"resource": {}, "scope": {"foo": "bar"}, "body": {"text": 123, "structured": {"foo": "bar"}},
           "span_id": "spanIdValue", "trace_id": "traceIdValue", "severity_text": "severityTextValue", "foo": "bar"}
    out = source_of(NORMALIZE, src)
    assert out["attributes"] == {"body.text": 123, "body.structured.foo": "bar", "scope.foo": "bar",
                                 "span_id": "spanIdValue", "trace_id": "traceIdValue",
                                 "severity_text": "severityTextValue", "foo": "bar"}
    assert "body" not in out and "scope" not in out
