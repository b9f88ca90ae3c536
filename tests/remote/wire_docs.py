"""Request shapes as the providers' API references document them, written from those references (not from our
fakes or our code): the method, the path, and the body's keys with their JSON types, required ones marked.

``check(request, shape)`` names every difference; ``tests/remote/test_wire_shapes.py`` builds one documented
example request per provider and task with our services and checks it against its shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# JSON type names of a shape: "str", "int", "num", "bool", "list", "dict", "any", or a nested Shape.
Kind = Any


@dataclass(frozen=True)
class Body:
    """An object's documented keys: ``required`` and ``optional`` map a key to its kind."""

    required: dict[str, Kind] = field(default_factory=dict)
    optional: dict[str, Kind] = field(default_factory=dict)
    items: Kind | None = None  # when the value is a list: the kind of each item


@dataclass(frozen=True)
class Shape:
    """One documented operation."""

    method: str
    path: str  # the path the reference documents, compared with the end of our URL
    body: Body
    source: str  # where the shape comes from


_TYPES: dict[str, type | tuple[type, ...]] = {"str": str, "int": int, "num": (int, float), "bool": bool, "list": list, "dict": dict}


def _kind_ok(value: Any, kind: Kind, where: str, problems: list[str]) -> None:
    if isinstance(kind, Body):
        _body_ok(value, kind, where, problems)
        return
    if isinstance(kind, tuple):  # a list whose items have a kind
        outer, inner = kind
        _kind_ok(value, outer, where, problems)
        if isinstance(value, list):
            for i, item in enumerate(value):
                _kind_ok(item, inner, f"{where}[{i}]", problems)
        return
    if isinstance(kind, set):  # an enumeration
        if value not in kind:
            problems.append(f"{where}: {value!r} is not one of {sorted(kind)}")
        return
    if kind == "any":
        return
    expected = _TYPES[kind]
    if isinstance(value, bool) and kind in ("int", "num"):
        problems.append(f"{where}: expected {kind}, got bool")
    elif not isinstance(value, expected):
        problems.append(f"{where}: expected {kind}, got {type(value).__name__}")


def _body_ok(value: Any, body: Body, where: str, problems: list[str]) -> None:
    if not isinstance(value, dict):
        problems.append(f"{where}: expected an object, got {type(value).__name__}")
        return
    for key in body.required:
        if key not in value:
            problems.append(f"{where}.{key}: required by the API reference, missing")
    allowed = {**body.required, **body.optional}
    for key, item in value.items():
        if key not in allowed:
            problems.append(f"{where}.{key}: not a documented field")
        else:
            _kind_ok(item, allowed[key], f"{where}.{key}", problems)


def check(method: str, url: str, body: Any, shape: Shape) -> list[str]:
    """Every way the request differs from the documented shape (empty when it conforms)."""
    problems: list[str] = []
    if method != shape.method:
        problems.append(f"method {method} != {shape.method}")
    path = url.split("?", 1)[0]
    if not path.endswith(shape.path):
        problems.append(f"path {path} does not end with {shape.path}")
    _body_ok(body, shape.body, "body", problems)
    return problems


MESSAGE = Body({"role": {"system", "user", "assistant", "tool", "developer"}, "content": "any"},
               {"name": "str", "tool_calls": "list", "tool_call_id": "str"})
MESSAGES = ("list", MESSAGE)
STRS = ("list", "str")

# --- OpenAI (platform.openai.com/docs/api-reference) ----------------------------------------------------------
OPENAI_EMBEDDINGS = Shape("POST", "/v1/embeddings", Body(
    {"input": STRS, "model": "str"},
    {"encoding_format": {"float", "base64"}, "dimensions": "int", "user": "str"}),
    "OpenAI API reference, Embeddings > Create embeddings")
OPENAI_CHAT = Shape("POST", "/v1/chat/completions", Body(
    {"messages": MESSAGES, "model": "str"},
    {"max_completion_tokens": "int", "n": "int", "stream": "bool", "stream_options": Body({}, {"include_usage": "bool"}),
     "stop": "any", "temperature": "num", "top_p": "num", "tools": "list", "tool_choice": "any", "user": "str",
     "reasoning_effort": {"none", "minimal", "low", "medium", "high", "xhigh"}}),
    "OpenAI API reference, Chat > Create chat completion")

