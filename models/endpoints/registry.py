"""The endpoint registry: validates PUT/_update bodies completely, then persists through an :class:`EndpointStore`
(``ingest.models.store.Store`` in the product).

Preconfigured endpoints are merged into reads; they are never stored and cannot be replaced or deleted.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Protocol

from ingest.models.endpoints.chunking import parse_chunking
from ingest.models.endpoints.ids import check_task_type, resolve_task_type, validate_inference_id
from ingest.models.endpoints.preconfigured import PRECONFIGURED, is_preconfigured, preconfigured_settings
from ingest.models.endpoints.requests import PutEndpointBody, UpdateEndpointBody, parse_body
from ingest.models.errors import (
    ResourceAlreadyExistsException,
    ResourceNotFoundException,
    StatusException,
    ValidationException,
)
from ingest.models.jsontypes import JsonObject
from ingest.models.results import TaskType
from ingest.models.services.base import EndpointConfig, InferenceService
from ingest.models.services.registry import HIDDEN_SERVICES, configuration, unknown_service

# Settings `_update` may change, besides secrets (Elasticsearch PR #114457, and #144522 for rate limits).
UPDATABLE_SERVICE_SETTINGS = frozenset({"num_allocations", "adaptive_allocations", "rate_limit"})


class EndpointStore(Protocol):
    """Where endpoints persist (``ingest.models.store.Store``: SQLite, secrets in their own file)."""

    def get_endpoint(self, inference_id: str) -> EndpointConfig | None:
        """The stored endpoint, secrets included, or None."""
        ...

    def list_endpoints(self) -> list[EndpointConfig]:
        """Every stored endpoint."""
        ...

    def insert_endpoint(self, config: EndpointConfig) -> None:
        """Store a new endpoint (``resource_already_exists_exception`` if the id is taken)."""
        ...

    def replace_endpoint(self, config: EndpointConfig) -> None:
        """Replace a stored endpoint's settings and secrets."""
        ...

    def delete_endpoint(self, inference_id: str) -> bool:
        """Forget an endpoint; whether it was there."""
        ...

    def pipelines_referencing(self, endpoint_id: str) -> list[str]:
        """The ids of stored pipelines that name the endpoint."""
        ...


def not_found(inference_id: str) -> ResourceNotFoundException:
    """Elasticsearch's error for an unknown endpoint id (Elastic's reranker endpoint says why it is absent)."""
    from ingest.models.services import local_rerank

    if inference_id == local_rerank.ELASTIC_RERANK_ENDPOINT:
        return ResourceNotFoundException(f"Inference endpoint not found [{inference_id}]. {local_rerank.ABSENT}")
    return ResourceNotFoundException(f"Inference endpoint not found [{inference_id}]")


