"""Per-item authorisation of ``_bulk``: each item is checked against its (final) index, as Elasticsearch does.

The request's sink is wrapped: ingest pipelines run first (they may reroute a document), then every action is
checked when it reaches the sink. An unauthorised item gets a 403 ``security_exception`` item error; the others
are written. An index is only created for a caller allowed to create it (``indices:admin/auto_create``, which
every writing index privilege includes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from starlette.requests import Request

from ingest.indices.mappings import Properties
from ingest.indices.service import IndexStore, is_index_store
from ingest.server.security.authn import Principal
from ingest.server.security.declare import denied
from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink
from ingest.sinks.registry import batch_writes

if TYPE_CHECKING:
    import pyarrow as pa

ITEM_ACTIONS = {
    "index": "indices:data/write/index",
    "create": "indices:data/write/index:op_type/create",
    "update": "indices:data/write/update",
    "delete": "indices:data/write/delete",
}


class AuthorizedSink(Sink):
    """A sink that writes only what ``principal`` may write; everything else is delegated unchanged."""

    def __init__(self, inner: Sink, principal: Principal, request: Request | None = None) -> None:
        self.inner = inner
        self.kind_name = inner.kind_name  # the registry answers for the wrapper what it answers for the sink
        self.principal = principal
        self.request = request  # for the audit log's access_denied events

    @staticmethod
    def checker(principal: Principal, request: Request | None = None) -> Callable[[Sink], Sink]:
        """Wraps a sink for ``principal`` (what the ``_bulk`` route hands to its worker thread)."""
        return lambda sink: AuthorizedSink(sink, principal, request)

    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None:
        """Create or extend ``index`` only for a caller who may create it (its items fail with 403 otherwise)."""
        if self.principal.permission.index("indices:admin/auto_create", index):
            self.inner.ensure_index(index, hints)

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """Write the authorised actions; the others get Elasticsearch's 403 item error."""
        results: list[ItemResult | None] = []
        allowed: list[BulkAction] = []
        for action in actions:
            name = ITEM_ACTIONS[action.op]
            if self.principal.permission.index(name, action.index):
                results.append(None)
                allowed.append(action)
            else:
                error = denied(self.request, self.principal, name, [action.index])
                results.append(ItemResult(403, error.cause_dict(), id=action.id))
        written = iter(self.inner.write(allowed) if allowed else [])
        return [r if r is not None else next(written) for r in results]

    def write_batch(self, index: str, table: pa.Table | pa.RecordBatch, ids: list[str]) -> list[ItemResult]:
        """``BatchWrites.write_batch`` of the wrapped sink (its kind declares it) for a caller who may index into
        ``index``; every row gets the 403 item error otherwise."""
        name = ITEM_ACTIONS["index"]
        if not self.principal.permission.index(name, index):
            error = denied(self.request, self.principal, name, [index])
            return [ItemResult(403, error.cause_dict(), id=doc_id) for doc_id in ids]
        batches = batch_writes(self.inner)
        if batches is None:
            raise TypeError(f"a sink of kind [{self.inner.kind_name}] has no batch write")
        return batches.write_batch(index, table, ids)

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Stored sources, for ``skip_existing`` (only on indices the caller may read)."""
        if not self.principal.permission.index("indices:data/read/get", index):
            return {}
        return self.inner.fetch(index, ids)

    def refresh(self, index: str) -> None:
        """Refresh (delegated)."""
        self.inner.refresh(index)

    def close(self) -> None:
        """The wrapped sink is the server's: never closed here."""

    # An index store's own index APIs (auto-create of a new index with its template), delegated explicitly: only
    # called when the wrapped sink's declared kind is one (``indices.service.is_index_store``).

    def _store(self) -> IndexStore:
        if not is_index_store(self.inner):
            raise TypeError(f"a sink of kind [{self.inner.kind_name}] keeps no indices of its own")
        return cast(IndexStore, self.inner)

    def indices(self) -> list[str]:
        """The store's indices."""
        return self._store().indices()

    def index_exists(self, index: str) -> bool:
        """Whether the store has ``index``."""
        return self._store().index_exists(index)

    def delete_index(self, index: str) -> None:
        """Delete ``index`` (callers check ``indices:admin/delete`` themselves)."""
        self._store().delete_index(index)

    def hints(self, index: str) -> dict[str, FieldHint]:
        """The vector fields of ``index``."""
        return self._store().hints(index)

    def properties(self, index: str) -> Properties:
        """The mapped properties of ``index``."""
        return self._store().properties(index)

    def mapping_options(self, index: str) -> dict[str, Any]:
        """The mapping options of ``index`` (dynamic, ...)."""
        return self._store().mapping_options(index)

    def put_mapping(self, index: str, properties: Properties, options: dict[str, Any]) -> None:
        """Extend the mapping of ``index`` (the template of an index being auto-created)."""
        self._store().put_mapping(index, properties, options)

    def count(self, index: str) -> int:
        """Documents in ``index``."""
        return self._store().count(index)
