"""Pipeline definitions are validated with Elasticsearch's messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.models.errors import ElasticsearchError
from ingest.processors import parse_pipeline
from ingest.processors.registry import PROCESSOR_TYPES


def _error(body: Any) -> ElasticsearchError:
    with pytest.raises(ElasticsearchError) as info:
        parse_pipeline("p", body)
    return info.value


def test_unknown_processor_type_is_named() -> None:
    err = _error({"processors": [{"frobnicate": {"field": "a"}}]})
    assert err.error_type == "parse_exception" and err.status == 400
    assert err.reason == "No processor type exists with name [frobnicate]"
    assert err.extra["processor_type"] == "frobnicate"


def test_unknown_options_are_named() -> None:
    err = _error({"processors": [{"set": {"field": "a", "value": 1, "colour": "red", "size": 2}}]})
    assert err.reason == "processor [set] doesn't support one or more provided configuration parameters [colour, size]"


def test_missing_required_option() -> None:
    err = _error({"processors": [{"rename": {"field": "a"}}]})
    assert err.reason == "[target_field] required property is missing"
    assert err.extra["property_name"] == "target_field"


def test_wrong_option_type() -> None:
    assert _error({"processors": [{"lowercase": {"field": 3}}]}).reason == \
        "[field] property isn't a string, but of type [java.lang.Integer]"
    assert "isn't a boolean" in _error({"processors": [{"trim": {"field": "a", "ignore_missing": "yes"}}]}).reason


def test_pipeline_level_problems() -> None:
    assert _error({"description": "x"}).reason == "[processors] required property is missing"
    assert _error({"processors": [], "bogus": 1}).reason == \
        "pipeline [p] doesn't support one or more provided configuration parameters [bogus]"
    assert _error({"processors": [], "on_failure": []}).reason == \
        "pipeline [p] cannot have an empty on_failure option defined"
    assert "version" in _error({"processors": [], "version": "one"}).reason


def test_nested_processors_are_validated() -> None:
    err = _error({"processors": [{"foreach": {"field": "a", "processor": {"nope": {}}}}]})
    assert err.reason == "No processor type exists with name [nope]"
    err = _error({"processors": [{"set": {"field": "a", "value": 1, "on_failure": [{"set": {"field": "b"}}]}}]})
    assert err.reason == "[value] required property is missing"


def test_unsupported_script_construct_rejected_at_parse_time() -> None:
    err = _error({"processors": [{"script": {"source": "ctx.a = 1;\nctx.b = ctx.list.stream().count()"}}]})
    assert err.error_type == "script_exception" and err.reason == "compile error"
    assert err.caused_by is not None
    assert "unsupported method [stream] at line 2, column 18" in err.caused_by.reason
    err = _error({"processors": [{"set": {"field": "a", "value": 1, "if": "ctx.x =~ /abc/"}}]})
    assert "regex match operator" in err.caused_by.reason  # type: ignore[union-attr]


def test_valid_definition_keeps_metadata() -> None:
    pipeline = parse_pipeline("p", {"description": "d", "version": 3, "_meta": {"owner": "me"}, "deprecated": True,
                                    "processors": [{"set": {"field": "a", "value": 1}}]})
    assert pipeline.description == "d" and pipeline.definition.version == 3
    assert pipeline.definition.meta == {"owner": "me"} and pipeline.definition.deprecated is True


JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=False) |
                    st.text(max_size=6) | st.sampled_from(["a", "*", "a.b", "{{a}}", "[", "(", "UNIX", "%{WORD:w}"]),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                    max_leaves=6)
OPTIONS = ["field", "target_field", "value", "copy_from", "ignore_missing", "override", "type", "separator",
           "pattern", "patterns", "replacement", "formats", "timezone", "field_split", "value_split", "keep",
           "target_fields", "processor", "name", "message", "source", "params", "model_id", "input_output",
           "field_map", "algorithm", "prune_type", "prune_ratio", "fields", "method", "order", "path",
           "include_keys", "pattern_definitions", "quote", "empty_value", "add_to_root", "output_format", "tag",
           "if", "on_failure", "ignore_failure", "description"]


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(PROCESSOR_TYPES)),
       options=st.dictionaries(st.sampled_from(OPTIONS), JSON, max_size=5))
def test_any_configuration_is_accepted_or_rejected_cleanly(kind: str, options: dict[str, Any]) -> None:
    try:
        pipeline = parse_pipeline("p", {"processors": [{kind: options}]})
    except ElasticsearchError as exc:
        assert exc.status == 400 and exc.reason
        return
    from ingest.processors.simulate import simulate
    out = simulate(pipeline, {"docs": [{"_source": {"a": "x y", "b": [1, 2], "c": {"d": 1}}}]}, True)
    assert len(out["docs"]) == 1


def test_known_but_unsupported_processor_is_named_as_such() -> None:
    err = _error({"processors": [{"circle": {"field": "shape"}}]})
    assert err.reason == ("processor type [circle] exists in Elasticsearch or OpenSearch but is not supported here: "
                          "it needs geometry support (shape tessellation) that this implementation does not have")
