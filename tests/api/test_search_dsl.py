"""The query DSL extras through the official client: ``sparse_vector`` pruning, retrievers ``linear`` and
``text_similarity_reranker``, ``nested`` with ``inner_hits``, ``highlight``, ``fields: ["_inference_fields"]``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch, helpers


@pytest.fixture()
def es(live_server: tuple[str, object]) -> Iterator[Elasticsearch]:
    client = Elasticsearch(live_server[0], request_timeout=30)
    yield client
    client.close()


def ids(answer: Any) -> list[str]:
    return [h["_id"] for h in answer["hits"]["hits"]]


def _sparse(es: Elasticsearch) -> None:
    es.indices.create(index="sp", mappings={"properties": {"ml": {"type": "sparse_vector"}}})
    docs = [{"_index": "sp", "_id": str(i), "ml": {"common": 1.0, f"t{i}": 1.0}} for i in range(10)]
    helpers.bulk(es, docs, refresh=True)


def test_sparse_vector_prune_drops_frequent_light_tokens(es: Elasticsearch) -> None:
    _sparse(es)
    vector = {"common": 0.3, "t1": 1.0, "absent": 5.0}
    plain = es.search(index="sp", query={"sparse_vector": {"field": "ml", "query_vector": vector}}, size=20)
    assert plain["hits"]["total"]["value"] == 10  # "common" is in every document
    pruned = es.search(index="sp", query={"sparse_vector": {"field": "ml", "query_vector": vector, "prune": True}})
    # average frequency ratio 20/10/11 ≈ 0.18; "common" (ratio 1 > 5 × 0.18, weight 0.3 < 0.4 × 1) is pruned
    assert ids(pruned) == ["1"] and pruned["hits"]["hits"][0]["_score"] == pytest.approx(1.0)
    inverted = es.search(index="sp", size=20, query={"sparse_vector": {
        "field": "ml", "query_vector": vector, "prune": True, "pruning_config": {"only_score_pruned_tokens": True}}})
    assert inverted["hits"]["total"]["value"] == 10
    assert [h["_score"] for h in inverted["hits"]["hits"]] == pytest.approx([0.3] * 10)
    heavy = es.search(index="sp", size=20, query={"sparse_vector": {  # the best weight counts absent tokens too
        "field": "ml", "query_vector": {"common": 0.3, "t1": 1.0}, "prune": True, "pruning_config": {"tokens_weight_threshold": 0.2}}})
    assert heavy["hits"]["total"]["value"] == 10 and heavy["hits"]["hits"][0]["_id"] == "1"
    ignored = es.search(index="sp", size=20, query={"sparse_vector": {  # a config without prune: no pruning
        "field": "ml", "query_vector": vector, "pruning_config": {"tokens_weight_threshold": 0.9}}})
    assert ignored["hits"]["total"]["value"] == 10
    expansion = es.search(index="sp", size=20, query={"text_expansion": {"ml": {
        "query_vector": vector, "pruning_config": {"tokens_freq_ratio_threshold": 5}}}})
    assert ids(expansion) == ["1"]
    with pytest.raises(ApiError) as err:
        es.search(index="sp", query={"sparse_vector": {"field": "ml", "query_vector": vector, "prune": True,
                                                       "pruning_config": {"tokens_freq_ratio_threshold": 0}}})
    assert err.value.meta.status == 400
    assert "[tokens_freq_ratio_threshold] must be between [1] and [100]" in str(err.value.body)
