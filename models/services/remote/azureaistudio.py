"""``azureaistudio``: models deployed in Azure AI Foundry / AI Studio, called at their ``target`` URL.

``token`` endpoints speak the OpenAI shapes (embeddings, chat completions) or Cohere's rerank; ``realtime``
endpoints take ``{"input_data": {"input_string": [...], "parameters": {...}}}`` and answer ``{"output": ...}``.
OpenAI token endpoints authenticate with ``api-key``, the others with ``Authorization: Bearer``. The ``target``
is already the full URL; ``url`` (our addition) replaces it.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ingest.models.results import TaskType
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai_compat import embeddings_body, parse_chat, parse_embeddings
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body, ranked
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.transport import HttpCall

COMPLETION = tasks(TaskType.COMPLETION)
RERANK = tasks(TaskType.RERANK)


class AzureAiStudioService(RemoteService):
    """Elasticsearch's ``azureaistudio`` service."""

    name = "azureaistudio"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.COMPLETION, TaskType.RERANK})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "target": Setting(str, required=True),
        "provider": Setting(str, required=True,
                            choices=("openai", "mistral", "meta", "microsoft_phi", "cohere", "databricks")),
        "endpoint_type": Setting(str, required=True, choices=("token", "realtime")),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "user": Setting(str, tasks=tasks(TaskType.TEXT_EMBEDDING)),
        "do_sample": Setting(float, tasks=COMPLETION),
        "max_new_tokens": Setting(int, minimum=1, tasks=COMPLETION),
        "temperature": Setting(float, tasks=COMPLETION),
        "top_p": Setting(float, tasks=COMPLETION),
        "return_documents": Setting(bool, tasks=RERANK),
        "top_n": Setting(int, minimum=1, tasks=RERANK),
    }
    default_rpm = 240
    max_batch = 96
    model_setting = "target"
    sends_dimensions = True

    def _headers(self, call: Call) -> dict[str, str]:
        if call.settings["provider"] == "openai" and call.settings["endpoint_type"] == "token":
            return {"api-key": call.secret("api_key")}
        return {"Authorization": f"Bearer {call.secret('api_key')}"}

    def _parameters(self, call: Call) -> dict[str, Any]:
        ts = call.task_settings
        return {k: ts[k] for k in ("temperature", "top_p", "do_sample", "max_new_tokens") if ts.get(k) is not None}

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """POST to the target with the provider's shape."""
        url = call.settings.get("url") or call.settings["target"]
        body: dict[str, Any]
        if call.task_type == TaskType.TEXT_EMBEDDING:
            body = embeddings_body(None, inputs, dimensions=call.settings.get("dimensions"),
                                   user=call.task_settings.get("user"),
                                   base64_encoding=call.settings["provider"] == "openai")
        elif call.task_type == TaskType.RERANK:
            want = call.return_documents if call.return_documents is not None else bool(
                call.task_settings.get("return_documents", False))
            body = {"query": call.query, "documents": inputs, "return_documents": want}
            top_n = call.top_n if call.top_n is not None else call.task_settings.get("top_n")
            if top_n is not None:
                body["top_n"] = top_n
        elif call.settings["endpoint_type"] == "realtime":
            body = {"input_data": {"input_string": [{"role": "user", "content": inputs[0]}],
                                   "parameters": self._parameters(call)}}
        else:
            params = self._parameters(call)
            if "max_new_tokens" in params:
                params["max_tokens"] = params.pop("max_new_tokens")
            body = {"messages": [{"role": "user", "content": inputs[0]}], **params}
        return HttpCall("POST", url, self._headers(call), body)

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """OpenAI embeddings, Cohere rerank results, chat choices or the realtime ``output``."""
        if call.task_type == TaskType.TEXT_EMBEDDING:
            return parse_embeddings(response)
        if call.task_type == TaskType.RERANK:
            data = json_body(response)
            return ranked(call, [(int(r["index"]), float(r["relevance_score"])) for r in data["results"]], inputs)
        if call.settings["endpoint_type"] == "realtime":
            output = json_body(response)["output"]
            return output if isinstance(output, str) else str(output)
        return parse_chat(response)
