"""``jinaai``: ``https://api.jina.ai/v1/embeddings`` and ``/v1/rerank``.

Embeddings are requested with ``embedding_type: "base64"`` for float endpoints. ``url`` (our addition) replaces
``https://api.jina.ai``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ingest.models.results import InputType, TaskType
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai import bearer
from ingest.models.services.remote.openai_compat import parse_embeddings
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body, ranked
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.transport import HttpCall

BASE_URL = "https://api.jina.ai"
TASKS = {InputType.INGEST: "retrieval.passage", InputType.SEARCH: "retrieval.query",
         InputType.CLASSIFICATION: "classification", InputType.CLUSTERING: "separation"}
EMBED = tasks(TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING)
RERANK = tasks(TaskType.RERANK)


class JinaAiService(RemoteService):
    """Elasticsearch's ``jinaai`` service."""

    name = "jinaai"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING, TaskType.RERANK})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "model_id": Setting(str, required=True),
        "embedding_type": Setting(str, choices=("binary", "bit", "float"), default="float", tasks=EMBED),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "input_type": Setting(str, choices=("classification", "clustering", "ingest", "search"), tasks=EMBED),
        "late_chunking": Setting(bool, tasks=EMBED),
        "return_documents": Setting(bool, tasks=RERANK),
        "top_n": Setting(int, minimum=1, tasks=RERANK),
    }
    default_rpm = 2000
    max_batch = 512
    sends_dimensions = True

    def element_type(self, settings: dict[str, Any]) -> str:
        """``binary``/``bit`` → bit (Jina's signed ``binary``: 8 dimensions a value), else float."""
        return "bit" if settings.get("embedding_type", "float") in ("binary", "bit") else "float"

    def _url(self, call: Call, path: str) -> str:
        return (call.settings.get("url") or BASE_URL).rstrip("/") + path

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """Embeddings or rerank."""
        model = call.settings["model_id"]
        if call.task_type in EMBED:
            kind = call.settings.get("embedding_type", "float")
            body: dict[str, Any] = {"model": model, "input": inputs,
                                    "embedding_type": "base64" if kind == "float" else "binary"}
            if call.input_type is not None:
                body["task"] = TASKS[call.input_type]
            if call.settings.get("dimensions"):
                body["dimensions"] = call.settings["dimensions"]
            if call.task_settings.get("late_chunking") is not None:
                body["late_chunking"] = call.task_settings["late_chunking"]
            return HttpCall("POST", self._url(call, "/v1/embeddings"), bearer(call), body)
        want = call.return_documents if call.return_documents is not None else bool(
            call.task_settings.get("return_documents", False))
        body = {"model": model, "query": call.query, "documents": inputs, "return_documents": want}
        top_n = call.top_n if call.top_n is not None else call.task_settings.get("top_n")
        if top_n is not None:
            body["top_n"] = top_n
        return HttpCall("POST", self._url(call, "/v1/rerank"), bearer(call), body)

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """OpenAI-shaped embeddings, or ``results[].relevance_score``."""
        if call.task_type in EMBED:
            return parse_embeddings(response)
        data = json_body(response)
        return ranked(call, [(int(r["index"]), float(r["relevance_score"])) for r in data["results"]], inputs)
