"""Index templates applied at index creation, as Elasticsearch does: the matching composable template of
highest priority, its ``composed_of`` component templates in order, then its own ``template``; the request's
settings, mappings and aliases win over all of them."""

from __future__ import annotations

import copy
from typing import Any, Protocol

from ingest.indices.settings import flat
from ingest.models.templatestore import simple_match


class TemplateSource(Protocol):
    """Where templates are kept (``ingest.models.store.Store``)."""

    def get_templates(self, kind: str, pattern: str | None = None) -> dict[str, dict[str, Any]]: ...


def matching_template(templates: TemplateSource, index: str) -> tuple[str, dict[str, Any]] | None:
    """The index template that applies to ``index`` (highest priority; hidden-index rules aside), or None."""
    best: tuple[int, str, dict[str, Any]] | None = None
    for name, body in templates.get_templates("index").items():
        if body.get("data_stream") is not None:
            continue  # data streams are not served: their templates create no plain index
        patterns = body.get("index_patterns") or []
        patterns = [patterns] if isinstance(patterns, str) else patterns
        if not any(simple_match(str(p), index) for p in patterns):
            continue
        priority = int(body.get("priority") or 0)
        if best is None or priority > best[0]:
            best = (priority, name, body)
    return None if best is None else (best[1], best[2])


def compose(templates: TemplateSource, index: str, request: dict[str, Any]) -> dict[str, Any]:
    """The create-index body ``request`` with the matching template's settings, mappings and aliases under it."""
    found = matching_template(templates, index)
    if found is None:
        return request
    _, body = found
    layers: list[dict[str, Any]] = []
    components = templates.get_templates("component")
    for name in body.get("composed_of") or []:
        if name in components:
            layers.append(components[name].get("template") or {})
    layers.append(body.get("template") or {})
    layers.append(request)
    out: dict[str, Any] = {}
    for layer in layers:
        if layer.get("settings"):  # flat first: {"index": {"x": 1}} and {"x": 2} name the same setting
            out["settings"] = {**(out.get("settings") or {}), **flat(layer["settings"])}
        for key in ("mappings", "aliases"):
            if layer.get(key):
                out[key] = deep_merge(out.get(key) or {}, layer[key])
    return out


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, objects merged key by key."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
