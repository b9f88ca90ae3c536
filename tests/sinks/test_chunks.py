"""Chunked inference results at the cluster-sink boundary: ``_inference_fields.<out>`` → nested ``<out>_chunks``.

The cluster tests run a real pipeline (the tiny model behind a word-chunking endpoint) in a real job writing to
Elasticsearch 8 and 9 and OpenSearch, then search the chunks with a nested k-NN query.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.models.results import TaskType
from ingest.processors.chunking import word_chunks
from ingest.sinks import open_sink
from ingest.sinks.base import BulkAction, FieldHint
from ingest.sinks.cluster.chunks import nest_action, nest_chunks
from ingest.sinks.cluster.sink import ClusterSink
from tests.models.tiny import WORDS, make_tiny_model
from tests.sinks.conftest import Target

CLUSTERS = [
    pytest.param("elasticsearch", marks=pytest.mark.cluster),
    pytest.param("elasticsearch9", marks=pytest.mark.cluster),
    pytest.param("opensearch", marks=pytest.mark.cluster),
]
CHUNK_WORDS = 10


def _stored(text: str) -> dict[str, Any]:
    """A document as the inference processor leaves it for a three-chunk input (dense, tiny vectors)."""
    spans = word_chunks(text, 3, 0)
    units = [[0.6, 0.8], [0.8, 0.6], [1.0, 0.0]]  # unit length, so dot_product similarity takes them too
    chunks = [{"start_offset": s, "end_offset": e, "embeddings": units[i]} for i, (s, e) in enumerate(spans)]
    return {"body": {"text": text}, "ml": {"vec": [0.6, 0.8]}, "_inference_fields": {"ml.vec": {"inference": {
        "inference_id": "e", "model_settings": {"task_type": "text_embedding", "dimensions": 2, "element_type": "float"},
        "chunks": {"body.text": chunks}}}}}


def test_inference_fields_become_nested_chunks_with_their_text() -> None:
    text = "one two three four five six seven"
    doc = _stored(text)
    before = copy.deepcopy(doc)
    out, fields = nest_chunks(doc)
    assert doc == before  # the caller's document is untouched
    assert "_inference_fields" not in out and out["ml"]["vec"] == [0.6, 0.8]
    assert [(f.path, f.output, f.kind, f.dims) for f in fields] == [("ml.vec_chunks", "ml.vec", "dense", 2)]
    assert out["ml"]["vec_chunks"] == [
        {"text": "one two three", "start_offset": 0, "end_offset": 13, "embeddings": [0.6, 0.8]},
        {"text": "four five six", "start_offset": 14, "end_offset": 27, "embeddings": [0.8, 0.6]},
        {"text": "seven", "start_offset": 28, "end_offset": 33, "embeddings": [1.0, 0.0]},
    ]
    # Without the input in the document there is no text to cut; offsets and vectors still go.
    del doc["body"]
    out, _ = nest_chunks(doc)
    assert [sorted(c) for c in out["ml"]["vec_chunks"]] == [["embeddings", "end_offset", "start_offset"]] * 3


def test_arrow_padding_and_sparse_chunks() -> None:
    # Rows of one Arrow batch carry the keys other rows have, as nulls (also inside sparse structs).
    doc = {"t": "a b", "_inference_fields": {"vec": None, "tok": {"inference": {"chunks": {"t": [
        {"start_offset": 0, "end_offset": 1, "embeddings": {"a": 1.5, "zero": 0.0, "pad": None}}], "other": None}}}}}
    out, fields = nest_chunks(doc)
    assert out == {"t": "a b", "tok_chunks": [{"text": "a", "start_offset": 0, "end_offset": 1,
                                               "embeddings": {"a": 1.5, "zero": 0.0}}]}
    assert [(f.kind, f.dims) for f in fields] == [("sparse", None)]
    positive, _ = nest_chunks(doc, lambda w: {k: v for k, v in w.items() if v > 0})
    assert positive["tok_chunks"][0]["embeddings"] == {"a": 1.5}
    assert nest_chunks({"x": 1, "_inference_fields": None}) == ({"x": 1}, [])
    update, found = nest_action(BulkAction("update", "i", "1", {"doc": _stored("a b c d"), "doc_as_upsert": True}))
    assert update.source is not None and "vec_chunks" in update.source["doc"]["ml"] and len(found) == 1


@pytest.mark.parametrize("bad, message", [
    ({"vec": {"inference": {}}}, "[_inference_fields.vec] has no [inference.chunks] object"),
    ({"vec": {"inference": {"chunks": {"t": [{"start_offset": 3, "end_offset": 1, "embeddings": [1.0]}]}}}},
     "[_inference_fields.vec.inference.chunks.t[0]] needs integer [start_offset] <= [end_offset], got [3] and [1]"),
    ({"vec": {"inference": {"chunks": {"t": [{"start_offset": 0, "end_offset": 1, "embeddings": "x"}]}}}},
     "[_inference_fields.vec.inference.chunks.t[0].embeddings] must be a list of numbers or a token → weight object"),
    ([1, 2], "[_inference_fields] must be an object, got list"),
])
def test_malformed_inference_fields_are_named(bad: Any, message: str) -> None:
    with pytest.raises(ValueError) as info:
        nest_chunks({"t": "abc", "_inference_fields": bad})
    assert str(info.value) == message


def test_existing_field_is_not_overwritten() -> None:
    doc = _stored("a b c d")
    doc["ml"]["vec_chunks"] = "mine"
    with pytest.raises(ValueError, match=r"field \[ml.vec_chunks\] already exists"):
        nest_chunks(doc)


def test_embedded_store_keeps_inference_fields(ingest_home: Path) -> None:
    store = open_sink("embedded")
    store.ensure_index("kept", {"ml.vec": FieldHint("dense", 2, "cosine")})
    doc = _stored("one two three four")
    assert store.write([BulkAction("index", "kept", "1", doc)])[0].status == 201
    got = store.get("kept", "1")  # type: ignore[attr-defined]
    store.close()
    assert got["_inference_fields"] == doc["_inference_fields"] and "vec_chunks" not in got["ml"]


# --- real clusters -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chunk_models(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tiny-chunks")
    dense = make_tiny_model(folder, TaskType.TEXT_EMBEDDING)
    sparse = make_tiny_model(folder, TaskType.SPARSE_EMBEDDING)
    return dense.onnx_path, sparse.onnx_path


@pytest.fixture()
def chunked_endpoints(ingest_home: Path, chunk_models: tuple[Path, Path]) -> Iterator[None]:
    """``tiny-chunked`` (dense) and ``tiny-sparse-chunked``: word chunks of ten words, no overlap."""
    from ingest.models.api import InferenceAPI
    from ingest.models.imported import import_model

    import_model(chunk_models[0], "tiny-dense", TaskType.TEXT_EMBEDDING)
    import_model(chunk_models[1], "tiny-sparse", TaskType.SPARSE_EMBEDDING)
    api = InferenceAPI()
    chunking = {"strategy": "word", "max_chunk_size": CHUNK_WORDS, "overlap": 0}
    for endpoint, model, task in (("tiny-chunked", "tiny-dense", "text_embedding"),
                                  ("tiny-sparse-chunked", "tiny-sparse", "sparse_embedding")):
        api.put(endpoint, {"service": "elasticsearch", "chunking_settings": chunking, "service_settings": {
            "model_id": model, "num_allocations": 1, "num_threads": 1}}, task_type=task)
    api.close()
    yield


def _long_text(seed: int, words: int) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def _search(t: Target, index: str, kind: str, vector: list[float]) -> dict[str, Any]:
    if kind == "opensearch":
        body: dict[str, Any] = {"_source": False, "query": {"nested": {
            "path": "vec_chunks", "score_mode": "max", "inner_hits": {"size": 1, "_source": False},
            "query": {"knn": {"vec_chunks.embeddings": {"vector": vector, "k": 5}}}}}}
    else:
        body = {"_source": False, "knn": {"field": "vec_chunks.embeddings", "query_vector": vector, "k": 3,
                                           "num_candidates": 20, "inner_hits": {"size": 1, "_source": False}}}
    status, found = t.http("POST", f"/{index}/_search", body)
    assert status == 200, found
    return dict(found)


def _job(t: Target, tmp_path: Path, endpoint: str, output: str, texts: dict[str, str]) -> str:
    """Run a job (JSONL → one-processor inference pipeline → the cluster); return the index it wrote."""
    from ingest.jobs import JobConfig, run_job

    name = f"{t.name}-{output}"
    source, pipeline = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.json"
    source.write_text("".join(json.dumps({"doc_id": k, "text": v}) + "\n" for k, v in texts.items()), encoding="utf-8")
    pipeline.write_text(json.dumps({"processors": [{"inference": {
        "model_id": endpoint, "input_output": {"input_field": "text", "output_field": output}}}]}), encoding="utf-8")
    index = t.index(f"chunks-{name}")
    assert t.url is not None
    summary = run_job(JobConfig(source=str(source), index=index, dest=t.url, pipeline=str(pipeline),
                                id_field="doc_id", job_id=index, skip_unchanged=False))
    assert (summary.indexed, summary.failed) == (len(texts), 0), summary  # nothing dead-lettered
    return index


def _check_chunks(t: Target, index: str, output: str, texts: dict[str, str]) -> dict[str, Any]:
    """Every long text has one ``<output>_chunks`` entry per chunk, offsets and text matching; short ones none."""
    stored = {doc_id: t.get(index, doc_id) for doc_id in texts}
    for doc_id, text in texts.items():
        doc = stored[doc_id]
        assert doc is not None and "_inference_fields" not in doc and doc[output]
        spans = word_chunks(text, CHUNK_WORDS, 0)
        if len(spans) == 1:
            assert f"{output}_chunks" not in doc
            continue
        chunks = doc[f"{output}_chunks"]
        assert [(c["start_offset"], c["end_offset"]) for c in chunks] == spans
        assert [c["text"] for c in chunks] == [text[s:e] for s, e in spans]
    return stored


@pytest.mark.parametrize("kind", CLUSTERS)
def test_pipeline_job_writes_searchable_chunks(request: pytest.FixtureRequest, kind: str, chunked_endpoints: None,
                                               tmp_path: Path) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    t = Target(kind, open_sink(url), url=url)
    texts = {f"long{i}": _long_text(i, 35) for i in range(3)} | {"short": "hello world"}
    assert [len(word_chunks(v, CHUNK_WORDS, 0)) for v in texts.values()] == [4, 4, 4, 1]

    index = _job(t, tmp_path, "tiny-chunked", "vec", texts)
    _, mapping = t.http("GET", f"/{index}/_mapping")
    props = mapping[index]["mappings"]["properties"]
    assert "_inference_fields" not in props
    chunk_props = props["vec_chunks"]["properties"]
    assert props["vec_chunks"]["type"] == "nested" and chunk_props["text"]["type"] == "text"
    assert chunk_props["start_offset"] == chunk_props["end_offset"] == {"type": "integer"}
    # the chunk vectors are mapped exactly like the top-level vector (dims, similarity, index options)
    assert chunk_props["embeddings"] == props["vec"]
    assert props["vec"]["type"] == ("knn_vector" if kind == "opensearch" else "dense_vector")
    stored = _check_chunks(t, index, "vec", texts)
    assert all(len(c["embeddings"]) == 32 for d in stored.values() if d and "vec_chunks" in d for c in d["vec_chunks"])

    # A chunk's own vector finds its document first, with that chunk as the best inner hit.
    target = stored["long1"]
    assert target is not None
    found = _search(t, index, kind, target["vec_chunks"][2]["embeddings"])
    top = found["hits"]["hits"][0]
    assert top["_id"] == "long1", found["hits"]["hits"]
    best = top["inner_hits"]["vec_chunks"]["hits"]["hits"][0]
    assert best["_nested"] == {"field": "vec_chunks", "offset": 2}

    # Sparse chunks: sparse_vector (Elasticsearch) / rank_features (OpenSearch) inside the nested field.
    index = _job(t, tmp_path, "tiny-sparse-chunked", "tokens", texts)
    _, mapping = t.http("GET", f"/{index}/_mapping")
    props = mapping[index]["mappings"]["properties"]
    assert props["tokens_chunks"]["type"] == "nested"
    assert props["tokens_chunks"]["properties"]["embeddings"] == props["tokens"]
    assert props["tokens"]["type"] == ("rank_features" if kind == "opensearch" else "sparse_vector")
    stored = _check_chunks(t, index, "tokens", texts)
    assert all(c["embeddings"] and min(c["embeddings"].values()) > 0
               for d in stored.values() if d and "tokens_chunks" in d for c in d["tokens_chunks"])
    t.sink.close()


@pytest.mark.parametrize("kind", CLUSTERS)
def test_raw_inference_fields_are_not_searchable_vectors(request: pytest.FixtureRequest, kind: str) -> None:
    """Why the sinks nest the chunks: the document as the processor leaves it, sent as is.

    The test nodes (Elasticsearch's integ-test distribution, OpenSearch from plain jars) have no inference
    plugin, so ``_inference_fields`` is not reserved there: it is mapped dynamically as a plain object whose
    embeddings are ``float`` numbers, which no k-NN query can search. (With Elasticsearch's x-pack inference
    plugin it is a metadata field, and a non-semantic_text entry is refused: "Illegal inference field [..] found.")
    """
    url = request.getfixturevalue(f"{kind}_url")
    t = Target(kind, open_sink(url), url=url)
    assert isinstance(t.sink, ClusterSink)
    index = t.index(f"raw-{kind}")
    t.sink.ensure_index(index, {"ml.vec": FieldHint("dense", 2, "cosine")})
    lines = t.sink._lines(BulkAction("index", index, "1", _stored("one two three four")))
    _, body = t.sink._call("POST", "/_bulk", body=("\n".join(lines) + "\n").encode(), ndjson=True)
    assert body["items"][0]["index"]["status"] == 201, body
    _, mapping = t.http("GET", f"/{index}/_mapping")
    raw = mapping[index]["mappings"]["properties"]["_inference_fields"]["properties"]["ml"]["properties"]["vec"]
    chunk = raw["properties"]["inference"]["properties"]["chunks"]["properties"]["body"]["properties"]["text"]
    assert chunk["properties"]["embeddings"] == {"type": "float"}
    t.sink.close()


@pytest.mark.parametrize("kind", CLUSTERS)
def test_chunks_arriving_later_are_mapped_and_conflicts_fail_alone(request: pytest.FixtureRequest, kind: str) -> None:
    url = request.getfixturevalue(f"{kind}_url")
    t = Target(kind, open_sink(url), url=url)
    index = t.index(f"late-{kind}")
    t.sink.ensure_index(index, {"ml.vec": FieldHint("dense", 2, "dot_product")})
    assert t.sink.write([BulkAction("index", index, "short", {"ml": {"vec": [0.6, 0.8]}})])[0].status == 201
    # A second sender's sink (as a job's extra senders get) meets the first chunks: it maps them first.
    other = open_sink(url)
    results = other.write([BulkAction("index", index, "long", _stored("one two three four five six seven")),
                           BulkAction("index", index, "bad", {"_inference_fields": {"x": {"inference": {}}}})])
    assert results[0].status == 201, results[0]
    assert results[1].status == 400 and results[1].error is not None
    assert results[1].error["type"] == "document_parsing_exception"
    assert "[_inference_fields.x] has no [inference.chunks] object" in results[1].error["reason"]
    _, mapping = t.http("GET", f"/{index}/_mapping")
    ml = mapping[index]["mappings"]["properties"]["ml"]["properties"]
    assert ml["vec_chunks"]["type"] == "nested" and ml["vec_chunks"]["properties"]["embeddings"] == ml["vec"]
    stored = t.get(index, "long")
    assert stored is not None and [c["text"] for c in stored["ml"]["vec_chunks"]] == ["one two three", "four five six",
                                                                                      "seven"]

    # A field already mapped otherwise: those documents fail with the reason, the others of the bulk go.
    clash = t.index(f"clash-{kind}")
    t.sink.ensure_index(clash, {"ml.vec": FieldHint("dense", 2, "cosine")})
    t.http("PUT", f"/{clash}/_mapping", {"properties": {"ml": {"properties": {"vec_chunks": {"type": "keyword"}}}}})
    results = other.write([BulkAction("index", clash, "1", _stored("one two three four")),
                           BulkAction("index", clash, "2", {"ml": {"vec": [1.0, 0.0]}})])
    assert [r.status for r in results] == [400, 201]
    assert results[0].error is not None and "mapper [ml.vec_chunks] of index" in results[0].error["reason"]
    assert "cannot hold the dense chunks of [ml.vec]" in results[0].error["reason"]
    other.close()
    t.sink.close()