# --- Mistral (docs.mistral.ai/api) ---------------------------------------------------------------------------------
MISTRAL_EMBEDDINGS = Shape("POST", "/v1/embeddings", Body(
    {"model": "str", "input": STRS}, {"output_dimension": "int", "output_dtype": "str", "encoding_format": "str"}),
    "Mistral API, Embeddings > Create Embeddings")
MISTRAL_CHAT = Shape("POST", "/v1/chat/completions", Body(
    {"model": "str", "messages": MESSAGES},
    {"temperature": "num", "top_p": "num", "max_tokens": "int", "stream": "bool", "stop": "any", "random_seed": "int",
     "response_format": "dict", "tools": "list", "tool_choice": "any", "presence_penalty": "num",
     "frequency_penalty": "num", "n": "int", "safe_prompt": "bool", "parallel_tool_calls": "bool"}),
    "Mistral API, Chat > Chat Completion (no max_completion_tokens, no stream_options)")

# --- Hugging Face TGI Messages API (huggingface.co/docs/text-generation-inference, OpenAPI "chat_completions") -------
TGI_CHAT = Shape("POST", "/v1/chat/completions", Body(
    {"messages": MESSAGES},
    {"model": "str", "max_tokens": "int", "stream": "bool", "stream_options": "dict", "stop": "any",
     "temperature": "num", "top_p": "num", "tools": "list", "tool_choice": "any", "n": "int", "seed": "int",
     "frequency_penalty": "num", "presence_penalty": "num", "logprobs": "bool", "response_format": "dict"}),
    "TGI OpenAPI, ChatRequest (max_tokens; there is no max_completion_tokens)")

# --- Google AI Studio / Gemini API (ai.google.dev/api) ---------------------------------------------------------------
GEMINI_EMBED_REQUEST = Body(
    {"model": "str", "content": Body({"parts": ("list", Body({"text": "str"}))}, {"role": "str"})},
    {"taskType": {"TASK_TYPE_UNSPECIFIED", "RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY",
                  "CLASSIFICATION", "CLUSTERING", "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"},
     "title": "str", "outputDimensionality": "int"})
GEMINI_BATCH_EMBED = Shape("POST", ":batchEmbedContents", Body({"requests": ("list", GEMINI_EMBED_REQUEST)}),
                           "Gemini API, models.batchEmbedContents / EmbedContentRequest")

# --- Amazon Bedrock (docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-*.html) ---------------------------
TITAN_V1_EMBED = Shape("POST", "/invoke", Body({"inputText": "str"}),
                       "Bedrock user guide, Amazon Titan Embeddings G1 - Text: the request takes only inputText")
TITAN_V2_EMBED = Shape("POST", "/invoke", Body(
    {"inputText": "str"}, {"dimensions": {256, 512, 1024}, "normalize": "bool", "embeddingTypes": STRS}),
    "Bedrock user guide, Amazon Titan Text Embeddings V2")
COHERE_BEDROCK_EMBED = Shape("POST", "/invoke", Body(
    {"texts": STRS, "input_type": {"search_document", "search_query", "classification", "clustering"}},
    {"truncate": {"NONE", "START", "END"}, "embedding_types": STRS}),
    "Bedrock user guide, Cohere Embed models")

# --- the OpenAI-compatible providers (models/services/remote/providers.py) -------------------------------------------
_CHAT_COMMON = {"stream": "bool", "stop": "any", "temperature": "num", "top_p": "num", "tools": "list",
                "tool_choice": "any"}
DEEPSEEK_CHAT = Shape("POST", "/chat/completions", Body(
    {"model": "str", "messages": MESSAGES},
    {**_CHAT_COMMON, "max_tokens": "int", "stream_options": Body({}, {"include_usage": "bool"}),
     "frequency_penalty": "num", "presence_penalty": "num", "response_format": "dict", "logprobs": "bool"}),
    "DeepSeek API docs, Create Chat Completion (max_tokens; no n)")
