"""``ingest search INDEX --query JSON`` (or the DSL on stdin): the server's ``_search`` code on the local store,
printed as Elasticsearch's response; vector fields are left out of ``_source`` unless ``--vectors``. While
``ingest serve`` owns the home's store, the same body goes to the server's ``_search``."""

from __future__ import annotations

import json
import sys
from typing import Any

from ingest.context import AppContext
from ingest.query.dsl import parsing_error
from ingest.query.source import SourceFilter
from ingest.searching.api import prepare, resolve_names, search
from ingest.sinks.registry import kind_of, versioned_documents

# the keys that make a JSON object a whole _search body rather than a query
_BODY_KEYS = {"query", "knn", "retriever", "size", "from", "sort", "_source", "fields", "track_total_hits"}


def read_body(dsl: str | None) -> dict[str, Any]:
    """The ``_search`` body of ``--query`` (or stdin): a whole body, or a query wrapped as ``{"query": ...}``."""
    raw = sys.stdin.read() if dsl in (None, "-") else dsl
    try:
        value = json.loads(raw or "{}")
    except ValueError as exc:
        raise parsing_error(f"the query is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise parsing_error("the query must be a JSON object")
    return value if not value or set(value) & _BODY_KEYS else {"query": value}


def run_dsl(context: AppContext, expression: str, dsl: str | None, vectors: bool, dest: str) -> dict[str, Any]:
    """The ``_search`` response of the DSL on ``dest`` (a store that keeps documents: the embedded one); through
    the home's server (its ``_search``) while one owns the store."""
    served = context.served_store(dest)
    if served is not None:
        from ingest.sinks.served import open_served
        from ingest.sinks.served.reads import search as served_search

        client = open_served(served.url, served.token)
        try:
            return served_search(client, expression, read_body(dsl), vectors)
        finally:
            client.close()
    body = prepare(context, read_body(dsl))
    kind = kind_of(dest)
    sink = context.open_sink(dest)
    try:
        store = versioned_documents(sink, kind)
        names = resolve_names(context, store, expression)
        excluded = [] if vectors else sorted({p for n in names for p in store.hints(n)})
        return search(context, store, names, body, SourceFilter(True, [], excluded))
    finally:
        sink.close()
