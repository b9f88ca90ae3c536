"""Shared helpers for the processors tests."""

from __future__ import annotations

from typing import Any

from ingest.processors import parse_pipeline
from ingest.processors.simulate import simulate


def run(processors: list[dict[str, Any]], source: dict[str, Any] | list[dict[str, Any]], *,
        on_failure: list[dict[str, Any]] | None = None, verbose: bool = False) -> Any:
    """Simulate a pipeline on one or more sources; returns the response's ``docs``."""
    body: dict[str, Any] = {"processors": processors}
    if on_failure:
        body["on_failure"] = on_failure
    sources = source if isinstance(source, list) else [source]
    docs = [{"_index": "index", "_id": "id", "_source": s} for s in sources]
    result = simulate(parse_pipeline("_simulate_pipeline", body), {"docs": docs}, verbose)
    return result["docs"]


def source_of(processors: list[dict[str, Any]], source: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """The ``_source`` after the pipeline (fails the test if the document failed)."""
    doc = run(processors, source, **kwargs)[0]
    assert "doc" in doc, doc
    out: dict[str, Any] = doc["doc"]["_source"]
    return out


def error_of(processors: list[dict[str, Any]], source: dict[str, Any]) -> dict[str, Any]:
    """The error of a failed document."""
    doc = run(processors, source)[0]
    assert "error" in doc, doc
    err: dict[str, Any] = doc["error"]
    return err
