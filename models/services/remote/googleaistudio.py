"""``googleaistudio``: the Gemini API (``generativelanguage.googleapis.com/v1beta``).

Embeddings: ``models/{model}:batchEmbedContents`` (at most 100 requests per batch); completions:
``:generateContent`` and ``:streamGenerateContent?alt=sse``. ``input_type`` is sent as each request's
``taskType`` (``RETRIEVAL_DOCUMENT`` / ``RETRIEVAL_QUERY`` / ``CLASSIFICATION`` / ``CLUSTERING``), as
Elasticsearch maps it; a 429's ``google.rpc.RetryInfo.retryDelay`` is honoured (``errors.body_retry_delay``).
The key goes in the documented ``x-goog-api-key`` header rather than the ``key`` query parameter (URLs end up
in logs). ``url`` (our addition) replaces
``https://generativelanguage.googleapis.com``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ingest.models.results import InputType, TaskType
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai_compat import chat_messages, completion_chunk, stack
from ingest.models.services.remote.service import Call, Partial, RemoteService, error_object, json_body
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.transport import HttpCall

BASE_URL = "https://generativelanguage.googleapis.com"
# Elasticsearch's input_type → the Gemini API's TaskType (queries and documents embed differently)
TASK_TYPES = {InputType.INGEST: "RETRIEVAL_DOCUMENT", InputType.SEARCH: "RETRIEVAL_QUERY",
              InputType.CLASSIFICATION: "CLASSIFICATION", InputType.CLUSTERING: "CLUSTERING"}


def gemini_contents(call: Call, prompt: str | None = None) -> dict[str, Any]:
    """``contents`` (and ``systemInstruction``) of a generateContent request."""
    contents, system = [], []
    for message in chat_messages(call, prompt):
        text = message.get("content")
        if isinstance(text, list):
            text = "".join(part.get("text", "") for part in text if isinstance(part, dict))
        if message.get("role") == "system":
            system.append({"text": text or ""})
        else:
            role = "model" if message.get("role") == "assistant" else "user"
            contents.append({"role": role, "parts": [{"text": text or ""}]})
    body: dict[str, Any] = {"contents": contents, "generationConfig": {"candidateCount": 1}}
    if system:
        body["systemInstruction"] = {"parts": system}
    return body


def gemini_text(data: dict[str, Any]) -> str:
    """The text of the first candidate."""
    candidates = data.get("candidates") or []
    if not candidates:
        return ""
    return "".join(p.get("text", "") for p in candidates[0].get("content", {}).get("parts", []))


def gemini_stream_chunks(call: Call, data: str) -> list[dict[str, Any]]:
    """One streamed GenerateContentResponse → Elasticsearch chunks (completion or OpenAI-style chat)."""
    payload = json.loads(data)
    if "error" in payload:
        raise error_object(call, 200, str(payload["error"].get("message", payload["error"])))
    text = gemini_text(payload)
    if call.task_type == TaskType.CHAT_COMPLETION:
        chunk: dict[str, Any] = {"id": payload.get("responseId", ""), "object": "chat.completion.chunk",
                                 "model": payload.get("modelVersion", call.settings.get("model_id", "")),
                                 "choices": [{"index": 0, "delta": {"content": text, "role": "assistant"}}]}
        usage = payload.get("usageMetadata")
        if usage:
            chunk["usage"] = {"prompt_tokens": usage.get("promptTokenCount", 0),
                              "completion_tokens": usage.get("candidatesTokenCount", 0),
                              "total_tokens": usage.get("totalTokenCount", 0)}
        return [{"chat_completion": chunk}]
    return [completion_chunk(text)] if text else []


class GoogleAiStudioService(RemoteService):
    """Elasticsearch's ``googleaistudio`` service."""

    name = "googleaistudio"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.COMPLETION})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "model_id": Setting(str, required=True),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "input_type": Setting(str, choices=("classification", "clustering", "ingest", "search"),
                              tasks=tasks(TaskType.TEXT_EMBEDDING)),
    }
    default_rpm = 360
    max_batch = 100
    sends_dimensions = True
    streaming_tasks = tasks(TaskType.COMPLETION)

    def _url(self, call: Call, method: str) -> str:
        base = (call.settings.get("url") or BASE_URL).rstrip("/")
        return f"{base}/v1beta/models/{call.settings['model_id']}:{method}"

    def _headers(self, call: Call) -> dict[str, str]:
        return {"x-goog-api-key": call.secret("api_key")}

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """batchEmbedContents or generateContent."""
        if call.task_type == TaskType.TEXT_EMBEDDING:
            model = f"models/{call.settings['model_id']}"
            requests = []
            for text in inputs:
                item: dict[str, Any] = {"model": model, "content": {"role": "user", "parts": [{"text": text}]}}
                if call.input_type is not None:
                    item["taskType"] = TASK_TYPES[call.input_type]
                if call.settings.get("dimensions"):
                    item["outputDimensionality"] = call.settings["dimensions"]
                requests.append(item)
            return HttpCall("POST", self._url(call, "batchEmbedContents"), self._headers(call), {"requests": requests})
        return HttpCall("POST", self._url(call, "generateContent"), self._headers(call),
                        gemini_contents(call, inputs[0]))

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """``embeddings[].values`` or the first candidate's text."""
        import numpy as np

        data = json_body(response)
        if call.task_type == TaskType.TEXT_EMBEDDING:
            return stack([np.asarray(e["values"], dtype=np.float32) for e in data["embeddings"]])
        return gemini_text(data)

    async def build_stream(self, call: Call) -> HttpCall:
        """streamGenerateContent as server-sent events."""
        return HttpCall("POST", self._url(call, "streamGenerateContent"), self._headers(call),
                        gemini_contents(call), params={"alt": "sse"})

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """Each event is a GenerateContentResponse; the stream ends when the connection does."""
        return gemini_stream_chunks(call, data)
