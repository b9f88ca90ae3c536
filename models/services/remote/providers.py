"""The OpenAI-compatible providers, one :class:`~ingest.models.services.remote.compatible.Provider` row each.

Task types, settings and default rate limits follow Elasticsearch's services of the same name; URLs, body fields
and chat dialects follow each provider's API reference (cited per row). Batch caps: the provider's documented
limit where it has one, else a conservative count (noted) that the too-large halving in ``service`` backs up.
"""

from __future__ import annotations

from ingest.models.results import TaskType
from ingest.models.services.remote.compatible import CompatibleService, Provider
from ingest.models.services.remote.openai_compat import ChatDialect
from ingest.models.services.remote.settings import Setting, tasks

EMBED = tasks(TaskType.TEXT_EMBEDDING)
RERANK = tasks(TaskType.RERANK)
CHATS = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)
MAX_INPUT_TOKENS = Setting(int, minimum=1, tasks=EMBED)
CHAT_TASK_SETTINGS = {"user": Setting(str, tasks=CHATS), "headers": Setting(dict, tasks=CHATS)}
UNLIMITED = 2**31 - 1  # Elasticsearch's Integer.MAX_VALUE for providers that publish no limit

# api-docs.deepseek.com: POST /chat/completions, max_tokens, stream_options; no n, no reasoning parameter
# (deepseek-reasoner reasons by model choice).
DEEPSEEK = Provider(
    "deepseek", "DeepSeek",
    {TaskType.COMPLETION: "https://api.deepseek.com/chat/completions",
     TaskType.CHAT_COMPLETION: "https://api.deepseek.com/chat/completions"},
    default_rpm=UNLIMITED, dialect=ChatDialect(max_tokens="max_tokens", n=False))

# console.groq.com/docs/api-reference: OpenAI's body incl. max_completion_tokens and reasoning_effort.
GROQ = Provider(
    "groq", "Groq",
    {TaskType.COMPLETION: "https://api.groq.com/openai/v1/chat/completions",
     TaskType.CHAT_COMPLETION: "https://api.groq.com/openai/v1/chat/completions"},
    task_settings=CHAT_TASK_SETTINGS, default_rpm=1000, takes_reasoning=True)

# docs.ai21.com/reference/jamba-1-6-api-ref: POST /studio/v1/chat/completions with max_tokens, n, stream.
AI21 = Provider(
    "ai21", "AI21",
    {TaskType.COMPLETION: "https://api.ai21.com/studio/v1/chat/completions",
     TaskType.CHAT_COMPLETION: "https://api.ai21.com/studio/v1/chat/completions"},
    default_rpm=200, dialect=ChatDialect(max_tokens="max_tokens", usage_in_stream=False))

# Llama Stack: POST {url} = .../v1/inference/embeddings {model_id, contents} → {embeddings}; chat at
# .../v1/openai/v1/chat/completions (OpenAI's body). No documented batch cap: 32 texts per request.
LLAMA = Provider(
    "llama", "Llama",
    {TaskType.TEXT_EMBEDDING: None, TaskType.COMPLETION: None, TaskType.CHAT_COMPLETION: None},
    settings={"max_input_tokens": MAX_INPUT_TOKENS}, api_key_required=False, max_batch=32, embed="llama")

# build.nvidia.com / NIM API reference: embeddings need input_type (query | passage) and take truncate; reranking
# {model, query: {text}, passages: [{text}]} → {rankings: [{index, logit}]}; chat uses max_tokens. 20 texts per
# embeddings request, Elasticsearch's conservative cap (the model behind the URL is unknown).
NVIDIA = Provider(
    "nvidia", "Nvidia",
    {TaskType.TEXT_EMBEDDING: "https://integrate.api.nvidia.com/v1/embeddings",
     TaskType.COMPLETION: "https://integrate.api.nvidia.com/v1/chat/completions",
     TaskType.CHAT_COMPLETION: "https://integrate.api.nvidia.com/v1/chat/completions",
     TaskType.RERANK: "https://ai.api.nvidia.com/v1/retrieval/nvidia/reranking"},
    settings={"max_input_tokens": MAX_INPUT_TOKENS},
    task_settings={"input_type": Setting(str, choices=("ingest", "search"), tasks=EMBED),
                   "truncate": Setting(str, choices=("end", "none", "start"), tasks=EMBED)},
    max_batch=20, dialect=ChatDialect(max_tokens="max_tokens"), embed="nvidia", rerank="nvidia")

