"""enrich with in-memory enrich indices: Elasticsearch's documented match and range examples."""

from __future__ import annotations

from typing import Any

import pytest

from ingest.models.errors import ElasticsearchError
from ingest.processors import parse_pipeline
from ingest.processors.enrich import EnrichIndex, EnrichPolicy
from ingest.processors.errors import ParseException
from ingest.processors.simulate import simulate
from tests.processors.helpers import error_of

USERS: list[dict[str, Any]] = [{"email": "mardy.brown@asciidocsmith.com", "first_name": "Mardy", "last_name": "Brown",
          "city": "New Orleans", "county": "Orleans", "state": "LA", "zip": 70116,
          "web": "mardy.asciidocsmith.com"},
         {"first_name": "No", "last_name": "Email"}]


def _index() -> EnrichIndex:
    index = EnrichIndex()
    users = EnrichPolicy.from_body("users-policy", {"match": {
        "indices": "users", "match_field": "email", "enrich_fields": ["first_name", "last_name", "city", "zip",
                                                                     "state"]}})
    assert index.execute(users, USERS) == 1  # the document without the match field is left out
    networks = EnrichPolicy.from_body("networks-policy", {"range": {
        "indices": "networks", "match_field": "range", "enrich_fields": ["name", "department"]}})
    index.execute(networks, [{"range": "10.100.0.0/16", "name": "production", "department": "OPS"},
                             {"range": "10.0.0.0/8", "name": "corp", "department": "IT"},
                             {"range": {"gte": 100, "lt": 200}, "name": "numbers", "department": "N"}])
    return index


def _run(procs: list[dict[str, Any]], source: dict[str, Any], index: EnrichIndex | None) -> dict[str, Any]:
    pipeline = parse_pipeline("p", {"processors": procs})
    pipeline.enrich = index
    doc: dict[str, Any] = simulate(pipeline, {"docs": [{"_source": source}]}, False)["docs"][0]
    return doc


def test_match_policy_docs_example() -> None:
    procs = [{"enrich": {"policy_name": "users-policy", "field": "email", "target_field": "user",
                         "max_matches": "1"}}]
    out = _run(procs, {"email": "mardy.brown@asciidocsmith.com"}, _index())["doc"]["_source"]
    assert out["user"] == {"email": "mardy.brown@asciidocsmith.com", "first_name": "Mardy", "last_name": "Brown",
                           "zip": 70116, "city": "New Orleans", "state": "LA"}
    assert _run(procs, {"email": "nobody@example.com"}, _index())["doc"]["_source"] == {"email": "nobody@example.com"}


def test_range_policy_docs_example() -> None:
    procs = [{"enrich": {"policy_name": "networks-policy", "field": "ip", "target_field": "network",
                         "max_matches": 10}}]
    out = _run(procs, {"ip": "10.100.34.1"}, _index())["doc"]["_source"]
    assert out["network"] == [{"range": "10.100.0.0/16", "name": "production", "department": "OPS"},
                              {"range": "10.0.0.0/8", "name": "corp", "department": "IT"}]
    numbers = _run(procs, {"ip": 150}, _index())["doc"]["_source"]
    assert [n["name"] for n in numbers["network"]] == ["numbers"]
    assert "network" not in _run(procs, {"ip": 200}, _index())["doc"]["_source"]  # lt is exclusive


def test_override_and_missing() -> None:
    base = {"policy_name": "users-policy", "field": "email", "target_field": "user"}
    kept = _run([{"enrich": {**base, "override": False}}], {"email": "mardy.brown@asciidocsmith.com", "user": 1},
                _index())
    assert kept["doc"]["_source"]["user"] == 1
    assert _run([{"enrich": {**base, "ignore_missing": True}}], {}, _index())["doc"]["_source"] == {}
    assert _run([{"enrich": base}], {}, _index())["error"]["reason"] == \
        "field [email] not present as part of path [email]"


def test_errors() -> None:
    procs = [{"enrich": {"policy_name": "users-policy", "field": "email", "target_field": "user"}}]
    reason = error_of(procs, {"email": "x"})["reason"]
    assert reason.startswith("no enrich index exists for policy with name [users-policy] (the _enrich/policy APIs")
    assert _run(procs, {"email": "x"}, EnrichIndex())["error"]["reason"] == \
        "no enrich index exists for policy with name [users-policy]"
    with pytest.raises(ParseException, match=r"\[max_matches\] should be between 1 and 128"):
        parse_pipeline("p", {"processors": [{"enrich": {**procs[0]["enrich"], "max_matches": 129}}]})
    with pytest.raises(ElasticsearchError, match="geo_match enrich policies are not supported here"):
        EnrichIndex().execute(EnrichPolicy("g", "geo_match", "shape", ("name",)), [])
