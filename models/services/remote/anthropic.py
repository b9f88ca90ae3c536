"""``anthropic``: the Messages API (``POST https://api.anthropic.com/v1/messages``).

Headers ``x-api-key`` and ``anthropic-version: 2023-06-01``; ``max_tokens`` is a required task setting, as in
Elasticsearch. Streams are Anthropic's named events (``content_block_delta`` ... ``message_stop``).
``url`` (our addition) replaces ``https://api.anthropic.com``.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from ingest.models.jsontypes import JsonInput, JsonObject
from ingest.models.results import TaskType
from ingest.models.services.base import EndpointConfig
from ingest.models.services.remote.errors import DEFAULT_RETRY_STATUSES, UpstreamResponse
from ingest.models.services.remote.openai_compat import chat_messages, completion_chunk
from ingest.models.services.remote.service import Call, Partial, RemoteService, error_object, json_body
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.transport import HttpCall

BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"


def messages_body(call: Call, prompt: str | None, stream: bool, default_max_tokens: int | None) -> dict[str, Any]:
    """A Messages API body (also used for Anthropic models in Vertex AI's Model Garden)."""
    messages, system = [], []
    for m in chat_messages(call, prompt):
        if m.get("role") == "system":
            content = m.get("content")
            system.append(content if isinstance(content, str) else "")
        else:
            messages.append({"role": "assistant" if m.get("role") == "assistant" else "user",
                             "content": m.get("content") or ""})
    chat = call.chat or {}
    max_tokens = chat.get("max_completion_tokens") or call.task_settings.get("max_tokens") or default_max_tokens
    body: dict[str, Any] = {"model": chat.get("model") or call.settings.get("model_id", ""), "messages": messages,
                            "max_tokens": max_tokens}
    if system:
        body["system"] = "\n".join(system)
    for key in ("temperature", "top_k", "top_p"):
        value = chat.get(key, call.task_settings.get(key))
        if value is not None:
            body[key] = value
    if chat.get("stop"):
        body["stop_sequences"] = chat["stop"] if isinstance(chat["stop"], list) else [chat["stop"]]
    if stream:
        body["stream"] = True
    return body


class AnthropicService(RemoteService):
    """Elasticsearch's ``anthropic`` service."""

    name = "anthropic"
    task_types = frozenset({TaskType.COMPLETION, TaskType.CHAT_COMPLETION})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "model_id": Setting(str, required=True),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "max_tokens": Setting(int, minimum=1),
        "temperature": Setting(float),
        "top_k": Setting(int),
        "top_p": Setting(float),
    }
    default_rpm = 50
    retry_statuses = DEFAULT_RETRY_STATUSES | {529}  # 529: Anthropic's "overloaded"
    streaming_tasks = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)

    def parse_config(self, inference_id: str, task_type: TaskType, service_settings: JsonInput,
                     task_settings: JsonInput, chunking_settings: JsonObject | None) -> EndpointConfig:
        """As the base class, plus Elasticsearch's rule that ``task_settings.max_tokens`` is required."""
        config = super().parse_config(inference_id, task_type, service_settings, task_settings, chunking_settings)
        if "max_tokens" not in config.task_settings:
            from ingest.models.errors import ValidationException

            raise ValidationException(["[task_settings] does not contain the required setting [max_tokens]"])
        return config

    def _headers(self, call: Call) -> dict[str, str]:
        return {"x-api-key": call.secret("api_key"), "anthropic-version": API_VERSION}

    def _body(self, call: Call, prompt: str | None, stream: bool) -> dict[str, Any]:
        return messages_body(call, prompt, stream, default_max_tokens=None)

    def _url(self, call: Call) -> str:
        return (call.settings.get("url") or BASE_URL).rstrip("/") + "/v1/messages"

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """A messages request with one user message."""
        return HttpCall("POST", self._url(call), self._headers(call), self._body(call, inputs[0], False))

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """The text blocks of ``content``."""
        data = json_body(response)
        return "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")

    async def build_stream(self, call: Call) -> HttpCall:
        """A streamed messages request."""
        return HttpCall("POST", self._url(call), self._headers(call), self._body(call, None, True))

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """``content_block_delta`` → text; ``message_stop`` ends; ``error`` fails the stream."""
        payload = json.loads(data)
        kind = payload.get("type", event)
        if kind == "message_stop":
            return None
        if kind == "error":
            raise error_object(call, 200, str(payload.get("error", {}).get("message", payload)))
        if kind != "content_block_delta":
            if kind == "message_delta" and call.task_type == TaskType.CHAT_COMPLETION and "usage" in payload:
                out = payload["usage"].get("output_tokens", 0)
                return [{"chat_completion": {"id": "", "object": "chat.completion.chunk", "choices": [],
                                             "model": call.settings.get("model_id", ""),
                                             "usage": {"completion_tokens": out, "prompt_tokens": 0,
                                                       "total_tokens": out}}}]
            return []
        text = payload.get("delta", {}).get("text", "")
        if call.task_type == TaskType.CHAT_COMPLETION:
            return [{"chat_completion": {"id": "", "object": "chat.completion.chunk",
                                         "model": call.settings.get("model_id", ""),
                                         "choices": [{"index": 0, "delta": {"content": text, "role": "assistant"}}]}}]
        return [completion_chunk(text)] if text else []