# Red Hat OpenShift AI model serving (vLLM / KServe, OpenAI-compatible): /v1/embeddings, /v1/chat/completions,
# and vLLM's Cohere-style /v1/rerank {model?, query, documents, top_n, return_documents} → {results}.
# No documented batch cap: 32 texts per request.
OPENSHIFT_AI = Provider(
    "openshift_ai", "OpenShift AI",
    {TaskType.TEXT_EMBEDDING: None, TaskType.COMPLETION: None, TaskType.CHAT_COMPLETION: None,
     TaskType.RERANK: None},
    settings={"max_input_tokens": MAX_INPUT_TOKENS},
    task_settings={"return_documents": Setting(bool, tasks=RERANK), "top_n": Setting(int, minimum=1, tasks=RERANK)},
    model_required=False, max_batch=32, rerank="cohere")

# docs.fireworks.ai/api-reference: /inference/v1/embeddings (OpenAI's body, dimensions for variable-length models),
# /inference/v1/chat/completions (max_tokens, reasoning_effort) and /inference/v1/rerank ({model, query, documents,
# top_n, return_documents} → {results}). 256 texts per embeddings request: the limit Fireworks' embeddings server
# enforces (Elasticsearch's cap too).
FIREWORKS = Provider(
    "fireworksai", "Fireworks AI",
    {TaskType.TEXT_EMBEDDING: "https://api.fireworks.ai/inference/v1/embeddings",
     TaskType.COMPLETION: "https://api.fireworks.ai/inference/v1/chat/completions",
     TaskType.CHAT_COMPLETION: "https://api.fireworks.ai/inference/v1/chat/completions",
     TaskType.RERANK: "https://api.fireworks.ai/inference/v1/rerank"},
    task_settings={**CHAT_TASK_SETTINGS, "return_documents": Setting(bool, tasks=RERANK),
                   "top_n": Setting(int, minimum=1, tasks=RERANK)},
    default_rpm=6000, max_batch=256, dialect=ChatDialect(max_tokens="max_tokens", usage_in_stream=False),
    takes_reasoning=True, sends_dimensions=True, rerank="cohere")

# docs.contextual.ai/api-reference/rerank: POST /v1/rerank {query, documents, model, top_n, instruction} → {results}.
CONTEXTUAL_AI = Provider(
    "contextualai", "Contextual AI",
    {TaskType.RERANK: "https://api.contextual.ai/v1/rerank"},
    task_settings={"instruction": Setting(str, tasks=RERANK), "top_k": Setting(int, minimum=1, tasks=RERANK)},
    default_rpm=1000, rerank="contextual")

# mixedbread.com/api-reference: /v1/embeddings {model, input, dimensions, prompt, normalized} and /v1/reranking
# {model, query, input, top_k, return_input} → {data: [{index, score}]}; 240 requests a minute as Elasticsearch.
MIXEDBREAD = Provider(
    "mixedbread", "Mixedbread",
    {TaskType.TEXT_EMBEDDING: "https://api.mixedbread.com/v1/embeddings",
     TaskType.RERANK: "https://api.mixedbread.com/v1/reranking"},
    task_settings={"return_documents": Setting(bool, tasks=RERANK), "top_k": Setting(int, minimum=1, tasks=RERANK),
                   "prompt": Setting(str, tasks=EMBED), "normalized": Setting(bool, tasks=EMBED)},
    default_rpm=240, max_batch=256, embed="mixedbread", rerank="mixedbread", sends_dimensions=True)


class DeepSeekService(CompatibleService):
    """Elasticsearch's ``deepseek`` service."""

    provider = DEEPSEEK


class GroqService(CompatibleService):
    """Elasticsearch's ``groq`` service."""

    provider = GROQ


class Ai21Service(CompatibleService):
    """Elasticsearch's ``ai21`` service."""

    provider = AI21


class LlamaService(CompatibleService):
    """Elasticsearch's ``llama`` service."""

    provider = LLAMA


class NvidiaService(CompatibleService):
    """Elasticsearch's ``nvidia`` service."""

    provider = NVIDIA


class OpenShiftAiService(CompatibleService):
    """Elasticsearch's ``openshift_ai`` service."""

    provider = OPENSHIFT_AI


class FireworksAiService(CompatibleService):
    """Elasticsearch's ``fireworksai`` service."""

    provider = FIREWORKS


class ContextualAiService(CompatibleService):
    """Elasticsearch's ``contextualai`` service."""

    provider = CONTEXTUAL_AI


class MixedbreadService(CompatibleService):
    """Elasticsearch's ``mixedbread`` service."""

    provider = MIXEDBREAD


COMPATIBLE_SERVICES: tuple[type[CompatibleService], ...] = (
    DeepSeekService, GroqService, Ai21Service, LlamaService, NvidiaService, OpenShiftAiService, FireworksAiService,
    ContextualAiService, MixedbreadService,
)
