"""``voyageai``: ``https://api.voyageai.com/v1/embeddings`` and ``/v1/rerank``.

Embeddings are requested with ``encoding_format: "base64"``; at most 1,000 inputs and 120k tokens per request.
``url`` (our addition) replaces ``https://api.voyageai.com``.
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

BASE_URL = "https://api.voyageai.com"
EMBED = tasks(TaskType.TEXT_EMBEDDING)
RERANK = tasks(TaskType.RERANK)
INPUT_TYPES = {InputType.INGEST: "document", InputType.SEARCH: "query"}


class VoyageAiService(RemoteService):
    """Elasticsearch's ``voyageai`` service."""

    name = "voyageai"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.RERANK})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "model_id": Setting(str, required=True),
        "embedding_type": Setting(str, choices=("float", "int8", "bit"), default="float", tasks=EMBED),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "input_type": Setting(str, choices=("ingest", "search"), tasks=EMBED),
        "truncation": Setting(bool),
        "return_documents": Setting(bool, tasks=RERANK),
        "top_k": Setting(int, minimum=1, tasks=RERANK),
    }
    default_rpm = 2000
    max_batch = 1000
    max_batch_tokens = 120_000
    sends_dimensions = True

    def element_type(self, settings: dict[str, Any]) -> str:
        """``int8`` → byte, ``bit`` → bit (Voyage's signed ``binary``, 8 dimensions a value), else float."""
        return {"int8": "byte", "bit": "bit"}.get(settings.get("embedding_type", "float"), "float")

    def _url(self, call: Call, path: str) -> str:
        return (call.settings.get("url") or BASE_URL).rstrip("/") + path

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """Embeddings or rerank."""
        model = call.settings["model_id"]
        body: dict[str, Any]
        if call.task_type == TaskType.TEXT_EMBEDDING:
            body = {"input": inputs, "model": model, "encoding_format": "base64"}
            if call.input_type is not None:
                body["input_type"] = INPUT_TYPES.get(call.input_type)
            if call.settings.get("dimensions"):
                body["output_dimension"] = call.settings["dimensions"]
            if call.settings.get("embedding_type", "float") != "float":
                body["output_dtype"] = call.settings["embedding_type"].replace("bit", "binary")
                body.pop("encoding_format")
        else:
            want = call.return_documents if call.return_documents is not None else bool(
                call.task_settings.get("return_documents", False))
            body = {"query": call.query, "documents": inputs, "model": model, "return_documents": want}
            top_k = call.top_n if call.top_n is not None else call.task_settings.get("top_k")
            if top_k is not None:
                body["top_k"] = top_k
        if call.task_settings.get("truncation") is not None:
            body["truncation"] = call.task_settings["truncation"]
        path = "/v1/embeddings" if call.task_type == TaskType.TEXT_EMBEDDING else "/v1/rerank"
        return HttpCall("POST", self._url(call, path), bearer(call), body)

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """``data[].embedding`` (base64 or numbers) or ``data[].relevance_score``."""
        if call.task_type == TaskType.TEXT_EMBEDDING:
            return parse_embeddings(response)
        data = json_body(response)
        return ranked(call, [(int(r["index"]), float(r["relevance_score"])) for r in data["data"]], inputs)
