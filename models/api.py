"""The typed Python inference API. The REST routes are a thin shell over :class:`InferenceAPI`.

Every method validates completely before changing anything, raises ``ingest.models.errors`` types shaped like
Elasticsearch's, and returns Elasticsearch's response bodies as dicts (inference returns result objects).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import anyio

from ingest.models.contents import (
    ContentGroup,
    EmbeddingInputs,
    check_support,
    parse_inputs,
    plain_texts,
    text_of,
)
from ingest.models.deployments import DeploymentManager
from ingest.models.endpoints.ids import check_task_type, parse_task_type
from ingest.models.endpoints.preconfigured import is_preconfigured
from ingest.models.endpoints.registry import EndpointRegistry
from ingest.models.errors import ActionRequestValidationException, StatusException
from ingest.models.home import ingest_home
from ingest.models.jsontypes import JsonInput, JsonObject
from ingest.models.results import InferenceResults, InputType, TaskType
from ingest.models.services.base import EndpointConfig, InferenceRequest, InferenceService, QueuedService
from ingest.models.services.elasticsearch import ElasticsearchService
from ingest.models.services.registry import service_classes
from ingest.models.store import Store

log = logging.getLogger(__name__)

_INPUT_TYPES = {t.value: t for t in InputType} | {"internal_search": InputType.SEARCH,
                                                  "internal_ingest": InputType.INGEST}


def parse_input_type(value: str | None) -> InputType | None:
    """``input_type`` in any case; Elasticsearch's validation error for unknown values."""
    if value is None:
        return None
    found = _INPUT_TYPES.get(value.lower())
    if found is None:
        allowed = ", ".join(t.value for t in InputType)
        raise ActionRequestValidationException([f"Field [input_type] must be one of [{allowed}], got [{value}]"])
    return found


# Called after every ``infer``: (inference id, number of inputs, seconds, the error raised or None).
InferenceObserver = Callable[[str, int, float, BaseException | None], None]


def _texts(inputs: EmbeddingInputs) -> list[str]:
    """The inputs of a task other than ``embedding``: strings only (content objects belong to that task)."""
    items = [inputs] if isinstance(inputs, str | Mapping) else list(inputs)
    texts = [t for t in items if isinstance(t, str)]
    if len(texts) != len(items):
        raise ActionRequestValidationException(["Field [input] must be a string or an array of strings"])
    return texts


