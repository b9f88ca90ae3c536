"""Elasticsearch's answers for requests no route handles (RestController.handleBadRequest and
handleUnsupportedHttpMethod).

- A path some route serves with other methods: 405 ``{"error": "Incorrect HTTP method for uri [...] and method
  [...], allowed: [...]", "status": 405}`` with an ``Allow`` header.
- Any other path: 400 ``{"error": "no handler found for uri [...] and method [...]", "status": 400}``.

Both are Elasticsearch's flat bodies (a string ``error``, not the exception envelope); the uri is the raw request
uri, query string included, as Elasticsearch prints it. Index-scoped routes never match a first segment starting
with ``_`` (the ``index`` path convertor), so an endpoint we lack (``POST /_mget``, ``GET /_nodes/stats``) is never
taken for an index name. The one exception is ``PUT /_name``, which Elasticsearch routes to index creation and
answers with its invalid index name error; we answer the same, since it tells the user why.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.jobs.bulkapi import validate_index_name
from ingest.models.errors import ElasticsearchError
from ingest.server.dialect import error_response, es_response

_SINGLE_SEGMENT = re.compile(r"/_[^/]*")


def unknown_route(app: FastAPI, request: Request) -> Response:
    """The 405 or 400 Elasticsearch gives for a method or path no route serves."""
    path, method = request.url.path, request.method
    uri = path + (f"?{request.url.query}" if request.url.query else "")
    allowed = allowed_methods(app, path)
    if allowed:
        message = f"Incorrect HTTP method for uri [{uri}] and method [{method}], allowed: [{', '.join(allowed)}]"
        return es_response(request, {"error": message, "status": 405}, 405, {"Allow": ",".join(allowed)},
                           filtered=False)
    if method == "PUT" and _SINGLE_SEGMENT.fullmatch(path):
        try:
            validate_index_name(path[1:])
        except ElasticsearchError as exc:
            return error_response(request, exc)
    message = f"no handler found for uri [{uri}] and method [{method}]"
    return es_response(request, {"error": message, "status": 400}, 400, filtered=False)


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves ``path`` with, sorted."""
    methods: set[str] = set()
    stack: list[Any] = list(app.router.routes)
    while stack:
        route = stack.pop()
        nested = getattr(route, "original_router", None)
        if nested is not None:  # an included router (FastAPI keeps them nested)
            stack.extend(nested.routes)
            continue
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


class TrailingSlash:
    """Serve ``/t1/_doc/`` as ``/t1/_doc``: Elasticsearch's path trie drops a trailing ``/`` (Java's
    ``split("/")`` leaves no empty last segment), where Starlette would answer a 307 redirect that clients do not
    follow. A plain ASGI middleware: it only rewrites the scope's path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            stripped = path.rstrip("/") or "/"
            raw = scope.get("raw_path")
            scope = {**scope, "path": stripped,
                     "raw_path": raw.rstrip(b"/") or b"/" if isinstance(raw, bytes) else raw}
        await self.app(scope, receive, send)
