"""Ingest-specific Elasticsearch error types (the shared ones live in ingest.models.errors)."""

from __future__ import annotations

from typing import Any

from ingest.models.errors import ElasticsearchError, IllegalArgumentException


class ParseException(ElasticsearchError):
    """``parse_exception``: a pipeline or processor configuration problem (400)."""

    status = 400
    error_type = "parse_exception"


class IllegalStateException(ElasticsearchError):
    """``illegal_state_exception`` (500), e.g. a pipeline cycle."""

    status = 500
    error_type = "illegal_state_exception"


class ScriptException(ElasticsearchError):
    """``script_exception``: a script failed to compile or run."""

    status = 400
    error_type = "script_exception"


class FailProcessorException(ElasticsearchError):
    """``fail_processor_exception``, raised by the ``fail`` processor."""

    status = 500
    error_type = "fail_processor_exception"


def config_error(processor_type: str | None, tag: str | None, prop: str | None, reason: str) -> ParseException:
    """A configuration error carrying Elasticsearch's ``processor_type`` / ``property_name`` metadata."""
    extra: dict[str, Any] = {}
    if processor_type:
        extra["processor_type"] = processor_type
    if tag:
        extra["processor_tag"] = tag
    if prop:
        extra["property_name"] = prop
    return ParseException(reason, extra=extra)


def illegal_argument(reason: str) -> IllegalArgumentException:
    """Shorthand for the error most processors raise."""
    return IllegalArgumentException(reason)


def as_es_error(exc: BaseException) -> ElasticsearchError:
    """Turn any exception raised while processing into an Elasticsearch-shaped error."""
    if isinstance(exc, ElasticsearchError):
        return exc
    if isinstance(exc, (ValueError, TypeError, KeyError, IndexError)):
        return IllegalArgumentException(str(exc))
    return ElasticsearchError(f"{type(exc).__name__}: {exc}")
