"""What the Elasticsearch and OpenSearch sinks share: bulk bodies and responses, index creation from field
hints, chunked inference results sent as nested ``<out>_chunks`` fields (``ingest.sinks.cluster.chunks``), and the load
mode (refresh off, no replicas) with its settings restored afterwards.

The settings an index had before a load are saved in the index's own mapping ``_meta`` (key
``ingest_load``) before they are changed, so a job killed mid-load and resumed later still restores the
original values rather than the load-time ones.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from typing import Any

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink
from ingest.sinks.bulk.documents import dumps
from ingest.sinks.bulk.items import error_item
from ingest.sinks.cluster.chunks import ChunkField, map_chunk_fields, nest_action
from ingest.sinks.cluster.mappings import find_field, nested_properties

log = logging.getLogger(__name__)
LOAD_META_KEY = "ingest_load"


def error_from_body(status: int, body: Any, what: str) -> ElasticsearchError:
    """The server's error envelope as an ElasticsearchError (type, reason and status kept)."""
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        reason = str(err.get("reason", what))
        cause = err.get("caused_by") or next(iter(err.get("root_cause") or []), None)
        if isinstance(cause, dict) and cause.get("reason") and cause.get("reason") != reason:
            reason = f"{reason}: {cause['reason']}"  # e.g. "all shards failed" says nothing on its own
        return ElasticsearchError(reason, status=status, error_type=str(err.get("type", "exception")))
    return ElasticsearchError(f"{what} failed with HTTP {status}: {str(body)[:500]}", status=status)


def _first(body: Any) -> dict[str, Any]:
    """The per-index object of a ``GET /{index}/_mapping|_settings`` answer."""
    value = next(iter(body.values()), None) if isinstance(body, dict) else None
    return value if isinstance(value, dict) else {}


