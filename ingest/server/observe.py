"""One ASGI middleware that times every request: an access log line (logger ``ingest.access``) and the
request metrics, labelled by route template so that index names and ids do not multiply the series."""

from __future__ import annotations

import logging
import re
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ingest.server.logs import ACCESS_LOGGER

access_log = logging.getLogger(ACCESS_LOGGER)
_CONVERTOR = re.compile(r"\{(\w+):[^}]*\}")  # "{index:index}" -> "{index}"


class ObserveMiddleware:
    """Logs and measures each HTTP request; the metrics object is the app's (``app.state.metrics``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.monotonic()
        status = 500  # what the client sees if the app dies before answering

        async def send_and_watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            took = time.monotonic() - start
            method, path = scope["method"], scope["path"]
            route = _CONVERTOR.sub(r"{\1}", getattr(scope.get("route"), "path", None) or "unmatched")
            metrics = getattr(scope["app"].state, "metrics", None)
            if metrics is not None:
                metrics.observe_request(method, route, status, took)
            client = (scope.get("client") or ("", 0))[0]
            access_log.info(
                '%s "%s %s" %d %.1fms', client, method, path, status, took * 1000,
                extra={"http.request.method": method, "url.path": path, "http.response.status_code": status,
                       "event.duration": int(took * 1e9), "client.ip": client or None},
            )
