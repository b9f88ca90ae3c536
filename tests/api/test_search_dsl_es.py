"""The DSL extras on ``ingest serve`` and on the Elasticsearch 9 test node, over the same documents: ``match_phrase``
with ``slop`` and ``term`` give the same documents with the same scores, ``nested`` the same top hits and inner
hits, ``highlight`` the same highlighted terms."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch, helpers

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
def clients(live_server: tuple[str, InferenceAPI], elasticsearch9_url: str
            ) -> Iterator[tuple[Elasticsearch, Elasticsearch]]:
    """Both engines with test_search_es's documents in ``xcheck`` (deleted afterwards: the node is shared)."""
    ours, theirs = Elasticsearch(live_server[0], request_timeout=60), Elasticsearch(elasticsearch9_url, request_timeout=60)
    for es in (ours, theirs):
        if es.indices.exists(index="xcheck"):
            es.indices.delete(index="xcheck")
        _load(es)
    yield ours, theirs
    theirs.indices.delete(index="xcheck")


def test_slop_and_term_scores_agree_with_elasticsearch(clients: tuple[Elasticsearch, Elasticsearch]) -> None:
    ours, theirs = clients
    for query in SCORED:
        mine, real = _scores(ours, query), _scores(theirs, query)
        assert real, query  # the query finds something, so the comparison means something
        assert set(mine) == set(real), query
        for doc, score in real.items():
            assert mine[doc] == pytest.approx(score, rel=2e-3), (query, doc)


LONG = (("The quick brown fox jumps over the lazy dog. " * 3) + "Cloud storage is a service. Another sentence about "
        "databases and servers here. " + ("Filler words go on and on without end. " * 4)
        + "The final cloud storage mention is here.")
NESTED_MAPPINGS = {"properties": {
    "body": {"type": "text"}, "title": {"type": "text"}, "tag": {"type": "keyword"}, "notes": {"type": "text"},
    "comments": {"type": "nested", "properties": {"text": {"type": "text"}, "n": {"type": "integer"}}}}}
NESTED_DOCS = [
    {"_id": "1", "body": LONG, "title": "Cloud storage fox", "tag": "red",
     "notes": ["the fox is in the cloud", "nothing here at all", "cloud storage <b>rocks</b> & more 'quoted'"],
     "comments": [{"text": "fox is quick", "n": 1}, {"text": "cloud cloud storage", "n": 2}, {"text": "nothing", "n": 3}]},
    {"_id": "2", "body": "cloud storage and a fox", "title": "other", "tag": "blue",
     "comments": [{"text": "a dog", "n": 1}, {"text": "the fox and the cloud", "n": 2}]},
    {"_id": "3", "body": "nothing to see", "title": "fox fox", "tag": "red", "comments": []},
]
HIGHLIGHTS: list[dict[str, Any]] = [  # compared on the whole highlight of every hit
    {"query": {"match": {"body": "cloud fox"}}, "highlight": {"fields": {"body": {}}}},
    {"query": {"match_phrase": {"body": "cloud storage"}}, "highlight": {"fields": {"body": {}}}},
    {"query": {"match": {"body": "cloud fox"}}, "highlight": {"fields": {"body": {"number_of_fragments": 0},
                                                                          "title": {}}}},
    {"query": {"match": {"body": "cloud fox"}},
     "highlight": {"require_field_match": False, "pre_tags": ["<b>"], "post_tags": ["</b>"],
                   "fields": {"body": {"fragment_size": 30, "number_of_fragments": 2}, "title": {}}}},
    {"query": {"bool": {"must": [{"match": {"title": "fox"}}], "filter": [{"term": {"tag": "red"}}]}},
     "highlight": {"fields": {"*": {}}}},
    {"query": {"prefix": {"body": "datab"}}, "highlight": {"fields": {"body": {}}}},
    {"query": {"match_phrase": {"body": {"query": "storage cloud", "slop": 2}}},
     "highlight": {"fields": {"body": {"number_of_fragments": 0}}}},
    {"query": {"match": {"notes": "cloud fox"}}, "highlight": {"fields": {"notes": {}}}},
    {"query": {"match": {"notes": "cloud fox"}}, "highlight": {"fields": {"notes": {"number_of_fragments": 0}}}},
    {"query": {"match": {"notes": "cloud"}}, "highlight": {"fields": {"notes": {"number_of_fragments": 1}}}},
    {"query": {"match": {"notes": "rocks"}}, "highlight": {"encoder": "html", "fields": {"notes": {}}}},
    {"query": {"match": {"notes": "fox"}}, "highlight": {"fields": {"body": {"no_match_size": 20}}}},
    {"query": {"match": {"notes": "fox"}}, "highlight": {"fields": {
        "body": {"highlight_query": {"match": {"body": "databases"}}}}}},
    {"retriever": {"standard": {"query": {"match": {"notes": "fox"}}}}, "highlight": {"fields": {"notes": {}}}},
    {"query": {"match": {"notes": "fox"}}, "highlight": {"tags_schema": "styled",
                                                          "fields": {"notes": {"fragment_size": 5}}}},
]
REFUSED: list[dict[str, Any]] = [  # the same 400 on both
    {"bogus": 1, "fields": {"body": {}}},
    {"fields": {"body": {"bogus": 1}}},
]
NESTED: list[dict[str, Any]] = [  # compared on hits, scores and inner hits
    {"nested": {"path": "comments", "query": {"match": {"comments.text": "cloud fox"}}, "inner_hits": {}}},
    {"nested": {"path": "comments", "score_mode": "max", "query": {"match": {"comments.text": "cloud fox"}},
                "inner_hits": {"size": 1, "name": "best", "_source": False}}},
    {"nested": {"path": "comments", "score_mode": "sum", "query": {"bool": {
        "must": [{"match": {"comments.text": "fox"}}], "filter": [{"range": {"comments.n": {"gte": 2}}}]}}}},
    {"bool": {"should": [{"match": {"title": "fox"}}, {"nested": {
        "path": "comments", "score_mode": "min", "query": {"match": {"comments.text": "cloud"}}}}]}},
]


