"""``semantic_text`` fields through the official client against a real server: mapping, inference on ``_doc``
and ``_bulk``, Elasticsearch 9's ``_inference_fields``, reuse of unchanged text, failures, endpoint deletion."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import ApiError, Elasticsearch, NotFoundError

from tests.processors.conftest import CountingAPI
from tests.servers import serve

LONG = " ".join(f"word{i}" for i in range(25))  # three chunks of tiny-chunked (10 words each)


@pytest.fixture()
def es(tiny_api: CountingAPI) -> Iterator[Elasticsearch]:
    from ingest.server.app import create_app

    with serve(create_app(tiny_api)) as url:
        yield Elasticsearch(url, request_timeout=60)


def _mapping(es: Elasticsearch, index: str = "docs") -> None:
    es.indices.create(index=index, mappings={"properties": {
        "body": {"type": "semantic_text", "inference_id": "tiny-chunked"},
        "tags": {"type": "semantic_text", "inference_id": "tiny-sparse"},
        "title": {"type": "keyword"},
    }})


def _stored(es: Elasticsearch, index: str, doc_id: str) -> dict:
    """The raw stored source, ``_inference_fields`` included."""
    hit = es.get(index=index, id=doc_id, source_includes="_inference_fields")
    return hit["_source"]["_inference_fields"]


def test_doc_and_bulk_embed_semantic_text_in_one_call(es: Elasticsearch, tiny_api: CountingAPI) -> None:
    _mapping(es)
    assert es.index(index="docs", id="1", document={"body": LONG, "tags": "red shoes", "title": "a"},
                    refresh=True)["result"] == "created"
    fields = _stored(es, "docs", "1")
    body = fields["body"]["inference"]
    assert body["inference_id"] == "tiny-chunked"
    assert body["model_settings"]["task_type"] == "text_embedding" and body["model_settings"]["dimensions"] == 32
    chunks = body["chunks"]["body"]
    assert [LONG[c["start_offset"]:c["end_offset"]].split()[0] for c in chunks] == ["word0", "word10", "word20"]
    assert all(len(c["embeddings"]) == 32 for c in chunks)
    sparse = fields["tags"]["inference"]
    assert sparse["model_settings"] == {"task_type": "sparse_embedding"}
    assert isinstance(sparse["chunks"]["tags"][0]["embeddings"], dict) and sparse["chunks"]["tags"][0]["embeddings"]
    # GET returns the original text, not the chunks
    got = es.get(index="docs", id="1")["_source"]
    assert got == {"body": LONG, "tags": "red shoes", "title": "a"}

    tiny_api.calls.clear()
    ops = []
    for i in range(5):
        ops += [{"index": {"_index": "docs", "_id": f"b{i}"}}, {"body": f"text number {i}", "title": "t"}]
    result = es.bulk(operations=ops, refresh=True)
    assert not result["errors"]
    assert len(tiny_api.calls) == 1 and len(tiny_api.calls[0]) == 5  # batched across the request's documents
    assert "body" in _stored(es, "docs", "b3")


def test_unchanged_text_reuses_stored_embeddings(es: Elasticsearch, tiny_api: CountingAPI) -> None:
    _mapping(es)
    es.index(index="docs", id="1", document={"body": "same text", "title": "a"}, refresh=True)
    before = _stored(es, "docs", "1")
    tiny_api.calls.clear()
    es.index(index="docs", id="1", document={"body": "same text", "title": "b"}, refresh=True)
    assert tiny_api.calls == []
    assert _stored(es, "docs", "1") == before
    es.index(index="docs", id="1", document={"body": "other text", "title": "b"}, refresh=True)
    assert tiny_api.calls == [["other text"]]


def test_update_re_embeds_the_changed_field(es: Elasticsearch, tiny_api: CountingAPI) -> None:
    _mapping(es)
    es.index(index="docs", id="1", document={"body": "first", "title": "a"}, refresh=True)
    old = _stored(es, "docs", "1")["body"]["inference"]["chunks"]["body"][0]["embeddings"]
    es.update(index="docs", id="1", doc={"body": "second version"}, refresh=True)
    new = _stored(es, "docs", "1")["body"]["inference"]["chunks"]["body"]
    assert new[0]["end_offset"] == len("second version") and new[0]["embeddings"] != old
    assert es.get(index="docs", id="1")["_source"] == {"body": "second version", "title": "a"}
    es.update(index="docs", id="1", doc={"body": None}, refresh=True)
    assert not _stored(es, "docs", "1").get("body")  # no stale chunks for a cleared field


def test_bad_values_and_failing_endpoint_fail_their_item_only(es: Elasticsearch, tiny_api: CountingAPI) -> None:
    _mapping(es)
    ops = [{"index": {"_index": "docs", "_id": "ok"}}, {"body": "fine"},
           {"index": {"_index": "docs", "_id": "obj"}}, {"body": {"nested": "object"}}]
    result = es.bulk(operations=ops, refresh=True)
    assert [i["index"]["status"] for i in result["items"]] == [201, 400]
    assert result["items"][1]["index"]["error"]["type"] == "document_parsing_exception"
    # the endpoint disappears behind the mapping's back (forced delete): the item fails with ES's message
    es.inference.delete(inference_id="tiny-chunked", force=True)
    result = es.bulk(operations=[{"index": {"_index": "docs", "_id": "x"}}, {"body": "new"},
                                 {"index": {"_index": "docs", "_id": "y"}}, {"title": "no semantic field"}])
    first = result["items"][0]["index"]
    assert first["status"] == 404 and first["error"]["type"] == "inference_exception"
    assert first["error"]["reason"] == "Exception when running inference id [tiny-chunked] on field [body]"
    assert result["items"][1]["index"]["status"] == 201
    with pytest.raises(NotFoundError):
        es.get(index="docs", id="x")


def test_mapping_refuses_unknown_endpoint_and_parameter(es: Elasticsearch) -> None:
    with pytest.raises(ApiError) as missing:
        es.indices.create(index="bad", mappings={"properties": {"f": {"type": "semantic_text",
                                                                      "inference_id": "nope"}}})
    assert missing.value.status_code == 404 and "nope" in str(missing.value)
    assert not es.indices.exists(index="bad")
    with pytest.raises(ApiError) as unknown:
        es.indices.create(index="bad", mappings={"properties": {"f": {"type": "semantic_text",
                                                                      "inference_id": "tiny-dense", "x": 1}}})
    assert unknown.value.error == "mapper_parsing_exception"
    es.indices.create(index="good")
    es.indices.put_mapping(index="good", properties={"g": {"type": "semantic_text"}})  # the preconfigured default
    assert es.indices.get_mapping(index="good")["good"]["mappings"]["properties"]["g"] == {
        "type": "semantic_text", "inference_id": ".elser-2-elasticsearch"}
    with pytest.raises(ApiError):
        es.indices.put_mapping(index="good", properties={"f": {"type": "semantic_text", "inference_id": "nope"}})


def test_delete_of_endpoint_used_by_a_mapping_is_refused_unless_forced(es: Elasticsearch, ingest_home: Path) -> None:
    _mapping(es)
    with pytest.raises(ApiError) as refused:
        es.inference.delete(inference_id="tiny-sparse")
    assert refused.value.status_code == 409
    assert refused.value.body["error"]["reason"] == (
        "Inference endpoint tiny-sparse is being used in the mapping for indexes: [docs]. Ensure that no index "
        "mappings are using this inference endpoint, or use force to ignore this warning and delete the "
        "inference endpoint.")
    dry = es.inference.delete(inference_id="tiny-sparse", dry_run=True)
    assert dry["indexes"] == ["docs"] and dry["acknowledged"] is False
    assert es.inference.delete(inference_id="tiny-sparse", force=True)["acknowledged"] is True


def test_first_document_records_model_settings_and_a_changed_endpoint_is_refused(
        es: Elasticsearch, tiny_api: CountingAPI) -> None:
    _mapping(es)
    es.index(index="docs", id="1", document={"body": "first"}, refresh=True)
    field = es.indices.get_mapping(index="docs")["docs"]["mappings"]["properties"]["body"]
    assert field["model_settings"] == {"task_type": "text_embedding", "dimensions": 32, "similarity": "cosine",
                                       "element_type": "float"}
    es.inference.delete(inference_id="tiny-chunked", force=True)
    es.inference.put(inference_id="tiny-chunked", task_type="sparse_embedding", inference_config={
        "service": "elasticsearch", "service_settings": {"model_id": "tiny-sparse", "num_allocations": 1,
                                                         "num_threads": 1}})
    item = es.bulk(operations=[{"index": {"_index": "docs", "_id": "2"}}, {"body": "second"}])["items"][0]["index"]
    assert item["status"] == 400 and item["error"]["type"] == "inference_exception"
    assert "Incompatible model settings for field [body]" in item["error"]["caused_by"]["reason"]


def test_a_script_naming_a_semantic_field_is_refused_other_scripts_run(es: Elasticsearch) -> None:
    _mapping(es)
    es.index(index="docs", id="1", document={"body": "text", "title": "a", "n": 1}, refresh=True)
    with pytest.raises(ApiError) as refused:
        es.update(index="docs", id="1", script={"source": "ctx._source.body = 'changed'"})
    assert refused.value.status_code == 400 and "[semantic_text] field [body]" in str(refused.value)
    es.update(index="docs", id="1", script={"source": "ctx._source.n += 1"}, refresh=True)
    assert es.get(index="docs", id="1")["_source"] == {"body": "text", "title": "a", "n": 2}
