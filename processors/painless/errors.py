"""Painless-subset errors, shaped like Elasticsearch's ``script_exception``."""

from __future__ import annotations

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.processors.errors import ScriptException


def compile_error(source: str, line: int, col: int, what: str) -> ScriptException:
    """A store-time rejection naming the line, column and construct."""
    cause = IllegalArgumentException(
        f"{what} at line {line}, column {col} (only a documented subset of Painless is supported)")
    return ScriptException("compile error", caused_by=cause,
                           extra={"script": source, "lang": "painless",
                                  "position": {"line": line, "column": col}})


def runtime_error(source: str, cause: ElasticsearchError) -> ScriptException:
    """A failure while running a script."""
    return ScriptException("runtime error", caused_by=cause, extra={"script": source, "lang": "painless"})
