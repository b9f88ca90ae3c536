"""``alibabacloud-ai-search``: AlibabaCloud AI Search OpenAPI
(``{host}/v3/openapi/workspaces/{workspace}/{operation}/{service_id}``, ``Authorization: Bearer``).

``url`` (our addition) replaces ``https://{host}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from ingest.models.results import InputType, TaskType
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai import bearer
from ingest.models.services.remote.openai_compat import stack
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body, ranked
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.transport import HttpCall

OPERATIONS = {TaskType.TEXT_EMBEDDING: "text-embedding", TaskType.SPARSE_EMBEDDING: "text-sparse-embedding",
              TaskType.RERANK: "ranker", TaskType.COMPLETION: "text-generation"}
EMBEDDINGS = tasks(TaskType.TEXT_EMBEDDING, TaskType.SPARSE_EMBEDDING)
INPUT_TYPES = {InputType.INGEST: "document", InputType.SEARCH: "query"}


class AlibabaCloudSearchService(RemoteService):
    """Elasticsearch's ``alibabacloud-ai-search`` service."""

    name = "alibabacloud-ai-search"
    task_types = frozenset(OPERATIONS)
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "host": Setting(str, required=True),
        "service_id": Setting(str, required=True),
        "workspace": Setting(str, required=True),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "input_type": Setting(str, choices=("ingest", "search"), tasks=EMBEDDINGS),
        "return_token": Setting(bool, tasks=tasks(TaskType.SPARSE_EMBEDDING)),
    }
    default_rpm = 1000
    max_batch = 32
    model_setting = "service_id"

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """One operation of the workspace's service."""
        s = call.settings
        base = (s.get("url") or f"https://{s['host']}").rstrip("/")
        url = f"{base}/v3/openapi/workspaces/{s['workspace']}/{OPERATIONS[call.task_type]}/{s['service_id']}"
        body: dict[str, Any]
        if call.task_type in EMBEDDINGS:
            body = {"input": inputs}
            if call.input_type in INPUT_TYPES:
                body["input_type"] = INPUT_TYPES[call.input_type]
            if call.task_type == TaskType.SPARSE_EMBEDDING:
                body["return_token"] = bool(call.task_settings.get("return_token", False))
        elif call.task_type == TaskType.RERANK:
            body = {"query": call.query, "docs": inputs}
        else:
            body = {"messages": [{"role": "user", "content": inputs[0]}]}
        return HttpCall("POST", url, bearer(call), body)

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """``result.embeddings`` / ``result.sparse_embeddings`` / ``result.scores`` / ``result.text``."""
        result = json_body(response)["result"]
        if call.task_type == TaskType.TEXT_EMBEDDING:
            rows = sorted(result["embeddings"], key=lambda e: int(e["index"]))
            return stack([np.asarray(e["embedding"], dtype=np.float32) for e in rows])
        if call.task_type == TaskType.SPARSE_EMBEDDING:
            rows = sorted(result["sparse_embeddings"], key=lambda e: int(e["index"]))
            key = "token" if call.task_settings.get("return_token") else "token_id"
            return [{str(t[key]): float(t["weight"]) for t in e["embedding"]} for e in rows]
        if call.task_type == TaskType.RERANK:
            return ranked(call, [(int(s["index"]), float(s["score"])) for s in result["scores"]], inputs)
        return str(result["text"])
