"""The interface every inference service implements, local or remote.

A service turns the JSON of ``PUT /_inference`` into a validated :class:`EndpointConfig`, brings an endpoint
up (deploying a local model, or making the provider's validation call), and answers inference requests.
The endpoint registry (``ingest.models.endpoints``) owns persistence; a service never stores anything itself.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import ClassVar, Protocol, runtime_checkable

from ingest.models.contents import ContentGroup
from ingest.models.jsontypes import JsonInput, JsonObject
from ingest.models.results import InferenceResults, InputType, TaskType


@dataclass
class EndpointConfig:
    """A validated endpoint. ``service_settings`` holds no secrets: they live in ``secret_settings``."""

    inference_id: str
    task_type: TaskType
    service: str
    service_settings: JsonObject
    secret_settings: dict[str, str] = field(default_factory=dict)
    task_settings: JsonObject = field(default_factory=dict)
    chunking_settings: JsonObject | None = None

    def to_public_dict(self) -> JsonObject:
        """The endpoint as ``GET /_inference`` shows it: computed defaults in, secrets out."""
        body: JsonObject = {
            "inference_id": self.inference_id,
            "task_type": str(self.task_type),
            "service": self.service,
            "service_settings": dict(self.service_settings),
            "task_settings": dict(self.task_settings),
        }
        if self.chunking_settings is not None:
            body["chunking_settings"] = dict(self.chunking_settings)
        return body

    def __repr__(self) -> str:  # secrets must never reach logs through a repr
        return (
            f"EndpointConfig(inference_id={self.inference_id!r}, task_type={self.task_type!s}, "
            f"service={self.service!r}, secrets=[redacted x{len(self.secret_settings)}])"
        )


@dataclass
class InferenceRequest:
    """One call to ``POST /_inference``: inputs in order plus per-call options.

    ``contents`` (the ``embedding`` task only) holds the inputs' content objects when any is more than one text;
    ``inputs`` then holds each one's text, which batching estimates tokens from.
    """

    inputs: list[str]
    input_type: InputType | None = None
    task_settings: dict[str, object] = field(default_factory=dict)
    query: str | None = None  # rerank only
    return_documents: bool | None = None  # rerank only
    top_n: int | None = None  # rerank only
    timeout_s: float = 30.0
    chat: dict[str, object] | None = None  # chat_completion only: the OpenAI-style unified request body
    contents: list[ContentGroup] | None = None  # embedding only: multimodal / multi-item inputs


@runtime_checkable
class QueuedService(Protocol):
    """A service whose requests wait in a queue of this process (local models): the server queues them and
    awaits the future on its event loop instead of holding a thread per request."""

    def submit(self, endpoint: EndpointConfig, request: InferenceRequest) -> Future[InferenceResults]:
        """Queue the request without waiting (429 at once when the queue is full)."""
        ...

    def expire(self, endpoint: EndpointConfig, future: Future[InferenceResults], timeout_s: float) -> Exception:
        """Give up on a submitted request after ``timeout_s``; the error to raise."""
        ...


class InferenceService(ABC):
    """One value of the ``service`` field of an endpoint."""

    name: ClassVar[str]
    task_types: ClassVar[frozenset[TaskType]]
    # the ``embedding`` task's content types this service embeds, and whether several items make one vector
    content_types: ClassVar[frozenset[str]] = frozenset({"text"})
    multi_item_content: ClassVar[bool] = False

    @abstractmethod
    def parse_config(
        self,
        inference_id: str,
        task_type: TaskType,
        service_settings: JsonInput,
        task_settings: JsonInput,
        chunking_settings: JsonObject | None,
    ) -> EndpointConfig:
        """Validate the PUT body's settings and fill in defaults.

        Raises ``ValidationException`` naming every problem (missing required settings, unknown settings,
        wrong types) so that nothing is persisted for an invalid endpoint.
        """

    @abstractmethod
    def start(self, endpoint: EndpointConfig, timeout_s: float) -> None:
        """Bring the endpoint up: deploy a local model, or make the provider's validation call."""

    @abstractmethod
    def infer(self, endpoint: EndpointConfig, request: InferenceRequest) -> InferenceResults:
        """Answer one inference request; results are in input order."""

    def stream(self, endpoint: EndpointConfig, request: InferenceRequest) -> Iterator[JsonObject]:
        """Yield streaming chunks (``completion`` / ``chat_completion``); by default one chunk with the whole result."""
        yield self.infer(endpoint, request).to_dict()

    def stop(self, endpoint: EndpointConfig) -> None:  # noqa: B027 - optional hook
        """Release what :meth:`start` acquired (default: nothing)."""

    def updated(self, endpoint: EndpointConfig) -> None:  # noqa: B027 - optional hook
        """The endpoint's stored settings changed (``_update``): bring what runs in line (default: nothing)."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the service holds for all its endpoints when the API closes (default: nothing)."""

    def default_task_type(self, service_settings: JsonInput) -> TaskType | None:
        """The task type of a PUT whose path names none: the service's only task type, else None (an error)."""
        return next(iter(self.task_types)) if len(self.task_types) == 1 else None

    def model_version(self, endpoint: EndpointConfig) -> str:
        """A stable id of what produces the results (service + model + settings); changes when they change.

        Local services override it with the built model's content hash. Secrets are not part of it.
        """
        public = json.dumps({"task_type": str(endpoint.task_type), **endpoint.service_settings}, sort_keys=True)
        return f"{endpoint.service}:{hashlib.sha256(public.encode()).hexdigest()[:16]}"
