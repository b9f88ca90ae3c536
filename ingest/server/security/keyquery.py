"""``POST /_security/_query/api_key``: the subset of the query DSL Elasticsearch allows there, over key infos.

Queries: ``match_all``, ``ids``, ``term``, ``terms``, ``prefix``, ``wildcard``, ``exists``, ``range``, ``bool``
(``must``/``filter``/``should``/``must_not``); fields: ``id``, ``name``, ``type``, ``creation``, ``expiration``,
``invalidated``, ``invalidation``, ``username``, ``realm_name``, ``metadata.*``. ``from``/``size``/``sort``.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from ingest.models.errors import IllegalArgumentException, ParsingException

_FIELDS = {"id", "name", "type", "creation", "expiration", "invalidated", "invalidation", "username",
           "realm_name"}


def _value(info: dict[str, Any], field: str) -> Any:
    if field == "realm_name":
        return info.get("realm")
    if field.startswith("metadata."):
        value: Any = info.get("metadata", {})
        for part in field.split(".")[1:]:
            value = value.get(part) if isinstance(value, dict) else None
        return value
    if field not in _FIELDS:
        raise IllegalArgumentException(f"Field [{field}] is not allowed for querying or aggregation")
    return info.get(field)


def _one(spec: Any, name: str) -> tuple[str, Any]:
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ParsingException(f"[{name}] query malformed, no start_object after query name")
    field, arg = next(iter(spec.items()))
    if isinstance(arg, dict) and "value" in arg:
        arg = arg["value"]
    return field, arg


def matches(info: dict[str, Any], query: dict[str, Any]) -> bool:
    """Whether the key ``info`` matches ``query``."""
    if not isinstance(query, dict) or len(query) != 1:
        raise ParsingException("[query] must be an object with exactly one query")
    kind, spec = next(iter(query.items()))
    if kind == "match_all":
        return True
    if kind == "ids":
        return info["id"] in (spec or {}).get("values", [])
    if kind == "bool":
        spec = spec or {}

        def clauses(key: str) -> list[dict[str, Any]]:
            raw = spec.get(key, [])
            return raw if isinstance(raw, list) else [raw]
        musts = clauses("must") + clauses("filter")
        shoulds = clauses("should")
        return (all(matches(info, q) for q in musts) and not any(matches(info, q) for q in clauses("must_not"))
                and (not shoulds or any(matches(info, q) for q in shoulds)))
    if kind == "exists":
        return _value(info, str((spec or {}).get("field"))) is not None
    if kind not in ("term", "terms", "prefix", "wildcard", "range"):
        raise IllegalArgumentException(f"Query type [{kind}] is not currently supported in this context")
    field, arg = _one(spec, kind)
    value = _value(info, field)
    if kind == "term":
        return bool(value == arg)
    if kind == "terms":
        return value in (arg if isinstance(arg, list) else [arg])
    if kind == "prefix":
        return isinstance(value, str) and value.startswith(str(arg))
    if kind == "wildcard":
        return isinstance(value, str) and fnmatch.fnmatchcase(value, str(arg))
    if kind == "range":
        if value is None or not isinstance(spec[field], dict):
            return False
        bounds = spec[field]
        try:
            return all(op not in bounds or check(value, bounds[op]) for op, check in (
                ("gt", lambda a, b: a > b), ("gte", lambda a, b: a >= b), ("lt", lambda a, b: a < b),
                ("lte", lambda a, b: a <= b)))
        except TypeError:  # e.g. date math: only epoch milliseconds are understood here
            raise IllegalArgumentException(f"[range] bounds of [{field}] must be numbers (epoch milliseconds)") \
                from None
    return False


def _sort_key(field: str) -> Any:
    def key(info: dict[str, Any]) -> tuple[bool, Any]:
        value = _value(info, field)
        return value is None, value if value is not None else 0
    return key


def query_keys(infos: list[dict[str, Any]], body: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """(total matches, the requested page) of ``infos`` for a query-API-key body."""
    if not isinstance(body, dict):
        raise ParsingException("request body must be a JSON object")
    unknown = set(body) - {"query", "from", "size", "sort", "search_after"}
    if unknown:
        raise ParsingException(f"[query_api_key_request] unknown field [{sorted(unknown)[0]}]")
    hits = [i for i in infos if matches(i, body.get("query") or {"match_all": {}})]
    for spec in reversed(body.get("sort") or []):
        field, order = (spec, "asc") if isinstance(spec, str) else next(iter(spec.items()))
        order = order.get("order", "asc") if isinstance(order, dict) else order
        hits.sort(key=_sort_key(str(field)), reverse=order == "desc")
    start, size = int(body.get("from", 0)), int(body.get("size", 10))
    if start < 0 or size < 0:
        raise IllegalArgumentException("[from] and [size] must be non-negative")
    return len(hits), hits[start:start + size]
