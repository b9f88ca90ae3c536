"""Elasticsearch's rules for inference ids and task types in request paths."""

from __future__ import annotations

import re

from ingest.models.errors import ActionRequestValidationException, StatusException
from ingest.models.results import TaskType

# MlStrings.VALID_ID_CHAR_PATTERN; the leading dot is reserved for preconfigured endpoints.
_VALID_ID = re.compile(r"[a-z0-9](?:[a-z0-9_\-.]*[a-z0-9])?")
MAX_ID_LENGTH = 255  # the index-name limit, which Elasticsearch applies to ids stored in system indices


def id_problems(inference_id: str) -> list[str]:
    """The validation problems of a user-chosen inference id (empty when it is valid)."""
    if len(inference_id.encode()) > MAX_ID_LENGTH:
        return [f"Invalid inference_id; '{inference_id[:64]}...' must be at most {MAX_ID_LENGTH} bytes long"]
    if inference_id in ("_all", "*") or not _VALID_ID.fullmatch(inference_id):
        return [
            f"Invalid inference_id; '{inference_id}' can contain lowercase alphanumeric (a-z and 0-9), "
            "hyphens or underscores; must start and end with alphanumeric"
        ]
    return []


def validate_inference_id(inference_id: str) -> None:
    """Raise ``action_request_validation_exception`` for an id Elasticsearch would reject."""
    problems = id_problems(inference_id)
    if problems:
        raise ActionRequestValidationException(problems)


def parse_task_type(value: str | None) -> TaskType | None:
    """A task type from a path or parameter; ``status_exception`` for unknown values, as Elasticsearch."""
    if value is None:
        return None
    try:
        return TaskType(value.lower())
    except ValueError:
        raise StatusException(f"Unknown task_type [{value}]") from None


def resolve_task_type(path: TaskType | None, body: object) -> TaskType | None:
    """The task type of a PUT from its path and its body's ``task_type`` (ServiceUtils.resolveTaskType): an unknown
    body value is ``Unknown task_type [x]``, a body value that differs from the path's is a conflict (400 each)."""
    if body is None:
        return path
    parsed = parse_task_type(str(body).strip())
    if path is not None and parsed != path:
        raise StatusException(
            f"Cannot resolve conflicting task_type parameter in the request URL [{path}] and the request body [{body}]"
        )
    return parsed


def check_task_type(requested: TaskType | None, actual: TaskType) -> None:
    """Elasticsearch's error when the path's task type differs from the endpoint's."""
    if requested is not None and requested != actual:
        raise StatusException(
            f"Incompatible task_type, the requested type [{requested}] does not match the model type [{actual}]"
        )
