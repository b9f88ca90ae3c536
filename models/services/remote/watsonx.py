"""``watsonxai``: IBM watsonx.ai (``{url}/ml/v1/text/...?version={api_version}``) with an IAM bearer token.

The API key is exchanged at IBM Cloud IAM (``grant_type=urn:ibm:params:oauth:grant-type:apikey``) for an
access token, cached until shortly before it expires. ``url`` is Elasticsearch's (the watsonx base URL);
``iam_url`` is our documented override of ``https://iam.cloud.ibm.com/identity/token``.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, ClassVar

import numpy as np

from ingest.models.results import TaskType
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai_compat import (
    chat_body,
    completion_chunk,
    openai_stream_chunks,
    stack,
)
from ingest.models.services.remote.secret import fingerprint
from ingest.models.services.remote.service import (
    Call,
    Partial,
    RemoteService,
    error_object,
    json_body,
    ranked,
)
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.tokens import TOKENS, exchange
from ingest.models.services.remote.transport import HttpCall

IAM_URL = "https://iam.cloud.ibm.com/identity/token"
PATHS = {TaskType.TEXT_EMBEDDING: "embeddings", TaskType.RERANK: "rerank", TaskType.COMPLETION: "generation",
         TaskType.CHAT_COMPLETION: "chat"}


class WatsonxService(RemoteService):
    """Elasticsearch's ``watsonxai`` service."""

    name = "watsonxai"
    task_types = frozenset(PATHS)
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "url": Setting(str, required=True),
        "model_id": Setting(str, required=True),
        "project_id": Setting(str, required=True),
        "api_version": Setting(str, required=True),
        "iam_url": Setting(str),
        "max_input_tokens": Setting(int, minimum=1, tasks=tasks(TaskType.TEXT_EMBEDDING)),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "truncate_input_tokens": Setting(int, minimum=1, tasks=tasks(TaskType.RERANK)),
        "return_documents": Setting(bool, tasks=tasks(TaskType.RERANK)),
        "top_n": Setting(int, minimum=1, tasks=tasks(TaskType.RERANK)),
    }
    default_rpm = 120
    max_batch = 1000
    streaming_tasks = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)

    async def _headers(self, call: Call) -> dict[str, str]:
        key = call.secret("api_key")

        async def fetch() -> tuple[str, float]:
            form = urllib.parse.urlencode({"grant_type": "urn:ibm:params:oauth:grant-type:apikey",
                                           "apikey": key}).encode()
            data = await exchange(call.inference_id, HttpCall(
                "POST", call.settings.get("iam_url") or IAM_URL,
                {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}, content=form),
                [key])
            return str(data["access_token"]), float(str(data.get("expires_in", 3600)))

        token = await TOKENS.get(fingerprint([key, call.settings.get("iam_url") or IAM_URL]), fetch)
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    def _http(self, call: Call, operation: str, headers: dict[str, str], body: dict[str, Any]) -> HttpCall:
        url = f"{call.settings['url'].rstrip('/')}/ml/v1/text/{operation}"
        return HttpCall("POST", url, headers, body, params={"version": call.settings["api_version"]})

    def _ids(self, call: Call) -> dict[str, str]:
        return {"model_id": call.settings["model_id"], "project_id": call.settings["project_id"]}

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """embeddings / rerank / generation."""
        headers = await self._headers(call)
        if call.task_type == TaskType.TEXT_EMBEDDING:
            return self._http(call, "embeddings", headers, {"inputs": inputs, **self._ids(call)})
        if call.task_type == TaskType.RERANK:
            options: dict[str, Any] = {"inputs": bool(call.return_documents or call.task_settings.get("return_documents"))}
            top_n = call.top_n if call.top_n is not None else call.task_settings.get("top_n")
            if top_n is not None:
                options["top_n"] = top_n
            parameters: dict[str, Any] = {"return_options": options}
            if call.task_settings.get("truncate_input_tokens"):
                parameters["truncate_input_tokens"] = call.task_settings["truncate_input_tokens"]
            body = {"inputs": [{"text": t} for t in inputs], "query": call.query, "parameters": parameters,
                    **self._ids(call)}
            return self._http(call, "rerank", headers, body)
        return self._http(call, "generation", headers, {"input": inputs[0], **self._ids(call)})

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """``results[].embedding``, ``results[].score`` or ``results[0].generated_text``."""
        data = json_body(response)
        if call.task_type == TaskType.TEXT_EMBEDDING:
            return stack([np.asarray(r["embedding"], dtype=np.float32) for r in data["results"]])
        if call.task_type == TaskType.RERANK:
            return ranked(call, [(int(r["index"]), float(r["score"])) for r in data["results"]], inputs)
        return "".join(r.get("generated_text", "") for r in data["results"])

    async def build_stream(self, call: Call) -> HttpCall:
        """``generation_stream`` for completion, ``chat_stream`` for chat completion."""
        headers = await self._headers(call)
        headers["Accept"] = "text/event-stream"
        if call.task_type == TaskType.COMPLETION:
            prompt = (call.chat or {}).get("messages", [{}])[0].get("content", "")
            return self._http(call, "generation_stream", headers, {"input": prompt, **self._ids(call)})
        body = chat_body(call, None)
        body.pop("n", None)
        return self._http(call, "chat_stream", headers, {**body, **self._ids(call)})

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """generation_stream: ``results[].generated_text``; chat_stream: OpenAI-style chunks."""
        if event == "error":
            raise error_object(call, 200, data)
        if call.task_type == TaskType.CHAT_COMPLETION:
            return openai_stream_chunks(call, event, data)
        payload = json.loads(data)
        if "errors" in payload:
            raise error_object(call, 200, str(payload["errors"]))
        texts = [r.get("generated_text", "") for r in payload.get("results", [])]
        return [completion_chunk(t) for t in texts if t]
