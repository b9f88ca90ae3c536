"""The base class of every remote service: settings, batching, rate-limited sending, validation, streaming.

A provider module only says what differs: its settings, its caps and default rate limits, how to build one
HTTP request for a batch of inputs (:meth:`RemoteService.build`) and how to read the answer
(:meth:`RemoteService.parse`); for streaming, :meth:`RemoteService.build_stream` and
:meth:`RemoteService.stream_chunks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

import httpx
import numpy as np

from ingest.models.contents import ContentGroup, check_support
from ingest.models.errors import ElasticsearchError, StatusException, ValidationException
from ingest.models.jsonparse import well_formed
from ingest.models.jsontypes import JsonInput, JsonObject
from ingest.models.results import (
    CompletionResults,
    InferenceResults,
    InputType,
    RerankResults,
    SparseEmbeddingResults,
    TaskType,
    TextEmbeddingResults,
)
from ingest.models.services.base import EndpointConfig, InferenceRequest, InferenceService
from ingest.models.services.remote.batching import split
from ingest.models.services.remote.configuration import service_configuration
from ingest.models.services.remote.errors import (
    DEFAULT_RETRY_STATUSES,
    SERVER_ERROR_OBJECT,
    UpstreamError,
    UpstreamResponse,
)
from ingest.models.services.remote.secret import Secret, fingerprint, scrub_error
from ingest.models.services.remote.settings import Setting, parse_rate_limit, parse_settings
from ingest.models.services.remote.sse import sse_events
from ingest.models.services.remote.transport import CallContext, HttpCall, iterate, transport

DENSE_TASKS = frozenset({TaskType.TEXT_EMBEDDING, TaskType.EMBEDDING})
EMBEDDING_TASKS = DENSE_TASKS | {TaskType.SPARSE_EMBEDDING}
COMMON_EMBEDDING_SETTINGS = {
    "dimensions": Setting(int, minimum=1, tasks=DENSE_TASKS),
    "similarity": Setting(str, choices=("cosine", "dot_product", "l2_norm"), tasks=DENSE_TASKS),
}
URL_SETTING = Setting(str)  # our documented override: where requests go instead of the provider's host
MEDIA_TOKENS = (8 << 20) // 3  # batching's estimate of 8 MiB of content (it counts a token per 3 bytes)
VALIDATION_INPUT = "how big"  # what Elasticsearch sends in its validation call


@dataclass
class Call:
    """One inference call as a provider sees it: the endpoint, merged task settings and per-call options."""

    endpoint: EndpointConfig
    task_type: TaskType
    task_settings: dict[str, Any]
    input_type: InputType | None = None
    query: str | None = None
    return_documents: bool | None = None
    top_n: int | None = None
    chat: dict[str, Any] | None = None
    secrets: dict[str, Secret] = field(default_factory=dict)
    contents: list[ContentGroup] | None = None  # the embedding task's content objects, aligned with the inputs

    @property
    def settings(self) -> dict[str, Any]:
        """The endpoint's (public) service settings."""
        return self.endpoint.service_settings

    @property
    def inference_id(self) -> str:
        """The endpoint id, as it appears in error messages."""
        return self.endpoint.inference_id

    def secret(self, name: str) -> str:
        """The raw value of a secret setting (for an auth header or a signature only)."""
        return self.secrets[name].reveal()

    def part(self, start: int, end: int) -> Call:
        """This call for the inputs ``[start, end)`` of one batch (its content objects sliced alike)."""
        return self if self.contents is None else replace(self, contents=self.contents[start:end])


Partial = np.ndarray | list[dict[str, float]] | RerankResults | str


def json_body(response: UpstreamResponse) -> Any:
    """The response body as JSON (a ValueError, which the transport retries, when it is not JSON)."""
    return json.loads(response.body)


def error_object(call: Call, status: int, message: str) -> UpstreamError:
    """A 2xx answer (or stream event) that carries an error object: reported, not retried (as Elasticsearch)."""
    return UpstreamError(
        f"{SERVER_ERROR_OBJECT} for request from inference entity id [{call.inference_id}] status [{status}]. "
        f"Error message: [{message}]",
        400,
        retryable=False,
    )


