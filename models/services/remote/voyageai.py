"""``voyageai``: ``https://api.voyageai.com/v1/embeddings`` and ``/v1/rerank``.

Embeddings are requested with ``encoding_format: "base64"``; at most 1,000 inputs and 120k tokens per request.
The ``embedding`` task of a ``multimodal_model`` (the default, as Elasticsearch's) goes to
``/v1/multimodalembeddings``: each input is ``{"content": [{"type": "text", "text"} | {"type": "image_base64",
"image_base64": "<data URI>"}, ...]}``, several items making one vector; that API takes no ``output_dimension`` or
``output_dtype``. ``url`` (our addition) replaces ``https://api.voyageai.com``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from ingest.models.contents import Content, ContentGroup
from ingest.models.results import InputType, TaskType
from ingest.models.services.base import EndpointConfig
from ingest.models.services.remote.errors import UpstreamResponse
from ingest.models.services.remote.openai import bearer
from ingest.models.services.remote.openai_compat import parse_embeddings
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body, ranked
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.transport import HttpCall

BASE_URL = "https://api.voyageai.com"
EMBED = tasks(TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING)
RERANK = tasks(TaskType.RERANK)
INPUT_TYPES = {InputType.INGEST: "document", InputType.SEARCH: "query"}


def _multimodal(call_settings: dict[str, Any], task_type: TaskType) -> bool:
    return task_type == TaskType.EMBEDDING and bool(call_settings.get("multimodal_model", True))


def _part(content: Content) -> dict[str, str]:
    if content.is_text:
        return {"type": "text", "text": content.value}
    return {"type": "image_base64", "image_base64": content.value}  # a data URI, as Voyage requires


def _input(group: ContentGroup) -> dict[str, Any]:
    return {"content": [_part(c) for c in group]}


class VoyageAiService(RemoteService):
    """Elasticsearch's ``voyageai`` service."""

    name = "voyageai"
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING, TaskType.RERANK})
    content_types = frozenset({"text", "image"})
    multi_item_content = True  # the multimodal API interleaves text and images into one vector
    service_schema: ClassVar[dict[str, Setting]] = {
        "api_key": Setting(str, required=True, secret=True),
        "model_id": Setting(str, required=True),
        "embedding_type": Setting(str, choices=("float", "int8", "bit"), default="float", tasks=EMBED),
        "multimodal_model": Setting(bool, default=True, tasks=tasks(TaskType.EMBEDDING)),
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

    def check(self, task_type: TaskType, settings: dict[str, Any], secrets: dict[str, str],
              problems: list[str]) -> None:
        """The multimodal API returns float vectors of the model's size only."""
        if _multimodal(settings, task_type):
            if settings.get("embedding_type", "float") != "float":
                problems.append("[embedding_type] must be [float] for a [multimodal_model]: Voyage AI's multimodal "
                                "embeddings API takes no output_dtype")
            if settings.get("dimensions") is not None:
                problems.append("[dimensions] cannot be set for a [multimodal_model]: Voyage AI's multimodal "
                                "embeddings API takes no output_dimension")

    def takes_dimensions(self, endpoint: EndpointConfig) -> bool:
        """The multimodal API takes none: its validation call records the model's."""
        return not _multimodal(endpoint.service_settings, endpoint.task_type)

    def element_type(self, settings: dict[str, Any]) -> str:
        """``int8`` → byte, ``bit`` → bit (Voyage's signed ``binary``, 8 dimensions a value), else float."""
        return {"int8": "byte", "bit": "bit"}.get(settings.get("embedding_type", "float"), "float")

    def _url(self, call: Call, path: str) -> str:
        return (call.settings.get("url") or BASE_URL).rstrip("/") + path

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """Embeddings or rerank."""
        model = call.settings["model_id"]
        body: dict[str, Any]
        path = "/v1/embeddings" if call.task_type in EMBED else "/v1/rerank"
        if _multimodal(call.settings, call.task_type):
            groups = call.contents or [(Content("text", "text", t),) for t in inputs]
            body = {"inputs": [_input(g) for g in groups], "model": model, "output_encoding": "base64"}
            if call.input_type is not None:
                body["input_type"] = INPUT_TYPES.get(call.input_type)
            path = "/v1/multimodalembeddings"
        elif call.task_type in EMBED:
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
        return HttpCall("POST", self._url(call, path), bearer(call), body)

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """``data[].embedding`` (base64 or numbers) or ``data[].relevance_score``."""
        if call.task_type in EMBED:
            return parse_embeddings(response)
        data = json_body(response)
        return ranked(call, [(int(r["index"]), float(r["relevance_score"])) for r in data["data"]], inputs)