class EndpointRegistry:
    """Endpoint configurations: stored ones plus the preconfigured ones."""

    def __init__(self, store: EndpointStore, services: dict[str, InferenceService]) -> None:
        self.store = store
        self.services = services
        self._preconfigured: dict[str, EndpointConfig] = {}

    def service(self, name: str, inference_id: str) -> InferenceService:
        """The service called ``name``; Elasticsearch's ``Unknown service`` error otherwise."""
        service = self.services.get(name)
        if service is None:
            raise unknown_service(name, inference_id)
        return service

    # -- reads ---------------------------------------------------------------------------------------

    def preconfigured(self, inference_id: str) -> EndpointConfig:
        """A preconfigured endpoint, with its computed defaults."""
        config = self._preconfigured.get(inference_id)
        if config is None:
            task_type, service, settings = preconfigured_settings(inference_id)
            config = self.service(service, inference_id).parse_config(
                inference_id, task_type, dict(settings), {}, parse_chunking(task_type, None, [])
            )
            self._preconfigured[inference_id] = config
        return config

    def get(self, inference_id: str) -> EndpointConfig:
        """The endpoint (stored or preconfigured), secrets included; 404 if unknown."""
        if is_preconfigured(inference_id):
            return self.preconfigured(inference_id)
        config = self.store.get_endpoint(inference_id)
        if config is None:
            raise not_found(inference_id)
        return config

    def list(self, task_type: TaskType | None = None) -> list[EndpointConfig]:
        """Every endpoint, optionally of one task type, sorted by id."""
        configs = [self.preconfigured(i) for i in PRECONFIGURED] + self.store.list_endpoints()
        configs.sort(key=lambda c: c.inference_id)
        return [c for c in configs if task_type is None or c.task_type == task_type]

    def configurations(self, task_type: TaskType | None = None) -> builtins.list[JsonObject]:
        """``GET _inference/_services[/{task_type}]``: every service (supporting ``task_type``), by name."""
        return [configuration(self.services[name], UPDATABLE_SERVICE_SETTINGS) for name in sorted(self.services)
                if name not in HIDDEN_SERVICES and (task_type is None or task_type in self.services[name].task_types)]

    # -- validation ----------------------------------------------------------------------------------

    def parse_put(
        self, inference_id: str, body: object, task_type: TaskType | None
    ) -> tuple[EndpointConfig, InferenceService]:
        """Validate a PUT completely (id, body, service, settings) without touching the store."""
        validate_inference_id(inference_id)
        if isinstance(body, Mapping) and "task_type" in body:  # Elasticsearch takes it from the body too
            body = dict(body)
            task_type = resolve_task_type(task_type, body.pop("task_type"))
        request = parse_body(PutEndpointBody, body)
        service = self.service(request.service, inference_id)
        if task_type is None:
            task_type = service.default_task_type(request.service_settings)
            if task_type is None:
                raise ValidationException(
                    [f"[task_type] must be given in the path for the [{request.service}] service"]
                )
        if task_type not in service.task_types:
            raise StatusException(f"The [{request.service}] service does not support task type [{task_type}]")
        problems: list[str] = []
        chunking = parse_chunking(task_type, request.chunking_settings, problems)
        try:
            config = service.parse_config(
                inference_id, task_type, dict(request.service_settings), dict(request.task_settings), chunking
            )
        except ValidationException as exc:
            raise ValidationException(problems + exc.problems) from None
        if problems:
            raise ValidationException(problems)
        if self.store.get_endpoint(inference_id) is not None:
            raise ResourceAlreadyExistsException(f"Inference endpoint [{inference_id}] already exists")
        return config, service

    def parse_update(
        self, inference_id: str, body: object, task_type: TaskType | None
    ) -> tuple[EndpointConfig, EndpointConfig, InferenceService]:
        """Validate an ``_update``: returns (old, new, service). Only task settings, secrets and allocations change."""
        if is_preconfigured(inference_id):
            raise StatusException(
                f"Cannot update inference endpoint [{inference_id}] because it is a preconfigured endpoint"
            )
        old = self.get(inference_id)
        check_task_type(task_type, old.task_type)
        request = parse_body(UpdateEndpointBody, body)
        if request.service is not None and request.service != old.service:
            raise ValidationException(
                [f"Cannot update service of inference endpoint [{inference_id}] from [{old.service}] "
                 f"to [{request.service}]"]
            )
        service = self.service(old.service, inference_id)
        settings = {**old.service_settings, **old.secret_settings}
        changes = dict(request.service_settings)
        fixed = sorted(k for k in changes if k not in UPDATABLE_SERVICE_SETTINGS and k not in old.secret_settings
                       and old.service_settings.get(k) != changes[k])
        if fixed:
            raise ValidationException([
                f"[service_settings] [{key}] cannot be updated; only secrets, [num_allocations], "
                "[adaptive_allocations] and [rate_limit] can" for key in fixed])
        # Switching between fixed and adaptive allocations replaces the other setting.
        if "num_allocations" in changes:
            settings.pop("adaptive_allocations", None)
        if "adaptive_allocations" in changes:
            settings.pop("num_allocations", None)
        settings.update(changes)
        problems: list[str] = []
        chunking = old.chunking_settings
        if request.chunking_settings is not None:
            chunking = parse_chunking(old.task_type, request.chunking_settings, problems)
        try:
            new = service.parse_config(
                inference_id, old.task_type, settings, {**old.task_settings, **request.task_settings}, chunking
            )
        except ValidationException as exc:
            raise ValidationException(problems + exc.problems) from None
        if problems:
            raise ValidationException(problems)
        return old, new, service