def ranked(call: Call, items: list[tuple[int, float]], documents: list[str]) -> RerankResults:
    """Rerank results sorted by score, with texts when documents are to be returned."""
    from ingest.models.results import RankedDocument

    want_docs = call.return_documents
    if want_docs is None:
        want_docs = bool(call.task_settings.get("return_documents", False))
    items = sorted(items, key=lambda t: -t[1])
    top_n = call.top_n if call.top_n is not None else call.task_settings.get("top_n")
    if isinstance(top_n, int):
        items = items[:top_n]
    return RerankResults([RankedDocument(i, float(s), documents[i] if want_docs else None) for i, s in items])


REASONING_EFFORTS = ("xhigh", "high", "medium", "low", "minimal", "none")
REASONING_KEYS = frozenset({"effort", "enabled", "exclude", "summary"})


def check_reasoning(chat: dict[str, Any] | None, service: str, supported: bool) -> None:
    """Validate the unified request's ``reasoning``; a provider that cannot take it refuses the request instead of
    answering without reasoning (Elasticsearch drops it silently)."""
    reasoning = (chat or {}).get("reasoning")
    if reasoning is None:
        return
    if not isinstance(reasoning, dict) or set(reasoning) - REASONING_KEYS:
        raise ValidationException([f"[reasoning] must be an object with [{', '.join(sorted(REASONING_KEYS))}]"])
    effort = reasoning.get("effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        raise ValidationException([f"[reasoning.effort] must be one of [{', '.join(REASONING_EFFORTS)}]"])
    if (effort is not None or reasoning.get("enabled")) and not supported:
        raise ValidationException([f"[reasoning] is not supported by the [{service}] service"])
    # ``summary`` is a hint on the detail of a summary; chat-completions APIs return none, so it has no effect here.


class RemoteService(InferenceService):
    """Shared behaviour of remote services; subclasses declare settings and wire formats."""

    service_schema: ClassVar[dict[str, Setting]] = {}
    task_schema: ClassVar[dict[str, Setting]] = {}
    default_rpm: ClassVar[int | dict[TaskType, int]] = 3000
    max_batch: ClassVar[int] = 1  # inputs per embedding request
    max_batch_tokens: ClassVar[int | None] = None
    retry_statuses: ClassVar[frozenset[int]] = DEFAULT_RETRY_STATUSES
    model_setting: ClassVar[str] = "model_id"
    sends_dimensions: ClassVar[bool] = False  # the provider takes the requested dimensions as a parameter
    streaming_tasks: ClassVar[frozenset[TaskType]] = frozenset()
    takes_reasoning: ClassVar[bool] = False  # the chat API takes the unified request's ``reasoning``

    # ---- provider hooks -------------------------------------------------------------------------------

    async def build(self, call: Call, inputs: list[str]) -> HttpCall:
        """The HTTP request for one batch of inputs (or the rerank documents / the completion prompt)."""
        raise NotImplementedError

    def parse(self, call: Call, response: UpstreamResponse, inputs: list[str]) -> Partial:
        """Read the provider's answer: a (n, dims) array, sparse maps, rerank results or a completion text."""
        raise NotImplementedError

    async def build_stream(self, call: Call) -> HttpCall:
        """The streaming request for a completion / chat completion."""
        raise NotImplementedError

    def stream_chunks(self, call: Call, event: str, data: str) -> list[dict[str, Any]] | None:
        """Elasticsearch-shaped chunks for one upstream event; None when the stream is finished."""
        raise NotImplementedError

    def stream_events(self, response: httpx.Response, inference_id: str) -> AsyncIterator[tuple[str, str]]:
        """The ``(event, data)`` pairs of a streamed answer: server-sent events unless the provider differs."""
        return sse_events(response, inference_id)

    def check(self, task_type: TaskType, settings: dict[str, Any], secrets: dict[str, str],
              problems: list[str]) -> None:
        """Cross-field validation beyond the schema (default: none)."""

    def batch_size(self, call: Call) -> int:
        """Inputs per embedding request (a setting may lower the provider's cap)."""
        return self.max_batch

    def element_type(self, settings: dict[str, Any]) -> str:
        """``float``, ``byte`` or ``bit``: what the endpoint's dense vectors hold (``embedding_type`` decides)."""
        return "float"

    def takes_dimensions(self, endpoint: EndpointConfig) -> bool:
        """Whether this endpoint's requests carry the requested dimensions (then none are recorded unasked)."""
        return self.sends_dimensions

    def multimodal(self, settings: dict[str, Any]) -> bool:
        """Whether the endpoint's model takes the non-text ``content_types`` (``multimodal_model`` decides)."""
        return bool(settings.get("multimodal_model", True))

    def full_schema(self, task_type: TaskType | None = None) -> dict[str, Setting]:
        """The service settings a PUT of ``task_type`` accepts (every task type's when None)."""
        schema = dict(self.service_schema)
        if self.task_types & DENSE_TASKS and (task_type is None or task_type in DENSE_TASKS):
            schema = {**COMMON_EMBEDDING_SETTINGS, **schema}
        schema.setdefault("url", URL_SETTING)
        return schema

    def configuration(self, updatable: frozenset[str]) -> dict[str, Any]:
        """This service in ``GET _inference/_services``, generated from the settings that validate a PUT."""
        return service_configuration(self.name, self.name, self.task_types, self.full_schema(), updatable,
                                     self.default_rpm)

    # ---- InferenceService --------------------------------------------------------------------------------

    def rpm_default(self, task_type: TaskType) -> int:
        """The default requests per minute of this service for ``task_type``."""
        if isinstance(self.default_rpm, int):
            return self.default_rpm
        return self.default_rpm[task_type]

    def parse_config(self, inference_id: str, task_type: TaskType, service_settings: JsonInput,
                     task_settings: JsonInput, chunking_settings: JsonObject | None) -> EndpointConfig:
        """Validate the settings with Elasticsearch's messages; secrets go to ``secret_settings``."""
        problems: list[str] = []
        if task_type not in self.task_types:
            raise StatusException(f"The [{self.name}] service does not support task type [{task_type}]")
        schema = self.full_schema(task_type)
        given = dict(service_settings or {})
        rate_limit = parse_rate_limit(given.pop("rate_limit", None), self.rpm_default(task_type), problems)
        public, secrets = parse_settings(self.name, task_type, given, schema, "service_settings", problems)
        public["rate_limit"] = rate_limit
        task_public, _ = parse_settings(self.name, task_type, dict(task_settings or {}), self.task_schema,
                                        "task_settings", problems, fill_defaults=False)
        with contextlib.suppress(KeyError):  # a required setting is missing: already reported
            self.check(task_type, public, secrets, problems)
        if problems:
            raise ValidationException(problems)
        return EndpointConfig(inference_id, task_type, self.name, public, secrets, task_public,
                              dict(chunking_settings) if chunking_settings is not None else None)

    def start(self, endpoint: EndpointConfig, timeout_s: float) -> None:
        """Elasticsearch's validation call; records the dimensions of an embedding endpoint when it can."""
        request = InferenceRequest([VALIDATION_INPUT], timeout_s=timeout_s)
        try:
            if endpoint.task_type == TaskType.CHAT_COMPLETION:
                request.chat = {"messages": [{"role": "user", "content": VALIDATION_INPUT}]}
                for _ in self.stream(endpoint, request):
                    pass
                return
            if endpoint.task_type == TaskType.RERANK:
                request.query = VALIDATION_INPUT
            result = self.infer(endpoint, request)
        except ElasticsearchError as exc:
            raise StatusException(
                "Could not complete inference endpoint creation as validation call to service threw an exception.",
                status=400, caused_by=exc,
            ) from None
        if isinstance(result, TextEmbeddingResults) and not self.takes_dimensions(endpoint):
            per_value = 8 if result.element_type == "bit" else 1  # a bit vector packs 8 dimensions per value
            endpoint.service_settings.setdefault("dimensions", int(result.embeddings.shape[1]) * per_value)

    def infer(self, endpoint: EndpointConfig, request: InferenceRequest) -> InferenceResults:
        """Split into provider-sized requests, send them concurrently under the rate limit, reassemble."""
        call = self._make_call(endpoint, request)
        if call.task_type == TaskType.CHAT_COMPLETION:
            raise StatusException(
                f"The [{TaskType.CHAT_COMPLETION}] task type for inference entity id [{call.inference_id}] "
                "only supports streaming; use POST _inference/chat_completion/<id>/_stream", status=400)
        if not request.inputs:
            raise ValidationException(["[input] must not be empty"])
        if request.contents is not None and not self.multimodal(endpoint.service_settings):
            if any(not c.is_text for group in request.contents for c in group):
                raise StatusException("Non-text input provided for text-only model")  # Elasticsearch's words
            check_support(self.name, request.contents, frozenset({"text"}), multi_item=False)
        inputs = well_formed(list(request.inputs))  # lone surrogates cannot be sent as UTF-8: U+FFFD, as locally
        return transport().run(self._infer_async(call, inputs, request.timeout_s), request.timeout_s)

    def stream(self, endpoint: EndpointConfig, request: InferenceRequest) -> Iterator[JsonObject]:
        """Relay the provider's stream as Elasticsearch chunks.

        Returns a :class:`~ingest.models.services.remote.transport.StreamIterator`: validation errors are raised here,
        before any chunk, and ``close()`` (from any thread) cancels the upstream request.
        """
        call = self._make_call(endpoint, request)
        if call.task_type not in self.streaming_tasks:
            return super().stream(endpoint, request)
        if call.task_type == TaskType.COMPLETION:
            if not request.inputs:
                raise ValidationException(["[input] must not be empty"])
            call.chat = {"messages": [{"role": "user", "content": well_formed(request.inputs[0])}]}
        if call.task_type == TaskType.CHAT_COMPLETION and not (call.chat or {}).get("messages"):
            raise ValidationException(["[messages] must not be empty"])
        check_reasoning(call.chat, self.name, self.takes_reasoning)

        async def events() -> AsyncIterator[dict[str, Any]]:
            ctx = self._context(call, request.timeout_s)
            response = await transport().open_stream(ctx, lambda: self.build_stream(call))
            try:
                async for event, data in self.stream_events(response, call.inference_id):
                    chunks = self.stream_chunks(call, event, data)
                    if chunks is None:
                        break
                    for chunk in chunks:
                        yield chunk
            except ElasticsearchError as exc:  # an error event mid-stream may quote the request too
                raise scrub_error(exc, ctx.secrets) from None
            finally:
                await response.aclose()

        return iterate(events, request.timeout_s)

    # ---- internals --------------------------------------------------------------------------------------

    def _make_call(self, endpoint: EndpointConfig, request: InferenceRequest) -> Call:
        problems: list[str] = []
        overrides, _ = parse_settings(self.name, endpoint.task_type, dict(request.task_settings or {}),
                                      self.task_schema, "task_settings", problems, fill_defaults=False)
        if problems:
            raise ValidationException(problems)
        merged = {**endpoint.task_settings, **overrides}
        input_type = request.input_type
        if input_type is None and isinstance(merged.get("input_type"), str):
            try:
                input_type = InputType(merged["input_type"].lower())
            except ValueError:
                raise ValidationException([f"Invalid input_type [{merged['input_type']}]"]) from None
        return Call(endpoint, endpoint.task_type, merged, input_type, well_formed(request.query),
                    request.return_documents, request.top_n, well_formed(request.chat),
                    {k: Secret(v) for k, v in endpoint.secret_settings.items()}, request.contents)

    def group_key(self, call: Call) -> tuple[str, ...]:
        """Rate-limit group: service + credentials + model (not the endpoint id), as Elasticsearch groups."""
        model = str(call.settings.get(self.model_setting) or call.settings.get("url") or "")
        return (self.name, fingerprint(call.endpoint.secret_settings.values()), model)

    def _context(self, call: Call, timeout_s: float) -> CallContext:
        key = self.group_key(call)
        rpm = int(call.settings.get("rate_limit", {}).get("requests_per_minute", self.rpm_default(call.task_type)))
        group = transport().limiters.group(key, f"{self.name}:{key[2]}", rpm)
        return CallContext(call.inference_id, group, time.monotonic() + timeout_s, timeout_s, self.retry_statuses,
                           self.secret_values(call.endpoint))

    def secret_values(self, endpoint: EndpointConfig) -> list[str]:
        """Every secret string that must be scrubbed from error messages (services with structured secrets add
        their parts)."""
        return list(endpoint.secret_settings.values())

    def model_version(self, endpoint: EndpointConfig) -> str:
        """As the base class, but the rate limit (which ``_update`` may change) does not change the vectors."""
        public = json.dumps({"task_type": str(endpoint.task_type),
                             **{k: v for k, v in endpoint.service_settings.items() if k != "rate_limit"}},
                            sort_keys=True, default=str)
        return f"{endpoint.service}:{hashlib.sha256(public.encode()).hexdigest()[:16]}"

    async def _infer_async(self, call: Call, inputs: list[str], timeout_s: float) -> InferenceResults:
        ctx = self._context(call, timeout_s)
        if call.task_type in EMBEDDING_TASKS:
            ranges = split(inputs, self.batch_size(call), self.max_batch_tokens)
            if call.contents is not None:  # images count by their size too: a request carries at most ~8 MiB of them
                sizes = ["".join(c.value for c in group) for group in call.contents]
                ranges = split(sizes, self.batch_size(call), min(self.max_batch_tokens or MEDIA_TOKENS, MEDIA_TOKENS))
            parts = await _gather([self._embed(ctx, call.part(a, b), inputs[a:b]) for a, b in ranges])
            if call.task_type == TaskType.SPARSE_EMBEDDING:
                maps = [m for part in parts for m in part]
                return SparseEmbeddingResults(maps, [False] * len(maps))
            return TextEmbeddingResults(np.vstack(parts).astype(np.float32, copy=False), call.task_type,
                                        self.element_type(call.settings))
        if call.task_type == TaskType.RERANK:
            if call.query is None:
                raise ValidationException(["Field [query] cannot be null for task type [rerank]"])
            result = await self._send(ctx, call, inputs)
            assert isinstance(result, RerankResults)
            return result
        texts = await _gather([self._send(ctx, call, [text]) for text in inputs])
        return CompletionResults([str(t) for t in texts])

    async def _send(self, ctx: CallContext, call: Call, inputs: list[str]) -> Any:
        return await transport().send(ctx, lambda: self.build(call, inputs),
                                      lambda response: self.parse(call, response, inputs))

    async def _embed(self, ctx: CallContext, call: Call, inputs: list[str]) -> Any:
        try:
            part = await self._send(ctx, call, inputs)
        except UpstreamError as exc:
            if not exc.too_large or len(inputs) < 2:
                raise
            half = len(inputs) // 2  # the provider said the batch is too large: halve it, keep the order
            first, second = await _gather([self._embed(ctx, call.part(0, half), inputs[:half]),
                                           self._embed(ctx, call.part(half, len(inputs)), inputs[half:])])
            return np.vstack([first, second]) if isinstance(first, np.ndarray) else [*first, *second]
        if len(part) != len(inputs):
            raise UpstreamError(
                f"The provider returned [{len(part)}] results for [{len(inputs)}] inputs for request from inference "
                f"entity id [{call.inference_id}]", 400, retryable=False)
        dims = call.settings.get("dimensions")
        per_value = 8 if self.element_type(call.settings) == "bit" else 1
        if isinstance(part, np.ndarray) and isinstance(dims, int) and part.shape[1] * per_value != dims:
            raise UpstreamError(
                f"The provider returned embeddings with [{part.shape[1] * per_value}] dimensions for inference entity id "
                f"[{call.inference_id}], but the endpoint is configured with [dimensions] = [{dims}]",
                400, retryable=False)
        return part


async def _gather(coros: list[Awaitable[Any]]) -> list[Any]:
    """Run concurrently; on the first failure cancel the rest and raise that failure."""
    tasks_ = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks_))
    except BaseException:
        for t in tasks_:
            t.cancel()
        await asyncio.gather(*tasks_, return_exceptions=True)
        raise
