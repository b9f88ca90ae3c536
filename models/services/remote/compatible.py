"""Providers that speak OpenAI's chat (and often embeddings) API with small differences, as data.

Each provider is a :class:`Provider` row in ``providers.py``: its default URLs per task type, its settings, caps,
default rate limit, chat dialect (``openai_compat.ChatDialect``), and which documented shape its embeddings and
rerank requests take (the ``EMBED`` / ``RERANK`` tables below). :class:`CompatibleService` is the one
implementation behind all of them, so a difference between two providers is a field, never a copied class.

``url`` is the full URL of the operation, as Elasticsearch defines it for ``deepseek``, ``llama``, ``nvidia``,
``openshift_ai`` and ``fireworksai``; for ``groq``, ``ai21``, ``contextualai`` and ``mixedbread`` (which have no
``url`` in Elasticsearch) it is our addition with the same meaning, for proxies, gateways and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ingest.models.errors import ValidationException
from ingest.models.results import InputType, TaskType
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai_compat import (
    OPENAI_DIALECT,
    ChatDialect,
    chat_body,
    embeddings_body,
    openai_stream_chunks,
    parse_chat,
    parse_embeddings,
    stack,
)
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body, ranked
from ingest.models.services.remote.settings import Setting
from ingest.models.services.remote.transport import HttpCall

CHAT = frozenset({TaskType.COMPLETION, TaskType.CHAT_COMPLETION})


def _want_documents(call: Call) -> bool | None:
    if call.return_documents is not None:
        return call.return_documents
    value = call.task_settings.get("return_documents")
    return bool(value) if value is not None else None


def _top_n(call: Call, setting: str = "top_n") -> int | None:
    value = call.top_n if call.top_n is not None else call.task_settings.get(setting)
    return int(value) if value is not None else None


# ---- embeddings: documented request bodies and answers ------------------------------------------------------------

NVIDIA_INPUT = {InputType.INGEST: "passage", InputType.SEARCH: "query"}


def _openai_embed(call: Call, inputs: list[str]) -> dict[str, Any]:
    # dimensions in the settings of a provider that takes them were set by the user (none are recorded for it)
    return embeddings_body(call.settings.get("model_id"), inputs, dimensions=call.settings.get("dimensions"))


def _nvidia_embed(call: Call, inputs: list[str]) -> dict[str, Any]:
    # NIM embedding models need input_type; Elasticsearch sends "query" when none is given and refuses the rest
    kind = call.input_type or InputType.SEARCH
    if kind not in NVIDIA_INPUT:
        raise ValidationException([f"Input type [{kind}] is not supported for [Nvidia]"])
    body: dict[str, Any] = {"input": inputs, "model": call.settings["model_id"], "input_type": NVIDIA_INPUT[kind]}
    if call.task_settings.get("truncate"):
        body["truncate"] = str(call.task_settings["truncate"]).upper()
    return body


def _llama_embed(call: Call, inputs: list[str]) -> dict[str, Any]:
    return {"model_id": call.settings["model_id"], "contents": inputs}  # Llama Stack /v1/inference/embeddings


def _mixedbread_embed(call: Call, inputs: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": call.settings["model_id"], "input": inputs}
    if call.settings.get("dimensions"):
        body["dimensions"] = call.settings["dimensions"]
    for key in ("prompt", "normalized"):
        if call.task_settings.get(key) is not None:
            body[key] = call.task_settings[key]
    return body


def _llama_vectors(response: UpstreamResponse) -> np.ndarray:
    return stack([np.asarray(row, dtype=np.float32) for row in json_body(response)["embeddings"]])


EMBED: dict[str, tuple[Callable[[Call, list[str]], dict[str, Any]], Callable[[UpstreamResponse], np.ndarray]]] = {
    "openai": (_openai_embed, parse_embeddings),
    "nvidia": (_nvidia_embed, parse_embeddings),
    "llama": (_llama_embed, _llama_vectors),
    "mixedbread": (_mixedbread_embed, parse_embeddings),
}


# ---- rerank: documented request bodies and answers ---------------------------------------------------------------

def _nvidia_rerank(call: Call, docs: list[str]) -> dict[str, Any]:
    return {"model": call.settings["model_id"], "query": {"text": call.query},
            "passages": [{"text": d} for d in docs]}


def _cohere_like_rerank(call: Call, docs: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"query": call.query, "documents": docs}
    if call.settings.get("model_id"):
        body["model"] = call.settings["model_id"]
    top_n, want = _top_n(call), _want_documents(call)
    if top_n is not None:
        body["top_n"] = top_n
    if want is not None:
        body["return_documents"] = want
    return body


def _contextual_rerank(call: Call, docs: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"query": call.query, "documents": docs, "model": call.settings["model_id"]}
    top_n = _top_n(call, "top_k")
    if top_n is not None:
        body["top_n"] = top_n
    if call.task_settings.get("instruction"):
        body["instruction"] = call.task_settings["instruction"]
    return body


def _mixedbread_rerank(call: Call, docs: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": call.settings["model_id"], "query": call.query, "input": docs}
    top_n, want = _top_n(call, "top_k"), _want_documents(call)
    if top_n is not None:
        body["top_k"] = top_n
    if want is not None:
        body["return_input"] = want
    return body


def _results(data: Any) -> list[tuple[int, float]]:
    return [(int(r["index"]), float(r["relevance_score"])) for r in data["results"]]


RERANK: dict[str, tuple[Callable[[Call, list[str]], dict[str, Any]], Callable[[Any], list[tuple[int, float]]]]] = {
    "nvidia": (_nvidia_rerank, lambda data: [(int(r["index"]), float(r["logit"])) for r in data["rankings"]]),
    "cohere": (_cohere_like_rerank, _results),
    "contextual": (_contextual_rerank, _results),
    "mixedbread": (_mixedbread_rerank, lambda data: [(int(r["index"]), float(r["score"])) for r in data["data"]]),
}


@dataclass(frozen=True)
class Provider:
    """Everything that makes one OpenAI-compatible provider differ from another."""

    name: str
    label: str  # the display name ``GET _inference/_services`` gives it
    urls: dict[TaskType, str | None]  # default URL per task type; None: ``url`` is required for that task
    settings: dict[str, Setting] = field(default_factory=dict)  # beyond api_key / model_id / url
    task_settings: dict[str, Setting] = field(default_factory=dict)
    api_key_required: bool = True
    model_required: bool = True
    default_rpm: int | dict[TaskType, int] = 3000
    max_batch: int = 1
    max_batch_tokens: int | None = None
    dialect: ChatDialect = OPENAI_DIALECT
    takes_reasoning: bool = False
    embed: str = "openai"  # a key of EMBED
    rerank: str = "cohere"  # a key of RERANK
    sends_dimensions: bool = False  # the embeddings request carries the (user-set) dimensions


class CompatibleService(RemoteService):
    """The service of one :class:`Provider` row (subclasses set ``provider`` and nothing else)."""

    provider: ClassVar[Provider]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        p = cls.provider
        cls.name = p.name
        cls.task_types = frozenset(p.urls)
        needs_url = all(url is None for url in p.urls.values())
        cls.service_schema = {
            "api_key": Setting(str, required=p.api_key_required, secret=True),
            "model_id": Setting(str, required=p.model_required),
            "url": Setting(str, required=needs_url),
            **p.settings,
        }
        cls.task_schema = dict(p.task_settings)
        cls.default_rpm = p.default_rpm
        cls.max_batch = p.max_batch
        cls.max_batch_tokens = p.max_batch_tokens
        cls.streaming_tasks = frozenset(p.urls) & CHAT
        cls.takes_reasoning = p.takes_reasoning
        cls.sends_dimensions = p.sends_dimensions

    def check(self, task_type: TaskType, settings: dict[str, Any], secrets: dict[str, str],
              problems: list[str]) -> None:
        """A ``url`` for a task type without a default URL (when other task types have one)."""
        if self.provider.urls.get(task_type) is None and "url" not in settings and not self.service_schema["url"].required:
            problems.append("[service_settings] does not contain the required setting [url]")

    def configuration(self, updatable: frozenset[str]) -> dict[str, Any]:
        """As every remote service's, under the provider's display name."""
        return {**super().configuration(updatable), "name": self.provider.label}

    def _url(self, call: Call) -> str:
        return str(call.settings.get("url") or self.provider.urls[call.task_type])

    def _headers(self, call: Call) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if "api_key" in call.secrets:
            headers["Authorization"] = f"Bearer {call.secret('api_key')}"
        for name, value in (call.task_settings.get("headers") or {}).items():
            headers[str(name)] = str(value)
        return headers

    def _chat(self, call: Call, prompt: str | None, stream: bool) -> dict[str, Any]:
        return chat_body(call, call.settings.get("model_id"), prompt, stream=stream, dialect=self.provider.dialect,
                         user=call.task_settings.get("user"))

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """Embeddings, rerank or a (non-streamed) chat completion, in the provider's documented shape."""
        if call.task_type == TaskType.TEXT_EMBEDDING:
            body = EMBED[self.provider.embed][0](call, inputs)
        elif call.task_type == TaskType.RERANK:
            body = RERANK[self.provider.rerank][0](call, inputs)
        else:
            body = self._chat(call, inputs[0], stream=False)
        return HttpCall("POST", self._url(call), self._headers(call), body)

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """Vectors, ranked documents or the completion text."""
        if call.task_type == TaskType.TEXT_EMBEDDING:
            return EMBED[self.provider.embed][1](response)
        if call.task_type == TaskType.RERANK:
            return ranked(call, RERANK[self.provider.rerank][1](json_body(response)), inputs)
        return parse_chat(response)

    async def build_stream(self, call: Call) -> HttpCall:
        """``stream: true`` chat completion."""
        return HttpCall("POST", self._url(call), self._headers(call), self._chat(call, None, stream=True))

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """OpenAI-shaped chunks."""
        return openai_stream_chunks(call, event, data)
