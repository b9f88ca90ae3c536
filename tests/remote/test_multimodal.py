"""The ``embedding`` task's content objects: Elasticsearch's parsing errors, the refusals of services that cannot
embed them, and the providers' multimodal wire formats (checked by fakes that enforce the documented shapes)."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest

from ingest.models.api import InferenceAPI
from ingest.models.contents import Content, parse_inputs
from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from tests.fakes.cohere import FakeCohere
from tests.fakes.openai import FakeOpenAI
from tests.fakes.others import FakeJina, FakeVoyage, media_key
from tests.fakes.server import FakeServer, deterministic_vector

KEY = "multimodal-key-0123456789"
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n tiny").decode()


def image(value: str = PNG, **extra: Any) -> dict[str, Any]:
    return {"content": {"type": "image", "value": value, **extra}}


def text(value: str) -> dict[str, Any]:
    return {"content": {"type": "text", "format": "text", "value": value}}


@pytest.fixture
def api(ingest_home: Any) -> Iterator[InferenceAPI]:
    api = InferenceAPI()
    try:
        yield api
    finally:
        api.close()


# -- parsing, as Elasticsearch's EmbeddingRequest / InferenceString -------------------------------------------

def test_strings_and_content_objects_parse_to_groups_with_default_formats():
    groups = parse_inputs(["plain", image(), {"content": [{"type": "text", "value": "a"}, {"type": "image", "value": PNG}]}])
    assert groups == [(Content("text", "text", "plain"),), (Content("image", "base64", PNG),),
                      (Content("text", "text", "a"), Content("image", "base64", PNG))]
    assert parse_inputs(image(format="BASE64")) == [(Content("image", "base64", PNG),)]  # one object, any case


@pytest.mark.parametrize(("raw", "message"), [
    ({"content": {"type": "sound", "value": "x"}}, "Unrecognized type [sound], must be one of [text, image, audio, video, pdf]"),
    ({"content": {"type": "image", "format": "png", "value": PNG}}, "Unrecognized format [png], must be one of [text, base64]"),
    ({"content": {"type": "text", "format": "base64", "value": PNG}},
     "Data type [text] does not support data format [base64], supported formats are [text]"),
    ({"content": {"type": "image", "format": "text", "value": "cat"}},
     "Data type [image] does not support data format [text], supported formats are [base64]"),
    (image("iVBORw0KGgo="), "base64 inputs must be specified as data URIs with the format [data:{MIME-type};base64,...]"),
    (image("data:image/png," + "A" * 10), "base64 inputs must be specified as data URIs"),
    ({"content": []}, "[content] field cannot be an empty array"),
    ({"content": {"type": "text"}}, "Required [value]"),
    ({"content": {"type": "text", "value": "a", "lang": "en"}}, "unknown field [lang]"),
    ({"contents": {"type": "text", "value": "a"}}, "unknown field [contents]"),
    (7, "Field [input] must be a string, a content object or an array of them"),
])
def test_parse_errors_are_elasticsearchs(raw: Any, message: str):
    with pytest.raises(IllegalArgumentException) as err:
        parse_inputs([raw])
    assert message in err.value.reason and err.value.status == 400


# -- Jina: {"text"} / {"image"} objects ------------------------------------------------------------------------------

def test_jina_multimodal_sends_text_and_image_objects(api: InferenceAPI):
    with FakeServer(FakeJina(KEY)) as server:
        api.put("clip", {"service": "jinaai", "service_settings": {
            "api_key": KEY, "model_id": "jina-clip-v2", "url": server.url}}, task_type="embedding", timeout_s=10)
        assert api.endpoint("clip").service_settings["multimodal_model"] is True
        body = api.infer("clip", [text("a cat"), image(), "a dog"], input_type="search",
                         task_settings={"late_chunking": True}).to_dict()
        sent = server.requests[-1].json()
        assert sent["input"] == [{"text": "a cat"}, {"image": PNG}, {"text": "a dog"}]
        assert sent["task"] == "retrieval.query" and sent["late_chunking"] is False  # no late chunking of images
        want = [deterministic_vector(media_key(k, v), 4) for k, v in (("text", "a cat"), ("image", PNG), ("text", "a dog"))]
        got = [r["embedding"] for r in body["embeddings"]]
        assert all(g == pytest.approx(w, rel=1e-6) for g, w in zip(got, want, strict=True))
        import ingest

        one = ingest.inference("clip", image(), api=api).to_dict()  # the Python API takes one content object too
        assert one["embeddings"][0]["embedding"] == pytest.approx(deterministic_vector(media_key("image", PNG), 4),
                                                                  rel=1e-6)
        api.infer("clip", ["only text"], input_type="ingest")  # plain strings go as objects too, as Elasticsearch's
        sent = server.requests[-1].json()
        assert sent["input"] == [{"text": "only text"}] and "task" not in sent  # clip-v2 takes retrieval.query only


def test_jina_text_only_model_refuses_images_and_sends_strings(api: InferenceAPI):
    with FakeServer(FakeJina(KEY)) as server:
        api.put("v3", {"service": "jinaai", "service_settings": {
            "api_key": KEY, "model_id": "jina-embeddings-v3", "url": server.url, "multimodal_model": False}},
            task_type="embedding", timeout_s=10)
        api.infer("v3", [text("a"), "b"])
        assert server.requests[-1].json()["input"] == ["a", "b"]
        count = len(server.requests)
        with pytest.raises(ElasticsearchError, match=r"^Non-text input provided for text-only model$") as err:
            api.infer("v3", [image()])
        assert err.value.status == 400 and len(server.requests) == count  # nothing sent


def test_multi_item_content_is_refused_where_one_vector_cannot_be_made(api: InferenceAPI):
    with FakeServer(FakeJina(KEY)) as server:
        api.put("clip", {"service": "jinaai", "service_settings": {
            "api_key": KEY, "model_id": "jina-clip-v2", "url": server.url}}, task_type="embedding", timeout_s=10)
        grouped = {"content": [{"type": "text", "value": "a"}, {"type": "image", "value": PNG}]}
        with pytest.raises(ElasticsearchError, match=r"^Validation Failed: 1: Field \[inputs\] cannot be an empty array;"):
            api.infer("clip", [])
        with pytest.raises(ElasticsearchError) as err:
            api.infer("clip", ["x", grouped])
        assert err.value.reason == ("Field [content] must contain a single item for [jinaai] service. [content] "
                                    "object with multiple items found at $.input.content[1]")
        assert err.value.status == 400


def test_text_only_services_refuse_images_with_elasticsearchs_message(api: InferenceAPI):
    with FakeServer(FakeOpenAI(KEY)) as server:
        api.put("oa", {"service": "openai", "service_settings": {
            "api_key": KEY, "model_id": "text-embedding-3-small", "url": server.url + "/v1/embeddings"}},
            task_type="embedding", timeout_s=10)
        count = len(server.requests)
        with pytest.raises(ElasticsearchError) as err:
            api.infer("oa", [image()])
        assert err.value.reason == "The openai service does not support embedding with non-text inputs"
        assert err.value.status == 400 and len(server.requests) == count
        assert list(api.infer("oa", [text("hello")]).to_dict()) == ["embeddings"]  # text content objects embed


def test_content_objects_belong_to_the_embedding_task(api: InferenceAPI):
    with FakeServer(FakeJina(KEY)) as server:
        api.put("te", {"service": "jinaai", "service_settings": {
            "api_key": KEY, "model_id": "jina-clip-v2", "url": server.url}}, task_type="text_embedding", timeout_s=10)
        with pytest.raises(ElasticsearchError, match=r"Field \[input\] must be a string or an array of strings"):
            api.infer("te", [text("a")])


# -- Voyage: /v1/multimodalembeddings, several pieces make one vector -----------------------------------------------

def test_voyage_multimodal_interleaves_pieces_into_one_vector(api: InferenceAPI):
    with FakeServer(FakeVoyage(KEY)) as server:
        created = api.put("vm", {"service": "voyageai", "service_settings": {
            "api_key": KEY, "model_id": "voyage-multimodal-3", "url": server.url}}, task_type="embedding", timeout_s=10)
        assert created["service_settings"]["multimodal_model"] is True and created["service_settings"]["dimensions"] == 4
        grouped = {"content": [{"type": "text", "value": "a cat"}, {"type": "image", "value": PNG}]}
        body = api.infer("vm", [grouped, image(), "plain"], input_type="ingest").to_dict()
        sent = server.requests[-1]
        assert sent.path == "/v1/multimodalembeddings" and sent.json()["input_type"] == "document"
        assert sent.json()["inputs"][0] == {"content": [{"type": "text", "text": "a cat"},
                                                        {"type": "image_base64", "image_base64": PNG}]}
        keys = [f"a cat+{media_key('image', PNG)}", media_key("image", PNG), "plain"]
        got = [r["embedding"] for r in body["embeddings"]]
        assert all(g == pytest.approx(deterministic_vector(k, 4), rel=1e-6) for g, k in zip(got, keys, strict=True))


def test_voyage_text_model_and_multimodal_settings(api: InferenceAPI):
    with FakeServer(FakeVoyage(KEY)) as server:
        api.put("vt", {"service": "voyageai", "service_settings": {
            "api_key": KEY, "model_id": "voyage-3.5", "url": server.url, "multimodal_model": False}},
            task_type="embedding", timeout_s=10)
        api.infer("vt", [text("a")])
        assert server.requests[-1].path == "/v1/embeddings" and server.requests[-1].json()["input"] == ["a"]
        with pytest.raises(ElasticsearchError, match=r"^Non-text input provided for text-only model$"):
            api.infer("vt", [image()])
        with pytest.raises(ElasticsearchError, match=r"must contain a single item for \[voyageai\] service"):
            api.infer("vt", [{"content": [{"type": "text", "value": "a"}, {"type": "text", "value": "b"}]}])
        with pytest.raises(ElasticsearchError, match=r"\[embedding_type\] must be \[float\] for a \[multimodal_model\]"):
            api.put("vbad", {"service": "voyageai", "service_settings": {
                "api_key": KEY, "model_id": "voyage-multimodal-3", "url": server.url, "embedding_type": "int8"}},
                task_type="embedding", timeout_s=10)


# -- Cohere v2: inputs of text and image_url pieces -------------------------------------------------------------------

def test_cohere_v2_inputs_carry_images(api: InferenceAPI):
    with FakeServer(FakeCohere(KEY)) as server:
        api.put("co", {"service": "cohere", "service_settings": {
            "api_key": KEY, "model_id": "embed-v4.0", "url": server.url, "embedding_type": "byte"}},
            task_type="embedding", timeout_s=10)
        grouped = {"content": [{"type": "text", "value": "a cat"}, {"type": "image", "value": PNG}]}
        body = api.infer("co", [grouped, "plain"], input_type="search").to_dict()
        sent = server.requests[-1].json()
        assert "texts" not in sent and sent["input_type"] == "search_query" and sent["embedding_types"] == ["int8"]
        assert sent["inputs"] == [
            {"content": [{"type": "text", "text": "a cat"}, {"type": "image_url", "image_url": {"url": PNG}}]},
            {"content": [{"type": "text", "text": "plain"}]}]
        assert list(body) == ["embeddings_bytes"] and len(body["embeddings_bytes"]) == 2
        api.infer("co", ["only", "texts"])
        assert server.requests[-1].json()["texts"] == ["only", "texts"]  # plain texts stay texts
        api.put("co1", {"service": "cohere", "service_settings": {
            "api_key": KEY, "model_id": "embed-english-v3.0", "url": server.url, "api_version": "v1"}},
            task_type="embedding", timeout_s=10)
        with pytest.raises(ElasticsearchError, match=r"\[api_version\] \[v1\] of the \[cohere\] service embeds text only"):
            api.infer("co1", [image()])


# -- Google Vertex AI: multimodalembedding@001, one text or image instance per request ----------------------------

def test_vertex_multimodal_sends_one_instance_per_input(api: InferenceAPI):
    from tests.fakes.cloud import FakeVertex

    fake = FakeVertex()
    with FakeServer(lambda r: handler(r)) as server:
        handler = fake.handler(server.url)
        url = server.url + "/v1/projects/p/locations/us-central1/publishers/google/models/multimodalembedding@001:predict"
        api.put("vx", {"service": "googlevertexai", "service_settings": {
            "service_account_json": fake.service_account_json(server.url), "url": url,
            "model_id": "multimodalembedding@001"}}, task_type="embedding", timeout_s=10)
        assert api.endpoint("vx").service_settings["dimensions"] == 4  # the validation call's size, recorded
        with pytest.raises(ElasticsearchError, match=r"\[dimensions\] must be one of \[128, 256, 512, 1408\]"):
            api.put("vbad", {"service": "googlevertexai", "service_settings": {
                "service_account_json": fake.service_account_json(server.url), "url": url, "dimensions": 300,
                "model_id": "multimodalembedding@001"}}, task_type="embedding", timeout_s=10)
        before = len(server.requests)
        body = api.infer("vx", [image(), "a cat"]).to_dict()
        predicts = [r.json() for r in server.requests[before:] if r.path.endswith(":predict")]
        raw = PNG.partition(",")[2]
        assert sorted(map(str, (p["instances"] for p in predicts))) == sorted(map(str, (
            [{"image": {"bytesBase64Encoded": raw, "mimeType": "image/png"}}], [{"text": "a cat"}])))
        got = [r["embedding"] for r in body["embeddings"]]
        assert got[0] == pytest.approx(deterministic_vector(f"image:{raw}", 4), rel=1e-6)
        assert got[1] == pytest.approx(deterministic_vector("a cat", 4), rel=1e-6)
        api.put("vt", {"service": "googlevertexai", "service_settings": {
            "service_account_json": fake.service_account_json(server.url), "model_id": "text-embedding-005",
            "url": server.url + "/v1/x/models/text-embedding-005:predict"}}, task_type="embedding", timeout_s=10)
        assert list(api.infer("vt", ["plain"]).to_dict()) == ["embeddings"]
        with pytest.raises(ElasticsearchError, match=r"^Non-text input provided for text-only model$"):
            api.infer("vt", [image()])


# -- over HTTP, with the official client ------------------------------------------------------------------------------

def test_official_client_embeds_an_image_and_gets_elasticsearchs_errors(api: InferenceAPI):
    from elasticsearch import ApiError, Elasticsearch

    from ingest.server.app import create_app
    from tests.servers import serve

    with FakeServer(FakeJina(KEY)) as jina, serve(create_app(api)) as url:
        es = Elasticsearch(url, request_timeout=30)
        es.inference.put(task_type="embedding", inference_id="clip", inference_config={
            "service": "jinaai", "service_settings": {"api_key": KEY, "model_id": "jina-embeddings-v4",
                                                      "url": jina.url}})
        out = es.inference.embedding(inference_id="clip", body={"input": [image(), text("a cat")]})
        got = [r["embedding"] for r in out["embeddings"]]
        assert got[0] == pytest.approx(deterministic_vector(media_key("image", PNG), 4), rel=1e-6)
        assert got[1] == pytest.approx(deterministic_vector("a cat", 4), rel=1e-6)
        with pytest.raises(ApiError) as err:
            es.inference.embedding(inference_id="clip", body={"input": image("not a data uri")})
        assert err.value.status_code == 400
        assert err.value.body["error"]["type"] == "illegal_argument_exception"
        assert err.value.body["error"]["reason"].startswith("base64 inputs must be specified as data URIs")


def test_images_are_batched_by_size(api: InferenceAPI):
    big = "data:image/png;base64," + "A" * (3 << 20)  # 3 MiB each: two fit in one ~8 MiB request, not three
    with FakeServer(FakeJina(KEY)) as server:
        api.put("clip", {"service": "jinaai", "service_settings": {
            "api_key": KEY, "model_id": "jina-clip-v2", "url": server.url}}, task_type="embedding", timeout_s=10)
        before = len(server.requests)
        body = api.infer("clip", [image(big)] * 5 + ["text"], timeout_s=60).to_dict()
        sizes = [len(r.json()["input"]) for r in server.requests[before:]]
        assert sorted(sizes) == [2, 2, 2] and len(body["embeddings"]) == 6
        assert body["embeddings"][5]["embedding"] == pytest.approx(deterministic_vector("text", 4), rel=1e-6)