@pytest.fixture()
def nested_clients(live_server: tuple[str, InferenceAPI], elasticsearch9_url: str
                   ) -> Iterator[tuple[Elasticsearch, Elasticsearch]]:
    ours, theirs = Elasticsearch(live_server[0], request_timeout=60), Elasticsearch(elasticsearch9_url, request_timeout=60)
    for es in (ours, theirs):
        if es.indices.exists(index="hl"):
            es.indices.delete(index="hl")
        es.indices.create(index="hl", mappings=NESTED_MAPPINGS, settings={"number_of_shards": 1,
                                                                          "number_of_replicas": 0})
        for doc in NESTED_DOCS:
            es.index(index="hl", id=doc["_id"], document={k: v for k, v in doc.items() if k != "_id"})
        es.indices.refresh(index="hl")
    yield ours, theirs
    theirs.indices.delete(index="hl")


def test_highlight_agrees_with_elasticsearch(nested_clients: tuple[Elasticsearch, Elasticsearch]) -> None:
    ours, theirs = nested_clients
    for request in HIGHLIGHTS:
        mine, real = (es.search(index="hl", **request) for es in (ours, theirs))
        assert real["hits"]["hits"] and any("highlight" in h for h in real["hits"]["hits"]), request
        assert [(h["_id"], h.get("highlight")) for h in mine["hits"]["hits"]] == [
            (h["_id"], h.get("highlight")) for h in real["hits"]["hits"]], request
    for spec in REFUSED:
        errors = []
        for es in (ours, theirs):
            with pytest.raises(ApiError) as err:
                es.search(index="hl", query={"match": {"body": "fox"}}, highlight=spec)
            errors.append((err.value.meta.status, err.value.body["error"]["type"]))
        assert errors[0] == errors[1], spec


def test_nested_agrees_with_elasticsearch(nested_clients: tuple[Elasticsearch, Elasticsearch]) -> None:
    ours, theirs = nested_clients
    for query in NESTED:
        mine, real = (es.search(index="hl", query=query) for es in (ours, theirs))
        assert real["hits"]["hits"], query
        assert [h["_id"] for h in mine["hits"]["hits"]] == [h["_id"] for h in real["hits"]["hits"]], query
        for a, b in zip(mine["hits"]["hits"], real["hits"]["hits"], strict=True):
            assert a["_score"] == pytest.approx(b["_score"], rel=2e-3), query
            assert set(a.get("inner_hits", {})) == set(b.get("inner_hits", {})), query
            for name, theirs_inner in b.get("inner_hits", {}).items():
                mine_inner = a["inner_hits"][name]["hits"]
                assert mine_inner["total"] == theirs_inner["hits"]["total"]
                assert mine_inner["max_score"] == pytest.approx(theirs_inner["hits"]["max_score"], rel=2e-3)
                strip = [{**h, "_score": round(h["_score"], 3)} for h in theirs_inner["hits"]["hits"]]
                assert [{**h, "_score": round(h["_score"], 3)} for h in mine_inner["hits"]] == strip, query
    inner = {"nested": {"path": "comments", "query": {"match": {"comments.text": "cloud"}},
                        "inner_hits": {"highlight": {"fields": {"comments.text": {}}}}}}
    mine, real = (es.search(index="hl", query=inner) for es in (ours, theirs))
    shown = [[h["highlight"] for h in answer["hits"]["hits"][0]["inner_hits"]["comments"]["hits"]["hits"]]
             for answer in (mine, real)]
    assert shown[0] == shown[1] == [{"comments.text": ["<em>cloud</em> <em>cloud</em> storage"]}]


def _random_requests() -> list[dict[str, Any]]:
    rng = random.Random(7)
    words = ["fox", "dog", "cat", "river", "database", "server", "cloud", "storage", "index", "search", "query"]
    out: list[dict[str, Any]] = []
    for _ in range(40):
        n = rng.choice([2, 2, 3])
        phrase = " ".join(rng.choice(words) for _ in range(n))
        out.append({"match_phrase": {"body": {"query": phrase, "slop": rng.randint(0, 6)}}})
    return out


