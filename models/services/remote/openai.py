"""``openai``: embeddings and chat completions (``api.openai.com/v1``), or any OpenAI-compatible server via ``url``.

As in Elasticsearch, ``url`` is the full URL of the operation (default ``https://api.openai.com/v1/embeddings``
or ``.../v1/chat/completions``). Embeddings are requested as base64 (``encoding_format``), batched at
OpenAI's caps of 2,048 inputs and 300k tokens per request.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ingest.models.results import TaskType
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai_compat import (
    chat_body,
    embeddings_body,
    openai_stream_chunks,
    parse_chat,
    parse_embeddings,
)
from ingest.models.services.remote.service import DENSE_TASKS, Call, Partial, RemoteService
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.tokens import client_credentials
from ingest.models.services.remote.transport import HttpCall

EMBEDDINGS_URL = "https://api.openai.com/v1/embeddings"
CHAT_URL = "https://api.openai.com/v1/chat/completions"
CHAT_TASKS = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)


def bearer(call: Call, extra: dict[str, Any] | None = None) -> dict[str, str]:
    """Authorization header plus any ``task_settings.headers``."""
    headers = {"Authorization": f"Bearer {call.secret('api_key')}"}
    for name, value in (extra or {}).items():
        headers[str(name)] = str(value)
    return headers


class OpenAiService(RemoteService):
    """Elasticsearch's ``openai`` service."""

    name = "openai"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING, TaskType.COMPLETION,
                            TaskType.CHAT_COMPLETION})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, secret=True),
        "client_id": Setting(str),  # OAuth 2.0 client credentials, instead of an api_key
        "client_secret": Setting(str, secret=True),
        "scopes": Setting(list),
        "token_url": Setting(str),
        "model_id": Setting(str, required=True),
        "organization_id": Setting(str),
        "url": Setting(str),
        "max_input_tokens": Setting(int, minimum=1, tasks=DENSE_TASKS),
    }
    task_schema: ClassVar[dict[str, Setting]] = {"user": Setting(str), "headers": Setting(dict)}
    default_rpm: ClassVar[int | dict[TaskType, int]] = {
        TaskType.TEXT_EMBEDDING: 3000, TaskType.EMBEDDING: 3000, TaskType.COMPLETION: 500,
        TaskType.CHAT_COMPLETION: 500,
    }
    max_batch = 2048
    max_batch_tokens = 300_000
    sends_dimensions = True
    streaming_tasks = CHAT_TASKS
    takes_reasoning = True  # o-series and gpt-5 models take reasoning_effort

    def check(self, task_type: TaskType, settings: dict[str, Any], secrets: dict[str, str],
              problems: list[str]) -> None:
        """An ``api_key``, or all of ``client_id``, ``client_secret`` and ``token_url`` (not both)."""
        oauth = [k for k in ("client_id", "client_secret", "token_url") if k in settings or k in secrets]
        if "api_key" in secrets and oauth:
            problems.append("[service_settings] must contain either [api_key] or OAuth2 client credentials, not both")
        elif "api_key" not in secrets and len(oauth) < 3:
            missing = sorted({"client_id", "client_secret", "token_url"} - set(oauth)) if oauth else ["api_key"]
            for name in missing:
                problems.append(f"[service_settings] does not contain the required setting [{name}]")

    async def _headers(self, call: Call) -> dict[str, str]:
        if "api_key" in call.secrets:
            headers = bearer(call, call.task_settings.get("headers"))
        else:
            token = await client_credentials(call.inference_id, call.settings["token_url"], call.settings["client_id"],
                                             call.secret("client_secret"), list(call.settings.get("scopes") or []))
            headers = {"Authorization": f"Bearer {token}"}
            for name, value in (call.task_settings.get("headers") or {}).items():
                headers[str(name)] = str(value)
        if call.settings.get("organization_id"):
            headers["OpenAI-Organization"] = call.settings["organization_id"]
        return headers

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """Embeddings or a (non-streamed) chat completion."""
        if call.task_type in DENSE_TASKS:
            body = embeddings_body(call.settings["model_id"], inputs, dimensions=call.settings.get("dimensions"),
                                   user=call.task_settings.get("user"))
            return HttpCall("POST", call.settings.get("url") or EMBEDDINGS_URL, await self._headers(call), body)
        body = chat_body(call, call.settings["model_id"], inputs[0], user=call.task_settings.get("user"))
        return HttpCall("POST", call.settings.get("url") or CHAT_URL, await self._headers(call), body)

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """Vectors (float or base64) or the completion text."""
        if call.task_type in DENSE_TASKS:
            return parse_embeddings(response)
        return parse_chat(response)

    async def build_stream(self, call: Call) -> HttpCall:
        """``stream: true`` chat completion."""
        body = chat_body(call, call.settings["model_id"], stream=True, user=call.task_settings.get("user"))
        return HttpCall("POST", call.settings.get("url") or CHAT_URL, await self._headers(call), body)

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """OpenAI chunks → Elasticsearch chunks."""
        return openai_stream_chunks(call, event, data)
