"""Per-item authorisation of ``_bulk``: each item is checked against its (final) index, as Elasticsearch does.

The request's sink is wrapped: ingest pipelines run first (they may reroute a document), then every action is
checked when it reaches the sink. An unauthorised item gets a 403 ``security_exception`` item error; the others
are written. An index is only created for a caller allowed to create it (``indices:admin/auto_create``, which
every writing index privilege includes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request

from ingest.server.security.authn import Principal
from ingest.server.security.declare import denied
from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink

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

    def __getattr__(self, name: str) -> Any:  # count/get/search of the embedded store, used by other routes
        return getattr(self.inner, name)