GROQ_CHAT = Shape("POST", "/openai/v1/chat/completions", Body(
    {"model": "str", "messages": MESSAGES},
    {**_CHAT_COMMON, "max_completion_tokens": "int", "n": {1}, "user": "str", "stream_options": "dict",
     "reasoning_effort": {"none", "default", "low", "medium", "high"}, "reasoning_format": "str", "seed": "int"}),
    "GroqCloud API reference, Create chat completion")
AI21_CHAT = Shape("POST", "/studio/v1/chat/completions", Body(
    {"model": "str", "messages": MESSAGES},
    {**_CHAT_COMMON, "max_tokens": "int", "n": "int", "documents": "list", "response_format": "dict"}),
    "AI21 Jamba API reference, chat completions (max_tokens; no stream_options)")
LLAMA_STACK_EMBED = Shape("POST", "/v1/inference/embeddings", Body(
    {"model_id": "str", "contents": STRS}, {"text_truncation": "str", "output_dimension": "int", "task_type": "str"}),
    "Llama Stack API, POST /v1/inference/embeddings")
NVIDIA_EMBED = Shape("POST", "/v1/embeddings", Body(
    {"input": STRS, "model": "str", "input_type": {"query", "passage"}},
    {"truncate": {"NONE", "START", "END"}, "encoding_format": {"float", "base64"}, "user": "str"}),
    "NVIDIA NIM for Text Embedding API, POST /v1/embeddings (input_type required for asymmetric models)")
NVIDIA_RERANK = Shape("POST", "/v1/retrieval/nvidia/reranking", Body(
    {"model": "str", "query": Body({"text": "str"}), "passages": ("list", Body({"text": "str"}))},
    {"truncate": {"NONE", "END"}}),
    "NVIDIA NIM for Text Reranking API, POST /v1/ranking")
NVIDIA_CHAT = Shape("POST", "/v1/chat/completions", Body(
    {"model": "str", "messages": MESSAGES},
    {**_CHAT_COMMON, "max_tokens": "int", "n": "int", "stream_options": "dict", "seed": "int"}),
    "NVIDIA NIM for LLMs API, POST /v1/chat/completions")
VLLM_RERANK = Shape("POST", "/rerank", Body(
    {"query": "str", "documents": STRS}, {"model": "str", "top_n": "int", "return_documents": "bool"}),
    "vLLM OpenAI-compatible server (OpenShift AI), Re-rank API /v1/rerank (Cohere/Jina-compatible)")
FIREWORKS_EMBED = Shape("POST", "/inference/v1/embeddings", Body(
    {"model": "str", "input": STRS}, {"dimensions": "int", "encoding_format": {"float", "base64"}, "user": "str"}),
    "Fireworks AI API reference, Create embeddings")
FIREWORKS_CHAT = Shape("POST", "/inference/v1/chat/completions", Body(
    {"model": "str", "messages": MESSAGES},
    {**_CHAT_COMMON, "max_tokens": "int", "n": "int", "user": "str", "reasoning_effort": {"low", "medium", "high"},
     "response_format": "dict"}),
    "Fireworks AI API reference, Create chat completion")
FIREWORKS_RERANK = Shape("POST", "/inference/v1/rerank", Body(
    {"model": "str", "query": "str", "documents": STRS}, {"top_n": "int", "return_documents": "bool"}),
    "Fireworks AI API reference, Rerank")
CONTEXTUAL_RERANK = Shape("POST", "/v1/rerank", Body(
    {"query": "str", "documents": STRS, "model": "str"}, {"top_n": "int", "instruction": "str", "metadata": STRS}),
    "Contextual AI API reference, Rerank")
MIXEDBREAD_EMBED = Shape("POST", "/v1/embeddings", Body(
    {"model": "str", "input": STRS},
    {"dimensions": "int", "prompt": "str", "normalized": "bool", "encoding_format": "any"}),
    "Mixedbread API reference, Embeddings")
