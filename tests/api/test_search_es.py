"""The same documents and queries on ``ingest serve`` and on the Elasticsearch 9 test node agree on the hits:
BM25 ``match`` (its ranking), ``multi_match``, ``match_phrase``, ``term``/``terms``/``range``/``exists``/``prefix``
and ``bool``, and the totals of ``_count``."""

from __future__ import annotations

import random
from typing import Any

import pytest
from elasticsearch import Elasticsearch, helpers

from ingest.models.api import InferenceAPI

pytestmark = pytest.mark.cluster

WORDS = ["fox", "dog", "cat", "river", "mountain", "database", "server", "disk", "memory", "network", "cloud", "storage", "index", "search", "query", "engine", "vector", "token", "model", "python", "java", "rust"]


def _docs() -> list[dict[str, Any]]:
    rng = random.Random(15)
    out = []
    for i in range(80):
        length = rng.randint(3, 25)
        body = " ".join(rng.choice(WORDS) for _ in range(length))
        out.append({"_id": f"d{i}", "title": " ".join(rng.choice(WORDS) for _ in range(3)), "body": body,
                    "tag": rng.choice(["red", "green", "blue"]), "n": i, **({"opt": i} if i % 3 else {})})
    return out


MAPPINGS = {"properties": {"title": {"type": "text"}, "body": {"type": "text"}, "tag": {"type": "keyword"},
                           "n": {"type": "integer"}, "opt": {"type": "integer"}}}
RANKED: list[dict[str, Any]] = [  # compared on the order of the top hits
    {"match": {"body": "database server"}},
    {"match": {"body": {"query": "vector search engine", "operator": "and"}}},
    {"match": {"body": {"query": "fox dog cat river", "minimum_should_match": "75%"}}},
    {"multi_match": {"query": "python rust", "fields": ["title^2", "body"]}},
    {"match_phrase": {"body": "cloud storage"}},
    {"bool": {"must": [{"match": {"body": "memory"}}], "filter": [{"term": {"tag": "red"}}],
              "should": [{"match": {"title": "network"}}]}},
]
FILTERS: list[dict[str, Any]] = [  # compared on every id, sorted by n
    {"term": {"tag": "blue"}},
    {"terms": {"tag": ["red", "green"]}},
    {"range": {"n": {"gte": 10, "lt": 30}}},
    {"exists": {"field": "opt"}},
    {"prefix": {"body": "data"}},
    {"bool": {"filter": [{"range": {"n": {"gt": 40}}}], "must_not": [{"term": {"tag": "red"}}]}},
    {"bool": {"should": [{"term": {"tag": "red"}}, {"range": {"n": {"lt": 5}}}], "minimum_should_match": 1}},
]


def _load(es: Elasticsearch) -> None:
    es.indices.create(index="xcheck", mappings=MAPPINGS, settings={"number_of_shards": 1, "number_of_replicas": 0})
    helpers.bulk(es, [{"_index": "xcheck", **d} for d in _docs()], refresh=True)


def test_search_agrees_with_elasticsearch(live_server: tuple[str, InferenceAPI], elasticsearch9_url: str) -> None:
    ours, theirs = Elasticsearch(live_server[0], request_timeout=60), Elasticsearch(elasticsearch9_url, request_timeout=60)
    for es in (ours, theirs):
        _load(es)
    for query in RANKED:
        mine, real = (es.search(index="xcheck", query=query, size=5) for es in (ours, theirs))
        assert mine["hits"]["total"] == real["hits"]["total"], query
        assert [h["_id"] for h in mine["hits"]["hits"]] == [h["_id"] for h in real["hits"]["hits"]], query
        assert mine["hits"]["max_score"] == pytest.approx(real["hits"]["max_score"], rel=0.05), query
    for query in FILTERS:
        mine, real = (es.search(index="xcheck", query=query, size=100, sort=[{"n": "asc"}]) for es in (ours, theirs))
        assert [h["_id"] for h in mine["hits"]["hits"]] == [h["_id"] for h in real["hits"]["hits"]], query
        assert ours.count(index="xcheck", query=query)["count"] == theirs.count(index="xcheck", query=query)["count"]
