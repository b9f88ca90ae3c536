"""The ASGI middleware that authenticates every request before routing (so unknown paths answer 401 too)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from ingest.models.errors import ElasticsearchError
from ingest.server.dialect import error_response
from ingest.server.security.authn import Authenticator


class SecurityMiddleware:
    """Puts the caller's :class:`~ingest.server.security.authn.Principal` in ``request.state.principal``.

    Authorisation is per route (``ingest.server.security.declare``); authentication awaits a thread pool, so
    it never blocks the event loop.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            principal = await request.app.state.authenticator.authenticate(request)
        except ElasticsearchError as exc:
            await error_response(request, exc)(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def install(app: Starlette, authenticator: Authenticator) -> None:
    """Authenticate every request of ``app``: what ``create_app`` does, for apps composed from our routers.

    Routes refuse requests that did not pass through this middleware (they fail closed).
    """
    app.state.authenticator = authenticator
    app.add_middleware(SecurityMiddleware)
