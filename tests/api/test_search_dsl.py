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


TEXTS = {"a": "the cat sat on the mat", "b": "hello world", "c": "a dog on a mat", "d": "search query passage",
         "e": "cat and dog"}


def _texts(es: Elasticsearch) -> None:
    es.indices.create(index="tx", mappings={"properties": {"body": {"type": "text"}, "tag": {"type": "keyword"}}})
    helpers.bulk(es, [{"_index": "tx", "_id": i, "body": t, "tag": "x" if i in "ace" else "y"}
                      for i, t in TEXTS.items()], refresh=True)


def _minmax(scores: dict[str, float]) -> dict[str, float]:
    low, high = min(scores.values()), max(scores.values())
    return {k: (v - low) / (high - low) for k, v in scores.items()}


def test_linear_retriever_weights_normalized_scores(es: Elasticsearch) -> None:
    _texts(es)
    first = {"standard": {"query": {"match": {"body": "cat mat"}}}}
    second = {"standard": {"query": {"match": {"body": "dog"}}}}
    one = {h["_id"]: h["_score"] for h in es.search(index="tx", retriever=first)["hits"]["hits"]}
    two = {h["_id"]: h["_score"] for h in es.search(index="tx", retriever=second)["hits"]["hits"]}
    answer = es.search(index="tx", retriever={"linear": {"retrievers": [
        {"retriever": first, "weight": 2.0, "normalizer": "minmax"},
        {"retriever": second, "weight": 1.0, "normalizer": "minmax"}]}})
    expected = {k: 2.0 * _minmax(one).get(k, 0.0) + _minmax(two).get(k, 0.0) for k in set(one) | set(two)}
    got = {h["_id"]: h["_score"] for h in answer["hits"]["hits"]}
    assert got == pytest.approx(expected) and set(got) == {"a", "c", "e"}
    assert ids(answer) == sorted(expected, key=lambda k: -expected[k])
    raw = es.search(index="tx", retriever={"linear": {"retrievers": [{"retriever": first}, {"retriever": second}]}})
    assert {h["_id"]: h["_score"] for h in raw["hits"]["hits"]} == pytest.approx(
        {k: one.get(k, 0.0) + two.get(k, 0.0) for k in expected})  # normalizer none, weight 1: a plain sum
    with pytest.raises(ApiError) as err:
        es.search(index="tx", retriever={"linear": {"retrievers": [{"retriever": first, "weight": -1}]}})
    assert err.value.meta.status == 400 and "[weight] must be non-negative" in str(err.value.body)


@pytest.fixture()
def reranker(ingest_home: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """The tiny seeded cross-encoder of tests/models/test_rerank.py, imported as ``ce``."""
    from ingest.models import cache
    from ingest.models.imported import import_model
    from ingest.models.results import TaskType
    from tests.models.hf_folder import write_hf_folder
    from tests.models.test_rerank import _cross_encoder
    from tests.models.tiny import make_tiny_model

    monkeypatch.setenv("INGEST_MODEL_CACHE", str(tmp_path / "model-cache"))
    monkeypatch.setattr(cache, "_verified_states", {})
    tiny = make_tiny_model(tmp_path / "tiny", TaskType.TEXT_EMBEDDING)
    folder = write_hf_folder(_cross_encoder(), tmp_path / "ce", tiny.tokenizer_path, masked_lm=False)
    import_model(folder, "ce", TaskType.RERANK)
    return "ce"


def test_text_similarity_reranker_orders_by_the_rerank_endpoint(reranker: str, es: Elasticsearch) -> None:
    _texts(es)
    es.inference.put(task_type="rerank", inference_id="rr", inference_config={
        "service": "elasticsearch", "service_settings": {"model_id": reranker, "num_threads": 1,
                                                         "num_allocations": 1}})
    question = "where did the cat sit"
    relevance = es.inference.rerank(inference_id="rr", query=question, input=list(TEXTS.values()))["rerank"]
    expected = {list(TEXTS)[r["index"]]: r["relevance_score"] for r in relevance}
    child = {"standard": {"query": {"match_all": {}}}}
    answer = es.search(index="tx", retriever={"text_similarity_reranker": {
        "retriever": child, "field": "body", "inference_id": "rr", "inference_text": question}})
    assert ids(answer) == sorted(expected, key=lambda k: -expected[k])
    assert {h["_id"]: h["_score"] for h in answer["hits"]["hits"]} == pytest.approx(expected, rel=1e-4)
    threshold = sorted(expected.values())[2]
    kept = es.search(index="tx", retriever={"text_similarity_reranker": {
        "retriever": child, "field": "body", "inference_id": "rr", "inference_text": question,
        "min_score": threshold}})
    assert len(kept["hits"]["hits"]) == 3
    window = es.search(index="tx", retriever={"text_similarity_reranker": {  # only the child's top 2 reranked
        "retriever": {"standard": {"query": {"term": {"tag": "x"}}}}, "field": "body", "inference_id": "rr",
        "inference_text": question, "rank_window_size": 2}})
    assert set(ids(window)) <= {"a", "c", "e"} and len(ids(window)) == 2
    with pytest.raises(ApiError) as err:
        es.search(index="tx", retriever={"text_similarity_reranker": {"retriever": child, "field": "body",
                                                                      "inference_text": question,
                                                                      "inference_id": "missing"}})
    assert err.value.meta.status in (400, 404)
