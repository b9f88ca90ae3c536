"""``cohere``: Cohere's API — ``/v2/embed``, ``/v2/rerank``, ``/v2/chat`` (``api_version: v2``, the default), or
``/v1/embed``, ``/v1/rerank``, ``/v1/chat`` (``api_version: v1``, which streams nothing: one chunk per answer).

Embeddings ask for ``embedding_types: ["base64"]`` when the endpoint wants floats (decoding is far cheaper
than float JSON), and for ``int8``/``binary`` when ``embedding_type`` says so. At most 96 texts per request.
The ``embedding`` task sends content objects holding images as v2's ``inputs``: ``{"content": [{"type": "text",
"text"} | {"type": "image_url", "image_url": {"url": "<data URI>"}}, ...]}``, one vector per input (``embed-v4.0``
interleaves text and images). ``url`` (our addition) replaces ``https://api.cohere.com``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np

from ingest.models.contents import ContentGroup
from ingest.models.errors import StatusException
from ingest.models.results import CompletionResults, InferenceResults, InputType, TaskType
from ingest.models.services.base import EndpointConfig, InferenceRequest
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai_compat import completion_chunk, decode_vector, stack
from ingest.models.services.remote.service import (
    Call,
    Partial,
    RemoteService,
    error_object,
    json_body,
    ranked,
)
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.transport import HttpCall

BASE_URL = "https://api.cohere.com"
INPUT_TYPES = {InputType.INGEST: "search_document", InputType.SEARCH: "search_query",
               InputType.CLASSIFICATION: "classification", InputType.CLUSTERING: "clustering"}
# Elasticsearch's embedding_type → Cohere's embedding_types value
EMBEDDING_TYPES = {"float": "base64", "byte": "int8", "int8": "int8", "bit": "binary", "binary": "binary"}
EMBED = tasks(TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING)
ELEMENT_TYPES = {"float": "float", "byte": "byte", "int8": "byte", "bit": "bit", "binary": "bit"}


def _input(group: ContentGroup) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": c.value} if c.is_text
                        else {"type": "image_url", "image_url": {"url": c.value}} for c in group]}


class CohereService(RemoteService):
    """Elasticsearch's ``cohere`` service."""

    name = "cohere"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING, TaskType.RERANK, TaskType.COMPLETION})
    content_types = frozenset({"text", "image"})
    multi_item_content = True  # v2's inputs: the pieces of one input make one vector
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "model_id": Setting(str, required=True),
        "embedding_type": Setting(str, choices=tuple(EMBEDDING_TYPES), default="float", tasks=EMBED),
        "api_version": Setting(str, choices=("v1", "v2"), default="v2"),
        "max_input_tokens": Setting(int, minimum=1),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "input_type": Setting(str, choices=("classification", "clustering", "ingest", "search"), tasks=EMBED),
        "truncate": Setting(str, choices=("end", "none", "start"), tasks=EMBED),
        "return_documents": Setting(bool, tasks=tasks(TaskType.RERANK)),
        "top_n": Setting(int, minimum=1, tasks=tasks(TaskType.RERANK)),
    }
    default_rpm = 10_000
    max_batch = 96
    streaming_tasks = tasks(TaskType.COMPLETION)

    def _url(self, call: Call, path: str) -> str:
        version = call.settings.get("api_version", "v2")
        return (call.settings.get("url") or BASE_URL).rstrip("/") + f"/{version}{path}"

    def stream(self, endpoint: EndpointConfig, request: InferenceRequest) -> Iterator[dict[str, Any]]:
        """v2 streams chat events; v1 answers in one chunk."""
        if endpoint.service_settings.get("api_version") == "v1":
            results = self.infer(endpoint, request)
            texts = results.results if isinstance(results, CompletionResults) else []
            return iter([{"completion": [{"delta": text}]} for text in texts])
        return super().stream(endpoint, request)

    def infer(self, endpoint: EndpointConfig, request: InferenceRequest) -> InferenceResults:
        """As every remote service; images need v2's ``inputs`` (v1 embeds texts only)."""
        if request.contents is not None and endpoint.service_settings.get("api_version") == "v1":
            raise StatusException("[api_version] [v1] of the [cohere] service embeds text only; content objects with "
                                  "images or several items need [v2]")
        return super().infer(endpoint, request)

    def element_type(self, settings: dict[str, Any]) -> str:
        """``byte``/``int8`` → byte (int8 values), ``bit``/``binary`` → bit (packed), else float."""
        return ELEMENT_TYPES[settings.get("embedding_type", "float")]

    def _kind(self, call: Call) -> str:
        """The ``embedding_types`` value to ask for (v1 has no base64: floats then)."""
        kind = EMBEDDING_TYPES[call.settings.get("embedding_type", "float")]
        return "float" if kind == "base64" and call.settings.get("api_version") == "v1" else kind

    def _headers(self, call: Call) -> dict[str, str]:
        return {"Authorization": f"Bearer {call.secret('api_key')}", "Accept": "application/json"}

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """``/v2/embed``, ``/v2/rerank`` or ``/v2/chat``."""
        model = call.settings["model_id"]
        if call.task_type in EMBED:
            body: dict[str, Any] = {"model": model, "texts": inputs,
                                    "input_type": INPUT_TYPES[call.input_type or InputType.INGEST],
                                    "embedding_types": [self._kind(call)]}
            if call.contents is not None:
                del body["texts"]
                body["inputs"] = [_input(group) for group in call.contents]
            if call.task_settings.get("truncate"):
                body["truncate"] = call.task_settings["truncate"].upper()
            return HttpCall("POST", self._url(call, "/embed"), self._headers(call), body)
        if call.task_type == TaskType.RERANK:
            body = {"model": model, "query": call.query, "documents": inputs}
            if call.settings.get("api_version") == "v1" and call.return_documents is not None:
                body["return_documents"] = call.return_documents
            top_n = call.top_n if call.top_n is not None else call.task_settings.get("top_n")
            if top_n is not None:
                body["top_n"] = top_n
            return HttpCall("POST", self._url(call, "/rerank"), self._headers(call), body)
        return HttpCall("POST", self._url(call, "/chat"), self._headers(call), self._chat_body(call, inputs[0]))

    def _chat_body(self, call: Call, prompt: str, stream: bool = False) -> dict[str, Any]:
        if call.settings.get("api_version") == "v1":
            return {"model": call.settings["model_id"], "message": prompt}
        body: dict[str, Any] = {"model": call.settings["model_id"],
                                "messages": [{"role": "user", "content": prompt}]}
        if stream:
            body["stream"] = True
        return body

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """``embeddings.{base64|int8|binary}``, ``results[].relevance_score`` or ``message.content[].text``."""
        data = json_body(response)
        if call.task_type in EMBED:
            kind = self._kind(call)
            rows = data["embeddings"][kind]
            if kind == "base64":
                return stack([decode_vector(r) for r in rows])
            return stack([np.asarray(r, dtype=np.float32) for r in rows])
        if call.task_type == TaskType.RERANK:
            return ranked(call, [(int(r["index"]), float(r["relevance_score"])) for r in data["results"]], inputs)
        if call.settings.get("api_version") == "v1":
            return str(data["text"])
        return "".join(part.get("text", "") for part in data["message"]["content"])

    async def build_stream(self, call: Call) -> HttpCall:
        """``/v2/chat`` with ``stream: true``."""
        prompt = (call.chat or {}).get("messages", [{}])[0].get("content", "")
        return HttpCall("POST", self._url(call, "/chat"), self._headers(call),
                        self._chat_body(call, prompt, stream=True))

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """``content-delta`` events carry text; ``message-end`` ends the stream."""
        import json

        payload = json.loads(data)
        kind = payload.get("type", event)
        if kind == "message-end":
            return None
        if kind == "content-delta":
            text = payload["delta"]["message"]["content"]["text"]
            return [completion_chunk(text)] if text else []
        if "error" in kind:
            raise error_object(call, 200, str(payload.get("message") or payload))
        return []
