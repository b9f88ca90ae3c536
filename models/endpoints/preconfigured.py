"""Elasticsearch's preconfigured local endpoints: listed without any PUT, deployed on first use.

Their model is chosen by platform as Elasticsearch's ``defaultConfigs`` does: the optimised (int8)
``_linux-x86_64`` variant on linux-x86_64, the portable model elsewhere.
"""

from __future__ import annotations

from ingest.models.catalogue import (
    ELSER_COMPATIBLE_SPLADE,
    MULTILINGUAL_E5_SMALL,
    ModelSpec,
    preferred_variant,
)
from ingest.models.jsontypes import JsonObject
from ingest.models.results import TaskType

PRECONFIGURED: dict[str, tuple[TaskType, str, ModelSpec]] = {
    ".elser-2-elasticsearch": (TaskType.SPARSE_EMBEDDING, "elasticsearch", ELSER_COMPATIBLE_SPLADE),
    ".multilingual-e5-small-elasticsearch": (TaskType.TEXT_EMBEDDING, "elasticsearch", MULTILINGUAL_E5_SMALL),
}


def preconfigured_settings(inference_id: str) -> tuple[TaskType, str, JsonObject]:
    """Task type, service and service settings of a preconfigured endpoint, its model chosen by platform."""
    task_type, service, spec = PRECONFIGURED[inference_id]
    model_id = preferred_variant(spec).model_id
    adaptive: JsonObject = {"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 32}
    return task_type, service, {"model_id": model_id, "num_threads": 1, "adaptive_allocations": adaptive}


def is_preconfigured(inference_id: str) -> bool:
    """Whether ``inference_id`` names a preconfigured (reserved) endpoint."""
    return inference_id in PRECONFIGURED
