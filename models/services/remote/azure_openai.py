"""``azureopenai``: ``https://{resource_name}.openai.azure.com/openai/deployments/{deployment_id}/...``.

Authentication with ``api-key`` (``api_key``), ``Authorization: Bearer`` (``entra_id``), or a token obtained from
Microsoft Entra ID with OAuth 2.0 client credentials (``client_id``, ``client_secret``, ``tenant_id``,
``scopes``); ``api-version`` is a query parameter. ``url`` (our addition) replaces ``https://{resource_name}.openai.azure.com``.
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
from ingest.models.services.remote.service import Call, Partial, RemoteService
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.tokens import client_credentials
from ingest.models.services.remote.transport import HttpCall

DEFAULT_SCOPE = "https://cognitiveservices.azure.com/.default"


class AzureOpenAiService(RemoteService):
    """Elasticsearch's ``azureopenai`` service."""

    name = "azureopenai"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.COMPLETION, TaskType.CHAT_COMPLETION})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, secret=True),
        "entra_id": Setting(str, secret=True),
        "client_id": Setting(str),  # OAuth 2.0 client credentials against Microsoft Entra ID
        "client_secret": Setting(str, secret=True),
        "tenant_id": Setting(str),
        "scopes": Setting(list),
        "token_url": Setting(str),  # our override of https://login.microsoftonline.com/{tenant_id}/oauth2/v2.0/token
        "resource_name": Setting(str, required=True),
        "deployment_id": Setting(str, required=True),
        "api_version": Setting(str, required=True),
    }
    task_schema: ClassVar[dict[str, Setting]] = {"user": Setting(str), "headers": Setting(dict)}
    default_rpm: ClassVar[int | dict[TaskType, int]] = {
        TaskType.TEXT_EMBEDDING: 1440, TaskType.COMPLETION: 120, TaskType.CHAT_COMPLETION: 120,
    }
    max_batch = 2048
    max_batch_tokens = 300_000
    model_setting = "deployment_id"
    sends_dimensions = True
    streaming_tasks = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)
    takes_reasoning = True  # Azure OpenAI reasoning models take reasoning_effort

    def check(self, task_type: TaskType, settings: dict[str, Any], secrets: dict[str, str],
              problems: list[str]) -> None:
        """Exactly one of ``api_key``, ``entra_id`` and OAuth client credentials (Elasticsearch's rule)."""
        oauth = "client_id" in settings or "client_secret" in secrets or "tenant_id" in settings
        if sum(["api_key" in secrets, "entra_id" in secrets, oauth]) != 1:
            problems.append("[service_settings] must either contain [api_key] or [entra_id]")
        elif oauth:
            for name in ("client_id", "client_secret", "tenant_id"):
                if name not in settings and name not in secrets:
                    problems.append(f"[service_settings] does not contain the required setting [{name}]")

    def _url(self, call: Call, operation: str) -> str:
        base = call.settings.get("url") or f"https://{call.settings['resource_name']}.openai.azure.com"
        return f"{base.rstrip('/')}/openai/deployments/{call.settings['deployment_id']}/{operation}"

    async def _headers(self, call: Call) -> dict[str, str]:
        s = call.settings
        if "api_key" in call.secrets:
            headers = {"api-key": call.secret("api_key")}
        elif "entra_id" in call.secrets:
            headers = {"Authorization": f"Bearer {call.secret('entra_id')}"}
        else:
            token_url = s.get("token_url") or f"https://login.microsoftonline.com/{s['tenant_id']}/oauth2/v2.0/token"
            token = await client_credentials(call.inference_id, token_url, s["client_id"], call.secret("client_secret"),
                                             list(s.get("scopes") or [DEFAULT_SCOPE]))
            headers = {"Authorization": f"Bearer {token}"}
        for name, value in (call.task_settings.get("headers") or {}).items():
            headers[str(name)] = str(value)
        return headers

    async def _http(self, call: Call, operation: str, body: dict[str, Any]) -> HttpCall:
        return HttpCall("POST", self._url(call, operation), await self._headers(call), body,
                        params={"api-version": call.settings["api_version"]})

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """Embeddings (base64) or a chat completion on the deployment."""
        user = call.task_settings.get("user")
        if call.task_type == TaskType.TEXT_EMBEDDING:
            body = embeddings_body(None, inputs, dimensions=call.settings.get("dimensions"), user=user)
            return await self._http(call, "embeddings", body)
        return await self._http(call, "chat/completions", chat_body(call, None, inputs[0], user=user))

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """OpenAI shapes."""
        return parse_embeddings(response) if call.task_type == TaskType.TEXT_EMBEDDING else parse_chat(response)

    async def build_stream(self, call: Call) -> HttpCall:
        """Streamed chat completion."""
        return await self._http(call, "chat/completions", chat_body(call, None, stream=True,
                                                              user=call.task_settings.get("user")))

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """OpenAI-shaped chunks."""
        return openai_stream_chunks(call, event, data)
