"""``amazonbedrock``: Bedrock Runtime ``InvokeModel`` (embeddings) and ``Converse`` (completions), SigV4-signed.

Embeddings: Amazon Titan takes one ``inputText`` per request; Cohere on Bedrock takes up to 96 ``texts``.
Completions use the model-agnostic Converse API, streamed with ``ConverseStream`` (AWS's binary event-stream
framing, decoded in ``eventstream``). ``url`` (our addition) replaces ``https://bedrock-runtime.{region}.amazonaws.com``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import numpy as np

from ingest.models.results import InputType, TaskType
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.eventstream import event_stream
from ingest.models.services.remote.openai_compat import chat_messages, completion_chunk, stack
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.sigv4 import sign
from ingest.models.services.remote.transport import HttpCall

PROVIDERS = ("amazontitan", "cohere", "anthropic", "ai21labs", "meta", "mistral")
COHERE_INPUT = {InputType.INGEST: "search_document", InputType.SEARCH: "search_query",
                InputType.CLASSIFICATION: "classification", InputType.CLUSTERING: "clustering"}
CHAT = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)
# The model id's vendor prefix → Elasticsearch's provider name (inference profiles add a region prefix: "us.", "eu.")
MODEL_PREFIXES = {"amazon": "amazontitan", "cohere": "cohere", "anthropic": "anthropic", "ai21": "ai21labs",
                  "meta": "meta", "mistral": "mistral"}
REGION_PREFIXES = ("us", "eu", "apac", "us-gov", "global", "ca", "jp", "au")


def provider_of(model: str) -> str | None:
    """The provider named by a Bedrock model id, inference profile or ARN (``.../foundation-model/amazon.titan...``)."""
    parts = model.rsplit("/", 1)[-1].split(".")
    if len(parts) > 2 and parts[0] in REGION_PREFIXES:
        parts = parts[1:]
    return MODEL_PREFIXES.get(parts[0]) if len(parts) > 1 else None


def titan_takes_dimensions(settings: dict[str, Any]) -> bool | None:
    """For a Titan model: whether its embeddings request takes ``dimensions`` (text v2 only); None for others."""
    if settings.get("provider") != "amazontitan":
        return None
    return "titan-embed-text-v2" in settings["model"]


class BedrockService(RemoteService):
    """Elasticsearch's ``amazonbedrock`` service."""

    name = "amazonbedrock"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.COMPLETION, TaskType.CHAT_COMPLETION})
    service_schema: ClassVar[dict[str, Setting]] = {
        "access_key": Setting(str, required=True, secret=True),
        "secret_key": Setting(str, required=True, secret=True),
        "region": Setting(str, required=True),
        "model": Setting(str, required=True),
        "provider": Setting(str, choices=PROVIDERS),  # optional: derived from the model id (as Elasticsearch)
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "max_new_tokens": Setting(int, minimum=1, tasks=CHAT),
        "temperature": Setting(float, tasks=CHAT),
        "top_k": Setting(float, tasks=CHAT),
        "top_p": Setting(float, tasks=CHAT),
    }
    default_rpm = 240
    model_setting = "model"
    streaming_tasks = CHAT

    def check(self, task_type: TaskType, settings: dict[str, Any], secrets: dict[str, str],
              problems: list[str]) -> None:
        """``provider`` from the model id when absent; embeddings exist for Titan and Cohere models only (Elasticsearch's
        rule)."""
        if "provider" not in settings:
            derived = provider_of(settings["model"])
            if derived is None:
                problems.append(f"[service_settings] does not contain the required setting [provider]: it cannot be "
                                f"derived from the model id [{settings['model']}]; set one of [{', '.join(PROVIDERS)}]")
                return
            settings["provider"] = derived
        if task_type == TaskType.TEXT_EMBEDDING and settings["provider"] not in ("amazontitan", "cohere"):
            problems.append(f"The [text_embedding] task type for provider [{settings['provider']}] is not available")

    def batch_size(self, call: Call) -> int:
        """Titan: one text per request; Cohere: 96."""
        return 96 if call.settings["provider"] == "cohere" else 1

    def _signed(self, call: Call, operation: str, body: dict[str, Any]) -> HttpCall:
        s = call.settings
        base = (s.get("url") or f"https://bedrock-runtime.{s['region']}.amazonaws.com").rstrip("/")
        http = HttpCall("POST", f"{base}/model/{quote(s['model'], safe='')}/{operation}",
                        {"Content-Type": "application/json", "Accept": "application/json"}, body)
        http.headers.update(sign("POST", http.url, http.headers, http.body() or b"",
                                 access_key=call.secret("access_key"), secret_key=call.secret("secret_key"),
                                 region=s["region"], service="bedrock"))
        return http

    def _converse(self, call: Call, prompt: str | None) -> dict[str, Any]:
        messages, system = [], []
        for m in chat_messages(call, prompt):
            content = m.get("content")
            text = content if isinstance(content, str) else "".join(
                p.get("text", "") for p in content or [] if isinstance(p, dict))
            if m.get("role") == "system":
                system.append({"text": text})
            else:
                messages.append({"role": "assistant" if m.get("role") == "assistant" else "user",
                                 "content": [{"text": text}]})
        chat, ts = call.chat or {}, call.task_settings
        config: dict[str, Any] = {"maxTokens": chat.get("max_completion_tokens") or ts.get("max_new_tokens", 64)}
        for ours, theirs in (("temperature", "temperature"), ("top_p", "topP")):
            value = chat.get(ours, ts.get(ours))
            if value is not None:
                config[theirs] = value
        body: dict[str, Any] = {"messages": messages, "inferenceConfig": config}
        if system:
            body["system"] = system
        if ts.get("top_k") is not None:
            body["additionalModelRequestFields"] = {"top_k": ts["top_k"]}
        return body

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """InvokeModel for embeddings, Converse for completions."""
        if call.task_type == TaskType.TEXT_EMBEDDING:
            if call.settings["provider"] == "cohere":
                body: dict[str, Any] = {"texts": inputs,
                                        "input_type": COHERE_INPUT[call.input_type or InputType.INGEST]}
            else:
                body = {"inputText": inputs[0]}
                # Titan v2 takes dimensions (256, 512 or 1024); v1 rejects any key but inputText, so only a v2 model
                # gets the (user-set or measured) dimensions.
                if call.settings.get("dimensions") and titan_takes_dimensions(call.settings):
                    body["dimensions"] = call.settings["dimensions"]
            return self._signed(call, "invoke", body)
        return self._signed(call, "converse", self._converse(call, inputs[0]))

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """Titan ``embedding``, Cohere ``embeddings``, or Converse ``output.message.content[].text``."""
        data = json_body(response)
        if call.task_type == TaskType.TEXT_EMBEDDING:
            rows = data["embeddings"] if call.settings["provider"] == "cohere" else [data["embedding"]]
            return stack([np.asarray(r, dtype=np.float32) for r in rows])
        return "".join(p.get("text", "") for p in data["output"]["message"]["content"])

    async def build_stream(self, call: Call) -> HttpCall:
        """``ConverseStream``."""
        return self._signed(call, "converse-stream", self._converse(call, None))

    def stream_events(self, response: httpx.Response, inference_id: str) -> AsyncIterator[tuple[str, str]]:
        """AWS event-stream messages instead of server-sent events."""
        return event_stream(response, inference_id)

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """``contentBlockDelta`` carries text, ``metadata`` usage; ``messageStop`` is followed by metadata."""
        payload = json.loads(data) if data else {}
        if event == "contentBlockDelta":
            text = payload.get("delta", {}).get("text", "")
            if call.task_type == TaskType.CHAT_COMPLETION:
                return [self._chat_chunk(call, [{"index": 0, "delta": {"content": text, "role": "assistant"}}])]
            return [completion_chunk(text)] if text else []
        if event == "metadata" and call.task_type == TaskType.CHAT_COMPLETION and "usage" in payload:
            usage = payload["usage"]
            chunk = self._chat_chunk(call, [])
            chunk["chat_completion"]["usage"] = {"completion_tokens": usage.get("outputTokens", 0),
                                                 "prompt_tokens": usage.get("inputTokens", 0),
                                                 "total_tokens": usage.get("totalTokens", 0)}
            return [chunk]
        return []

    def _chat_chunk(self, call: Call, choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"chat_completion": {"id": "", "object": "chat.completion.chunk", "model": call.settings["model"],
                                    "choices": choices}}
