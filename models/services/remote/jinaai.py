"""``jinaai``: ``https://api.jina.ai/v1/embeddings`` and ``/v1/rerank``.

Embeddings are requested with ``embedding_type: "base64"`` for float endpoints. The ``embedding`` task of a
``multimodal_model`` (the default; ``jina-clip-v2``, ``jina-embeddings-v4``) sends each input as an object,
``{"text": ...}`` or ``{"image": "<data URI>"}``, as Elasticsearch does. ``url`` (our addition) replaces
``https://api.jina.ai``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ingest.models.contents import Content, ContentGroup
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
LATE_CHUNKING_MAX_WORDS = 5500  # Elasticsearch's bound on a late-chunked request (8k tokens at ~0.75 words each)
CLIP_V2 = "jina-clip-v2"  # takes "task" only as "retrieval.query" (Elasticsearch leaves it out otherwise)


def _text(value: str) -> Content:
    return Content("text", "text", value)


def _item(group: ContentGroup) -> dict[str, str]:
    content = group[0]  # one item per input: check_support refused more
    return {"text": content.value} if content.is_text else {"image": content.value}


class JinaAiService(RemoteService):
    """Elasticsearch's ``jinaai`` service."""

    name = "jinaai"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING, TaskType.RERANK})
    content_types = frozenset({"text", "image"})
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "model_id": Setting(str, required=True),
        "embedding_type": Setting(str, choices=("binary", "bit", "float"), default="float", tasks=EMBED),
        "multimodal_model": Setting(bool, default=True, tasks=tasks(TaskType.EMBEDDING)),
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
            objects = call.task_type == TaskType.EMBEDDING and bool(call.settings.get("multimodal_model", True))
            groups = call.contents or [(_text(t),) for t in inputs]
            body: dict[str, Any] = {"model": model, "input": [_item(g) for g in groups] if objects else inputs,
                                    "embedding_type": "base64" if kind == "float" else "binary"}
            if call.input_type is not None and (str(model).lower() != CLIP_V2 or call.input_type == InputType.SEARCH):
                body["task"] = TASKS[call.input_type]
            if call.settings.get("dimensions"):
                body["dimensions"] = call.settings["dimensions"]
            if call.task_settings.get("late_chunking") is not None:  # as Elasticsearch: never for images, nor past
                words = sum(len(t.split()) for t in inputs)  # what fits the late-chunking models' 8k tokens
                body["late_chunking"] = (bool(call.task_settings["late_chunking"]) and call.contents is None
                                         and words <= LATE_CHUNKING_MAX_WORDS)
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
