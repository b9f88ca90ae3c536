"""Errors shaped like Elasticsearch's, shared by every layer.

Each exception knows its HTTP status and its Elasticsearch ``type`` so the REST layer can render
Elasticsearch's envelope ``{"error": {"root_cause": [...], "type", "reason", "caused_by"}, "status"}``
without a mapping table of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict, Unpack

from ingest.models.jsontypes import JsonObject, JsonValue


class ErrorOptions(TypedDict, total=False):
    """The keyword options every :class:`ElasticsearchError` takes."""

    status: int | None
    error_type: str | None
    caused_by: ElasticsearchError | None
    extra: Mapping[str, JsonValue] | None


class ElasticsearchError(Exception):
    """Base class: an error with an HTTP status and an Elasticsearch error type."""

    status: int = 500
    error_type: str = "exception"

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        error_type: str | None = None,
        caused_by: ElasticsearchError | None = None,
        extra: Mapping[str, JsonValue] | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        if status is not None:
            self.status = status
        if error_type is not None:
            self.error_type = error_type
        self.caused_by = caused_by
        self.extra = dict(extra or {})

    def cause_dict(self) -> JsonObject:
        """The ``ErrorCause`` object for this error (without ``root_cause``)."""
        body: JsonObject = {"type": self.error_type, "reason": self.reason, **self.extra}
        if self.caused_by is not None:
            body["caused_by"] = self.caused_by.cause_dict()
        return body

    def error_object(self) -> JsonObject:
        """The envelope's ``error``: ``{"root_cause": [...], "type", "reason", "caused_by"?, ...}``."""
        root: JsonObject = {"type": self.error_type, "reason": self.reason, **self.extra}
        return {"root_cause": [root], **self.cause_dict()}

    def to_dict(self) -> JsonObject:
        """The full Elasticsearch error envelope."""
        return {"error": self.error_object(), "status": self.status}


class StatusException(ElasticsearchError):
    """Elasticsearch's generic ``status_exception`` (the status varies)."""

    status = 400
    error_type = "status_exception"


class ValidationException(ElasticsearchError):
    """``validation_exception``: one or more problems, rendered as "Validation Failed: 1: ...;"."""

    status = 400
    error_type = "validation_exception"

    def __init__(self, problems: list[str], **kwargs: Unpack[ErrorOptions]) -> None:
        self.problems = list(problems)
        numbered = "".join(f"{i}: {p};" for i, p in enumerate(self.problems, start=1))
        super().__init__(f"Validation Failed: {numbered}", **kwargs)


class ActionRequestValidationException(ValidationException):
    """``action_request_validation_exception``, used for request-level validation."""

    error_type = "action_request_validation_exception"


class IllegalArgumentException(ElasticsearchError):
    """``illegal_argument_exception`` (400)."""

    status = 400
    error_type = "illegal_argument_exception"


class ParsingException(ElasticsearchError):
    """``parsing_exception`` / ``x_content_parse_exception`` for malformed request bodies (400)."""

    status = 400
    error_type = "parsing_exception"


class DocumentParsingException(ElasticsearchError):
    """``document_parsing_exception`` (400): one document's source cannot be indexed."""

    status = 400
    error_type = "document_parsing_exception"


class ResourceNotFoundException(ElasticsearchError):
    """``resource_not_found_exception`` (404)."""

    status = 404
    error_type = "resource_not_found_exception"


class ResourceAlreadyExistsException(ElasticsearchError):
    """``resource_already_exists_exception`` (400, as Elasticsearch answers it)."""

    status = 400
    error_type = "resource_already_exists_exception"


class RejectedExecutionException(ElasticsearchError):
    """``es_rejected_execution_exception`` (429): a bounded queue is full."""

    status = 429
    error_type = "es_rejected_execution_exception"


class ElasticsearchTimeoutException(ElasticsearchError):
    """``elasticsearch_timeout_exception`` (408 by default; callers may pick another status)."""

    status = 408
    error_type = "elasticsearch_timeout_exception"


class SecurityException(ElasticsearchError):
    """``security_exception`` (401 unauthenticated, 403 unauthorised)."""

    status = 401
    error_type = "security_exception"


class ModelError(ElasticsearchError):
    """A local model could not be loaded, built or run; the reason says what to do about it."""

    status = 500
    error_type = "status_exception"