def test_random_phrases_with_slop_agree_with_elasticsearch(clients: tuple[Elasticsearch, Elasticsearch]) -> None:
    ours, theirs = clients
    compared = 0
    for query in _random_requests():
        mine, real = _scores(ours, query), _scores(theirs, query)
        assert set(mine) == set(real), query
        for doc, score in real.items():
            assert mine[doc] == pytest.approx(score, rel=2e-3), (query, doc)
        compared += len(real)
    assert compared > 100  # enough matching documents for the comparison to mean something


def test_random_highlights_agree_with_elasticsearch(clients: tuple[Elasticsearch, Elasticsearch]) -> None:
    ours, theirs = clients
    rng = random.Random(11)
    words = ["fox", "dog", "cat", "river", "database", "server", "cloud", "storage", "index", "search", "query"]
    for _ in range(15):
        text = " ".join(rng.sample(words, 2))
        for options in ({}, {"fragment_size": 30, "number_of_fragments": 2}, {"number_of_fragments": 0}):
            request = {"query": {"match": {"body": text}}, "size": 20, "highlight": {"fields": {"body": options}}}
            mine, real = (es.search(index="xcheck", **request) for es in (ours, theirs))
            assert {h["_id"]: h.get("highlight") for h in mine["hits"]["hits"]} == {
                h["_id"]: h.get("highlight") for h in real["hits"]["hits"]}, request


def _sparse_docs() -> list[dict[str, Any]]:
    rng = random.Random(23)
    tokens = [f"w{i}" for i in range(30)]
    out = []
    for i in range(60):
        chosen = rng.sample(tokens[:8], 2) + rng.sample(tokens, rng.randint(2, 8))  # w0-w7 are frequent
        out.append({"_id": f"s{i}", "ml": {t: round(rng.uniform(0.1, 3.0), 2) for t in chosen}})
    return out


SPARSE: list[dict[str, Any]] = [
    {"field": "ml", "query_vector": {"w0": 0.2, "w9": 1.5, "w20": 0.8}},  # the field's default: pruned
    {"field": "ml", "query_vector": {"w0": 0.2, "w9": 1.5, "w20": 0.8}, "prune": False},
    {"field": "ml", "query_vector": {"w1": 1.0, "w2": 0.1, "w15": 0.3}, "prune": True},
    {"field": "ml", "query_vector": {"w1": 1.0, "w2": 0.1, "w15": 0.3}, "prune": True,
     "pruning_config": {"tokens_freq_ratio_threshold": 2, "tokens_weight_threshold": 0.2}},
    {"field": "ml", "query_vector": {"w1": 0.1, "w2": 0.05, "w20": 1.0}, "prune": True,
     "pruning_config": {"tokens_freq_ratio_threshold": 1, "only_score_pruned_tokens": True}},
]


def test_sparse_vector_pruning_agrees_with_elasticsearch(live_server: tuple[str, InferenceAPI],
                                                         elasticsearch9_url: str) -> None:
    ours, theirs = Elasticsearch(live_server[0], request_timeout=60), Elasticsearch(elasticsearch9_url, request_timeout=60)
    for es in (ours, theirs):
        es.indices.create(index="spx", mappings={"properties": {"ml": {"type": "sparse_vector"}}},
                          settings={"number_of_shards": 1, "number_of_replicas": 0})
        helpers.bulk(es, [{"_index": "spx", **d} for d in _sparse_docs()], refresh=True)
    try:
        for query in SPARSE:
            answers = [es.search(index="spx", query={"sparse_vector": query}, size=100) for es in (ours, theirs)]
            mine, real = ({h["_id"]: h["_score"] for h in a["hits"]["hits"]} for a in answers)
            assert real and set(mine) == set(real), query
            for doc, score in real.items():  # Elasticsearch keeps feature weights with 9 significant bits
                assert mine[doc] == pytest.approx(score, rel=1e-2), (query, doc)
    finally:
        theirs.indices.delete(index="spx")


def test_refusals_agree_with_elasticsearch(nested_clients: tuple[Elasticsearch, Elasticsearch]) -> None:
    ours, theirs = nested_clients
    for query in ({"nested": {"path": "missing", "query": {"match_all": {}}}},
                  {"nested": {"path": "notes", "query": {"match_all": {}}}},
                  {"nested": {"path": "comments", "score_mode": "bogus", "query": {"match_all": {}}}},
                  {"match_phrase": {"body": {"query": "cloud storage", "slop": -1}}}):
        errors = []
        for es in (ours, theirs):
            with pytest.raises(ApiError) as err:
                es.search(index="hl", query=query)
            errors.append((err.value.meta.status, err.value.body["error"]["type"]))
        assert errors[0] == errors[1], query
    lenient = {"nested": {"path": "missing", "ignore_unmapped": True, "query": {"match_all": {}}}}
    assert [es.search(index="hl", query=lenient)["hits"]["total"]["value"] for es in (ours, theirs)] == [0, 0]
