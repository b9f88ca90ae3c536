"""Our requests against the providers' documented request shapes (``wire_docs``), one example per provider and task.

The fakes check what a provider would reject; these check that we send what the provider's API reference
documents, field by field, so that a field the provider ignores or renames cannot slip through a lenient fake.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from ingest.models.contents import Content
from ingest.models.results import InputType
from ingest.models.services.base import InferenceRequest
from tests.remote import wire_docs as docs
from tests.remote.conftest import endpoint

KEY = "wire-shape-key-0123456789"
CHAT = {"messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
        "max_completion_tokens": 64, "temperature": 0.5}


def built(service: str, task: str, settings: dict[str, Any], inputs: list[str] | None = None, *,
          chat: dict[str, Any] | None = None, stream: bool = False, input_type: InputType | None = None,
          query: str | None = None, contents: list[Any] | None = None) -> tuple[str, str, Any]:
    """(method, url, JSON body) of the request our service sends for one call."""
    svc, config = endpoint(service, task, settings)
    request = InferenceRequest(inputs or ["hello"], input_type=input_type, query=query, chat=chat, contents=contents)
    call = svc._make_call(config, request)
    http = asyncio.run(svc.build_stream(call) if stream else svc.build(call, request.inputs))
    return http.method, http.url, json.loads(http.body() or b"null")


def conforms(request: tuple[str, str, Any], shape: docs.Shape) -> None:
    problems = docs.check(*request, shape)
    assert not problems, f"differs from {shape.source}: {problems}"


def test_openai():
    s = {"api_key": KEY, "model_id": "text-embedding-3-small"}
    conforms(built("openai", "text_embedding", {**s, "dimensions": 256}), docs.OPENAI_EMBEDDINGS)
    conforms(built("openai", "completion", s), docs.OPENAI_CHAT)
    req = built("openai", "chat_completion", s, chat={**CHAT, "reasoning": {"effort": "low"}}, stream=True)
    conforms(req, docs.OPENAI_CHAT)
    assert req[2]["reasoning_effort"] == "low" and req[2]["max_completion_tokens"] == 64


def test_mistral_chat_sends_max_tokens():
    s = {"api_key": KEY, "model": "mistral-small-latest"}
    conforms(built("mistral", "text_embedding", {"api_key": KEY, "model": "mistral-embed"}), docs.MISTRAL_EMBEDDINGS)
    for req in (built("mistral", "completion", s, chat=CHAT),
                built("mistral", "chat_completion", s, chat=CHAT, stream=True)):
        conforms(req, docs.MISTRAL_CHAT)
        assert req[2]["max_tokens"] == 64


def test_hugging_face_chat_sends_max_tokens():
    s = {"api_key": KEY, "url": "https://x.endpoints.huggingface.cloud/v1/chat/completions", "model_id": "tgi"}
    for req in (built("hugging_face", "completion", s, chat=CHAT),
                built("hugging_face", "chat_completion", s, chat=CHAT, stream=True)):
        conforms(req, docs.TGI_CHAT)
        assert req[2]["max_tokens"] == 64


@pytest.mark.parametrize(("input_type", "task_type"), [(InputType.SEARCH, "RETRIEVAL_QUERY"),
                                                        (InputType.INGEST, "RETRIEVAL_DOCUMENT"),
                                                        (InputType.CLASSIFICATION, "CLASSIFICATION"),
                                                        (InputType.CLUSTERING, "CLUSTERING"), (None, None)])
def test_google_ai_studio_sends_task_type(input_type: InputType | None, task_type: str | None):
    req = built("googleaistudio", "text_embedding", {"api_key": KEY, "model_id": "text-embedding-004"},
                ["a", "b"], input_type=input_type)
    conforms(req, docs.GEMINI_BATCH_EMBED)
    assert [r.get("taskType") for r in req[2]["requests"]] == [task_type, task_type]


def test_bedrock_titan_v1_gets_only_input_text_even_with_known_dimensions():
    base = {"access_key": "AKIAEXAMPLE", "secret_key": "secret/example+key", "region": "us-east-1"}
    # dimensions as the PUT's validation call records them: Titan v1 must still get inputText alone
    req = built("amazonbedrock", "text_embedding", {**base, "model": "amazon.titan-embed-text-v1", "dimensions": 1536})
    conforms(req, docs.TITAN_V1_EMBED)
    req = built("amazonbedrock", "text_embedding", {**base, "model": "amazon.titan-embed-text-v2:0", "dimensions": 512})
    conforms(req, docs.TITAN_V2_EMBED)
    assert req[2]["dimensions"] == 512
    req = built("amazonbedrock", "text_embedding", {**base, "model": "cohere.embed-english-v3"}, ["a", "b"],
                input_type=InputType.SEARCH)
    conforms(req, docs.COHERE_BEDROCK_EMBED)


@pytest.mark.parametrize(("model", "provider"), [
    ("amazon.titan-embed-text-v2:0", "amazontitan"), ("cohere.embed-english-v3", "cohere"),
    ("anthropic.claude-3-haiku-20240307-v1:0", "anthropic"), ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic"),
    ("meta.llama3-8b-instruct-v1:0", "meta"), ("mistral.mistral-large-2402-v1:0", "mistral"),
    ("ai21.jamba-1-5-mini-v1:0", "ai21labs"),
    ("arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v1", "amazontitan"),
])
def test_bedrock_provider_is_optional_and_derived_from_the_model(model: str, provider: str):
    base = {"access_key": "AKIAEXAMPLE", "secret_key": "secret/example+key", "region": "us-east-1", "model": model}
    _, config = endpoint("amazonbedrock", "completion", base)
    assert config.service_settings["provider"] == provider


def test_bedrock_underivable_provider_is_a_validation_error():
    from ingest.models.errors import ValidationException

    base = {"access_key": "AKIAEXAMPLE", "secret_key": "secret/example+key", "region": "us-east-1"}
    with pytest.raises(ValidationException, match=r"required setting \[provider\]"):
        endpoint("amazonbedrock", "completion", {**base, "model": "arn:aws:bedrock:us-east-1:1:provisioned-model/abc"})


def test_reasoning_is_refused_where_the_provider_cannot_take_it():
    from ingest.models.errors import ValidationException

    svc, config = endpoint("mistral", "chat_completion", {"api_key": KEY, "model": "m"})
    with pytest.raises(ValidationException, match=r"\[reasoning\] is not supported by the \[mistral\] service"):
        svc.stream(config, InferenceRequest([], chat={**CHAT, "reasoning": {"enabled": True}}))
    svc, config = endpoint("openai", "chat_completion", {"api_key": KEY, "model_id": "o4-mini"})
    with pytest.raises(ValidationException, match=r"\[reasoning.effort\] must be one of"):
        svc.stream(config, InferenceRequest([], chat={**CHAT, "reasoning": {"effort": "huge"}}))
    # Elasticsearch's example: an assistant turn carrying its earlier reasoning, which no provider takes back
    history = {"messages": [{"role": "user", "content": "q"},
                            {"role": "assistant", "content": "a", "reasoning": "because",
                             "reasoning_details": [{"type": "reasoning.text", "text": "because"}]},
                            {"role": "user", "content": "and?"}],
               "reasoning": {"effort": "high", "summary": "detailed", "exclude": False}}
    req = built("openai", "chat_completion", {"api_key": KEY, "model_id": "o4-mini"}, chat=history, stream=True)
    conforms(req, docs.OPENAI_CHAT)
    assert req[2]["messages"][1] == {"role": "assistant", "content": "a"} and req[2]["reasoning_effort"] == "high"
    # enabled without an effort is Elasticsearch's "medium"
    call = svc._make_call(config, InferenceRequest([], chat={**CHAT, "reasoning": {"enabled": True}}))
    assert json.loads(asyncio.run(svc.build_stream(call)).body() or b"")["reasoning_effort"] == "medium"


COMPAT_CASES = [
    ("deepseek", "chat_completion", {}, docs.DEEPSEEK_CHAT),
    ("groq", "chat_completion", {}, docs.GROQ_CHAT),
    ("ai21", "chat_completion", {}, docs.AI21_CHAT),
    ("llama", "text_embedding", {"url": "http://llama:8321/v1/inference/embeddings"}, docs.LLAMA_STACK_EMBED),
    ("nvidia", "text_embedding", {}, docs.NVIDIA_EMBED),
    ("nvidia", "rerank", {}, docs.NVIDIA_RERANK),
    ("nvidia", "chat_completion", {}, docs.NVIDIA_CHAT),
    ("openshift_ai", "rerank", {"url": "https://model.apps.cluster/v1/rerank"}, docs.VLLM_RERANK),
    ("fireworksai", "text_embedding", {"dimensions": 256}, docs.FIREWORKS_EMBED),
    ("fireworksai", "chat_completion", {}, docs.FIREWORKS_CHAT),
    ("fireworksai", "rerank", {}, docs.FIREWORKS_RERANK),
    ("contextualai", "rerank", {}, docs.CONTEXTUAL_RERANK),
    ("mixedbread", "text_embedding", {}, docs.MIXEDBREAD_EMBED),
    ("mixedbread", "rerank", {}, docs.MIXEDBREAD_RERANK),
]


@pytest.mark.parametrize(("service", "task", "extra", "shape"), COMPAT_CASES,
                         ids=[f"{c[0]}-{c[1]}" for c in COMPAT_CASES])
def test_openai_compatible_providers(service: str, task: str, extra: dict[str, Any], shape: docs.Shape):
    settings = {"api_key": KEY, "model_id": "some-model", **extra}
    if task == "chat_completion":
        conforms(built(service, task, settings, chat=CHAT, stream=True), shape)
        conforms(built(service, "completion", settings, chat=CHAT), shape)
    elif task == "rerank":
        conforms(built(service, task, settings, ["a", "b"], query="q"), shape)
    else:
        conforms(built(service, task, settings, ["a", "b"], input_type=InputType.SEARCH), shape)


def test_sagemaker_invoke_endpoint():
    s = {"access_key": "AKIAEXAMPLE", "secret_key": "secret/example+key", "region": "us-east-1",
         "endpoint_name": "my-endpoint", "target_model": "m.tar.gz", "inference_component_name": "ic"}
    conforms(built("amazon_sagemaker", "text_embedding", {**s, "api": "openai"}, ["a", "b"]), docs.SAGEMAKER_OPENAI_EMBED)
    conforms(built("amazon_sagemaker", "rerank", {**s, "api": "elastic"}, ["a", "b"], query="q"), docs.SAGEMAKER_ELASTIC)
    svc, config = endpoint("amazon_sagemaker", "completion", {**s, "api": "openai"}, {"custom_attributes": "c=1"})
    http = asyncio.run(svc.build(svc._make_call(config, InferenceRequest(["q"])), ["q"]))
    assert http.url == "https://runtime.sagemaker.us-east-1.amazonaws.com/endpoints/my-endpoint/invocations"
    amzn = {k.lower() for k in http.headers if k.lower().startswith("x-amzn-sagemaker-")}
    assert amzn == {"x-amzn-sagemaker-target-model", "x-amzn-sagemaker-inference-component",
                    "x-amzn-sagemaker-custom-attributes"} and amzn <= docs.SAGEMAKER_HEADERS
    assert "/sagemaker/aws4_request" in http.headers["Authorization"]


def test_cohere():
    s = {"api_key": KEY, "model_id": "embed-v4.0"}
    conforms(built("cohere", "text_embedding", s, ["a"], input_type=InputType.SEARCH), docs.COHERE_EMBED)
    png = "data:image/png;base64,iVBORw0KGgo="
    req = built("cohere", "embedding", s, ["a", "b"], contents=[
        (Content("text", "text", "a"), Content("image", "base64", png)), (Content("text", "text", "b"),)])
    conforms(req, docs.COHERE_EMBED)
    assert "texts" not in req[2]
    for item in req[2]["inputs"]:
        assert not docs.check("POST", "/x", item, docs.Shape("POST", "/x", docs.COHERE_INPUT, ""))
        for piece in item["content"]:
            assert not docs.check("POST", "/x", piece, docs.Shape("POST", "/x", docs.COHERE_CONTENT[piece["type"]], ""))
    conforms(built("cohere", "rerank", s, ["a", "b"], query="q"), docs.COHERE_RERANK)
    conforms(built("cohere", "completion", s), docs.COHERE_CHAT)


def test_anthropic():
    svc, config = endpoint("anthropic", "completion", {"api_key": KEY, "model_id": "claude-sonnet-4"},
                           {"max_tokens": 64})
    for stream in (False, True):
        call = svc._make_call(config, InferenceRequest(["hi"], chat=CHAT))
        http = asyncio.run(svc.build_stream(call) if stream else svc.build(call, ["hi"]))
        conforms((http.method, http.url, json.loads(http.body() or b"")), docs.ANTHROPIC_MESSAGES)


def test_jina_voyage_azure_openai():
    s = {"api_key": KEY, "model_id": "m"}
    conforms(built("jinaai", "text_embedding", {**s, "dimensions": 256}, ["a"], input_type=InputType.INGEST),
             docs.JINA_EMBED)
    conforms(built("jinaai", "rerank", s, ["a"], query="q"), docs.JINA_RERANK)
    png = "data:image/png;base64,iVBORw0KGgo="
    req = built("jinaai", "embedding", {**s, "model_id": "jina-embeddings-v4"}, ["a", ""],
                input_type=InputType.INGEST, contents=[(Content("text", "text", "a"),), (Content("image", "base64", png),)])
    conforms(req, docs.JINA_EMBED_MULTIMODAL)
    assert req[2]["input"] == [{"text": "a"}, {"image": png}]
    conforms(built("jinaai", "embedding", {**s, "multimodal_model": False}, ["a"]), docs.JINA_EMBED)
    svc, config = endpoint("jinaai", "text_embedding", s, {"late_chunking": True})
    for words, late in ((5500, True), (5501, False)):  # Elasticsearch's word bound on late chunking
        call = svc._make_call(config, InferenceRequest(["w " * words]))
        assert json.loads(asyncio.run(svc.build(call, ["w " * words])).body())["late_chunking"] is late
    conforms(built("voyageai", "text_embedding", s, ["a"], input_type=InputType.SEARCH), docs.VOYAGE_EMBED)
    conforms(built("voyageai", "text_embedding", {**s, "embedding_type": "bit"}, ["a"]), docs.VOYAGE_EMBED)
    conforms(built("voyageai", "rerank", s, ["a"], query="q"), docs.VOYAGE_RERANK)
    mixed = (Content("text", "text", "a"), Content("image", "base64", png))
    req = built("voyageai", "embedding", {**s, "model_id": "voyage-multimodal-3"}, ["a", "b"],
                input_type=InputType.SEARCH, contents=[mixed, (Content("text", "text", "b"),)])
    conforms(req, docs.VOYAGE_MULTIMODAL)
    pieces = [p for item in req[2]["inputs"] for p in item["content"]]
    for piece in pieces:
        assert not docs.check("POST", "/x", piece, docs.Shape("POST", "/x", docs.VOYAGE_PIECE[piece["type"]], "")), piece
    assert pieces == [{"type": "text", "text": "a"}, {"type": "image_base64", "image_base64": png},
                      {"type": "text", "text": "b"}]
    conforms(built("voyageai", "embedding", {**s, "multimodal_model": False}, ["a"]), docs.VOYAGE_EMBED)
    conforms(built("azureopenai", "text_embedding", {"api_key": KEY, "resource_name": "r", "deployment_id": "d",
                                                      "api_version": "2024-10-21"}, ["a"]), docs.AZURE_OPENAI_EMBED)


def test_bedrock_converse():
    s = {"access_key": "AKIAEXAMPLE", "secret_key": "secret/example+key", "region": "us-east-1",
         "model": "anthropic.claude-3-haiku-20240307-v1:0"}
    conforms(built("amazonbedrock", "completion", s, chat=CHAT), docs.BEDROCK_CONVERSE)
    req = built("amazonbedrock", "chat_completion", s, chat=CHAT, stream=True)
    conforms((req[0], req[1].replace("/converse-stream", "/converse"), req[2]), docs.BEDROCK_CONVERSE)
    assert req[2]["system"] == [{"text": "be brief"}] and req[2]["inferenceConfig"]["maxTokens"] == 64


def _recorded(server: Any, suffix: str) -> tuple[str, str, Any]:
    request = next(r for r in reversed(server.requests) if r.path.endswith(suffix))
    return request.method, server.url + request.path, request.json()


def test_vertex_ai_and_watsonx_as_sent_after_their_token_exchanges():
    from tests.fakes.cloud import FakeVertex, FakeWatsonx
    from tests.fakes.server import FakeServer
    from tests.remote.test_cloud import Late

    fake, late = FakeVertex(), Late()
    with FakeServer(late) as server:
        late.inner = fake.handler(server.url)
        base = {"service_account_json": fake.service_account_json(server.url), "project_id": "p",
                "location": "us-central1", "model_id": "text-embedding-005"}
        svc, config = endpoint("googlevertexai", "text_embedding", {**base, "url": server.url + "/m:predict"})
        svc.infer(config, InferenceRequest(["a"], input_type=InputType.SEARCH))
        conforms(_recorded(server, ":predict"), docs.VERTEX_PREDICT)
        svc, rerank = endpoint("googlevertexai", "rerank", {**base, "url": server.url + "/r:rank"}, {"top_n": 1})
        svc.infer(rerank, InferenceRequest(["a", "b"], query="q"))
        conforms(_recorded(server, ":rank"), docs.VERTEX_RANK)
        mm = "/v1/projects/p/locations/us-central1/publishers/google/models/multimodalembedding@001:predict"
        svc, config = endpoint("googlevertexai", "embedding", {**base, "model_id": "multimodalembedding@001",
                                                               "url": server.url + mm})
        png = "data:image/png;base64,iVBORw0KGgo="
        svc.infer(config, InferenceRequest(["", "a"], contents=[(Content("image", "base64", png),),
                                                                (Content("text", "text", "a"),)]))
        for r in [r for r in server.requests if r.path.endswith(mm)][-2:]:
            assert not docs.check(r.method, r.path, r.json(), docs.VERTEX_MULTIMODAL_PREDICT), r.json()
    wx = FakeWatsonx("wx-key-0123456789")
    with FakeServer(wx) as server:
        base = {"api_key": wx.api_key, "url": server.url, "model_id": "ibm/slate", "project_id": "proj",
                "api_version": "2024-05-02", "iam_url": server.url + "/identity/token"}
        svc, config = endpoint("watsonxai", "text_embedding", base)
        svc.infer(config, InferenceRequest(["a", "b"]))
        conforms(_recorded(server, "/text/embeddings"), docs.WATSONX_EMBED)
        svc, rerank = endpoint("watsonxai", "rerank", base, {"top_n": 1})
        svc.infer(rerank, InferenceRequest(["x", "y"], query="q"))
        conforms(_recorded(server, "/text/rerank"), docs.WATSONX_RERANK)


def test_hugging_face_tei_azure_ai_studio_alibaba():
    conforms(built("hugging_face", "text_embedding", {"api_key": KEY, "url": "https://x/embed"}, ["a", "b"]),
             docs.TEI_EMBED)
    conforms(built("hugging_face", "rerank", {"api_key": KEY, "url": "https://x/rerank"}, ["a"], query="q"),
             docs.TEI_RERANK)
    conforms(built("azureaistudio", "text_embedding", {"api_key": KEY, "provider": "openai", "endpoint_type": "token",
                                                        "target": "https://x.inference.ai.azure.com/v1/embeddings"},
                   ["a"]), docs.AZURE_AI_EMBED)
    ali = {"api_key": KEY, "host": "h", "workspace": "default"}
    conforms(built("alibabacloud-ai-search", "text_embedding", {**ali, "service_id": "ops-text-embedding-001"},
                   ["a"], input_type=InputType.SEARCH), docs.ALIBABA_EMBED)
    conforms(built("alibabacloud-ai-search", "rerank", {**ali, "service_id": "ops-bge-reranker-larger"}, ["a"],
                   query="q"), docs.ALIBABA_RERANK)
