"""Request bodies of the inference API (pydantic, extra keys forbidden) and their conversion to ES errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ingest.models.errors import ActionRequestValidationException, ValidationException


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PutEndpointBody(_Strict):
    """Body of ``PUT /_inference/[task_type/]id``."""

    service: str = Field(min_length=1)
    service_settings: dict[str, Any] = Field(default_factory=dict)
    task_settings: dict[str, Any] = Field(default_factory=dict)
    chunking_settings: dict[str, Any] | None = None


class UpdateEndpointBody(_Strict):
    """Body of ``PUT /_inference/[task_type/]id/_update``; ``service`` may be repeated but not changed."""

    service: str | None = None
    service_settings: dict[str, Any] = Field(default_factory=dict)
    task_settings: dict[str, Any] = Field(default_factory=dict)
    chunking_settings: dict[str, Any] | None = None


class InferBody(_Strict):
    """Body of ``POST /_inference/[task_type/]id``. ``input`` may use the ``embedding`` task's content objects
    (``{"content": ...}``), which :mod:`ingest.models.contents` parses once the endpoint's task type is known."""

    input: str | list[str | dict[str, Any]] | dict[str, Any]
    input_type: str | None = None
    task_settings: dict[str, Any] = Field(default_factory=dict)
    query: str | None = None
    return_documents: bool | None = None
    top_n: int | None = Field(default=None, ge=1)


M = TypeVar("M", bound=BaseModel)


def parse_body(model: type[M], body: object, *, action: bool = False) -> M:
    """Validate ``body`` against ``model``; every problem becomes one numbered line of a validation error.

    Values are never echoed (they may be secrets): problems name fields only.
    """
    if not isinstance(body, Mapping):
        raise ActionRequestValidationException(["request body is required and must be a JSON object"])
    try:
        return model.model_validate(dict(body), strict=False)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"]) or "body"
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown field [{field}]")
            elif err["type"] == "missing":
                problems.append(f"[{field}] is required")
            else:
                problems.append(f"[{field}] {err['msg'].lower()}")
        cls = ActionRequestValidationException if action else ValidationException
        raise cls(problems) from None
