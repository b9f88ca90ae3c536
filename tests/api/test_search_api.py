"""``_search``, ``_count``, ``_msearch``, scroll and point in time through the official client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch, helpers

DOCS = [
    {"_id": "1", "title": "The quick brown fox", "tag": "animal", "n": 1, "v": [1.0, 0.0]},
    {"_id": "2", "title": "A quick brown dog jumps over the lazy fox", "tag": "animal", "n": 2, "v": [0.9, 0.1]},
    {"_id": "3", "title": "Disk full on the database server", "tag": "ops", "n": 3, "v": [0.0, 1.0]},
    {"_id": "4", "title": "Brown bread recipe", "tag": "food", "n": 4, "v": [0.5, 0.5]},
    {"_id": "5", "title": "fox fox fox", "tag": "animal", "n": 5},
]


@pytest.fixture()
def es(live_server: tuple[str, object]) -> Iterator[Elasticsearch]:
    client = Elasticsearch(live_server[0], request_timeout=30)
    client.indices.create(index="docs", mappings={"properties": {
        "title": {"type": "text"}, "tag": {"type": "keyword"}, "n": {"type": "integer"},
        "v": {"type": "dense_vector", "dims": 2, "similarity": "cosine"}}})
    ops = [{"_index": "docs", "_id": d["_id"], **{k: v for k, v in d.items() if k != "_id"}} for d in DOCS]
    helpers.bulk(client, ops, refresh=True)
    yield client
    client.close()


def ids(answer: object) -> list[str]:
    return [h["_id"] for h in answer["hits"]["hits"]]  # type: ignore[index]


def test_match_bm25_ranks_and_response_shape(es: Elasticsearch) -> None:
    answer = es.search(index="docs", query={"match": {"title": "quick fox"}})
    assert answer["timed_out"] is False and answer["_shards"]["failed"] == 0
    assert answer["hits"]["total"] == {"value": 3, "relation": "eq"}
    assert set(ids(answer)) == {"1", "2", "5"}
    assert ids(answer)[0] in ("1", "5")  # short documents with both/repeated terms first
    assert answer["hits"]["max_score"] == answer["hits"]["hits"][0]["_score"]
    hit = answer["hits"]["hits"][0]
    assert hit["_index"] == "docs" and "title" in hit["_source"]
    both = es.search(index="docs", query={"match": {"title": {"query": "quick fox", "operator": "and"}}})
    assert sorted(ids(both)) == ["1", "2"]


def test_filters_bool_sort_paging_and_source(es: Elasticsearch) -> None:
    answer = es.search(index="docs", query={"bool": {"filter": [{"term": {"tag": "animal"}},
                                                               {"range": {"n": {"gte": 2}}}]}},
                       sort=[{"n": "desc"}], size=1, from_=1, source_includes=["tag"])
    assert answer["hits"]["total"]["value"] == 2
    assert ids(answer) == ["2"] and answer["hits"]["hits"][0]["sort"] == [2]
    assert answer["hits"]["hits"][0]["_source"] == {"tag": "animal"}
    assert answer["hits"]["hits"][0]["_score"] is None
    scored = es.search(index="docs", query={"bool": {"must": [{"match": {"title": "fox"}}],
                                                     "must_not": [{"ids": {"values": ["5"]}}]}})
    assert "5" not in ids(scored) and set(ids(scored)) == {"1", "2"}
    assert es.search(index="docs", query={"match_phrase": {"title": "brown fox"}})["hits"]["total"]["value"] == 1
    assert sorted(ids(es.search(index="docs", query={"prefix": {"title": "bre"}}))) == ["4"]
    assert es.search(index="docs", query={"exists": {"field": "v"}})["hits"]["total"]["value"] == 4


def test_count_with_query_and_msearch(es: Elasticsearch) -> None:
    assert es.count(index="docs")["count"] == 5
    assert es.count(index="docs", query={"term": {"tag": "animal"}})["count"] == 3
    answer = es.msearch(searches=[{"index": "docs"}, {"query": {"term": {"tag": "ops"}}},
                                  {"index": "docs"}, {"query": {"bogus": {}}}])
    first, second = answer["responses"]
    assert ids(first) == ["3"] and first["status"] == 200
    assert second["status"] == 400 and second["error"]["type"] == "parsing_exception"


def test_unknown_query_is_a_parsing_exception(es: Elasticsearch) -> None:
    with pytest.raises(ApiError) as err:
        es.search(index="docs", query={"bogus": {"x": 1}})
    assert err.value.meta.status == 400
    assert err.value.body["error"]["type"] == "parsing_exception"
    assert err.value.body["error"]["reason"] == "unknown query [bogus]"


def test_knn_prefilter_hybrid_and_rrf(es: Elasticsearch) -> None:
    answer = es.search(index="docs", knn={"field": "v", "query_vector": [1.0, 0.0], "k": 2, "num_candidates": 5})
    assert ids(answer) == ["1", "2"]
    assert answer["hits"]["hits"][0]["_score"] == pytest.approx(1.0)
    filtered = es.search(index="docs", knn={"field": "v", "query_vector": [1.0, 0.0], "k": 2, "num_candidates": 5,
                                            "filter": {"term": {"tag": "ops"}}})
    assert ids(filtered) == ["3"]  # the filter applies before the top-k cut-off, not after
    hybrid = es.search(index="docs", query={"match": {"title": "database"}},
                       knn={"field": "v", "query_vector": [1.0, 0.0], "k": 1, "num_candidates": 5})
    assert set(ids(hybrid)) == {"1", "3"}
    rrf = es.search(index="docs", retriever={"rrf": {"retrievers": [
        {"standard": {"query": {"match": {"title": "fox"}}}},
        {"knn": {"field": "v", "query_vector": [1.0, 0.0], "k": 3, "num_candidates": 5}}]}})
    assert ids(rrf)[0] == "1"  # first of both lists... among the top
    assert rrf["hits"]["hits"][0]["_score"] == pytest.approx(1 / 61 + 1 / 61, rel=0.5)


def test_scroll_scan_and_point_in_time(es: Elasticsearch) -> None:
    scanned = [h["_id"] for h in helpers.scan(es, index="docs", query={"query": {"match_all": {}}}, size=2)]
    assert sorted(scanned) == ["1", "2", "3", "4", "5"]
    pit = es.open_point_in_time(index="docs", keep_alive="1m")["id"]
    es.index(index="docs", id="6", document={"title": "late", "n": 6}, refresh=True)
    seen: list[str] = []
    after = None
    while True:
        page = es.search(pit={"id": pit, "keep_alive": "1m"}, sort=[{"n": "asc"}], size=2,
                         **({"search_after": after} if after else {}))
        if not page["hits"]["hits"]:
            break
        seen += ids(page)
        after = page["hits"]["hits"][-1]["sort"]
    assert seen == ["1", "2", "3", "4", "5"]  # the point in time does not see document 6
    assert es.close_point_in_time(id=pit)["succeeded"] is True
    assert es.count(index="docs")["count"] == 6


def test_changes_are_seen_and_bad_values_are_400(es: Elasticsearch) -> None:
    assert ids(es.search(index="docs", query={"match": {"title": "recipe"}})) == ["4"]
    es.index(index="docs", id="4", document={"title": "Brown rice", "tag": "food", "n": 4}, refresh=True)
    es.index(index="docs", id="7", document={"title": "Bread recipe", "tag": "food", "n": 7}, refresh=True)
    assert ids(es.search(index="docs", query={"match": {"title": "recipe"}})) == ["7"]  # no stale statistics
    es.delete(index="docs", id="7", refresh=True)
    assert es.search(index="docs", query={"match": {"title": "recipe"}})["hits"]["total"]["value"] == 0
    body: dict[str, Any]
    for body in ({"size": "ten"}, {"knn": {"field": "v", "query_vector": [1.0, 0.0], "k": "x"}}, {"aggs": {}}):
        with pytest.raises(ApiError) as err:
            es.search(index="docs", body=body)
        assert err.value.meta.status == 400, body
    assert es.search(index="docs", track_total_hits=False)["hits"].get("total") is None
    assert es.search(index="docs", track_total_hits=2)["hits"]["total"] == {"value": 2, "relation": "gte"}


def test_scroll_clear_and_missing_contexts(es: Elasticsearch) -> None:
    page = es.search(index="docs", scroll="1m", size=2, sort=["_doc"])
    assert len(page["hits"]["hits"]) == 2 and page["hits"]["total"]["value"] == 5
    second = es.scroll(scroll_id=page["_scroll_id"], scroll="1m")
    assert {h["_id"] for h in second["hits"]["hits"]}.isdisjoint(ids(page))
    assert es.clear_scroll(scroll_id=page["_scroll_id"])["num_freed"] == 1
    with pytest.raises(ApiError) as err:
        es.scroll(scroll_id=page["_scroll_id"], scroll="1m")
    assert err.value.meta.status == 404 and err.value.body["error"]["type"] == "search_context_missing_exception"
    with pytest.raises(ApiError) as missing:
        es.search(pit={"id": "no-such-pit", "keep_alive": "1m"})
    assert missing.value.meta.status == 404


def test_rrf_scores_are_reciprocal_ranks(es: Elasticsearch) -> None:
    answer = es.search(index="docs", retriever={"rrf": {"rank_constant": 10, "retrievers": [
        {"standard": {"query": {"term": {"tag": "ops"}}}},
        {"standard": {"query": {"ids": {"values": ["3"]}}}}, {"standard": {"query": {"ids": {"values": ["1", "3"]}}}}]}})
    assert ids(answer)[0] == "3"
    # "3": first, first, and second (after "1", tied at 1.0 and first in _id order)
    assert answer["hits"]["hits"][0]["_score"] == pytest.approx(1 / 11 + 1 / 11 + 1 / 12)


def test_several_indices_and_aliases(es: Elasticsearch) -> None:
    es.index(index="more", id="m1", document={"title": "another quick fox", "tag": "animal", "n": 9}, refresh=True)
    es.indices.put_alias(index="more", name="extra")
    answer = es.search(index="docs,extra", query={"match": {"title": "fox"}}, size=10)
    assert {h["_index"] for h in answer["hits"]["hits"]} == {"docs", "more"}
    assert answer["_shards"]["total"] == 2
    assert es.count(index="d*,more", query={"term": {"tag": "animal"}})["count"] == 4
    with pytest.raises(ApiError) as err:
        es.search(index="ghost")
    assert err.value.meta.status == 404 and err.value.body["error"]["type"] == "index_not_found_exception"


def test_size_zero_has_no_max_score(es: Elasticsearch) -> None:
    """``size: 0`` collects no top hits: ``max_score`` is null as in Elasticsearch (it was the best score), the
    total is still counted; a page past the hits keeps the best score of the query."""
    counted = es.search(index="docs", query={"match": {"title": "fox"}}, size=0)
    assert counted["hits"]["max_score"] is None and counted["hits"]["hits"] == []
    assert counted["hits"]["total"] == {"value": 3, "relation": "eq"}
    past = es.search(index="docs", query={"match": {"title": "fox"}}, from_=10, size=5)
    best = es.search(index="docs", query={"match": {"title": "fox"}}, size=1)["hits"]["max_score"]
    assert past["hits"]["hits"] == [] and past["hits"]["max_score"] == best and best > 0


def test_result_window_is_bounded(es: Elasticsearch) -> None:
    """``from + size`` past ``index.max_result_window`` (10000, or the index's setting) is Elasticsearch's 400
    ``search_phase_execution_exception`` caused by ``illegal_argument_exception``; a scroll's batch the same."""
    with pytest.raises(ApiError) as big:
        es.search(index="docs", from_=9995, size=10)
    assert big.value.status_code == 400 and big.value.error == "search_phase_execution_exception"
    error = big.value.info["error"]
    assert error["root_cause"][0]["type"] == "illegal_argument_exception"
    assert error["caused_by"]["reason"].startswith("Result window is too large, from + size must be less than "
                                                   "or equal to: [10000] but was [10005].")
    assert es.search(index="docs", from_=9990, size=10)["hits"]["hits"] == []  # exactly the window: fine
    with pytest.raises(ApiError) as batch:
        es.search(index="docs", scroll="1m", size=10001)
    assert batch.value.info["error"]["caused_by"]["reason"].startswith(
        "Batch size is too large, size must be less than or equal to: [10000] but was [10001].")
    es.indices.put_settings(index="docs", settings={"index.max_result_window": 3})
    assert len(es.search(index="docs", size=3)["hits"]["hits"]) == 3
    with pytest.raises(ApiError) as small:
        es.search(index="docs", from_=1, size=3)
    assert "less than or equal to: [3] but was [4]" in small.value.info["error"]["caused_by"]["reason"]
