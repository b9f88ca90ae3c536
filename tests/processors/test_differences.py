"""Differences from Elasticsearch found from outside (issue 12), each pinned to Elasticsearch's behaviour."""

from __future__ import annotations

import pyarrow as pa
import pytest

from ingest.models.errors import ElasticsearchError
from ingest.processors import parse_pipeline
from tests.processors.helpers import error_of, run, source_of


def test_kv_field_and_target_field_are_templates() -> None:
    # KeyValueProcessor compiles both names with ConfigurationUtils.compileTemplate.
    procs = [{"kv": {"field": "{{origin}}", "target_field": "{{dest}}", "field_split": " ", "value_split": "="}}]
    out = source_of(procs, {"origin": "msg", "dest": "parsed", "msg": "a=1 b=2"})
    assert out["parsed"] == {"a": "1", "b": "2"}
    err = error_of([{"kv": {"field": "{{origin}}", "field_split": " ", "value_split": "="}}],
                   {"origin": "msg", "msg": "novalue"})
    assert err["reason"] == "field [msg] does not contain value_split [=]"


@pytest.mark.parametrize("proc", [
    {"set": {"field": "{{name}}", "value": 1}},
    {"append": {"field": "{{name}}", "value": 1}},
    {"rename": {"field": "src", "target_field": "{{name}}"}},
])
def test_other_templated_field_names(proc: dict[str, dict[str, object]]) -> None:
    assert "out" in source_of([proc], {"name": "out", "src": 1})


def test_json_null_is_parsed_as_null_in_simulate_and_on_arrow() -> None:
    # JsonProcessor parses a null value as the JSON text "null": the field stays null, no failure.
    assert source_of([{"json": {"field": "x", "target_field": "y"}}], {"x": None}) == {"x": None, "y": None}
    pipeline = parse_pipeline("p", {"processors": [{"json": {"field": "x"}}]})
    result = pipeline.run(pa.table({"x": ['{"a": 1}', None]}))
    assert [o.status for o in result.outcomes] == ["indexed", "indexed"]
    assert result.table.column("x").to_pylist() == [{"a": 1}, None]
    # A field that is really missing is still Elasticsearch's error.
    assert error_of([{"json": {"field": "x"}}], {"y": 1})["reason"] == "field [x] not present as part of path [x]"


@pytest.mark.parametrize(("html", "text"), [
    ("<p>a</p><div>b</div>c<br>d", "\na\n\nb\nc\nd"),
    ("<section>s</section><article>t</article>", "\ns\n\nt\n"),  # every non-inline element is a block
    ("<custom>q</custom>", "\nq\n"),
    ("<span>x</span><b>y</b><a href='u'>z</a>", "xyz"),  # inline elements vanish
    ("a<script>var x = 1;</script>b<style>p {}</style>c", "a\nb\nc"),  # script/style become one newline
    ("<!-- note -->a&amp;b&lt;", "a&b<"),
])
def test_html_strip_follows_lucene(html: str, text: str) -> None:
    assert source_of([{"html_strip": {"field": "x"}}], {"x": html})["x"] == text


def test_verbose_simulate_of_a_pipeline_processor() -> None:
    # TrackingResultProcessor: the pipeline processor's own entry (no doc), then the inner processors'.
    inner = parse_pipeline("inner", {"processors": [{"set": {"field": "a", "value": 1}}]})
    outer = parse_pipeline("outer", {"processors": [{"pipeline": {"name": "inner"}}]})
    outer.resolve_pipeline = lambda name: inner if name == "inner" else None
    inner.resolve_pipeline = outer.resolve_pipeline
    from ingest.processors.simulate import simulate

    results = simulate(outer, {"docs": [{"_source": {}}]}, True)["docs"][0]["processor_results"]
    assert [(r["processor_type"], r["status"], "doc" in r) for r in results] == [
        ("pipeline", "success", False), ("set", "success", True)]
    # A missing pipeline: verbose simulate reports an illegal_argument_exception.
    missing = run([{"pipeline": {"name": "nope"}}], {}, verbose=True)[0]["processor_results"]
    assert missing[0]["error"]["type"] == "illegal_argument_exception"
    assert run([{"pipeline": {"name": "nope"}}], {})[0]["error"]["type"] == "illegal_state_exception"


def test_processor_entry_with_two_processors_is_rejected() -> None:
    with pytest.raises(ElasticsearchError) as info:
        parse_pipeline("p", {"processors": [{"set": {"field": "a", "value": 1}, "lowercase": {"field": "a"}}]})
    assert info.value.error_type == "illegal_argument_exception"
    assert info.value.reason == "[processors] contains nested objects but should be a list of single-entry objects"
    with pytest.raises(ElasticsearchError):
        parse_pipeline("p", {"processors": [{"set": {"field": "a", "value": 1, "on_failure": [
            {"set": {"field": "b", "value": 1}, "drop": {}}]}}]})


def test_inference_processor_has_no_task_type_option() -> None:
    # Elasticsearch's inference processor reads no task_type: it is an unsupported parameter, as there.
    with pytest.raises(ElasticsearchError) as info:
        parse_pipeline("p", {"processors": [{"inference": {"model_id": "m", "task_type": "bad"}}]})
    assert info.value.reason == ("processor [inference] doesn't support one or more provided configuration "
                                 "parameters [task_type]")


def test_remove_keep_names_are_templates() -> None:
    out = source_of([{"remove": {"keep": ["{{which}}", "which"]}}], {"which": "b", "a": 1, "b": 2})
    assert out == {"which": "b", "b": 2}


def test_append_to_missing_field_makes_a_list() -> None:
    # IngestDocument.setFieldValue(append=true) on a missing leaf always puts a new ArrayList.
    assert source_of([{"append": {"field": "order", "value": "last"}}], {}) == {"order": ["last"]}
    assert source_of([{"append": {"field": "a.b", "value": ["x", "x"], "allow_duplicates": False}}],
                     {}) == {"a": {"b": ["x", "x"]}}
    # On the Arrow path too (the job runner and _bulk).
    pipeline = parse_pipeline("p", {"processors": [{"append": {"field": "order", "value": "last"}}]})
    assert pipeline.run(pa.table({"x": [1]})).table.column("order").to_pylist() == [["last"]]


def test_append_of_only_duplicates_leaves_a_scalar_alone() -> None:
    # appendValues returns the original object when allow_duplicates=false added nothing.
    procs = [{"append": {"field": "tag", "value": "a", "allow_duplicates": False}}]
    assert source_of(procs, {"tag": "a"}) == {"tag": "a"}
    assert source_of(procs, {"tag": "b"}) == {"tag": ["b", "a"]}
