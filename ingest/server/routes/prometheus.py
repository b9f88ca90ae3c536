"""``GET /_prometheus/metrics``: the server's metrics in Prometheus' text format (OpenSearch's exporter path;
index names cannot start with ``_``, so it never shadows an index)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ingest.server.metrics import CONTENT_TYPE
from ingest.server.security.declare import cluster

router = APIRouter(tags=["monitoring"])


@router.get("/_prometheus/metrics", dependencies=[cluster("monitor", "cluster:monitor/prometheus/metrics")])
async def metrics(request: Request) -> Response:
    """Every metric of this server (see ``ingest.server.metrics``)."""
    # Scrape-time values read SQLite (dead letters): off the event loop.
    body = await run_in_threadpool(request.app.state.metrics.render)
    return Response(body, media_type=CONTENT_TYPE)
