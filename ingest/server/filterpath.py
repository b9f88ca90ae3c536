"""Elasticsearch's ``filter_path`` response filtering (XContent's FilterPath), for answers built with
``dialect.es_response``.

``filter_path=nodes.*.version,-nodes.*.jvm``: comma-separated dotted paths, each segment a name or ``*`` pattern,
``**`` for any number of levels, a leading ``-`` to exclude. Arrays are traversed without consuming a segment.
Exclusions apply first, then inclusions; with inclusions, an answer where nothing matched is ``{}``. Error answers
are never filtered (Elasticsearch builds them unfiltered so that a filter cannot hide an error).
"""

from __future__ import annotations

from typing import Any

from ingest.models.templatestore import simple_match

_DROP = object()


def apply_filter_path(body: Any, raw: str | None) -> Any:
    """``body`` filtered by the ``filter_path`` expression ``raw`` (None or empty: unchanged)."""
    if not raw or not isinstance(body, dict | list):
        return body
    expressions = [e.strip() for e in raw.split(",") if e.strip()]
    exclude = [e[1:].split(".") for e in expressions if e.startswith("-") and len(e) > 1]
    include = [e.split(".") for e in expressions if not e.startswith("-")]
    if exclude:
        body = _exclude(body, exclude)
    if include:
        kept = _include(body, include)
        body = {} if kept is _DROP else kept
    return body


def _step(state: list[str], key: str) -> list[list[str]]:
    """The remaining paths after ``key`` is consumed by ``state``; an empty path means fully matched."""
    if not state:
        return []
    head = state[0]
    if head == "**":
        rest = state[1:]
        return [state, *(_step(rest, key) if rest else [[]])]
    return [state[1:]] if simple_match(head, key) else []


def _include(value: Any, states: list[list[str]]) -> Any:
    if isinstance(value, list):
        items = [_include(v, states) for v in value]
        kept = [v for v in items if v is not _DROP]
        return kept if kept else _DROP
    if not isinstance(value, dict):
        return _DROP  # a scalar the path has not fully matched yet
    out: dict[str, Any] = {}
    for key, inner in value.items():
        nxt = [s for state in states for s in _step(state, str(key))]
        if any(not s for s in nxt):
            out[key] = inner
            continue
        if nxt:
            filtered = _include(inner, nxt)
            if filtered is not _DROP:
                out[key] = filtered
    return out if out else _DROP


def _exclude(value: Any, states: list[list[str]]) -> Any:
    if isinstance(value, list):
        return [_exclude(v, states) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, inner in value.items():
        nxt = [s for state in states for s in _step(state, str(key))]
        if any(not s for s in nxt):
            continue
        out[key] = _exclude(inner, nxt) if nxt else inner
    return out
