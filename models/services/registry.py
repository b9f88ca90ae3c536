"""Service name → service class: the local ``elasticsearch``/``elser`` services and the remote providers
(``ingest.models.services.remote.REMOTE_SERVICES``).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ingest.models.errors import StatusException
from ingest.models.jsontypes import JsonObject
from ingest.models.services.base import InferenceService
from ingest.models.services.elasticsearch import ElasticsearchService, ElserService
from ingest.models.services.remote import REMOTE_SERVICES
from ingest.models.services.remote.configuration import service_configuration
from ingest.models.services.remote.settings import Setting

LOCAL_SERVICES: dict[str, type[InferenceService]] = {
    ElasticsearchService.name: ElasticsearchService,
    ElserService.name: ElserService,
}


def remote_services() -> dict[str, type[InferenceService]]:
    """The remote providers by name."""
    return dict(REMOTE_SERVICES)


def service_classes() -> dict[str, type[InferenceService]]:
    """Every known service by name."""
    return {**remote_services(), **LOCAL_SERVICES}


def unknown_service(name: str, inference_id: str) -> StatusException:
    """Elasticsearch's error for an unknown service name."""
    return StatusException(f"Unknown service [{name}] for model [{inference_id}]")


@runtime_checkable
class Configurable(Protocol):
    """A service that renders its own ``GET _inference/_services`` entry (every remote service)."""

    def configuration(self, updatable: frozenset[str]) -> JsonObject:
        """The service's ``InferenceServiceConfiguration``."""
        ...


# Left out of GET _inference/_services as Elasticsearch leaves them out (hideFromConfigurationApi): the deprecated
# elser alias.
HIDDEN_SERVICES = frozenset({"elser"})

# The settings ElasticsearchService.parse_config accepts (it validates by hand, not from a table); a test PUTs
# each of them so that this table cannot fall behind the parser.
LOCAL_SCHEMA: dict[str, Setting] = {
    "model_id": Setting(str, required=True),
    "num_allocations": Setting(int, minimum=1, description="The total number of allocations this model is "
                               "assigned across machine learning nodes."),
    "num_threads": Setting(int, required=True, description="Sets the number of threads used by each model "
                           "allocation during inference."),
    "adaptive_allocations": Setting(dict, description="Adaptive allocations configuration: enabled, "
                                    "min_number_of_allocations, max_number_of_allocations."),
}


def configuration(service: InferenceService, updatable: frozenset[str]) -> JsonObject:
    """One service's entry in ``GET _inference/_services``."""
    if isinstance(service, Configurable):
        return service.configuration(updatable)
    schema = dict(LOCAL_SCHEMA)
    default_model = service.default_model_id if isinstance(service, ElasticsearchService) else None
    if default_model is not None:  # elser: the model id has a default
        schema["model_id"] = Setting(str, default=default_model)
    return service_configuration(service.name, service.name, service.task_types, schema, updatable)
