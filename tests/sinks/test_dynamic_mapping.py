"""The embedded store maps fields as Elasticsearch's dynamic mapping does: first value fixes the type, later
values are coerced, what Elasticsearch rejects is rejected per item with its error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.sinks.base import BulkAction
from ingest.sinks.bulk.mapping import MappingError, map_document
from ingest.sinks.embedded import EmbeddedStore


@pytest.fixture()
def store(tmp_path: Path) -> Any:
    s = EmbeddedStore(tmp_path / "db.duckdb")
    yield s
    s.close()


def _index(store: EmbeddedStore, docs: list[dict[str, Any]]) -> list[Any]:
    return store.write([BulkAction("index", "idx", f"d{i}", doc) for i, doc in enumerate(docs)])


def test_string_field_takes_a_number_49_of_50_becomes_50(store: EmbeddedStore) -> None:
    docs: list[dict[str, Any]] = [{"code": f"c{i}"} for i in range(50)]
    docs[17] = {"code": 17}
    results = _index(store, docs)
    assert all(r.ok for r in results)
    assert store.count("idx") == 50
    assert store.get("idx", "d17") == {"code": 17}  # _source keeps the value as sent
    assert store.properties("idx")["code"]["type"] == "text"


def test_types_on_first_sight(store: EmbeddedStore) -> None:
    _index(store, [{"n": 1, "f": 1.5, "b": True, "s": "x", "d": "2024-01-02T03:04:05Z", "d2": "2015/09/02",
                    "num_text": "42", "o": {"inner": "y"}, "nothing": None, "empty": []}])
    props = store.properties("idx")
    assert {k: v["type"] for k, v in props.items()} == {
        "n": "long", "f": "float", "b": "boolean", "s": "text", "d": "date", "d2": "date", "num_text": "text",
        "o": "object"}
    assert props["d2"]["format"] == "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis"
    assert props["o"]["properties"]["inner"]["type"] == "text"


@pytest.mark.parametrize(("first", "later"), [
    ({"n": 1}, {"n": "42"}), ({"n": 1}, {"n": 2.7}), ({"n": 1}, {"n": " 3.5 "}), ({"f": 1.5}, {"f": "2"}),
    ({"b": True}, {"b": "false"}), ({"b": True}, {"b": ""}), ({"s": "x"}, {"s": True}), ({"s": "x"}, {"s": 4.5}),
    ({"d": "2024-01-02"}, {"d": 1700000000000}), ({"d": "2024-01-02"}, {"d": "2024-03"}),
    ({"d": "2024-01-02"}, {"d": "1700000000000"}), ({"t": ["a", "b"]}, {"t": "c"}),
])
def test_coerced(store: EmbeddedStore, first: dict[str, Any], later: dict[str, Any]) -> None:
    results = _index(store, [first, later])
    assert [r.status for r in results] == [201, 201], results[1].error


@pytest.mark.parametrize(("first", "later", "reason", "cause"), [
    ({"f": 1.5}, {"f": "N/A"},
     "failed to parse field [f] of type [float] in document with id 'd1'. Preview of field's value: 'N/A'",
     ("number_format_exception", 'For input string: "N/A"')),
    ({"n": 1}, {"n": "abc"},
     "failed to parse field [n] of type [long] in document with id 'd1'. Preview of field's value: 'abc'",
     ("illegal_argument_exception", 'For input string: "abc"')),
    ({"n": 1}, {"n": True},
     "failed to parse field [n] of type [long] in document with id 'd1'. Preview of field's value: 'true'",
     ("illegal_argument_exception", "Current token (VALUE_TRUE) not numeric, can not use numeric value accessors")),
    ({"b": False}, {"b": "yes"},
     "failed to parse field [b] of type [boolean] in document with id 'd1'. Preview of field's value: 'yes'",
     ("illegal_argument_exception", "Failed to parse value [yes] as only [true] or [false] are allowed.")),
    ({"d": "2024-01-02"}, {"d": "tomorrow"},
     "failed to parse field [d] of type [date] in document with id 'd1'. Preview of field's value: 'tomorrow'",
     ("illegal_argument_exception",
      "failed to parse date field [tomorrow] with format [strict_date_optional_time||epoch_millis]")),
    ({"o": {"a": 1}}, {"o": "flat"},
     "object mapping for [o] tried to parse field [o] as object, but found a concrete value", None),
    ({"s": "x"}, {"s": {"a": 1}},
     "failed to parse field [s] of type [text] in document with id 'd1'. Preview of field's value: '{a=1}'",
     ("illegal_state_exception", "Can't get text on a START_OBJECT")),
])
def test_rejected_as_elasticsearch_does(store: EmbeddedStore, first: dict[str, Any], later: dict[str, Any],
                                        reason: str, cause: tuple[str, str] | None) -> None:
    ok, bad = _index(store, [first, later])
    assert ok.status == 201
    assert bad.status == 400
    assert bad.error is not None
    assert bad.error["type"] == "document_parsing_exception"
    assert bad.error["reason"] == reason
    if cause:
        assert (bad.error["caused_by"]["type"], bad.error["caused_by"]["reason"]) == cause
    assert store.count("idx") == 1


def test_rejected_document_adds_no_fields_and_mapping_survives_reopen(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "db.duckdb")
    _index(store, [{"n": 1}, {"new_field": "x", "n": "abc"}])
    assert "new_field" not in store.properties("idx")
    store.close()
    reopened = EmbeddedStore(tmp_path / "db.duckdb")
    try:
        assert reopened.properties("idx") == {"n": {"type": "long"}}
        results = reopened.write([BulkAction("index", "idx", "x", {"n": "nope"})])
        assert results[0].status == 400
    finally:
        reopened.close()


def test_dotted_keys_are_objects() -> None:
    props: dict[str, Any] = {}
    map_document({"a.b": 1}, props, "1")
    assert props == {"a": {"type": "object", "properties": {"b": {"type": "long"}}}}
    with pytest.raises(MappingError):
        map_document({"a": 5}, props, "2")
