"""Reads through the home's running server: ``ingest search`` (its ``_search``) and the vector fields of an
index's mapping (which ``ingest search`` leaves out of ``_source`` and ``ingest export`` writes as float32)."""

from __future__ import annotations

from typing import Any, Protocol

VECTOR_TYPES = ("dense_vector", "sparse_vector")


class Requests(Protocol):
    """A REST client of the server (``ServedSink.request``)."""

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
                ignore: tuple[int, ...] = ()) -> tuple[int, Any]: ...


def vector_fields(mapping: Any) -> dict[str, tuple[str, int]]:
    """``{dotted path: (type, dims)}`` of the dense and sparse vector fields in a ``GET /{index}/_mapping``
    answer (every index of it)."""
    found: dict[str, tuple[str, int]] = {}

    def walk(properties: dict[str, Any], prefix: str) -> None:
        for name, field in properties.items():
            if not isinstance(field, dict):
                continue
            if field.get("type") in VECTOR_TYPES:
                found[prefix + name] = (str(field["type"]), int(field.get("dims") or 0))
            elif isinstance(field.get("properties"), dict):
                walk(field["properties"], f"{prefix}{name}.")

    for index in (mapping or {}).values() if isinstance(mapping, dict) else ():
        walk(((index or {}).get("mappings") or {}).get("properties") or {}, "")
    return found


def search(client: Requests, expression: str, body: dict[str, Any], vectors: bool) -> dict[str, Any]:
    """``POST /{expression}/_search`` with ``body``; unless ``vectors`` (or the body filters ``_source`` itself),
    the vector fields are left out of ``_source``, as ``ingest search`` does on the store."""
    if not vectors and "_source" not in body:
        _, mapping = client.request("GET", f"/{expression}/_mapping")
        excluded = sorted(vector_fields(mapping))
        if excluded:
            body = {**body, "_source": {"excludes": excluded}}
    _, answer = client.request("POST", f"/{expression}/_search", body=body)
    return dict(answer)
