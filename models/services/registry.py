"""Service name → service class: the local ``elasticsearch``/``elser`` services and the remote providers.

Remote providers come from ``models.services.remote.REMOTE_SERVICES`` (owned by the remote-services package);
until that package exists there are simply no remote services.
"""

from __future__ import annotations

import importlib
import importlib.util

from models.errors import StatusException
from models.services.base import InferenceService
from models.services.elasticsearch import ElasticsearchService, ElserService

LOCAL_SERVICES: dict[str, type[InferenceService]] = {
    ElasticsearchService.name: ElasticsearchService,
    ElserService.name: ElserService,
}


def remote_services() -> dict[str, type[InferenceService]]:
    """The remote providers, or none when the remote package is not installed yet."""
    if importlib.util.find_spec("models.services.remote") is None:
        return {}
    # An ImportError raised inside the package is a real bug and propagates; a package still being written
    # (no REMOTE_SERVICES yet) just has no services.
    module = importlib.import_module("models.services.remote")
    return dict(getattr(module, "REMOTE_SERVICES", {}))


def service_classes() -> dict[str, type[InferenceService]]:
    """Every known service by name."""
    return {**remote_services(), **LOCAL_SERVICES}


def unknown_service(name: str, inference_id: str) -> StatusException:
    """Elasticsearch's error for an unknown service name."""
    return StatusException(f"Unknown service [{name}] for model [{inference_id}]")
