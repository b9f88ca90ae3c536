"""``sort``, ``search_after`` and ``fields`` of a search: sort keys of a hit, their order, and field values."""

from __future__ import annotations

import fnmatch
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.query.dsl import parsing_error, values_at


@dataclass(frozen=True)
class SortKey:
    """One ``sort`` entry: a field, ``_score``, ``_doc`` or ``_shard_doc``; ``desc`` the direction."""

    field: str
    desc: bool


def parse_sort(spec: Any) -> list[SortKey]:
    """Elasticsearch's ``sort`` forms: ``"f"``, ``{"f": "desc"}``, ``{"f": {"order": "desc"}}``, lists of them,
    and the ``f:desc`` query-parameter form."""
    if spec is None:
        return []
    items = spec if isinstance(spec, list) else [spec]
    out: list[SortKey] = []
    for item in items:
        if isinstance(item, str):
            name, _, order = item.partition(":")
            out.append(SortKey(name, (order or ("desc" if name == "_score" else "asc")) == "desc"))
        elif isinstance(item, dict) and len(item) == 1:
            name, value = next(iter(item.items()))
            given = value.get("order") if isinstance(value, dict) else value
            order = str(given or ("desc" if name == "_score" else "asc"))
            if order not in ("asc", "desc"):
                raise parsing_error(f"[sort] unknown order [{order}]")
            out.append(SortKey(name, order == "desc"))
        else:
            raise parsing_error("[sort] malformed sort entry")
    return out


def sort_value(key: SortKey, source: dict[str, Any], score: float, ordinal: int) -> Any:
    """A hit's value for one sort key (multi-valued fields: the smallest ascending, the largest descending)."""
    if key.field == "_score":
        return score
    if key.field in ("_doc", "_shard_doc"):
        return ordinal
    values = [v for v in values_at(source, key.field) if not isinstance(v, (dict, list))]
    if not values:
        return None
    try:
        return max(values) if key.desc else min(values)
    except TypeError:
        return str(values[0])


def _compare_one(a: Any, b: Any, desc: bool) -> int:
    if a is None or b is None:  # missing values sort last, whatever the direction (Elasticsearch's _last)
        return (a is None) - (b is None)
    try:
        c = (a > b) - (a < b)
    except TypeError:
        c = (str(a) > str(b)) - (str(a) < str(b))
    return -c if desc else c


def comparator(keys: list[SortKey]) -> Callable[[list[Any], list[Any]], int]:
    """Compare two hits' sort values."""
    def compare(a: list[Any], b: list[Any]) -> int:
        for key, x, y in zip(keys, a, b, strict=False):
            c = _compare_one(x, y, key.desc)
            if c:
                return c
        return 0
    return compare


def order_key(keys: list[SortKey]) -> Callable[[list[Any]], Any]:
    """A ``sorted`` key over sort-value lists."""
    return functools.cmp_to_key(comparator(keys))


def field_values(source: dict[str, Any], patterns: list[str]) -> dict[str, list[Any]]:
    """The ``fields`` of a hit: every leaf path matching a pattern, its values as a list."""
    leaves: dict[str, list[Any]] = {}
    _flatten(source, "", leaves)
    return {path: values for path, values in leaves.items() if any(fnmatch.fnmatchcase(path, p) for p in patterns)}


def _flatten(node: Any, prefix: str, out: dict[str, list[Any]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(value, prefix + key if not prefix else f"{prefix}.{key}", out)
    elif isinstance(node, list) and not all(isinstance(v, (int, float)) for v in node):
        for item in node:
            _flatten(item, prefix, out)
    elif node is not None:
        out.setdefault(prefix, []).extend(node if isinstance(node, list) else [node])