class InferenceAPI:
    """Inference endpoints backed by a :class:`Store`, with the local deployments of this process.

    ``observers`` are told about every ``infer`` call (the server's metrics); one failing is logged, never
    raised into the inference.
    """

    def __init__(self, store: Store | None = None, *, deployments: DeploymentManager | None = None) -> None:
        self.store = store or Store()
        self.deployments = deployments or DeploymentManager()
        self.services: dict[str, InferenceService] = {
            name: cls(self.deployments) if issubclass(cls, ElasticsearchService) else cls()
            for name, cls in service_classes().items()
        }
        self.registry = EndpointRegistry(self.store, self.services)
        self._locks_guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self.observers: list[InferenceObserver] = []

    @contextlib.contextmanager
    def _locked(self, inference_id: str) -> Iterator[None]:
        # Serialises PUT/_update/DELETE of one id within this process; the store serialises across processes.
        with self._locks_guard:
            lock = self._locks.setdefault(inference_id, threading.Lock())
        with lock:
            yield

    # -- CRUD ----------------------------------------------------------------------------------------

    def put(self, inference_id: str, body: JsonInput, *, task_type: str | None = None,
            timeout_s: float = 30) -> JsonObject:
        """Create an endpoint: validate, bring it up (deploy / validation call), then persist it."""
        requested = parse_task_type(task_type)
        with self._locked(inference_id):
            config, service = self.registry.parse_put(inference_id, body, requested)
            try:
                service.start(config, timeout_s)
                self.store.insert_endpoint(config)
            except BaseException:
                with contextlib.suppress(Exception):
                    if self.store.get_endpoint(inference_id) is None:
                        service.stop(config)
                raise
        return config.to_public_dict()

    def get(self, inference_id: str | None = None, *, task_type: str | None = None) -> JsonObject:
        """``{"endpoints": [...]}``: one endpoint, or all (``None``, ``_all`` or ``*``) of an optional task type."""
        requested = parse_task_type(task_type)
        if inference_id in (None, "", "_all", "*"):
            configs = self.registry.list(requested)
        else:
            assert inference_id is not None
            config = self.registry.get(inference_id)
            if requested is not None and requested != config.task_type:
                raise StatusException(
                    f"Requested task type [{requested}] does not match the inference endpoint's task type "
                    f"[{config.task_type}]"
                )
            configs = [config]
        return {"endpoints": [c.to_public_dict() for c in configs]}

    def get_services(self, task_type: str | None = None) -> list[JsonObject]:
        """``GET _inference/_services[/{task_type}]``: each service's task types and configuration schema."""
        return self.registry.configurations(parse_task_type(task_type))

    def endpoint(self, inference_id: str) -> EndpointConfig:
        """The endpoint's configuration (secrets included: for in-process callers only)."""
        return self.registry.get(inference_id)

    def update(self, inference_id: str, body: JsonInput, *, task_type: str | None = None) -> JsonObject:
        """``_update``: task settings, secrets, allocations and rate limits; a running deployment follows."""
        requested = parse_task_type(task_type)
        with self._locked(inference_id):
            _old, new, service = self.registry.parse_update(inference_id, body, requested)
            self.store.replace_endpoint(new)
            service.updated(new)
        return new.to_public_dict()

    def delete(self, inference_id: str, *, task_type: str | None = None, dry_run: bool = False,
               force: bool = False, indexes: Callable[[str], list[str]] | None = None) -> JsonObject:
        """Delete an endpoint; refused (409) while stored pipelines reference it, or the mappings of indices
        use it (``indexes``: the indices whose ``semantic_text`` fields use an endpoint), unless ``force``."""
        requested = parse_task_type(task_type)
        if is_preconfigured(inference_id):
            raise StatusException(
                f"[{inference_id}] is a reserved inference endpoint. Cannot delete a reserved inference endpoint."
            )
        with self._locked(inference_id):
            config = self.registry.get(inference_id)
            check_task_type(requested, config.task_type)
            pipelines = self.store.pipelines_referencing(inference_id)
            used_by = sorted(indexes(inference_id)) if indexes is not None else []
            message = _in_use_message(inference_id, pipelines, used_by)
            if dry_run:
                body: JsonObject = {"acknowledged": False, "pipelines": [*pipelines], "indexes": [*used_by]}
                if message:
                    body["dry_run_message"] = message
                return body
            if message and not force:
                raise StatusException(message, status=409)
            self.store.delete_endpoint(inference_id)
            try:
                self.registry.service(config.service, inference_id).stop(config)
            except Exception:  # the endpoint is gone either way; a failed release must not undo that
                log.warning("releasing endpoint [%s] failed", inference_id, exc_info=True)
        return {"acknowledged": True, "pipelines": [*pipelines], "indexes": [*used_by]}

    # -- inference -----------------------------------------------------------------------------------

    def infer(
        self,
        inference_id: str,
        inputs: EmbeddingInputs,
        *,
        task_type: str | None = None,
        input_type: str | None = None,
        task_settings: JsonInput | None = None,
        query: str | None = None,
        return_documents: bool | None = None,
        top_n: int | None = None,
        timeout_s: float = 30,
    ) -> InferenceResults:
        """Run inference; results are in input order and render Elasticsearch's body with ``to_dict()``.

        ``inputs`` are texts; an ``embedding`` endpoint also takes Elasticsearch's content objects
        (``{"content": {"type": "image", "value": "data:image/png;base64,..."}}``, see :mod:`ingest.models.contents`).
        """
        config, service, request = self._request(inference_id, inputs, task_type, input_type, task_settings,
                                                 query, return_documents, top_n, timeout_s)
        with self._observed(inference_id, len(request.inputs)):
            return service.infer(config, request)

    async def infer_async(
        self,
        inference_id: str,
        inputs: EmbeddingInputs,
        *,
        task_type: str | None = None,
        input_type: str | None = None,
        task_settings: JsonInput | None = None,
        query: str | None = None,
        return_documents: bool | None = None,
        top_n: int | None = None,
        timeout_s: float = 30,
    ) -> InferenceResults:
        """:meth:`infer` for an event loop. Local models are queued on their deployment at once (429 when its
        queue is full) and awaited without holding a thread, as Elasticsearch's ML queue behaves; other services
        run on a worker thread."""
        config, service, request = self._request(inference_id, inputs, task_type, input_type, task_settings,
                                                 query, return_documents, top_n, timeout_s)
        with self._observed(inference_id, len(request.inputs)):
            if isinstance(service, QueuedService):
                future = service.submit(config, request)
                try:
                    return await asyncio.wait_for(asyncio.wrap_future(future), timeout_s)
                except TimeoutError:
                    raise service.expire(config, future, timeout_s) from None
            return await anyio.to_thread.run_sync(service.infer, config, request)

    def _request(
        self,
        inference_id: str,
        inputs: EmbeddingInputs,
        task_type: str | None,
        input_type: str | None,
        task_settings: JsonInput | None,
        query: str | None,
        return_documents: bool | None,
        top_n: int | None,
        timeout_s: float,
    ) -> tuple[EndpointConfig, InferenceService, InferenceRequest]:
        """The endpoint, its service and the validated request of an inference call."""
        requested = parse_task_type(task_type)
        config = self.registry.get(inference_id)
        check_task_type(requested, config.task_type)
        if config.task_type == TaskType.CHAT_COMPLETION:
            raise StatusException(
                "The [chat_completion] task type only supports streaming, please try again with the _stream API"
            )
        service = self.registry.service(config.service, inference_id)
        texts, contents = self._inputs(config, service, inputs)
        problems = []
        if not texts:
            field = "inputs" if config.task_type == TaskType.EMBEDDING else "input"  # as Elasticsearch's EmbeddingAction
            problems.append(f"Field [{field}] cannot be an empty array")
        if config.task_type == TaskType.RERANK and query is None:
            problems.append("Field [query] cannot be null for task type [rerank]")
        if problems:
            raise ActionRequestValidationException(problems)
        request = InferenceRequest(
            inputs=texts,
            input_type=parse_input_type(input_type),
            task_settings=dict(task_settings or {}),
            query=query,
            return_documents=return_documents,
            top_n=top_n,
            timeout_s=timeout_s,
            contents=contents,
        )
        return config, service, request

    @staticmethod
    def _inputs(config: EndpointConfig, service: InferenceService,
                inputs: EmbeddingInputs) -> tuple[list[str], list[ContentGroup] | None]:
        """The texts of a call, and for the ``embedding`` task its content objects when they are more than texts
        (refused, with Elasticsearch's messages, where the service cannot embed them)."""
        if config.task_type != TaskType.EMBEDDING:
            return _texts(inputs), None
        groups = parse_inputs(inputs)
        plain = plain_texts(groups)
        if plain is not None:
            return plain, None
        check_support(config.service, groups, service.content_types, service.multi_item_content)
        return [text_of(g) for g in groups], groups

    @contextlib.contextmanager
    def _observed(self, inference_id: str, inputs: int) -> Iterator[None]:
        """Tell the observers how an inference call went (its time, and its error if it raised)."""
        start = time.monotonic()
        try:
            yield
        except BaseException as exc:
            self._observe(inference_id, inputs, time.monotonic() - start, exc)
            raise
        self._observe(inference_id, inputs, time.monotonic() - start, None)

    def _observe(self, inference_id: str, inputs: int, seconds: float, error: BaseException | None) -> None:
        for observer in list(self.observers):
            try:
                observer(inference_id, inputs, seconds, error)
            except Exception:
                log.exception("inference observer failed")

    def stream(
        self,
        inference_id: str,
        inputs: EmbeddingInputs | None = None,
        *,
        task_type: str | None = None,
        task_settings: JsonInput | None = None,
        chat: JsonInput | None = None,
        timeout_s: float = 120,
    ) -> Iterator[JsonObject]:
        """Streaming ``completion`` / ``chat_completion``: yields the chunks Elasticsearch sends as SSE events.

        Validation and lookup happen before the first chunk, so errors surface as ordinary exceptions.
        """
        requested = parse_task_type(task_type)
        config = self.registry.get(inference_id)
        check_task_type(requested, config.task_type)
        if config.task_type not in (TaskType.COMPLETION, TaskType.CHAT_COMPLETION):
            raise StatusException(
                f"Streaming is not allowed for service [{config.service}] and task [{config.task_type}]"
            )
        if config.task_type == TaskType.COMPLETION and not inputs:
            raise ActionRequestValidationException(["Field [input] cannot be null"])
        if config.task_type == TaskType.CHAT_COMPLETION and not chat:
            raise ActionRequestValidationException(["Field [messages] cannot be null"])
        texts = [] if inputs is None else _texts(inputs)
        request = InferenceRequest(inputs=texts, task_settings=dict(task_settings or {}), timeout_s=timeout_s,
                                   chat=None if chat is None else dict(chat))
        return self.registry.service(config.service, inference_id).stream(config, request)

    def model_version(self, inference_id: str) -> str:
        """A stable id of what produces this endpoint's results (service + model + model version)."""
        config = self.registry.get(inference_id)
        return self.registry.service(config.service, inference_id).model_version(config)

    def trained_model_stats(self, model_ids: str | None = None) -> JsonObject:
        """``GET /_ml/trained_models/[ids]/_stats`` for this process's models and deployments."""
        from ingest.models.trained_models import TrainedModels

        return TrainedModels(self).stats(model_ids)

    def close(self) -> None:
        """Stop every deployment and close services that hold resources."""
        self.deployments.close()
        for service in self.services.values():
            with contextlib.suppress(Exception):
                service.close()
        self.store.close()