MIXEDBREAD_RERANK = Shape("POST", "/v1/reranking", Body(
    {"model": "str", "query": "str", "input": STRS},
    {"top_k": "int", "return_input": "bool", "rank_fields": STRS, "rewrite_query": "bool"}),
    "Mixedbread API reference, Reranking")

# --- Amazon SageMaker Runtime (docs.aws.amazon.com/sagemaker/latest/APIReference/API_runtime_InvokeEndpoint.html) ---
# The body is the container's; the operation fixes the path. With api=openai the container speaks OpenAI's
# embeddings body (no model: the endpoint serves one); with api=elastic, Elasticsearch's own request.
SAGEMAKER_OPENAI_EMBED = Shape("POST", "/endpoints/my-endpoint/invocations", Body(
    {"input": "any"}, {"dimensions": "int", "user": "str", "model": "str"}),
    "SageMaker InvokeEndpoint + OpenAI embeddings body, as Elasticsearch's openai api sends it")
SAGEMAKER_ELASTIC = Shape("POST", "/endpoints/my-endpoint/invocations", Body(
    {"input": "any"}, {"input_type": "str", "query": "str", "return_documents": "bool", "top_n": "int",
                       "task_settings": "dict"}),
    "SageMaker InvokeEndpoint + Elasticsearch's elastic api request")
SAGEMAKER_HEADERS = {"x-amzn-sagemaker-custom-attributes", "x-amzn-sagemaker-target-model",
                     "x-amzn-sagemaker-target-variant", "x-amzn-sagemaker-target-container-hostname",
                     "x-amzn-sagemaker-inference-id", "x-amzn-sagemaker-enable-explanations",
                     "x-amzn-sagemaker-inference-component", "x-amzn-sagemaker-session-id"}

# --- Cohere API v2 (docs.cohere.com/reference) ---------------------------------------------------------------------
COHERE_EMBED = Shape("POST", "/v2/embed", Body(
    {"model": "str", "input_type": {"search_document", "search_query", "classification", "clustering", "image"},
     "embedding_types": ("list", {"float", "int8", "uint8", "binary", "ubinary", "base64"})},
    {"texts": STRS, "images": STRS, "inputs": "list", "truncate": {"NONE", "START", "END"},
     "output_dimension": {256, 512, 1024, 1536}, "max_tokens": "int"}),
    "Cohere API v2, Embed (embedding_types required in v2)")
COHERE_CONTENT = {"text": Body({"type": {"text"}, "text": "str"}),
                  "image_url": Body({"type": {"image_url"}, "image_url": Body({"url": "str"}, {"detail": "str"})})}
COHERE_INPUT = Body({"content": "list"})  # each piece: COHERE_CONTENT by its type (Cohere API v2, Embed > inputs)
COHERE_RERANK = Shape("POST", "/v2/rerank", Body(
    {"model": "str", "query": "str", "documents": STRS}, {"top_n": "int", "max_tokens_per_doc": "int"}),
    "Cohere API v2, Rerank (no return_documents in v2)")
COHERE_CHAT = Shape("POST", "/v2/chat", Body(
    {"model": "str", "messages": MESSAGES},
    {"stream": "bool", "max_tokens": "int", "temperature": "num", "p": "num", "k": "int", "stop_sequences": STRS,
     "tools": "list", "documents": "list", "response_format": "dict", "seed": "int"}),
    "Cohere API v2, Chat")

# --- Anthropic Messages API (docs.anthropic.com/en/api/messages) -------------------------------------------------------
ANTHROPIC_MESSAGES = Shape("POST", "/v1/messages", Body(
    {"model": "str", "max_tokens": "int", "messages": ("list", Body({"role": {"user", "assistant"}, "content": "any"}))},
    {"system": "any", "stream": "bool", "temperature": "num", "top_p": "num", "top_k": "int", "stop_sequences": STRS,
     "tools": "list", "tool_choice": "dict", "metadata": "dict", "thinking": "dict"}),
    "Anthropic API, Messages (system is top-level, not a message role)")

