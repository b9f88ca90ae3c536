"""The document a pipeline works on: source plus metadata, with Elasticsearch's dotted-path field access."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from ingest.processors.errors import illegal_argument

# Metadata a pipeline may read and write as top-level ctx fields (IngestDocument.Metadata in Elasticsearch).
METADATA_KEYS = ("_index", "_id", "_routing", "_version", "_version_type", "_if_seq_no", "_if_primary_term",
                 "_dynamic_templates")
_MISSING = object()


def java_type(value: Any) -> str:
    """The Java class Elasticsearch would report for a JSON value (error messages quote it)."""
    if isinstance(value, bool):
        return "java.lang.Boolean"
    if isinstance(value, int):
        return "java.lang.Integer" if -(2**31) <= value < 2**31 else "java.lang.Long"
    if isinstance(value, float):
        return "java.lang.Double"
    if isinstance(value, str):
        return "java.lang.String"
    if isinstance(value, list):
        return "java.util.ArrayList"
    if isinstance(value, dict):
        return "java.util.HashMap"
    return type(value).__name__


@dataclass
class IngestDocument:
    """``ctx``: source fields and metadata in one map (as Elasticsearch's scripts see it) plus ``_ingest``."""

    ctx: dict[str, Any]
    ingest: dict[str, Any] = field(default_factory=dict)
    dropped: bool = False
    # Set by ``terminate``: no further processors of the current pipeline run.
    terminated: bool = False
    # Per-processor results collected for verbose _simulate; None when not tracing.
    trace: list[dict[str, Any]] | None = None
    # Pipelines currently executing for this document, to detect cycles.
    pipeline_stack: list[str] = field(default_factory=list)
    # Top-level fields whose Arrow value was null (read as absent): ``json`` parses them as JSON null.
    null_fields: frozenset[str] = frozenset()

    @classmethod
    def from_source(cls, source: dict[str, Any], meta: dict[str, Any] | None = None,
                    timestamp: str | None = None) -> IngestDocument:
        """A document from its ``_source`` and metadata (``_index``, ``_id``, ...)."""
        ctx = dict(source)
        for key, value in (meta or {}).items():
            if value is not None:
                ctx[key] = value
        ingest = {"timestamp": timestamp} if timestamp else {}
        return cls(ctx=ctx, ingest=ingest)

    # --- views -------------------------------------------------------------------------------------------
    def source(self) -> dict[str, Any]:
        """The document's ``_source`` (ctx without metadata)."""
        return {k: v for k, v in self.ctx.items() if k not in METADATA_KEYS}

    def metadata(self) -> dict[str, Any]:
        """The metadata fields that are set."""
        return {k: self.ctx[k] for k in METADATA_KEYS if k in self.ctx}

    def copy(self) -> IngestDocument:
        """A deep copy (for verbose traces and on_failure snapshots)."""
        return IngestDocument(copy.deepcopy(self.ctx), copy.deepcopy(self.ingest), dropped=self.dropped,
                              terminated=self.terminated, pipeline_stack=list(self.pipeline_stack))

    # --- path access -------------------------------------------------------------------------------------
    def _root(self, path: str) -> tuple[Any, list[str]]:
        if not isinstance(path, str) or path == "":
            raise illegal_argument("path cannot be null nor empty")
        if path.startswith("_ingest."):
            return self.ingest, path[len("_ingest."):].split(".")
        if path == "_ingest":
            return {"_ingest": self.ingest}, ["_ingest"]
        if path.startswith("_source."):
            path = path[len("_source."):]
        return self.ctx, path.split(".")

    def get(self, path: str, default: Any = _MISSING) -> Any:
        """The value at ``path``; raises Elasticsearch's message when absent unless a default is given."""
        node, parts = self._root(path)
        for part in parts:
            if isinstance(node, dict):
                if part not in node:
                    if default is not _MISSING:
                        return default
                    raise illegal_argument(f"field [{part}] not present as part of path [{path}]")
                node = node[part]
            elif isinstance(node, list):
                node = _list_item(node, part, path, default)
                if node is _MISSING:
                    return default
            elif node is None:
                if default is not _MISSING:
                    return default
                raise illegal_argument(f"cannot resolve [{part}] from null as part of path [{path}]")
            else:
                if default is not _MISSING:
                    return default
                raise illegal_argument(
                    f"cannot resolve [{part}] from object of type [{java_type(node)}] as part of path [{path}]")
        return node

    def has(self, path: str) -> bool:
        """Whether ``path`` resolves (a null value counts as present, as in Elasticsearch)."""
        return self.get(path, _MISSING_SENTINEL) is not _MISSING_SENTINEL

    def set(self, path: str, value: Any, *, append: bool = False, allow_duplicates: bool = True) -> None:
        """Set (or append to) the field at ``path``, creating intermediate objects."""
        node, parts = self._root(path)
        for part in parts[:-1]:
            if isinstance(node, dict):
                child = node.get(part, _MISSING)
                if child is _MISSING:
                    child = node[part] = {}
                elif child is None:
                    raise illegal_argument(f"cannot set [{parts[-1]}] with null parent as part of path [{path}]")
                node = child
            elif isinstance(node, list):
                node = _list_item(node, part, path, _MISSING, strict=True)
            else:
                raise illegal_argument(
                    f"cannot set [{part}] with parent object of type [{java_type(node)}] as part of path [{path}]")
        last = parts[-1]
        if isinstance(node, dict):
            if append and last in node:
                node[last] = _appended(node[last], value, allow_duplicates)
            elif append:
                # Elasticsearch's appendFieldValue creates a list even for one value on a missing field
                # (duplicates kept: its new-list branch ignores allow_duplicates).
                node[last] = list(value) if isinstance(value, list) else [value]
            else:
                node[last] = value
        elif isinstance(node, list):
            idx = _index(node, last, path)
            node[idx] = _appended(node[idx], value, allow_duplicates) if append else value
        else:
            raise illegal_argument(
                f"cannot set [{last}] with parent object of type [{java_type(node)}] as part of path [{path}]")

    def remove(self, path: str) -> None:
        """Remove the field at ``path``; raises when it is absent."""
        node, parts = self._root(path)
        parent = node
        for part in parts[:-1]:
            if isinstance(parent, dict):
                if part not in parent:
                    raise illegal_argument(f"field [{part}] not present as part of path [{path}]")
                parent = parent[part]
            elif isinstance(parent, list):
                parent = parent[_index(parent, part, path)]
            else:
                break
        last = parts[-1]
        if isinstance(parent, dict):
            if last not in parent:
                raise illegal_argument(f"field [{last}] not present as part of path [{path}]")
            del parent[last]
        elif isinstance(parent, list):
            del parent[_index(parent, last, path)]
        elif parent is None:
            raise illegal_argument(f"cannot remove [{last}] from null as part of path [{path}]")
        else:
            raise illegal_argument(
                f"cannot remove [{last}] from object of type [{java_type(parent)}] as part of path [{path}]")


_MISSING_SENTINEL = object()


def _index(items: list[Any], part: str, path: str) -> int:
    try:
        idx = int(part)
    except ValueError:
        raise illegal_argument(
            f"[{part}] is not an integer, cannot be used as an index as part of path [{path}]") from None
    if idx < 0 or idx >= len(items):
        raise illegal_argument(f"[{idx}] is out of bounds for array with length [{len(items)}] as part of path [{path}]")
    return idx


def _list_item(items: list[Any], part: str, path: str, default: Any, strict: bool = False) -> Any:
    try:
        return items[_index(items, part, path)]
    except Exception:
        if default is not _MISSING and not strict:
            return _MISSING
        raise


def _appended(existing: Any, value: Any, allow_duplicates: bool) -> Any:
    out = list(existing) if isinstance(existing, list) else [existing]
    added = False
    for item in value if isinstance(value, list) else [value]:
        if allow_duplicates or item not in out:
            out.append(item)
            added = True
    # As Elasticsearch: when every value was a duplicate the field is left as it was (a scalar stays a scalar).
    return out if added or allow_duplicates else existing
