"""The query DSL subset (ingest/query/dsl.py) and _source filtering, on plain documents."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.models.errors import ElasticsearchError
from ingest.query.dsl import parse_query, text_fields
from ingest.query.source import SourceFilter, from_body, from_params

DOCS: dict[str, dict[str, Any]] = {
    "1": {"user": {"name": "Ann", "age": 31}, "tags": ["a", "b"], "day": "2024-01-05", "ok": True},
    "2": {"user": {"name": "bob", "age": 17}, "tags": ["b"], "day": "2024-02-01", "ok": False, "note": None},
    "3": {"user.name": "cid", "tags": [], "events": [{"kind": "x"}, {"kind": "y"}]},
}


def ids(query: dict[str, Any]) -> list[str]:
    parsed = parse_query(query)
    return [i for i, doc in DOCS.items() if parsed.matches(i, doc)]


@pytest.mark.parametrize(("query", "expected"), [
    ({"match_all": {}}, ["1", "2", "3"]),
    ({"match_none": {}}, []),
    ({"term": {"user.name": "Ann"}}, ["1"]),
    ({"term": {"user.name.keyword": {"value": "ann", "case_insensitive": True}}}, ["1"]),
    ({"term": {"user.name": "cid"}}, ["3"]),  # a literal dotted key
    ({"term": {"user.age": "31"}}, ["1"]),  # text of a number matches the number
    ({"term": {"ok": "true"}}, ["1"]),
    ({"term": {"_id": "2"}}, ["2"]),
    ({"terms": {"tags": ["a", "z"]}}, ["1"]),
    ({"terms": {"events.kind": ["y"]}}, ["3"]),
    ({"ids": {"values": ["3", "9"]}}, ["3"]),
    ({"range": {"user.age": {"gte": 18}}}, ["1"]),
    ({"range": {"user.age": {"gt": 17, "lte": 31}}}, ["1"]),
    ({"range": {"day": {"gte": "2024-01-31", "lt": "2024-03-01"}}}, ["2"]),
    ({"range": {"user.age": {"from": 17, "to": 31, "include_upper": False}}}, ["2"]),
    ({"exists": {"field": "tags"}}, ["1", "2"]),  # an empty array does not count
    ({"exists": {"field": "note"}}, []),  # nor does null
    ({"bool": {"must": [{"term": {"tags": "b"}}], "must_not": {"term": {"ok": False}}}}, ["1"]),
    ({"bool": {"should": [{"term": {"tags": "a"}}, {"exists": {"field": "events"}}]}}, ["1", "3"]),
    ({"bool": {"filter": {"exists": {"field": "user.age"}}, "should": [{"term": {"tags": "zz"}}]}}, ["1", "2"]),
    ({"bool": {"should": [{"term": {"tags": "a"}}, {"term": {"tags": "b"}}], "minimum_should_match": 2}}, ["1"]),
    ({"bool": {}}, ["1", "2", "3"]),
])
def test_queries(query: dict[str, Any], expected: list[str]) -> None:
    assert ids(query) == expected


@pytest.mark.parametrize(("query", "reason"), [
    ({"match": {"a": "b"}}, "query [match] is not supported by the embedded store"),
    ({"nope": {}}, "unknown query [nope]"),
    ({"term": {"a": 1, "b": 2}}, "[term] query doesn't support multiple fields, found [a] and [b]"),
    ({"range": {"d": {"gte": "now-1d"}}}, "date math"),
    ({"bool": {"must": [{"wildcard": {"a": "b*"}}]}}, "query [wildcard] is not supported"),
])
def test_outside_the_subset_is_refused(query: dict[str, Any], reason: str) -> None:
    with pytest.raises(ElasticsearchError) as err:
        parse_query(query)
    assert err.value.status == 400 and err.value.error_type == "parsing_exception" and reason in err.value.reason


def test_source_filtering() -> None:
    doc = {"a": {"b": 1, "c": 2}, "d": [{"e": 1, "f": 2}], "g": 3}
    assert from_params("false", None, None).apply(doc) is None
    assert from_params("a.b,g", None, None).apply(doc) == {"a": {"b": 1}, "g": 3}
    assert from_params(None, "a", "a.c").apply(doc) == {"a": {"b": 1}}
    assert from_params(None, "d.e", None).apply(doc) == {"d": [{"e": 1}]}
    assert from_params(None, None, "*.c,d").apply(doc) == {"a": {"b": 1}, "g": 3}
    assert from_body({"includes": ["a.*"], "excludes": ["a.b"]}, SourceFilter()).apply(doc) == {"a": {"c": 2}}
    assert from_body(None, SourceFilter(False)).apply(doc) is None


def test_term_on_a_text_field_matches_a_token_as_elasticsearch_does() -> None:
    properties = {"msg": {"type": "text", "fields": {"keyword": {"type": "keyword"}}},
                  "o": {"type": "object", "properties": {"t": {"type": "text"}}}, "k": {"type": "keyword"}}
    text = text_fields(properties)
    assert text == {"msg", "o.t"}
    doc = {"msg": "Disk FULL on /dev/sda", "o": {"t": "Hello"}, "k": "Disk FULL"}

    def hit(query: dict[str, Any]) -> bool:
        return parse_query(query, text).matches("1", doc)

    assert hit({"term": {"msg": "disk"}}) and hit({"term": {"msg": "sda"}}) and hit({"term": {"o.t": "hello"}})
    assert not hit({"term": {"msg": "Disk"}})  # the token is lowercased; the term is not analyzed
    assert hit({"term": {"msg": {"value": "Disk", "case_insensitive": True}}})
    assert not hit({"term": {"msg": "disk full"}})  # no token holds a space
    assert hit({"term": {"msg.keyword": "Disk FULL on /dev/sda"}}) and not hit({"term": {"msg.keyword": "disk"}})
    assert hit({"term": {"k": "Disk FULL"}}) and not hit({"term": {"k": "disk"}})  # keyword: the whole value
    assert hit({"terms": {"msg": ["nope", "full"]}})