def _in_use_message(inference_id: str, pipelines: list[str], indexes: list[str]) -> str:
    """Elasticsearch's refusal to delete an endpoint still in use (empty when it is not)."""
    parts = []
    if pipelines:
        parts.append(f"Inference endpoint {inference_id} is referenced by pipelines: {_java_set(pipelines)}. "
                     "Ensure that no pipelines are using this inference endpoint, or use force to ignore this "
                     "warning and delete the inference endpoint.")
    if indexes:
        parts.append(f"Inference endpoint {inference_id} is being used in the mapping for indexes: "
                     f"{_java_set(indexes)}. Ensure that no index mappings are using this inference endpoint, "
                     "or use force to ignore this warning and delete the inference endpoint.")
    return " ".join(parts)


def _java_set(items: list[str]) -> str:
    return "[" + ", ".join(items) + "]"


_default: InferenceAPI | None = None
_default_home: Path | None = None
_default_lock = threading.Lock()


def default_api() -> InferenceAPI:
    """The process-wide API for the current ``$INGEST_HOME`` (a new one if the home changed)."""
    global _default, _default_home
    home = ingest_home()
    with _default_lock:
        if _default is None or _default_home != home:
            if _default is None:
                # Before the interpreter tears down: deployment threads may be inside ONNX Runtime (loading a
                # session); killed there at finalisation they abort the process ("terminate called ...").
                atexit.register(close_default_api)
            else:
                _default.close()
            _default, _default_home = InferenceAPI(), home
        return _default


def close_default_api() -> None:
    """Close the process-wide API if one was made: stop its deployments (joining their threads) and services.

    Idempotent. The CLI calls it when a command ends, and it runs at exit for library users, so that no
    thread of ours is left inside native code while Python finalises.
    """
    global _default, _default_home
    with _default_lock:
        api, _default, _default_home = _default, None, None
    if api is not None:
        api.close()
