"""``Pipeline.outputs()``: the fields a parsed pipeline writes and their vector types, for nested processors
(foreach, pipeline, on_failure) and OpenSearch's, from the real endpoints of the tiny models."""

from __future__ import annotations

from typing import Any

from ingest.models.store import Store
from ingest.processors.outputs import FieldOutput
from ingest.processors.pipeline import parse_pipeline
from ingest.processors.service import PipelineService
from tests.processors.conftest import CountingAPI

DENSE: dict[str, object] = {"dims": 32, "similarity": "cosine", "element_type": "float"}


def _by_path(outputs: list[FieldOutput]) -> dict[str, FieldOutput]:
    paths = [o.path for o in outputs]
    assert len(paths) == len(set(paths)), paths
    return {o.path: o for o in outputs}


def _dense(path: str, processor: str, endpoint: str) -> FieldOutput:
    return FieldOutput(path, "dense", processor, endpoint, **DENSE)  # type: ignore[arg-type]


def test_nested_and_opensearch_processors(tiny_api: CountingAPI) -> None:
    service = PipelineService(Store(), tiny_api)
    service.put("called", {"processors": [
        {"sparse_encoding": {"model_id": "tiny-sparse", "field_map": {"body": "body_tokens"}}},
        {"pipeline": {"name": "top"}},  # a cycle back: listed once, not followed forever
    ]})
    service.put("top", {"processors": [
        {"set": {"field": "x", "value": 1}},
        {"text_embedding": {"model_id": "tiny-dense", "field_map": {"title": "title_vec", "meta": {"a": "a_vec"}}}},
        {"foreach": {"field": "passages", "processor": {"inference": {
            "model_id": "tiny-dense",
            "input_output": {"input_field": "_ingest._value.text", "output_field": "_ingest._value.vec"}}}}},
        {"pipeline": {"name": "called"}},
        {"pipeline": {"name": "{{target}}"}},  # a templated name: nothing known before documents arrive
        {"text_chunking": {"field_map": {"body": "body_chunks"},
                           "algorithm": {"fixed_token_length": {"token_limit": 10}}}},
        {"rename": {"field": "a", "target_field": "b", "on_failure": [
            {"inference": {"model_id": "tiny-sparse", "input_output": {"input_field": "t", "output_field": "fb"}}},
        ]}},
    ], "on_failure": [
        {"inference": {"model_id": "tiny-chunked", "input_output": {"input_field": "t", "output_field": "fail_vec"}}},
    ]})
    got = _by_path(service.load("top").outputs())
    assert got == {
        "title_vec": _dense("title_vec", "text_embedding", "tiny-dense"),
        "meta.a_vec": _dense("meta.a_vec", "text_embedding", "tiny-dense"),
        "passages.vec": FieldOutput("passages.vec", "dense", "inference", "tiny-dense", repeated=True,
                                    **DENSE),  # type: ignore[arg-type]
        "body_tokens": FieldOutput("body_tokens", "sparse", "sparse_encoding", "tiny-sparse"),
        "body_chunks": FieldOutput("body_chunks", "chunks", "text_chunking"),
        "fb": FieldOutput("fb", "sparse", "inference", "tiny-sparse"),
        "fail_vec": _dense("fail_vec", "inference", "tiny-chunked"),
        # tiny-chunked cuts long inputs: every chunk's vector lands under _inference_fields
        "_inference_fields.fail_vec": FieldOutput("_inference_fields.fail_vec", "chunks", "inference",
                                                  "tiny-chunked", **DENSE),  # type: ignore[arg-type]
    }


def test_legacy_inference_target_and_the_last_writer_wins(tiny_api: CountingAPI) -> None:
    pipeline = PipelineService(Store(), tiny_api).parse({"processors": [
        {"inference": {"model_id": "tiny-dense", "target_field": "ml", "field_map": {"body": "text_field"}}},
        {"inference": {"model_id": "tiny-sparse", "input_output": {"input_field": "x", "output_field": "v"}}},
        {"inference": {"model_id": "tiny-dense", "input_output": {"input_field": "x", "output_field": "v"}}},
    ]})
    got = _by_path(pipeline.outputs())
    assert got["ml.predicted_value"] == _dense("ml.predicted_value", "inference", "tiny-dense")
    assert got["ml.model_id"].kind == "other"
    assert got["v"] == _dense("v", "inference", "tiny-dense")


def test_without_endpoints_the_processor_still_states_what_it_knows() -> None:
    body: dict[str, Any] = {"processors": [
        {"text_embedding": {"model_id": "gone", "field_map": {"t": "t_vec"}}},
        {"sparse_encoding": {"model_id": "gone", "field_map": {"t": "t_tok"}}},
        {"inference": {"model_id": "gone", "input_output": {"input_field": "t", "output_field": "t_inf"}}},
    ]}
    got = _by_path(parse_pipeline("p", body).outputs())  # no inference API at all
    assert got == {"t_vec": FieldOutput("t_vec", "dense", "text_embedding", "gone"),
                   "t_tok": FieldOutput("t_tok", "sparse", "sparse_encoding", "gone"),
                   "t_inf": FieldOutput("t_inf", "other", "inference", "gone")}


def test_an_endpoint_deleted_after_the_pipeline_was_stored_is_not_an_error(tiny_api: CountingAPI) -> None:
    pipeline = PipelineService(Store(), tiny_api).parse({"processors": [
        {"inference": {"model_id": "tiny-sparse", "input_output": {"input_field": "t", "output_field": "v"}}},
    ]})
    tiny_api.delete("tiny-sparse", force=True)
    assert pipeline.outputs() == [FieldOutput("v", "other", "inference", "tiny-sparse")]