# --- Jina AI (api.jina.ai/redoc) ----------------------------------------------------------------------------------
JINA_EMBED = Shape("POST", "/v1/embeddings", Body(
    {"model": "str", "input": STRS},
    {"task": {"retrieval.query", "retrieval.passage", "separation", "classification", "text-matching", "code.query",
              "code.passage"},
     "dimensions": "int", "late_chunking": "bool", "embedding_type": {"float", "base64", "binary", "ubinary"},
     "normalized": "bool", "truncate": "bool"}),
    "Jina AI Embeddings API")
JINA_EMBED_MULTIMODAL = Shape("POST", "/v1/embeddings", Body(
    {"model": "str", "input": ("list", Body({}, {"text": "str", "image": "str"}))},
    {"task": {"retrieval.query", "retrieval.passage", "text-matching", "code.query", "code.passage"},
     "dimensions": "int", "late_chunking": "bool", "embedding_type": {"float", "base64", "binary", "ubinary"},
     "normalized": "bool", "truncate": "bool"}),
    "Jina AI Embeddings API, multimodal models (jina-clip-v2, jina-embeddings-v4): input objects of text or image "
    "(URL or base64)")
JINA_RERANK = Shape("POST", "/v1/rerank", Body(
    {"model": "str", "query": "str", "documents": STRS}, {"top_n": "int", "return_documents": "bool"}),
    "Jina AI Reranker API")

# --- Voyage AI (docs.voyageai.com/reference) ------------------------------------------------------------------------
VOYAGE_EMBED = Shape("POST", "/v1/embeddings", Body(
    {"input": STRS, "model": "str"},
    {"input_type": {"query", "document"}, "truncation": "bool", "output_dimension": "int",
     "output_dtype": {"float", "int8", "uint8", "binary", "ubinary"}, "encoding_format": {"base64"}}),
    "Voyage AI, Text embeddings")
VOYAGE_PIECE = {"text": Body({"type": {"text"}, "text": "str"}),
                "image_base64": Body({"type": {"image_base64"}, "image_base64": "str"}),
                "image_url": Body({"type": {"image_url"}, "image_url": "str"})}
VOYAGE_MULTIMODAL = Shape("POST", "/v1/multimodalembeddings", Body(
    {"inputs": ("list", Body({"content": "list"})), "model": "str"},
    {"input_type": {"query", "document"}, "truncation": "bool", "output_encoding": {"base64"}}),
    "Voyage AI, Multimodal embeddings (content pieces: VOYAGE_PIECE; image_base64 as a data URL)")
VOYAGE_RERANK = Shape("POST", "/v1/rerank", Body(
    {"query": "str", "documents": STRS, "model": "str"},
    {"top_k": "int", "return_documents": "bool", "truncation": "bool"}),
    "Voyage AI, Reranker")

# --- Azure OpenAI (learn.microsoft.com/azure/ai-services/openai/reference) ----------------------------------------
AZURE_OPENAI_EMBED = Shape("POST", "/openai/deployments/d/embeddings", Body(
    {"input": STRS}, {"user": "str", "input_type": "str", "encoding_format": {"float", "base64"}, "dimensions": "int"}),
    "Azure OpenAI data-plane reference, Embeddings - Create (the deployment names the model)")

# --- Bedrock Converse (docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html) ---------------------
BEDROCK_CONVERSE = Shape("POST", "/converse", Body(
    {"messages": ("list", Body({"role": {"user", "assistant"}, "content": ("list", Body({}, {"text": "str"}))}))},
    {"system": ("list", Body({}, {"text": "str"})),
     "inferenceConfig": Body({}, {"maxTokens": "int", "temperature": "num", "topP": "num", "stopSequences": STRS}),
     "additionalModelRequestFields": "dict", "toolConfig": "dict", "guardrailConfig": "dict"}),
    "Bedrock Runtime API reference, Converse")

