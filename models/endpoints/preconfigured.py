"""Elasticsearch's preconfigured local endpoints: listed without any PUT, deployed on first use."""

from __future__ import annotations

from typing import Any

from models.results import TaskType

_ADAPTIVE: dict[str, Any] = {"enabled": True, "min_number_of_allocations": 0, "max_number_of_allocations": 32}

PRECONFIGURED: dict[str, tuple[TaskType, str, dict[str, Any]]] = {
    ".elser-2-elasticsearch": (
        TaskType.SPARSE_EMBEDDING,
        "elasticsearch",
        {"model_id": ".elser_model_2_linux-x86_64", "num_threads": 1, "adaptive_allocations": _ADAPTIVE},
    ),
    ".multilingual-e5-small-elasticsearch": (
        TaskType.TEXT_EMBEDDING,
        "elasticsearch",
        {"model_id": ".multilingual-e5-small_linux-x86_64", "num_threads": 1, "adaptive_allocations": _ADAPTIVE},
    ),
}


def is_preconfigured(inference_id: str) -> bool:
    """Whether ``inference_id`` names a preconfigured (reserved) endpoint."""
    return inference_id in PRECONFIGURED
