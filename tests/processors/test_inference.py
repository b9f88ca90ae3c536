"""The inference processors against real local endpoints (the tiny models; E5 with the realmodel marker)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from ingest.models.errors import ElasticsearchError
from ingest.models.results import TextEmbeddingResults
from ingest.processors import PipelineService
from tests.processors.conftest import CountingAPI

WORDS = ["the", "cat", "sat", "on", "a", "mat", "hello", "world", "dog", "search", "query", "passage"]


def _texts(n: int, words: int = 6) -> list[str]:
    return [" ".join(WORDS[(i + k) % len(WORDS)] for k in range(words)) for i in range(n)]


def _service(api: CountingAPI) -> PipelineService:
    return PipelineService(api.store, api)


def test_one_call_per_batch_and_vectors_match_the_endpoint(tiny_api: CountingAPI) -> None:
    service = _service(tiny_api)
    service.put("embed", {"processors": [
        {"inference": {"model_id": "tiny-dense", "input_output": {"input_field": "text", "output_field": "vec"}}}]})
    texts = _texts(25)
    result = service.load("embed").run(pa.table({"text": texts}))
    assert len(tiny_api.calls) == 1 and tiny_api.calls[0] == texts
    assert result.table.schema.field("vec").type == pa.list_(pa.float32(), 32)
    direct_results = tiny_api.infer("tiny-dense", texts[:3], input_type="ingest")
    assert isinstance(direct_results, TextEmbeddingResults)
    direct = np.asarray(direct_results.embeddings, dtype=np.float64)
    got = np.array(result.table.column("vec").to_pylist()[:3], dtype=np.float64)
    assert np.allclose(got, direct, rtol=1e-5, atol=1e-6)
    assert all(o.status == "indexed" for o in result.outcomes)
    # It went through the columnar path: the processor answers for the whole table at once.
    from ingest.processors.arrow_exec import _try_columnar
    pipeline = service.load("embed")
    table = pa.table({"text": texts[:4]})
    out = _try_columnar(pipeline.processors[0], table, pipeline.env())
    assert out is not None and out.column("vec").to_pylist() == result.table.column("vec").to_pylist()[:4]
    per_doc = pipeline.run(table, columnar=False).table.column("vec").to_pylist()
    assert np.allclose(np.array(per_doc), np.array(out.column("vec").to_pylist()))


def test_bad_documents_fail_alone(tiny_api: CountingAPI) -> None:
    service = _service(tiny_api)
    service.put("embed", {"processors": [
        {"inference": {"model_id": "tiny-dense", "input_output": [{"input_field": "text", "output_field": "vec"}]}}]})
    table = pa.table({"text": pa.array(["hello world", None, "the cat", "dog"], type=pa.string())})
    result = service.load("embed").run(table)
    assert [o.status for o in result.outcomes] == ["indexed", "failed", "indexed", "indexed"]
    assert result.outcomes[1].error is not None
    assert result.outcomes[1].error.reason == "Input field [text] does not exist in the source document"
    assert len(tiny_api.calls) == 1 and len(tiny_api.calls[0]) == 3
    assert result.source_rows == [0, 2, 3]
    ignore = service.parse({"processors": [{"inference": {"model_id": "tiny-dense", "ignore_missing": True,
                                                          "input_output": {"input_field": "text"}}}]})
    result = ignore.run(table)
    assert [o.status for o in result.outcomes] == ["indexed"] * 4
    assert result.table.column("ml").to_pylist()[1] is None


def test_sparse_output_is_a_map_column(tiny_api: CountingAPI) -> None:
    pipeline = _service(tiny_api).parse({"processors": [
        {"inference": {"model_id": "tiny-sparse", "input_output": {"input_field": "t", "output_field": "tokens"}}}]})
    result = pipeline.run(pa.table({"t": ["hello world", "the cat sat"]}))
    assert result.table.schema.field("tokens").type == pa.map_(pa.string(), pa.float32())
    first = dict(result.table.column("tokens").to_pylist()[0])
    assert first and all(w > 0 for w in first.values())


def test_sparse_output_of_a_called_pipeline_is_a_map_column(tiny_api: CountingAPI) -> None:
    # Regression: the column types came from the calling pipeline's processors only, so a called pipeline's
    # sparse output became a struct of every token seen in the batch, null where a document lacked one.
    service = _service(tiny_api)
    service.put("sparse-part", {"processors": [
        {"inference": {"model_id": "tiny-sparse", "input_output": {"input_field": "t", "output_field": "tokens"}}}]})
    pipeline = service.parse({"processors": [{"pipeline": {"name": "sparse-part"}}]})
    for _ in range(2):  # the second batch, too, once the processor knows its kind
        result = pipeline.run(pa.table({"t": ["hello world", "the cat sat"]}))
        assert result.table.schema.field("tokens").type == pa.map_(pa.string(), pa.float32())
        assert all(w is not None for row in result.table.column("tokens").to_pylist() for _, w in row)


def test_simulate_with_inference_and_legacy_target(tiny_api: CountingAPI) -> None:
    out = _service(tiny_api).simulate({"pipeline": {"processors": [
        {"inference": {"model_id": "tiny-dense", "target_field": "ml.out", "field_map": {"body": "text_field"}}}]},
        "docs": [{"_source": {"body": "hello"}}, {"_source": {"body": "world"}}]})
    sources = [d["doc"]["_source"] for d in out["docs"]]
    assert len(sources[0]["ml"]["out"]["predicted_value"]) == 32
    assert sources[0]["ml"]["out"]["model_id"] == "tiny-dense"
    assert len(tiny_api.calls) == 1


def test_chunking_by_endpoint_settings(tiny_api: CountingAPI) -> None:
    pipeline = _service(tiny_api).parse({"processors": [
        {"inference": {"model_id": "tiny-chunked", "input_output": {"input_field": "text", "output_field": "vec"}}}]})
    long_text, short_text = _texts(1, words=25)[0], "hello world"
    result = pipeline.run(pa.table({"text": [long_text, short_text]}))
    assert len(tiny_api.calls) == 1 and len(tiny_api.calls[0]) == 4  # 3 chunks + 1
    rows = result.table.to_pylist()
    assert len(rows[0]["vec"]) == 32
    chunked = rows[0]["_inference_fields"]["vec"]["inference"]
    assert chunked["inference_id"] == "tiny-chunked"
    assert chunked["model_settings"]["task_type"] == "text_embedding"
    chunks = chunked["chunks"]["text"]
    assert chunks[0]["start_offset"] == 0
    assert chunks[-1]["end_offset"] == len(long_text)
    assert long_text[chunks[1]["start_offset"]:chunks[1]["end_offset"]].split() == long_text.split()[10:20]
    assert rows[1]["_inference_fields"] is None


def test_opensearch_processors(tiny_api: CountingAPI) -> None:
    pipeline = _service(tiny_api).parse({"processors": [
        {"text_chunking": {"field_map": {"body": "passages"},
                           "algorithm": {"fixed_token_length": {"token_limit": 4, "overlap_rate": 0.0}}}},
        {"text_embedding": {"model_id": "tiny-dense", "field_map": {"passages": "passage_vecs", "title": "title_vec"},
                            "batch_size": 8}},
        {"sparse_encoding": {"model_id": "tiny-sparse", "field_map": {"title": "title_tokens"},
                             "prune_type": "top_k", "prune_ratio": 3}}]})
    from ingest.processors.simulate import simulate

    out = simulate(pipeline, {"docs": [{"_source": {"title": "hello", "body": "the cat sat on a mat ok"}},
                                       {"_source": {"title": "dog"}}]}, False)
    first = out["docs"][0]["doc"]["_source"]
    assert first["passages"] == ["the cat sat on", "a mat ok"]
    assert [len(v["knn"]) for v in first["passage_vecs"]] == [32, 32]
    assert len(first["title_vec"]) == 32
    assert 0 < len(first["title_tokens"]) <= 3
    second = out["docs"][1]["doc"]["_source"]
    assert "passage_vecs" not in second and len(second["title_vec"]) == 32
    assert len(tiny_api.calls) == 2  # one per model-calling processor, for both documents


def test_unknown_endpoint_rejected_and_referenced_endpoint_protected(tiny_api: CountingAPI) -> None:
    service = _service(tiny_api)
    with pytest.raises(ElasticsearchError) as info:
        service.put("p", {"processors": [{"inference": {"model_id": "ghost",
                                                        "input_output": {"input_field": "a"}}}]})
    assert "ghost" in info.value.reason
    service.put("uses-dense", {"processors": [{"inference": {"model_id": "tiny-dense",
                                                             "input_output": {"input_field": "a"}}}]})
    assert tiny_api.store.pipelines_referencing("tiny-dense") == ["uses-dense"]
    with pytest.raises(ElasticsearchError):
        tiny_api.delete("tiny-dense")


def test_invalid_inference_options() -> None:
    from ingest.processors import parse_pipeline
    with pytest.raises(ElasticsearchError, match="cannot be combined"):
        parse_pipeline("p", {"processors": [{"inference": {"model_id": "m", "input_output": {"input_field": "a"},
                                                           "target_field": "x"}}]})
    with pytest.raises(ElasticsearchError, match="prune_ratio field is required"):
        parse_pipeline("p", {"processors": [{"sparse_encoding": {"model_id": "m", "field_map": {"a": "b"},
                                                                 "prune_type": "top_k"}}]})


@pytest.mark.realmodel
def test_e5_inference_processor(ingest_home: object) -> None:
    from ingest.models.api import InferenceAPI

    api = InferenceAPI()
    try:
        pipeline = PipelineService(api.store, api).parse({"processors": [
            {"inference": {"model_id": ".multilingual-e5-small-elasticsearch",
                           "input_output": {"input_field": "text", "output_field": "vec"}}}]})
        texts = ["The moon orbits the earth.", "La lune tourne autour de la terre.", "Stock markets fell today."]
        result = pipeline.run(pa.table({"text": texts}))
        vecs = np.array(result.table.column("vec").to_pylist(), dtype=np.float32)
        assert vecs.shape == (3, 384)
        assert float(vecs[0] @ vecs[1]) > float(vecs[0] @ vecs[2])
    finally:
        api.close()
