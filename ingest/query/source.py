"""``_source`` filtering as Elasticsearch applies it (``_source``, ``_source_includes``, ``_source_excludes``).

Patterns name dotted paths and may hold ``*`` (which also matches dots); an include names a field and
everything under it; excludes win over includes. Arrays of objects are filtered element by element.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

INFERENCE_FIELDS = "_inference_fields"


def _regex(patterns: list[str]) -> re.Pattern[str] | None:
    if not patterns:
        return None
    return re.compile("|".join("(?:" + re.escape(p).replace(r"\*", ".*") + ")" for p in patterns))


@dataclass(frozen=True)
class SourceFilter:
    """Whether to return ``_source`` at all, and which paths."""

    fetch: bool = True
    includes: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)

    def apply(self, source: dict[str, Any]) -> dict[str, Any] | None:
        """The filtered source, or None when no source is to be returned."""
        if not self.fetch:
            return None
        if INFERENCE_FIELDS in source and not any(p.startswith(INFERENCE_FIELDS) for p in self.includes):
            # Elasticsearch 9 keeps semantic_text's chunks out of ``_source`` unless asked for by name
            source = {k: v for k, v in source.items() if k != INFERENCE_FIELDS}
        if not self.includes and not self.excludes:
            return source
        inc, exc = _regex(self.includes), _regex(self.excludes)
        return _walk(source, "", inc is None, inc, exc)


def _walk(obj: dict[str, Any], prefix: str, included: bool, inc: re.Pattern[str] | None,
          exc: re.Pattern[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in obj.items():
        path = prefix + key
        if exc is not None and exc.fullmatch(path):
            continue
        here = included or (inc is not None and inc.fullmatch(path) is not None)
        if isinstance(value, dict):
            sub = _walk(value, path + ".", here, inc, exc)
            if sub or (here and not value):
                out[key] = sub
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            items = [_walk(v, path + ".", here, inc, exc) if isinstance(v, dict) else v for v in value
                     if isinstance(v, dict) or here]
            items = [v for v in items if v != {} or here]
            if items:
                out[key] = items
        elif here:
            out[key] = value
    return out


def _csv(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [p for p in str(value).split(",") if p]


def from_params(source: str | None, includes: str | None, excludes: str | None,
                default: SourceFilter | None = None) -> SourceFilter:
    """The filter of a request's query parameters (``_source=false``, ``_source=a,b``, ``_source_includes``...)."""
    base = default or SourceFilter()
    if source is None and includes is None and excludes is None:
        return base
    if source in ("false", "0", "no", "off"):
        return SourceFilter(False)
    incl = [] if source in (None, "", "true") else _csv(source)
    return SourceFilter(True, incl + _csv(includes), _csv(excludes))


def from_body(spec: Any, default: SourceFilter) -> SourceFilter:
    """The filter of a ``_source`` value in a body: a boolean, a pattern or list, or ``{includes, excludes}``."""
    if spec is None:
        return default
    if isinstance(spec, bool):
        return SourceFilter(spec)
    if isinstance(spec, dict):
        return SourceFilter(True, _csv(spec.get("includes", spec.get("include"))),
                            _csv(spec.get("excludes", spec.get("exclude"))))
    return SourceFilter(True, _csv(spec))
