"""``amazon_sagemaker``: a SageMaker real-time endpoint, SigV4-signed (service ``sagemaker``).

``InvokeEndpoint`` is ``POST https://runtime.sagemaker.{region}.amazonaws.com/endpoints/{endpoint_name}/invocations``
with the payload as the body and the optional routing as ``X-Amzn-SageMaker-*`` headers (AWS API reference);
``InvokeEndpointWithResponseStream`` (``.../invocations-response-stream``) answers AWS event-stream messages whose
``PayloadPart`` payloads are the container's own bytes. ``api`` says what the container speaks, as in
Elasticsearch: ``openai`` (OpenAI embeddings / chat bodies; streamed as server-sent events inside the parts) or
``elastic`` (Elasticsearch's own request ``{input, input_type?, query?, top_n?, return_documents?, task_settings?}``
and result bodies; a streamed completion sends one ``{"completion": [{"delta"}]}`` JSON per part). ``url`` (our
addition) replaces ``https://runtime.sagemaker.{region}.amazonaws.com``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
import numpy as np

from ingest.models.errors import StatusException
from ingest.models.results import InputType, TaskType
from ingest.models.services.base import EndpointConfig, InferenceRequest
from ingest.models.services.remote.errors import UpstreamError, UpstreamResponse
from ingest.models.services.remote.eventstream import split_messages
from ingest.models.services.remote.openai_compat import (
    chat_body,
    embeddings_body,
    openai_stream_chunks,
    parse_chat,
    parse_embeddings,
    stack,
)
from ingest.models.services.remote.service import Call, Partial, RemoteService, json_body, ranked
from ingest.models.services.remote.settings import Setting, tasks
from ingest.models.services.remote.sigv4 import sign
from ingest.models.services.remote.transport import HttpCall

API_TASKS = {
    "openai": tasks(TaskType.TEXT_EMBEDDING, TaskType.COMPLETION, TaskType.CHAT_COMPLETION),
    "elastic": tasks(TaskType.TEXT_EMBEDDING, TaskType.SPARSE_EMBEDDING, TaskType.RERANK, TaskType.COMPLETION,
                     TaskType.CHAT_COMPLETION),
}
CHAT = tasks(TaskType.COMPLETION, TaskType.CHAT_COMPLETION)
# service setting / task setting → the InvokeEndpoint header carrying it
HEADERS = {"target_model": "X-Amzn-SageMaker-Target-Model",
           "target_container_hostname": "X-Amzn-SageMaker-Target-Container-Hostname",
           "inference_component_name": "X-Amzn-SageMaker-Inference-Component",
           "custom_attributes": "X-Amzn-SageMaker-Custom-Attributes",
           "enable_explanations": "X-Amzn-SageMaker-Enable-Explanations",
           "inference_id": "X-Amzn-SageMaker-Inference-Id",
           "session_id": "X-Amzn-SageMaker-Session-Id",
           "target_variant": "X-Amzn-SageMaker-Target-Variant"}
ELEMENT_KEYS = {"float": "text_embedding", "byte": "text_embedding_bytes", "bit": "text_embedding_bits"}
EXTRA = "_elastic_task_settings"  # the elastic api's free-form per-request task settings, passed through


class SageMakerService(RemoteService):
    """Elasticsearch's ``amazon_sagemaker`` service."""

    name = "amazon_sagemaker"
    task_types = API_TASKS["elastic"] | API_TASKS["openai"]
    service_schema: ClassVar[dict[str, Setting]] = {
        "access_key": Setting(str, required=True, secret=True),
        "secret_key": Setting(str, required=True, secret=True),
        "region": Setting(str, required=True),
        "endpoint_name": Setting(str, required=True, description="The name of the SageMaker endpoint."),
        "api": Setting(str, required=True, choices=("elastic", "openai"),
                       description="The API format the endpoint's container speaks: openai or elastic."),
        "target_model": Setting(str),
        "target_container_hostname": Setting(str),
        "inference_component_name": Setting(str),
        "batch_size": Setting(int, minimum=1, default=256, tasks=tasks(TaskType.TEXT_EMBEDDING,
                                                                        TaskType.SPARSE_EMBEDDING)),
        "element_type": Setting(str, choices=("bit", "byte", "float"), tasks=tasks(TaskType.TEXT_EMBEDDING)),
        # as Elasticsearch stores it: whether dimensions were asked for (sent) or measured by the validation call
        "dimensions_set_by_user": Setting(bool, tasks=tasks(TaskType.TEXT_EMBEDDING)),
    }
    task_schema: ClassVar[dict[str, Setting]] = {
        "custom_attributes": Setting(str), "enable_explanations": Setting(str), "inference_id": Setting(str),
        "session_id": Setting(str), "target_variant": Setting(str), "user": Setting(str),
    }
    default_rpm = 2**31 - 1  # Elasticsearch puts no rate limit on SageMaker: the endpoint's capacity is the user's
    model_setting = "endpoint_name"
    streaming_tasks = CHAT
    takes_reasoning = True  # forwarded to an OpenAI-compatible container as reasoning_effort

    def check(self, task_type: TaskType, settings: dict[str, Any], secrets: dict[str, str],
              problems: list[str]) -> None:
        """The task type must exist for the ``api``; the elastic api's embeddings need ``element_type``."""
        api = settings["api"]
        if task_type not in API_TASKS[api]:
            supported = ", ".join(str(t) for t in sorted(API_TASKS[api]))
            raise StatusException(f"Task [{task_type}] is not compatible for service [{self.name}] and api [{api}]. "
                                  f"Supported tasks: [{supported}]", status=405)
        if api == "elastic" and task_type == TaskType.TEXT_EMBEDDING and "element_type" not in settings:
            problems.append("[service_settings] does not contain the required setting [element_type]")
        if "dimensions" in settings:
            settings.setdefault("dimensions_set_by_user", True)

    def start(self, endpoint: EndpointConfig, timeout_s: float) -> None:
        """The validation call; dimensions it measures are marked as not set by the user (so never sent)."""
        super().start(endpoint, timeout_s)
        if "dimensions" in endpoint.service_settings:
            endpoint.service_settings.setdefault("dimensions_set_by_user", False)

    def batch_size(self, call: Call) -> int:
        """``batch_size`` inputs per invocation (256 by default, as Elasticsearch)."""
        return int(call.settings.get("batch_size", 256))

    def element_type(self, settings: dict[str, Any]) -> str:
        """The elastic api's ``element_type`` (the OpenAI api answers floats)."""
        return str(settings.get("element_type", "float")) if settings.get("api") == "elastic" else "float"

    def _make_call(self, endpoint: EndpointConfig, request: InferenceRequest) -> Call:
        """The elastic api takes any per-request task settings (Elasticsearch passes them to the container)."""
        if endpoint.service_settings.get("api") != "elastic":
            return super()._make_call(endpoint, request)
        known = {k: v for k, v in request.task_settings.items() if k in self.task_schema}
        extra = {k: v for k, v in request.task_settings.items() if k not in self.task_schema}
        call = super()._make_call(endpoint, dataclasses.replace(request, task_settings=known))
        call.task_settings[EXTRA] = extra
        return call

    # ---- requests -------------------------------------------------------------------------------------------

    def _signed(self, call: Call, body: dict[str, Any], stream: bool = False) -> HttpCall:
        s = call.settings
        base = (s.get("url") or f"https://runtime.sagemaker.{s['region']}.amazonaws.com").rstrip("/")
        operation = "invocations-response-stream" if stream else "invocations"
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        for key, header in HEADERS.items():
            value = s.get(key) if key in self.service_schema else call.task_settings.get(key)
            if value:
                headers[header] = str(value)
        http = HttpCall("POST", f"{base}/endpoints/{quote(s['endpoint_name'], safe='')}/{operation}", headers, body)
        http.headers.update(sign("POST", http.url, http.headers, http.body() or b"",
                                 access_key=call.secret("access_key"), secret_key=call.secret("secret_key"),
                                 region=s["region"], service="sagemaker"))
        return http

    def _elastic_body(self, call: Call, inputs: list[str]) -> dict[str, Any]:
        body: dict[str, Any] = {"input": inputs if len(inputs) > 1 else inputs[0]}
        if call.input_type in (InputType.INGEST, InputType.SEARCH, InputType.CLASSIFICATION, InputType.CLUSTERING):
            body["input_type"] = str(call.input_type)
        if call.query is not None:
            body["query"] = call.query
        if call.task_type == TaskType.RERANK:
            if call.return_documents is not None:
                body["return_documents"] = call.return_documents
            if call.top_n is not None:
                body["top_n"] = call.top_n
        if call.task_settings.get(EXTRA):
            body["task_settings"] = call.task_settings[EXTRA]
        return body

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """One ``InvokeEndpoint`` in the endpoint's api."""
        if call.settings["api"] == "elastic":
            return self._signed(call, self._elastic_body(call, inputs))
        if call.task_type == TaskType.TEXT_EMBEDDING:
            body = embeddings_body(None, inputs, dimensions=None, user=call.task_settings.get("user"))
            body.pop("encoding_format")  # a container's OpenAI server may not implement base64
            if call.settings.get("dimensions") and call.settings.get("dimensions_set_by_user"):
                body["dimensions"] = call.settings["dimensions"]
            return self._signed(call, body)
        return self._signed(call, chat_body(call, None, inputs[0], user=call.task_settings.get("user")))

    async def build_stream(self, call: Call) -> HttpCall:
        """``InvokeEndpointWithResponseStream``: the unified chat body, or the elastic api's completion request."""
        if call.settings["api"] == "elastic" and call.task_type == TaskType.COMPLETION:
            prompt = (call.chat or {}).get("messages", [{}])[0].get("content", "")
            return self._signed(call, self._elastic_body(call, [prompt]), stream=True)
        return self._signed(call, chat_body(call, None, stream=True, user=call.task_settings.get("user")), stream=True)

    # ---- answers --------------------------------------------------------------------------------------------

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """OpenAI shapes, or Elasticsearch's result bodies for the elastic api."""
        if call.settings["api"] == "openai":
            return parse_embeddings(response) if call.task_type == TaskType.TEXT_EMBEDDING else parse_chat(response)
        data = json_body(response)
        if call.task_type == TaskType.TEXT_EMBEDDING:
            rows = data[ELEMENT_KEYS[self.element_type(call.settings)]]
            return stack([np.asarray(r["embedding"], dtype=np.float32) for r in rows])
        if call.task_type == TaskType.SPARSE_EMBEDDING:
            return [{str(k): float(v) for k, v in r["embedding"].items()} for r in data["sparse_embedding"]]
        if call.task_type == TaskType.RERANK:
            return ranked(call, [(int(r["index"]), float(r["relevance_score"])) for r in data["rerank"]], inputs)
        return str(data["completion"][0]["result"])

    async def stream_events(self, response: httpx.Response, inference_id: str) -> AsyncIterator[tuple[str, str]]:
        """``PayloadPart`` bytes, reassembled: whole SSE events (openai / chat) or one JSON per part (elastic)."""
        buffer, text = bytearray(), b""
        try:
            async for data in response.aiter_bytes():
                buffer += data
                for headers, payload in split_messages(buffer):
                    if headers.get(":message-type") == "exception":
                        raise UpstreamError(
                            f"Received an error response for request from inference entity id [{inference_id}] "
                            f"status [200]. Error message: [{headers.get(':exception-type')!s}: "
                            f"{payload.decode(errors='replace')}]", 400, retryable=False)
                    if headers.get(":event-type") != "PayloadPart":
                        continue
                    if payload.lstrip()[:1] == b"{":  # the elastic api: one JSON document per part
                        yield "part", payload.decode()
                        continue
                    text += payload  # server-sent events that may span parts (and split a UTF-8 character)
                    while b"\n\n" in text:
                        frame, text = text.split(b"\n\n", 1)
                        lines = [ln[5:].lstrip() for ln in frame.decode().splitlines() if ln.startswith("data:")]
                        if lines:
                            yield "message", "\n".join(lines)
        except httpx.HTTPError as exc:
            raise UpstreamError(f"The stream for request from inference entity id [{inference_id}] ended "
                                f"unexpectedly: {type(exc).__name__}", 400, retryable=False) from None

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """Elastic parts are Elasticsearch chunks already; SSE events are OpenAI chunks."""
        if event == "part":
            payload = json.loads(data)
            if call.task_type == TaskType.CHAT_COMPLETION:
                return [{"chat_completion": payload}]
            return [{"completion": [{"delta": d["delta"]} for d in payload.get("completion", [])]}]
        return openai_stream_chunks(call, event, data)
