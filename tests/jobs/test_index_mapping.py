"""A job's index mapping comes from the pipeline (``Pipeline.outputs()``): vector fields written by OpenSearch
processors and by called pipelines are mapped and recorded with the endpoint that fills them."""

from __future__ import annotations

import json
from pathlib import Path

from ingest.jobs import JobConfig, run_job
from ingest.jobs.indexmeta import IndexMeta, VectorField, vector_mapping
from ingest.models.api import InferenceAPI
from ingest.models.store import Store
from ingest.processors.outputs import FieldOutput
from ingest.processors.service import PipelineService
from ingest.sinks import open_sink
from ingest.sinks.base import FieldHint
from tests.jobs.helpers import docs, ingest, write_jsonl


def test_vectors_of_opensearch_and_called_pipelines_are_mapped_with_their_endpoint(
        tiny_endpoints: dict[str, str], tmp_path: Path) -> None:
    api = InferenceAPI()
    PipelineService(Store(), api).put("sparse-part", {"processors": [
        {"inference": {"model_id": "tiny-sparse", "input_output": {"input_field": "text", "output_field": "tokens"}}},
    ]})
    api.close()
    pipeline = tmp_path / "pipeline.json"
    pipeline.write_text(json.dumps({"processors": [
        {"text_embedding": {"model_id": "tiny-dense", "field_map": {"text": "title_vec"}}},
        {"pipeline": {"name": "sparse-part"}},
    ]}), encoding="utf-8")
    src = write_jsonl(tmp_path / "in.jsonl", docs(10))
    summary = run_job(JobConfig(source=str(src), index="mapped", pipeline=str(pipeline), id_field="doc_id"))
    assert summary.indexed == 10 and summary.failed == 0

    store = open_sink("embedded")
    hints = store.hints("mapped")  # type: ignore[attr-defined]
    store.close()
    assert hints == {"title_vec": FieldHint("dense", 32, "cosine"), "tokens": FieldHint("sparse")}
    meta = IndexMeta()
    fields = meta.fields("mapped")
    meta.close()
    # ingest search embeds the query with these endpoints (re-reading the pipeline JSON found neither)
    assert fields == {"title_vec": {"kind": "dense", "dims": 32, "endpoint": "tiny-dense"},
                      "tokens": {"kind": "sparse", "dims": None, "endpoint": "tiny-sparse"}}


def test_vectors_the_input_already_carries_are_mapped_without_a_pipeline(ingest_home: Path, tmp_path: Path) -> None:
    rows = [{"doc_id": f"d{i}", "emb": [0.5, 0.25, float(i)], "w": {"cat": 1.5}} for i in range(5)]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    assert run_job(JobConfig(source=str(src), index="carried", id_field="doc_id")).indexed == 5
    store = open_sink("embedded")
    hints = store.hints("carried")  # type: ignore[attr-defined]
    store.close()
    assert hints == {"emb": FieldHint("dense", 3, "cosine"), "w": FieldHint("sparse")}


def test_vector_mapping_takes_the_endpoints_settings_and_measures_only_unknown_dims() -> None:
    outputs = [
        FieldOutput("a", "dense", "inference", "e1", dims=8, similarity="dot_product", element_type="float"),
        FieldOutput("b.c", "dense", "text_embedding", "e2"),  # the endpoint does not state its dims
        FieldOutput("bits", "dense", "inference", "e5", dims=64, similarity="l2_norm", element_type="bit"),
        FieldOutput("never", "dense", "text_embedding", "e2"),  # ... and no document has it yet
        FieldOutput("s", "sparse", "sparse_encoding", "e3"),
        FieldOutput("listed", "dense", "text_embedding", "e2", dims=3),  # a list input: [{"knn": vector}, ...]
        FieldOutput("parts.vec", "dense", "inference", "e2", dims=3, repeated=True),  # inside foreach
        FieldOutput("rows.vec", "dense", "inference", "e2", dims=2),  # a list on the way (no foreach told)
        FieldOutput("chunks", "chunks", "text_chunking"),
        FieldOutput("_inference_fields.a", "chunks", "inference", "e1", dims=8),
        FieldOutput("label", "other", "inference", "e4"),
    ]
    first_bulk = [{"x": 1}, {"a": [0.1, 0.2], "b": {"c": [0.1, 0.2, 0.3]}, "s": {"t": 1.0}, "chunks": ["p", "q"],
                             "label": [0.5, 0.5], "carried": [1.5, 2.5], "bits": [1, 2, 3, 4, 5, 6, 7, 8],
                             "listed": [{"knn": [0.1, 0.2, 0.3]}], "rows": [{"vec": [0.1, 0.2]}]}]
    assert vector_mapping(outputs, first_bulk) == {
        "a": VectorField("dense", 8, "dot_product", "e1"),  # the endpoint's dims win over the document's
        "b.c": VectorField("dense", 3, "cosine", "e2"),
        "bits": VectorField("dense", 8, "l2_norm", "e5"),  # 64 bits packed in 8 values, as the documents hold
        "s": VectorField("sparse", None, None, "e3"),
        "carried": VectorField("dense", 2, "cosine", None),  # in the input, written by no processor
    }