# --- Google Vertex AI (cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api;
#     cloud.google.com/generative-ai-app-builder/docs/reference/rest/v1/projects.locations.rankingConfigs/rank) ------
VERTEX_PREDICT = Shape("POST", ":predict", Body(
    {"instances": ("list", Body({"content": "str"}, {
        "task_type": {"RETRIEVAL_QUERY", "RETRIEVAL_DOCUMENT", "SEMANTIC_SIMILARITY", "CLASSIFICATION", "CLUSTERING",
                      "QUESTION_ANSWERING", "FACT_VERIFICATION", "CODE_RETRIEVAL_QUERY"},
        "title": "str"}))},
    {"parameters": Body({}, {"autoTruncate": "bool", "outputDimensionality": "int"})}),
    "Vertex AI text embeddings API, predict")
VERTEX_MULTIMODAL_PREDICT = Shape("POST", "/models/multimodalembedding@001:predict", Body(
    {"instances": ("list", Body({}, {"text": "str", "image": Body({}, {"bytesBase64Encoded": "str", "gcsUri": "str",
                                                                     "mimeType": "str"}),
                                     "video": "dict"}))},
    {"parameters": Body({}, {"dimension": {128, 256, 512, 1408}})}),
    "Vertex AI multimodal embeddings API (multimodalembedding@001), predict")
VERTEX_RANK = Shape("POST", ":rank", Body(
    {"query": "str", "records": ("list", Body({"id": "str"}, {"title": "str", "content": "str"}))},
    {"model": "str", "topN": "int", "ignoreRecordDetailsInResponse": "bool", "userLabels": "dict"}),
    "Vertex AI Search ranking API, rankingConfigs.rank")

# --- IBM watsonx.ai (cloud.ibm.com/apidocs/watsonx-ai) ------------------------------------------------------------
WATSONX_EMBED = Shape("POST", "/ml/v1/text/embeddings", Body(
    {"inputs": STRS, "model_id": "str"},
    {"project_id": "str", "space_id": "str",
     "parameters": Body({}, {"truncate_input_tokens": "int", "return_options": Body({}, {"input_text": "bool"})})}),
    "watsonx.ai API, Generate embeddings")
WATSONX_RERANK = Shape("POST", "/ml/v1/text/rerank", Body(
    {"inputs": ("list", Body({"text": "str"})), "query": "str", "model_id": "str"},
    {"project_id": "str", "space_id": "str",
     "parameters": Body({}, {"truncate_input_tokens": "int",
                             "return_options": Body({}, {"top_n": "int", "inputs": "bool", "query": "bool"})})}),
    "watsonx.ai API, Generate rerank")

# --- Hugging Face Text Embeddings Inference (huggingface.github.io/text-embeddings-inference, OpenAPI) ----------------
TEI_EMBED = Shape("POST", "/embed", Body(
    {"inputs": "any"},
    {"normalize": "bool", "truncate": "bool", "truncation_direction": {"Left", "Right"}, "prompt_name": "str",
     "dimensions": "int"}),
    "TEI OpenAPI, POST /embed (EmbedRequest)")
TEI_RERANK = Shape("POST", "/rerank", Body(
    {"query": "str", "texts": STRS},
    {"return_text": "bool", "raw_scores": "bool", "truncate": "bool", "truncation_direction": {"Left", "Right"}}),
    "TEI OpenAPI, POST /rerank (RerankRequest)")

# --- Azure AI Foundry model inference (learn.microsoft.com/azure/ai-foundry/model-inference/reference) -----------------
AZURE_AI_EMBED = Shape("POST", "/v1/embeddings", Body(
    {"input": STRS},
    {"dimensions": "int", "encoding_format": {"base64", "binary", "float", "int8", "ubinary", "uint8"},
     "input_type": {"text", "query", "document"}, "model": "str", "user": "str"}),
    "Azure AI model inference API, Embeddings")

# --- AlibabaCloud AI Search (help.aliyun.com: text-embedding and ranker APIs) -------------------------------------
ALIBABA_EMBED = Shape("POST", "/text-embedding/ops-text-embedding-001", Body(
    {"input": STRS}, {"input_type": {"query", "document"}}), "AlibabaCloud AI Search, text embedding API")
ALIBABA_RERANK = Shape("POST", "/ranker/ops-bge-reranker-larger", Body(
    {"query": "str", "docs": STRS}), "AlibabaCloud AI Search, ranker API")
