"""``mistral``: ``/v1/embeddings`` and ``/v1/chat/completions`` on ``api.mistral.ai`` (OpenAI-shaped).

The model setting is ``model`` (not ``model_id``), as in Elasticsearch. ``url`` (our addition) replaces
``https://api.mistral.ai``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ingest.models.results import TaskType
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai import bearer
from ingest.models.services.remote.openai_compat import (
    MAX_TOKENS_DIALECT,
    chat_body,
    embeddings_body,
    openai_stream_chunks,
    parse_chat,
    parse_embeddings,
)
from ingest.models.services.remote.service import Call, Partial, RemoteService
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.transport import HttpCall

BASE_URL = "https://api.mistral.ai"
# Mistral's chat API takes ``max_tokens`` (as Elasticsearch sends it), not ``n`` or ``stream_options``, and
# reasons through dedicated models rather than a ``reasoning_effort`` parameter.
DIALECT = MAX_TOKENS_DIALECT


class MistralService(RemoteService):
    """Elasticsearch's ``mistral`` service."""

    name = "mistral"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.COMPLETION, TaskType.CHAT_COMPLETION})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "model": Setting(str, required=True),
        "max_input_tokens": Setting(int, minimum=1),
    }
    default_rpm = 240
    max_batch = 512  # Mistral caps a request by tokens (16k); the token budget below is the binding one
    max_batch_tokens = 16_000
    model_setting = "model"
    streaming_tasks = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)

    def _url(self, call: Call, path: str) -> str:
        return (call.settings.get("url") or BASE_URL).rstrip("/") + path

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """Embeddings (base64) or a chat completion."""
        if call.task_type == TaskType.TEXT_EMBEDDING:
            body = embeddings_body(call.settings["model"], inputs)
            return HttpCall("POST", self._url(call, "/v1/embeddings"), bearer(call), body)
        body = chat_body(call, call.settings["model"], inputs[0], dialect=DIALECT)
        return HttpCall("POST", self._url(call, "/v1/chat/completions"), bearer(call), body)

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """OpenAI shapes."""
        return parse_embeddings(response) if call.task_type == TaskType.TEXT_EMBEDDING else parse_chat(response)

    async def build_stream(self, call: Call) -> HttpCall:
        """Streamed chat completion."""
        body = chat_body(call, call.settings["model"], stream=True, dialect=DIALECT)
        return HttpCall("POST", self._url(call, "/v1/chat/completions"), bearer(call), body)

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """OpenAI-shaped chunks."""
        return openai_stream_chunks(call, event, data)
