"""``GET /_nodes/stats[/ingest]``, ``GET /_nodes/{node_id}/stats[/ingest]`` and ``GET /_info/ingest``: this node's
ingest counters (``jobs.ingeststats``, counted where ``_bulk`` runs pipelines) in Elasticsearch's layout. Only
the ``ingest`` metric is served; other node-stats metrics are refused rather than answered empty."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ingest.models.errors import IllegalArgumentException
from ingest.server.dialect import check_params, es_response
from ingest.server.nodeinfo import CLUSTER_NAME, ROLES
from ingest.server.routes.node import _address, node_of
from ingest.server.security.declare import cluster

router = APIRouter(tags=["node"])
_STATS = cluster("monitor", "cluster:monitor/nodes/stats")
_SERVED = ("ingest", "_all")


def _body(request: Request, selector: str, metric: str | None) -> dict[str, Any]:
    check_params(request, ("timeout", "level", "types", "include_segment_file_sizes", "groups", "fields",
                           "completion_fields", "fielddata_fields", "include_unloaded_segments"))
    for m in (metric or "_all").split(","):
        if m not in _SERVED:
            raise IllegalArgumentException(f"request [{request.url.path}] contains unrecognized metric: [{m}]")
    node = node_of(request)
    host, _ = _address(request)
    nodes = {}
    if node.matches(selector):
        nodes[node.node_id] = {"timestamp": int(time.time() * 1000), "name": node.name,
                               "transport_address": f"{host}:9300", "host": host, "ip": f"{host}:9300",
                               "roles": list(ROLES), "attributes": {},
                               "ingest": request.app.state.destination.ingest_stats.render()}
    return {"_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0}, "cluster_name": CLUSTER_NAME,
            "nodes": nodes}


@router.get("/_nodes/stats", dependencies=[_STATS])
async def stats(request: Request) -> Response:
    """Every node's stats (the ingest metric)."""
    return es_response(request, _body(request, "_all", None))


@router.get("/_nodes/stats/{metric}", dependencies=[_STATS])
async def stats_metric(request: Request, metric: str) -> Response:
    """Every node's ``metric``."""
    return es_response(request, _body(request, "_all", metric))


@router.get("/_nodes/{node_id}/stats", dependencies=[_STATS])
async def node_stats(request: Request, node_id: str) -> Response:
    """The selected nodes' stats."""
    return es_response(request, _body(request, node_id, None))


@router.get("/_nodes/{node_id}/stats/{metric}", dependencies=[_STATS])
async def node_stats_metric(request: Request, node_id: str, metric: str) -> Response:
    """The selected nodes' ``metric``."""
    return es_response(request, _body(request, node_id, metric))


@router.get("/_info/{target}", dependencies=[_STATS])
async def info(request: Request, target: str) -> Response:
    """Elasticsearch 9's cluster info API: ``ingest`` (and ``_all``, which is ingest here)."""
    check_params(request, ())
    for t in target.split(","):
        if t not in _SERVED:
            raise IllegalArgumentException(f"request [{request.url.path}] contains unrecognized target: [{t}]")
    return es_response(request, {"cluster_name": CLUSTER_NAME,
                                 "ingest": request.app.state.destination.ingest_stats.render()})
