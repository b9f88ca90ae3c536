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
    plain = es.search(index="sp", query={"sparse_vector": {"field": "ml", "query_vector": vector, "prune": False}},
                      size=20)
    assert plain["hits"]["total"]["value"] == 10  # "common" is in every document
    default = es.search(index="sp", query={"sparse_vector": {"field": "ml", "query_vector": vector}}, size=20)
    assert ids(default) == ["1"]  # Elasticsearch 9.1: a sparse_vector field prunes unless told not to
    es.indices.create(index="sp-off", mappings={"properties": {"ml": {"type": "sparse_vector",
                                                                      "index_options": {"prune": False}}}})
    helpers.bulk(es, [{"_index": "sp-off", "_id": str(i), "ml": {"common": 1.0, f"t{i}": 1.0}} for i in range(10)],
                 refresh=True)
    off = es.search(index="sp-off", query={"sparse_vector": {"field": "ml", "query_vector": vector}}, size=20)
    assert off["hits"]["total"]["value"] == 10 and es.count(index="sp-off", query={"sparse_vector": {
        "field": "ml", "query_vector": vector, "prune": True}})["count"] == 1
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
    ignored = es.search(index="sp", size=20, query={"sparse_vector": {  # a config with prune false: no pruning
        "field": "ml", "query_vector": vector, "prune": False, "pruning_config": {"tokens_weight_threshold": 0.9}}})
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


LONG_TEXT = " ".join(f"filler{i}" for i in range(12)) + " quantum physics of black holes"


@pytest.fixture()
def semantic(imported_tiny: dict[str, str], es: Elasticsearch) -> Elasticsearch:
    """An index ``sem`` with a ``semantic_text`` field ``dense`` (word chunks of 10 by the tiny dense model)."""
    es.inference.put(task_type="text_embedding", inference_id="tiny-chunked", inference_config={
        "service": "elasticsearch", "service_settings": {"model_id": imported_tiny["dense"], "num_allocations": 1,
                                                         "num_threads": 1},
        "chunking_settings": {"strategy": "word", "max_chunk_size": 10, "overlap": 0}})
    es.indices.create(index="sem", mappings={"properties": {
        "dense": {"type": "semantic_text", "inference_id": "tiny-chunked"}, "title": {"type": "text"}}})
    helpers.bulk(es, [{"_index": "sem", "_id": "a", "dense": "the cat sat on the mat", "title": "cat"},
                      {"_index": "sem", "_id": "b", "dense": "stock markets fell sharply today", "title": "stocks"},
                      {"_index": "sem", "_id": "c", "dense": LONG_TEXT, "title": "physics"}], refresh=True)
    return es


def test_inference_fields_show_chunks(semantic: Elasticsearch) -> None:
    answer = semantic.search(index="sem", query={"ids": {"values": ["c"]}},
                             fields=["_inference_fields", {"field": "dense", "format": "chunks"}, "title"])
    hit = answer["hits"]["hits"][0]
    assert "_inference_fields" not in hit["_source"] and hit["_source"]["dense"] == LONG_TEXT
    entry = hit["fields"]["_inference_fields"][0]["dense"]["inference"]
    assert entry["inference_id"] == "tiny-chunked" and entry["model_settings"]["task_type"] == "text_embedding"
    chunks = entry["chunks"]["dense"]
    assert [(c["start_offset"], c["end_offset"]) for c in chunks] == [(0, LONG_TEXT.index(" filler10")),
                                                                      (LONG_TEXT.index("filler10"), len(LONG_TEXT))]
    assert len(chunks[0]["embeddings"]) == entry["model_settings"]["dimensions"]
    assert hit["fields"]["dense"] == [LONG_TEXT[:LONG_TEXT.index(" filler10")],
                                      "filler10 filler11 quantum physics of black holes"]
    assert hit["fields"]["title"] == ["physics"]
    everything = semantic.search(index="sem", query={"ids": {"values": ["c"]}}, fields=["*"])
    assert not any(k.startswith("_inference_fields") for k in everything["hits"]["hits"][0]["fields"])


def test_semantic_highlight_shows_the_best_chunks(semantic: Elasticsearch) -> None:
    query = {"semantic": {"field": "dense", "query": "filler10 filler11 quantum physics of black holes"}}
    best = semantic.search(index="sem", query=query, highlight={"fields": {"dense": {
        "type": "semantic", "number_of_fragments": 1}}})
    assert ids(best)[0] == "c"
    assert best["hits"]["hits"][0]["highlight"] == {"dense": ["filler10 filler11 quantum physics of black holes"]}
    every = semantic.search(index="sem", query=query, highlight={"fields": {"dense": {}}})
    fragments = every["hits"]["hits"][0]["highlight"]["dense"]
    assert len(fragments) == 2 and fragments[0].startswith("filler10") and fragments[1].startswith("filler0")
    assert every["hits"]["hits"][1]["highlight"]["dense"] in (["the cat sat on the mat"],
                                                              ["stock markets fell sharply today"])


def test_nested_knn_over_semantic_chunks_with_inner_hits(semantic: Elasticsearch) -> None:
    answer = semantic.search(index="sem", query={"nested": {
        "path": "dense.inference.chunks", "score_mode": "max", "inner_hits": {"size": 1, "_source": ["text"]},
        "query": {"knn": {"field": "dense.inference.chunks.embeddings", "k": 2, "query_vector_builder": {
            "text_embedding": {"model_id": "tiny-chunked",
                               "model_text": "filler10 filler11 quantum physics of black holes"}}}}}})
    assert len(ids(answer)) == 2 and ids(answer)[0] == "c"  # k counts documents, each by its best chunk
    assert answer["hits"]["hits"][0]["_score"] == pytest.approx(1.0, abs=1e-4)
    inner = answer["hits"]["hits"][0]["inner_hits"]["dense.inference.chunks"]["hits"]
    assert inner["total"]["value"] == 2
    assert inner["hits"][0]["_nested"] == {"field": "dense.inference.chunks", "offset": 1}
    assert inner["hits"][0]["_source"] == {"text": "filler10 filler11 quantum physics of black holes"}


def test_count_and_point_in_time_see_the_mappings_too(semantic: Elasticsearch) -> None:
    query = {"semantic": {"field": "dense", "query": "quantum physics"}}
    assert semantic.count(index="sem", query=query)["count"] == 3  # embedded by the field's endpoint, as _search
    nested = {"nested": {"path": "dense.inference.chunks", "query": {"match_all": {}}}}
    assert semantic.count(index="sem", query=nested)["count"] == 3
    pit = semantic.open_point_in_time(index="sem", keep_alive="1m")["id"]
    try:
        answer = semantic.search(pit={"id": pit}, query=query, sort=["_score"])
        assert ids(answer)[0] == "c"
        with pytest.raises(ApiError) as err:
            semantic.search(pit={"id": pit}, query={"nested": {"path": "title", "query": {"match_all": {}}}})
        assert err.value.meta.status == 400 and "failed to find nested object under path [title]" in str(
            err.value.body)
    finally:
        semantic.close_point_in_time(id=pit)
