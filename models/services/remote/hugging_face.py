"""``hugging_face``: a Hugging Face Inference Endpoint (or any TEI server) at ``url``, as in Elasticsearch.

Embeddings: ``{"inputs": [...]}`` → ``[[...], ...]`` (or ``{"embeddings": [...]}``); rerank (TEI):
``{"query", "texts", "return_text"}`` → ``[{"index", "score", "text"?}]``; completion / chat: the endpoint's
OpenAI-compatible ``/v1/chat/completions`` at ``url``. 502 and 503 (model loading) are retried as well.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ingest.models.results import TaskType
from ingest.models.services.remote.errors import DEFAULT_RETRY_STATUSES, UpstreamResponse
from ingest.models.services.remote.openai import bearer
from ingest.models.services.remote.openai_compat import (
    ChatDialect,
    chat_body,
    openai_stream_chunks,
    parse_chat,
    stack,
)
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body, ranked
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.transport import HttpCall

CHAT = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)
# TGI's OpenAI-compatible Messages API documents ``max_tokens`` (Elasticsearch sends that too) and streams usage.
DIALECT = ChatDialect(max_tokens="max_tokens")


class HuggingFaceService(RemoteService):
    """Elasticsearch's ``hugging_face`` service."""

    name = "hugging_face"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.RERANK, TaskType.COMPLETION, TaskType.CHAT_COMPLETION})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "url": Setting(str, required=True),
        "model_id": Setting(str, tasks=CHAT),
        "max_input_tokens": Setting(int, minimum=1, tasks=tasks(TaskType.TEXT_EMBEDDING)),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "return_documents": Setting(bool, tasks=tasks(TaskType.RERANK)),
        "top_n": Setting(int, minimum=1, tasks=tasks(TaskType.RERANK)),
    }
    default_rpm = 3000
    max_batch = 32  # TEI's default --max-client-batch-size
    retry_statuses = DEFAULT_RETRY_STATUSES | {502}
    streaming_tasks = CHAT

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """POST to the endpoint URL."""
        url = call.settings["url"]
        if call.task_type == TaskType.TEXT_EMBEDDING:
            return HttpCall("POST", url, bearer(call), {"inputs": inputs})
        if call.task_type == TaskType.RERANK:
            want = call.return_documents if call.return_documents is not None else bool(
                call.task_settings.get("return_documents", False))
            return HttpCall("POST", url, bearer(call), {"query": call.query, "texts": inputs, "return_text": want})
        return HttpCall("POST", url, bearer(call),
                        chat_body(call, call.settings.get("model_id"), inputs[0], dialect=DIALECT))

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """Embedding arrays, TEI rerank hits, or a chat completion."""
        if call.task_type in CHAT:
            return parse_chat(response)
        data: Any = json_body(response)
        if call.task_type == TaskType.RERANK:
            return ranked(call, [(int(h["index"]), float(h["score"])) for h in data], inputs)
        if isinstance(data, dict):
            data = data["embeddings"]
        return stack([np.asarray(row, dtype=np.float32) for row in data])

    async def build_stream(self, call: Call) -> HttpCall:
        """Streamed OpenAI-compatible chat completion."""
        return HttpCall("POST", call.settings["url"], bearer(call),
                        chat_body(call, call.settings.get("model_id"), stream=True, dialect=DIALECT))

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """OpenAI-shaped chunks."""
        return openai_stream_chunks(call, event, data)