def test_bulk_with_a_pipeline_records_the_endpoint_of_each_vector_field(tiny_endpoints: dict[str, str]) -> None:
    """``_bulk?pipeline=`` maps and records vector fields from the pipeline's declared outputs, as a job does,
    so ``ingest search`` on the index finds the endpoint without ``--endpoint``."""
    from ingest.jobs.bulkapi import run_bulk

    api = InferenceAPI()
    service = PipelineService(Store(), api)
    service.put("embed", {"processors": [
        {"text_embedding": {"model_id": "tiny-dense", "field_map": {"text": "title_vec"}}},
        {"inference": {"model_id": "tiny-sparse", "input_output": {"input_field": "text", "output_field": "tokens"}}},
    ]})
    lines = [json.dumps({"index": {"_index": "bulked", "_id": f"d{i}"}}) + "\n" + json.dumps({"text": f"doc {i}"})
             for i in range(3)]
    store = open_sink("embedded")
    try:
        body = run_bulk(("\n".join(lines) + "\n").encode(), sink=store, pipelines=service,
                        request_pipeline="embed")
        hints = store.hints("bulked")  # type: ignore[attr-defined]
    finally:
        store.close()
        api.close()
    assert body["errors"] is False
    assert hints == {"title_vec": FieldHint("dense", 32, "cosine"), "tokens": FieldHint("sparse")}
    meta = IndexMeta()
    fields = meta.fields("bulked")
    meta.close()
    assert fields == {"title_vec": {"kind": "dense", "dims": 32, "endpoint": "tiny-dense"},
                      "tokens": {"kind": "sparse", "dims": None, "endpoint": "tiny-sparse"}}
    # ... so ``ingest search`` embeds the query with the endpoint that filled the field, no --endpoint given
    found = ingest("search", "bulked", "doc 1", "--field", "title_vec", "-k", "3")
    assert found.returncode == 0, found.stderr
    answer = json.loads(found.stdout)
    assert (answer["field"], answer["endpoint"]) == ("title_vec", "tiny-dense")
    assert answer["hits"]["hits"][0]["_id"] == "d1"


def test_bulk_update_vectors_are_mapped_at_their_own_path(ingest_home: Path) -> None:
    """An update's ``doc`` is what it writes: a vector in it maps at its path, not under ``doc.``."""
    from ingest.jobs.bulkapi import run_bulk

    raw = (json.dumps({"index": {"_index": "upd", "_id": "a"}}) + "\n" + json.dumps({"t": "x"}) + "\n"
           + json.dumps({"update": {"_index": "upd", "_id": "a"}}) + "\n"
           + json.dumps({"doc": {"emb": [0.5, 0.25, 1.0]}}) + "\n").encode()
    store = open_sink("embedded")
    try:
        body = run_bulk(raw, sink=store, pipelines=None)
        hints = store.hints("upd")  # type: ignore[attr-defined]
    finally:
        store.close()
    assert body["errors"] is False, body
    assert hints == {"emb": FieldHint("dense", 3, "cosine")}
