"""What a query's parsing cannot know and the indices' mappings say, applied to a body before it is parsed:
``nested`` paths must be mapped ``nested`` (or be a ``semantic_text`` field's chunks) unless
``ignore_unmapped``, and a ``sparse_vector`` query that does not say ``prune`` takes its field's
``index_options`` (Elasticsearch 9.1: pruning on by default, with the default ``pruning_config``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.semantic.fields import semantic_fields


def field_mapping(props: Mapping[str, Any], path: str) -> dict[str, Any] | None:
    """The mapping of a dotted path in an index's ``properties`` (None: unmapped)."""
    node: Any = {"properties": props}
    for part in path.split("."):
        node = (node.get("properties") or {}).get(part) if isinstance(node, Mapping) else None
        if node is None:
            return None
    return dict(node) if isinstance(node, Mapping) else None


def _is_nested(props: Mapping[str, Any], path: str) -> bool:
    spec = field_mapping(props, path)
    if spec is not None and spec.get("type") == "nested":
        return True
    return any(path == f"{f.path}.inference.chunks" for f in semantic_fields(props))


def _nested(spec: dict[str, Any], props: dict[str, dict[str, Any]]) -> dict[str, Any]:
    path = str(spec.get("path"))
    if any(_is_nested(p, path) for p in props.values()):
        return {"nested": spec}
    if spec.get("ignore_unmapped") is True:
        return {"match_none": {}}
    raise ElasticsearchError(f"failed to create query: [nested] failed to find nested object under path [{path}]",
                             status=400, error_type="search_phase_execution_exception")


def _sparse(spec: dict[str, Any], props: dict[str, dict[str, Any]]) -> dict[str, Any]:
    if "prune" in spec or not isinstance(spec.get("field"), str):
        return {"sparse_vector": spec}
    mappings = [m for p in props.values() if (m := field_mapping(p, spec["field"])) is not None]
    sparse = next((m for m in mappings if m.get("type") == "sparse_vector"), None)
    if sparse is None:
        return {"sparse_vector": spec}
    options = sparse.get("index_options") or {}
    if options.get("prune", True) is False:
        return {"sparse_vector": spec}
    config = options.get("pruning_config")
    return {"sparse_vector": {**spec, "prune": True, **({"pruning_config": config} if config else {})}}


def apply_mappings(body: Any, props: dict[str, dict[str, Any]], inside_query: bool = False) -> Any:
    """``body`` with its ``nested`` and ``sparse_vector`` queries checked and completed from the mappings."""
    if isinstance(body, list):
        return [apply_mappings(v, props, inside_query) for v in body]
    if not isinstance(body, dict):
        return body
    out = {k: apply_mappings(v, props, inside_query or k in ("query", "filter")) for k, v in body.items()}
    if inside_query and len(out) == 1:
        kind, spec = next(iter(out.items()))
        if kind == "nested" and isinstance(spec, dict) and "path" in spec and "query" in spec:
            return _nested(spec, props)
        if kind == "sparse_vector" and isinstance(spec, dict) and "field" in spec:
            return _sparse(spec, props)
    return out
