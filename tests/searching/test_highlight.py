"""Highlighting without a cluster: answers the Elasticsearch 9 test node gave for the same text and query
(recorded from tests/api/test_search_dsl_es.py), so the passage rules stay checked in every run."""

from __future__ import annotations

from typing import Any

from ingest.query.dsl import parse_query
from ingest.searching.highlight import highlight
from ingest.searching.queries import QUERY_TYPES
from tests.api.test_search_dsl_es import LONG
from tests.api.test_search_es import _docs

BODIES = {d["_id"]: d["body"] for d in _docs()}


def _show(query: dict[str, Any], spec: dict[str, Any], source: dict[str, Any]) -> dict[str, list[str]]:
    return highlight(spec, parse_query(query, frozenset(), QUERY_TYPES), source)


def test_sentence_passages_up_to_the_fragment_size() -> None:
    got = _show({"match": {"body": "cloud fox"}}, {"fields": {"body": {}}}, {"body": LONG})
    assert got == {"body": [
        "The quick brown <em>fox</em> jumps over the lazy dog. The quick brown <em>fox</em> jumps over the lazy dog.",
        "The quick brown <em>fox</em> jumps over the lazy dog. <em>Cloud</em> storage is a service.",
        "The final <em>cloud</em> storage mention is here."]}
    phrase = _show({"match_phrase": {"body": "cloud storage"}}, {"fields": {"body": {}}}, {"body": LONG})
    assert phrase["body"][-1] == "The final <em>cloud storage</em> mention is here."


def test_long_sentences_are_cut_around_the_middle_of_the_match() -> None:
    spec = {"fields": {"body": {"fragment_size": 30, "number_of_fragments": 2}}}
    query = {"match": {"body": "storage index"}}
    assert _show(query, spec, {"body": BODIES["d64"]}) == {"body": [
        "database memory server disk <em>storage</em>", "rust disk vector cloud python <em>index</em>"]}
    assert _show(query, spec, {"body": BODIES["d5"]}) == {"body": [
        "engine mountain river rust engine <em>index</em>", "<em>index</em> fox memory cat"]}
    assert _show(query, spec, {"body": BODIES["d12"]}) == {"body": [
        "token python engine model river <em>index</em>", "<em>index</em>"]}  # every match weighs the same


def test_terms_weigh_by_frequency_without_field_match() -> None:
    spec = {"require_field_match": False, "pre_tags": ["<b>"], "post_tags": ["</b>"],
            "fields": {"body": {"fragment_size": 30, "number_of_fragments": 2}}}
    got = _show({"match": {"title": "cloud fox"}}, spec, {"body": LONG})
    assert got == {"body": ["<b>Cloud</b> storage is a service.", "The final <b>cloud</b> storage mention"]}