class ClusterSink(Sink):
    """A sink that speaks the REST API of Elasticsearch or OpenSearch; subclasses provide the transport."""

    kind_name = "cluster"  # what it can do: ``ingest.sinks.registry.KINDS``

    distribution = "elasticsearch"

    def __init__(self) -> None:
        # Chunk fields known to be mapped, per index: one mapping lookup per index and sink instance.
        self._chunk_paths: dict[str, set[str]] = {}

    @abstractmethod
    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
              ndjson: bool = False, ignore: tuple[int, ...] = ()) -> tuple[int, Any]:
        """Send one request; return (status, parsed body). Raise ElasticsearchError for unignored errors
        (status 503 when the cluster cannot be reached)."""

    @abstractmethod
    def field_mapping(self, hint: FieldHint) -> dict[str, Any]:
        """The field mapping for a hint in this distribution."""

    @abstractmethod
    def same_field(self, existing: dict[str, Any], hint: FieldHint) -> bool:
        """Whether an existing field mapping already stores what ``hint`` describes."""

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
                ignore: tuple[int, ...] = ()) -> tuple[int, Any]:
        """A JSON request to the cluster (used by the index source); see ``_call``."""
        return self._call(method, path, params=params, body=body, ignore=ignore)

    def index_settings(self) -> dict[str, Any]:
        """Settings for a new index."""
        return {}

    def prepare_source(self, source: dict[str, Any], index: str) -> dict[str, Any]:
        """Adapt a document to what the engine accepts (the OpenSearch sink drops non-positive weights)."""
        return source

    # -- indices --------------------------------------------------------------------------------------------

    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None:
        """Create the index with vector mappings, or add the fields it lacks; refuse a conflicting mapping."""
        fields = {path: self.field_mapping(hint) for path, hint in hints.items()}
        status, body = self._call("GET", f"/{index}/_mapping", ignore=(404,))
        if status == 404:
            create = {"settings": self.index_settings(), "mappings": {"properties": nested_properties(fields)}}
            status, body = self._call("PUT", f"/{index}", body=create, ignore=(400,))
            if status == 200:
                return
            if (body.get("error") or {}).get("type") != "resource_already_exists_exception":
                raise error_from_body(status, body, f"creating index [{index}]")
            status, body = self._call("GET", f"/{index}/_mapping")
        properties = (_first(body).get("mappings") or {}).get("properties") or {}
        missing: dict[str, dict[str, Any]] = {}
        for path, hint in hints.items():
            existing = find_field(properties, path)
            if existing is None:
                missing[path] = fields[path]
            elif not self.same_field(existing, hint):
                raise IllegalArgumentException(
                    f"mapper [{path}] of index [{index}] is already mapped as {existing}, which does not store "
                    f"{hint.kind} vectors{f' of {hint.dims} dims' if hint.dims else ''}"
                )
        if missing:
            self._call("PUT", f"/{index}/_mapping", body={"properties": nested_properties(missing)})

    # -- bulk -----------------------------------------------------------------------------------------------

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """One ``_bulk`` request; the server's per-item statuses and errors, in order.

        Chunked inference results go as nested ``<out>_chunks`` fields (see ``ingest.sinks.cluster.chunks``), mapped
        before the request when the index does not map them yet.
        """
        results: list[ItemResult | None] = [None] * len(actions)
        nested: list[tuple[int, BulkAction, list[ChunkField]]] = []
        for pos, action in enumerate(actions):
            try:
                nested.append((pos, *nest_action(action, self.clean_weights)))
            except (TypeError, ValueError) as exc:
                results[pos] = error_item(400, "document_parsing_exception",
                                          f"failed to parse document with id '{action.id}': {exc}", action.index, action.id)
        problems = self._ensure_chunk_fields([(a.index, f) for _, a, fields in nested for f in fields])
        lines: list[str] = []
        sent: list[int] = []
        for pos, action, fields in nested:
            problem = next((problems[(action.index, f.path)] for f in fields if (action.index, f.path) in problems), None)
            if problem is not None:
                results[pos] = error_item(400, "document_parsing_exception", problem, action.index, action.id)
                continue
            try:
                lines.extend(self._lines(action))
                sent.append(pos)
            except (TypeError, ValueError) as exc:  # not JSON-able: this item fails, the others go
                results[pos] = error_item(400, "document_parsing_exception",
                                          f"failed to parse document with id '{action.id}': {exc}", action.index, action.id)
        if sent:
            _, body = self._call("POST", "/_bulk", body=("\n".join(lines) + "\n").encode(), ndjson=True)
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list) or len(items) != len(sent):
                raise ElasticsearchError(f"the bulk response has {len(items or [])} items for {len(sent)} actions")
            for pos, item in zip(sent, items, strict=True):
                results[pos] = self._item(next(iter(item.values())))
        return [r for r in results if r is not None]

    def clean_weights(self, weights: dict[str, float]) -> dict[str, float]:
        """Sparse weights as this engine accepts them inside chunk fields (all of them, by default)."""
        return weights

    def _ensure_chunk_fields(self, found: list[tuple[str, ChunkField]]) -> dict[tuple[str, str], str]:
        """Map the chunk fields this sink has not seen mapped yet; (index, path) → why it cannot be stored."""
        known = self._chunk_paths  # per sink instance: each job sender has its own
        todo: dict[str, dict[str, ChunkField]] = {}
        for index, field in found:
            if field.path not in known.get(index, ()):
                todo.setdefault(index, {})[field.path] = field
        problems: dict[tuple[str, str], str] = {}
        for index, fields in todo.items():
            status, body = self._call("GET", f"/{index}/_mapping", ignore=(404,))
            if status == 404:  # auto-creation would map the chunks dynamically, as plain objects
                self.ensure_index(index, {})
                body = {}
            properties = (_first(body).get("mappings") or {}).get("properties") or {}
            add, bad = map_chunk_fields(self, index, list(fields.values()), properties)
            if add:
                status, body = self._call("PUT", f"/{index}/_mapping", body={"properties": nested_properties(add)},
                                          ignore=(400,))
                if status == 400:
                    reason = error_from_body(status, body, f"mapping the chunk fields of [{index}]").reason
                    bad.update({path: reason for path in add})
            known.setdefault(index, set()).update(p for p in fields if p not in bad)
            problems.update({(index, path): reason for path, reason in bad.items()})
        return problems

    def _lines(self, action: BulkAction) -> list[str]:
        meta: dict[str, Any] = {"_index": action.index}
        if action.id is not None:
            meta["_id"] = action.id
        for key in ("if_seq_no", "if_primary_term", "version", "version_type"):
            if getattr(action, key) is not None:
                meta[key] = getattr(action, key)
        lines = [dumps({action.op: meta})]
        if action.op in ("index", "create"):
            lines.append(dumps(self.prepare_source(action.source or {}, action.index)))
        elif action.op == "update":
            body = dict(action.source or {})
            for key in ("doc", "upsert"):
                part = body.get(key)
                if isinstance(part, dict):
                    body[key] = self.prepare_source(part, action.index)
            lines.append(dumps(body))
        return lines

    @staticmethod
    def _item(raw: dict[str, Any]) -> ItemResult:
        error = raw.get("error")
        if error is not None and not isinstance(error, dict):
            error = {"type": "exception", "reason": str(error)}
        return ItemResult(int(raw.get("status", 500)), error, id=raw.get("_id"), result=raw.get("result"),
                          version=raw.get("_version"), seq_no=raw.get("_seq_no"),
                          primary_term=raw.get("_primary_term"))

    # -- reads ----------------------------------------------------------------------------------------------

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """One ``_mget`` (realtime, so documents not refreshed yet are seen); a missing index has none.
        Safe beside concurrent ``write`` calls: the clients' connection pools are thread-safe."""
        if not ids:
            return {}
        status, body = self._call("POST", f"/{index}/_mget", body={"ids": list(dict.fromkeys(ids))}, ignore=(404,))
        errors = [doc.get("error") for doc in body.get("docs") or []] if status == 200 else [body.get("error")]
        for error in errors:
            if isinstance(error, dict) and error.get("type") != "index_not_found_exception":
                raise error_from_body(status if status != 200 else 500, {"error": error}, f"_mget on [{index}]")
        if status != 200:
            return {}
        return {str(doc["_id"]): doc["_source"] for doc in body.get("docs") or []
                if doc.get("found") and isinstance(doc.get("_source"), dict)}

    # -- load mode --------------------------------------------------------------------------------------------

    def _meta(self, index: str) -> dict[str, Any]:
        _, body = self._call("GET", f"/{index}/_mapping")
        return dict((_first(body).get("mappings") or {}).get("_meta") or {})

    def begin_load(self, index: str) -> None:
        """Save refresh_interval / number_of_replicas in ``_meta``, then set -1 / 0."""
        meta = self._meta(index)
        if LOAD_META_KEY not in meta:  # else a previous load was interrupted: its saved values are the originals
            _, body = self._call("GET", f"/{index}/_settings", params={"flat_settings": "true"})
            settings = _first(body).get("settings") or {}
            meta[LOAD_META_KEY] = {
                "refresh_interval": settings.get("index.refresh_interval"),
                "number_of_replicas": settings.get("index.number_of_replicas"),
            }
            self._call("PUT", f"/{index}/_mapping", body={"_meta": meta})
        self._call("PUT", f"/{index}/_settings", body={"index": {"refresh_interval": "-1", "number_of_replicas": 0}})

    def end_load(self, index: str) -> None:
        """Restore the saved settings (unset ones back to the defaults), clear the marker, refresh."""
        meta = self._meta(index)
        saved = meta.pop(LOAD_META_KEY, None)
        if isinstance(saved, dict):
            self._call("PUT", f"/{index}/_settings", body={"index": {
                "refresh_interval": saved.get("refresh_interval"),
                "number_of_replicas": saved.get("number_of_replicas"),
            }})
            self._call("PUT", f"/{index}/_mapping", body={"_meta": meta})
        self.refresh(index)

    def refresh(self, index: str) -> None:
        """``POST /{index}/_refresh``."""
        self._call("POST", f"/{index}/_refresh")
