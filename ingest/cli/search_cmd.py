"""``ingest search INDEX --query JSON`` (or the DSL on stdin): the server's ``_search`` code on the local store,
printed as Elasticsearch's response; vector fields are left out of ``_source`` unless ``--vectors``. While
``ingest serve`` owns the home's store, the same body goes to the server's ``_search``."""

from __future__ import annotations

import json
import sys
from typing import Any

from ingest.context import AppContext
from ingest.models.errors import IllegalArgumentException
from ingest.query.dsl import parsing_error
from ingest.query.source import SourceFilter
from ingest.searching.api import prepare, resolve_names, search
from ingest.semantic.fields import semantic_fields
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


def semantic_target(context: AppContext, index: str, dest: str, field: str | None) -> str | None:
    """The ``semantic_text`` field ``ingest search INDEX TEXT`` queries with a ``semantic`` query: the one
    ``--field`` names, or the index's only one when ingest wrote no vector field there; None for a vector
    search (which then explains what is missing)."""
    if field is None:
        meta = context.index_meta()
        try:
            if meta.fields(index):
                return None
        finally:
            meta.close()
    names = [f.path for f in semantic_fields(_properties(context, index, dest))]
    if field is not None:
        return field if field in names else None
    return names[0] if len(names) == 1 else None


def run_semantic(context: AppContext, index: str, field: str, text: str, k: int, vectors: bool,
                 dest: str) -> dict[str, Any]:
    """``ingest search INDEX TEXT`` on a ``semantic_text`` field: the ``semantic`` query, as ``_search`` answers."""
    if k < 1:
        raise IllegalArgumentException(f"[k] must be greater than 0, got [{k}]")
    body = {"size": k, "query": {"semantic": {"field": field, "query": text}}}
    return run_dsl(context, index, json.dumps(body), vectors, dest)


def _properties(context: AppContext, index: str, dest: str) -> dict[str, Any]:
    """The mapped ``properties`` of ``index`` (each index an expression names, merged), from the home's server
    while one owns the store."""
    served = context.served_store(dest)
    if served is not None:
        from ingest.sinks.served import open_served

        client = open_served(served.url, served.token)
        try:
            _, mapping = client.request("GET", f"/{index}/_mapping")
        finally:
            client.close()
        return {name: spec for entry in (mapping or {}).values()
                for name, spec in (((entry or {}).get("mappings") or {}).get("properties") or {}).items()}
    kind = kind_of(dest)
    sink = context.open_sink(dest)
    try:
        store = versioned_documents(sink, kind)
        return {name: spec for n in resolve_names(context, store, index) for name, spec in store.properties(n).items()}
    finally:
        sink.close()
