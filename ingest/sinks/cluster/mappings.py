"""Field mappings of a cluster index: dotted paths ↔ ``properties`` trees, and the ``VectorMapper`` each
distribution's sink is (how a field hint maps there)."""

from __future__ import annotations

from typing import Any, Protocol

from ingest.sinks.base import FieldHint


class VectorMapper(Protocol):
    """How one distribution maps vector fields (the Elasticsearch and OpenSearch sinks)."""

    def field_mapping(self, hint: FieldHint) -> dict[str, Any]:
        """The field mapping for a hint in this distribution."""
        ...

    def same_field(self, existing: dict[str, Any], hint: FieldHint) -> bool:
        """Whether an existing field mapping already stores what ``hint`` describes."""
        ...


def nested_properties(fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"a.b": mapping}`` → ``{"a": {"properties": {"b": mapping}}}``."""
    props: dict[str, Any] = {}
    for path, mapping in fields.items():
        node = props
        *parents, leaf = path.split(".")
        for part in parents:
            node = node.setdefault(part, {"properties": {}})["properties"]
        node[leaf] = mapping
    return props


def find_field(properties: dict[str, Any], path: str) -> dict[str, Any] | None:
    """The mapping of a dotted field path in a ``properties`` tree, if mapped."""
    node: dict[str, Any] | None = {"properties": properties}
    for part in path.split("."):
        if node is None:
            return None
        node = (node.get("properties") or {}).get(part)
    return node
