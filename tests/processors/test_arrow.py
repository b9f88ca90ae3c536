"""Running pipelines on Arrow: outcomes, metadata columns, and columnar/per-document agreement."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.processors import parse_pipeline
from ingest.processors.arrow_exec import DocOutcome


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if v is not None} for row in table.to_pylist()]


def test_outcomes_in_input_order_with_failures_and_drops() -> None:
    pipeline = parse_pipeline("p", {"processors": [
        {"drop": {"if": "ctx.kind == 'noise'"}},
        {"convert": {"field": "n", "type": "integer"}},
        {"set": {"field": "ok", "value": True}}]})
    table = pa.table({"kind": ["a", "noise", "b", "c"], "n": ["1", "2", "x", "4"]})
    result = pipeline.run(table)
    assert [o.status for o in result.outcomes] == ["indexed", "dropped", "failed", "indexed"]
    assert result.outcomes[2].error is not None
    assert result.outcomes[2].error.reason == "unable to convert [x] to integer"
    assert result.source_rows == [0, 3]
    assert _rows(result.table) == [{"kind": "a", "n": 1, "ok": True}, {"kind": "c", "n": 4, "ok": True}]


def test_columnar_path_keeps_everything_columnar() -> None:
    pipeline = parse_pipeline("p", {"processors": [
        {"set": {"field": "env", "value": "prod"}}, {"rename": {"field": "msg", "target_field": "message"}},
        {"lowercase": {"field": "message"}}, {"convert": {"field": "code", "type": "integer"}},
        {"remove": {"field": "junk"}}, {"trim": {"field": "pad", "target_field": "trimmed"}},
    {"script": {"source": "ctx.next = ctx.code + 1"}}]})
    table = pa.table({"msg": ["Hello", "WORLD"], "code": ["200", "404"], "junk": [1, 2], "pad": [" a ", "b\t"]})
    current = table
    for proc in pipeline.processors:  # every step takes the columnar path on this data
        current = proc.columnar(current)
        assert current is not None, proc.type
    result = pipeline.run(table)
    assert result.table.equals(current)
    assert result.table.schema.field("code").type == pa.int64()
    assert _rows(result.table) == [
        {"message": "hello", "code": 200, "pad": " a ", "env": "prod", "trimmed": "a", "next": 201},
        {"message": "world", "code": 404, "pad": "b\t", "env": "prod", "trimmed": "b", "next": 405}]
    assert result.outcomes == [DocOutcome("indexed"), DocOutcome("indexed")]


def test_metadata_columns_in_and_out() -> None:
    pipeline = parse_pipeline("p", {"processors": [
        {"set": {"field": "_index", "value": "logs-{{{app}}}"}}, {"set": {"field": "_routing", "value": "r1"}}]})
    result = pipeline.run(pa.table({"_id": ["a", "b"], "app": ["x", "y"]}).to_batches()[0])
    assert result.table.column("_index").to_pylist() == ["logs-x", "logs-y"]
    assert result.table.column("_id").to_pylist() == ["a", "b"]
    assert result.table.column("_routing").to_pylist() == ["r1", "r1"]


def test_pipeline_on_failure_in_arrow_path() -> None:
    pipeline = parse_pipeline("p", {"processors": [{"convert": {"field": "n", "type": "long", "target_field": "num"}},
                                                   {"set": {"field": "after", "value": 1}}],
                                    "on_failure": [{"set": {"field": "_index", "value": "failed"}}]})
    result = pipeline.run(pa.table({"n": ["1", "bad"]}))
    assert [o.status for o in result.outcomes] == ["indexed", "indexed"]
    rows = _rows(result.table)
    assert rows[0] == {"n": "1", "num": 1, "after": 1}
    assert rows[1] == {"n": "bad", "_index": "failed"}


def test_mixed_types_survive_as_json_text() -> None:
    pipeline = parse_pipeline("p", {"processors": [{"script": {"source": "if (ctx.a == 1) { ctx.v = 'x' } "
                                                                         "else { ctx.v = [1, 2] }"}}]})
    result = pipeline.run(pa.table({"a": [1, 2]}))
    assert result.table.column("v").to_pylist() == ["x", "[1, 2]"]


def test_new_keys_inside_existing_struct_columns_are_kept() -> None:
    """Adding a key to a struct column, at any depth, must not be dropped when the column is rebuilt."""
    pipeline = parse_pipeline("p", {"processors": [
        {"set": {"field": "meta.added", "value": "x"}},
        {"set": {"field": "meta.inner.deep", "value": 2}},
        {"append": {"field": "meta.tags", "value": "new"}}]})
    table = pa.table({"meta": [{"a": 1, "inner": {"b": "y"}, "tags": ["t"]},
                               {"a": 2, "inner": {"b": "z"}, "tags": []}]})
    for columnar in (True, False):
        rows = pipeline.run(table, columnar=columnar).table.to_pylist()
        assert rows[0]["meta"] == {"a": 1, "added": "x", "inner": {"b": "y", "deep": 2}, "tags": ["t", "new"]}
        assert rows[1]["meta"]["added"] == "x" and rows[1]["meta"]["inner"] == {"b": "z", "deep": 2}


def test_nested_struct_and_map_columns() -> None:
    table = pa.table({"user": pa.array([{"name": "Ann", "age": None}, {"name": "Bob", "age": 3}]),
                      "w": pa.array([[("a", 1.0)], [("b", 2.0)]], type=pa.map_(pa.string(), pa.float32()))})
    pipeline = parse_pipeline("p", {"processors": [{"uppercase": {"field": "user.name"}},
                                                   {"set": {"field": "has_a", "value": "{{w.a}}"}}]})
    result = pipeline.run(table)
    assert result.table.column("user").to_pylist() == [{"name": "ANN", "age": None}, {"name": "BOB", "age": 3}]
    assert result.table.column("has_a").to_pylist() == ["1.0", ""]
    assert result.table.schema.field("w").type == pa.map_(pa.string(), pa.float32())


# --- property: columnar and per-document paths agree --------------------------------------------------------
TEXT = st.text(alphabet="abcXYZ éÉ01 \t-", max_size=8)
NUMERIC = st.one_of(st.from_regex(r"[+-]?[0-9]{1,5}", fullmatch=True), st.sampled_from(["1.5", "x", "", "TRUE"]))
PROCESSORS = st.sampled_from([
    {"set": {"field": "c", "value": "const"}},
    {"set": {"field": "s", "value": 7, "override": False}},
    {"rename": {"field": "s", "target_field": "renamed"}},
    {"rename": {"field": "s", "target_field": "renamed", "ignore_missing": True}},
    {"lowercase": {"field": "s"}},
    {"uppercase": {"field": "s", "ignore_missing": True}},
    {"trim": {"field": "s", "target_field": "t", "ignore_missing": True}},
    {"convert": {"field": "num", "type": "integer"}},
    {"convert": {"field": "num", "type": "double", "ignore_missing": True}},
    {"convert": {"field": "num", "type": "boolean", "target_field": "flag", "ignore_missing": True}},
    {"convert": {"field": "n", "type": "string"}},
    {"remove": {"field": "n"}},
    {"remove": {"field": ["n", "zz"], "ignore_missing": True}},
    {"script": {"source": "ctx.sum = (ctx.n ?: 0) + 1"}},
    {"script": {"source": "ctx.total = ctx.n * 2 + 1; ctx.half = ctx.n / 2.0"}},
    {"script": {"source": "ctx.label = ctx.s + '!'"}},
    {"set": {"field": "c", "value": "cond", "if": "ctx.n != null && ctx.n > 0"}},
    {"lowercase": {"field": "s", "if": "ctx.s == null || ctx.s != 'abc'", "ignore_missing": True}},
    {"remove": {"field": "num", "if": "!(ctx.num == null)"}},
])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.fixed_dictionaries({"s": st.one_of(st.none(), TEXT), "num": st.one_of(st.none(), NUMERIC),
                                            "n": st.one_of(st.none(), st.integers(-1000, 1000))}),
                     min_size=1, max_size=6),
       procs=st.lists(PROCESSORS, min_size=1, max_size=5))
def test_columnar_and_per_document_paths_agree(rows: list[dict[str, Any]], procs: list[dict[str, Any]]) -> None:
    table = pa.table({"s": pa.array([r["s"] for r in rows], type=pa.string()),
                      "num": pa.array([r["num"] for r in rows], type=pa.string()),
                      "n": pa.array([r["n"] for r in rows], type=pa.int64())})
    pipeline = parse_pipeline("p", {"processors": procs})
    fast = pipeline.run(table)
    slow = pipeline.run(table, columnar=False)
    assert [(o.status, o.error.reason if o.error else None) for o in fast.outcomes] == \
        [(o.status, o.error.reason if o.error else None) for o in slow.outcomes]
    assert fast.source_rows == slow.source_rows
    assert _rows(fast.table) == _rows(slow.table)


def test_simple_conditions_are_evaluated_on_columns() -> None:
    from ingest.processors.arrow_exec import _try_columnar

    pipeline = parse_pipeline("p", {"processors": [
        {"set": {"field": "big", "value": True, "if": "ctx.size > 10 && ctx.kind == 'log'"}},
        {"set": {"field": "odd", "value": True, "if": "ctx.size.toString().length() > 1"}}]})
    all_true = pa.table({"size": [11, 20], "kind": ["log", "log"]})
    assert _try_columnar(pipeline.processors[0], all_true).column("big").to_pylist() == [True, True]  # type: ignore[union-attr]
    all_false = pa.table({"size": [1, 2], "kind": ["log", "log"]})
    assert _try_columnar(pipeline.processors[0], all_false) is all_false  # skipped without touching documents
    mixed = pa.table({"size": [1, 20], "kind": ["log", "log"]})
    assert _try_columnar(pipeline.processors[0], mixed) is None  # per document
    assert _try_columnar(pipeline.processors[1], all_true) is None  # method calls are not compiled
    assert _rows(pipeline.run(mixed).table) == [{"size": 1, "kind": "log"},
                                                {"size": 20, "kind": "log", "big": True, "odd": True}]
