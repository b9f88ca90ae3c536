"""The APIs shippers and clients probe at start, answered as a single Elasticsearch node would: ``GET /_license``,
``GET /_xpack``, ``GET /_nodes[/{node_id}[/{metric}]]`` and ``GET /_cluster/health``.

The license is ``basic`` and always active. ``_xpack`` reports security as the home's setting has it, ml (the
inference API) as available, and ILM, data streams, watcher and the like as unavailable, so shippers skip them.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from ingest.indices.expressions import Options, resolve
from ingest.indices.service import is_index_store, shard_health
from ingest.models.errors import IllegalArgumentException
from ingest.server.dialect import check_params, es_response, time_param
from ingest.server.nodeinfo import CLUSTER_NAME, ROLES, VERSION, Node, os_info, process_info
from ingest.server.routes.bulk import _has_index, local_reads
from ingest.server.security.authn import SecurityState
from ingest.server.security.declare import cluster
from ingest.server.state import app_context, app_destination  # where indices live (the destination)

router = APIRouter(tags=["node"])


class NodeSelectorConvertor(Convertor[str]):
    """A ``/_nodes/{node_id}`` segment: never one of the node APIs' own words (``/_nodes/stats``,
    ``/_nodes/usage``...), which are other endpoints, served or not, whatever the order of the routers."""

    regex = "(?!(?:_?stats|_?usage|_?hot_threads|_?reload_secure_settings|_?shutdown|_?capabilities)(?:/|$))[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("node_selector", NodeSelectorConvertor())

# Elasticsearch's x-pack features; those served here are available (security, ml, the ingest-side ones).
_SERVED = {"security", "ml", "enrich"}
_FEATURES = ("aggregate_metric", "analytics", "archive", "ccr", "data_streams", "data_tiers", "enrich",
             "enterprise_search", "eql", "esql", "frozen_indices", "graph", "ilm", "logsdb", "logstash", "ml",
             "monitoring", "rollup", "searchable_snapshots", "security", "slm", "spatial", "sql", "transform",
             "universal_profiling", "voting_only", "watcher")
_NODE_METRICS = ("settings", "os", "process", "jvm", "thread_pool", "transport", "http", "plugins", "ingest",
                 "aggregations", "indices", "remote_cluster_server")
_HEALTH_STATUS = ("green", "yellow", "red")
_NODES_INFO = cluster("monitor", "cluster:monitor/nodes/info")


def node_of(request: Request) -> Node:
    """This server's node identity (made by ``create_app``)."""
    node: Node = request.app.state.node
    return node


def _license_body(node: Node) -> dict[str, Any]:
    return {"status": "active", "uid": node.cluster_uuid, "type": "basic",
            "issue_date": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(node.started_ms / 1000)),
            "issue_date_in_millis": node.started_ms, "max_nodes": 1000, "max_resource_units": None,
            "issued_to": CLUSTER_NAME, "issuer": "elasticsearch", "start_date_in_millis": -1}


@router.get("/_license", dependencies=[cluster("monitor", "cluster:monitor/xpack/license/get")])
async def get_license(request: Request) -> Response:
    """The basic license, always active."""
    check_params(request, ("local", "accept_enterprise", "master_timeout"))
    return es_response(request, {"license": _license_body(node_of(request))})


@router.get("/_xpack", dependencies=[cluster("monitor", "cluster:monitor/xpack/info")])
async def xpack_info(request: Request) -> Response:
    """Build, license and features (``categories`` selects among them)."""
    check_params(request, ("categories", "accept_enterprise"))
    node = node_of(request)
    security = SecurityState.read(request.app.state.api.store).enabled
    features = {name: {"available": name in _SERVED, "enabled": name in _SERVED} for name in _FEATURES}
    features["security"] = {"available": True, "enabled": security}
    lic = _license_body(node)
    body: dict[str, Any] = {
        "build": {"hash": VERSION["build_hash"], "date": VERSION["build_date"]},
        "license": {"uid": lic["uid"], "type": "basic", "mode": "basic", "status": "active"},
        "features": features,
        "tagline": "You know, for X",
    }
    raw = request.query_params.get("categories")
    if raw is not None:
        wanted = {c for c in raw.split(",") if c}
        unknown = sorted(wanted - {"build", "license", "features"})
        if unknown:
            raise IllegalArgumentException(f"Unknown categories [{','.join(unknown)}]")
        body = {k: v for k, v in body.items() if k in wanted or k == "tagline"}
    return es_response(request, body)


@router.get("/_nodes", dependencies=[_NODES_INFO])
async def nodes_info(request: Request) -> Response:
    """Every node (this one)."""
    return _nodes(request, "_all", None)


@router.get("/_nodes/{node_id:node_selector}", dependencies=[_NODES_INFO])
async def nodes_info_one(request: Request, node_id: str) -> Response:
    """Nodes by selector, or (as Elasticsearch reads a lone segment of metric names) every node's metrics."""
    if all(m in (*_NODE_METRICS, "_all") for m in node_id.split(",")):
        return _nodes(request, "_all", node_id)
    return _nodes(request, node_id, None)


@router.get("/_nodes/{node_id:node_selector}/{metric}", dependencies=[_NODES_INFO])
async def nodes_info_metric(request: Request, node_id: str, metric: str) -> Response:
    """Selected nodes, selected metrics."""
    return _nodes(request, node_id, metric)


def _nodes(request: Request, selector: str, metrics: str | None) -> Response:
    check_params(request, ("flat_settings", "timeout", "master_timeout"))
    wanted = set(_NODE_METRICS)
    if metrics is not None and metrics != "_all":
        asked = metrics.split(",")
        unknown = [m for m in asked if m not in _NODE_METRICS]
        if unknown:
            raise IllegalArgumentException(
                f"request [{request.url.path}] contains unrecognized metric: [{unknown[0]}]")
        wanted = set(asked)
    node = node_of(request)
    nodes = {node.node_id: _node_body(request, node, wanted)} if node.matches(selector) else {}
    return es_response(request, {"_nodes": {"total": len(nodes), "successful": len(nodes), "failed": 0},
                                 "cluster_name": CLUSTER_NAME, "nodes": nodes})


def _node_body(request: Request, node: Node, wanted: set[str]) -> dict[str, Any]:
    from ingest.processors.registry import PROCESSOR_TYPES

    host, port = _address(request)
    body: dict[str, Any] = {
        "name": node.name, "transport_address": f"{host}:9300", "host": host, "ip": host,
        "version": VERSION["number"], "build_flavor": VERSION["build_flavor"], "build_type": VERSION["build_type"],
        "build_hash": VERSION["build_hash"], "roles": list(ROLES), "attributes": {},
    }
    sections: dict[str, Any] = {
        "settings": {"cluster": {"name": CLUSTER_NAME}, "node": {"name": node.name},
                     "http": {"port": str(port)}},
        "os": os_info(),
        "process": {"refresh_interval_in_millis": 1000, "id": process_info(node.started_ms)["pid"],
                    "mlockall": False},
        "jvm": process_info(node.started_ms),
        "thread_pool": {},
        "transport": {"bound_address": [f"{host}:9300"], "publish_address": f"{host}:9300", "profiles": {}},
        "http": {"bound_address": [f"{host}:{port}"], "publish_address": f"{host}:{port}",
                 "max_content_length_in_bytes": request.app.state.max_body_bytes},
        "plugins": [],
        "ingest": {"processors": [{"type": t} for t in sorted(PROCESSOR_TYPES)]},
        "aggregations": {},
        "indices": {},
        "remote_cluster_server": {},
    }
    if "plugins" in wanted:
        body["modules"] = []
    body.update({k: v for k, v in sections.items() if k in wanted})
    return body


def _address(request: Request) -> tuple[str, int]:
    server = request.scope.get("server") or ("127.0.0.1", 9200)
    host, port = server[0], server[1] or 9200
    return ("127.0.0.1" if host in ("testserver", "0.0.0.0", "::") else str(host)), int(port)


_HEALTH = cluster("monitor", "cluster:monitor/health")
_HEALTH_PARAMS = ("wait_for_status", "timeout", "master_timeout", "level", "local", "wait_for_nodes",
                  "wait_for_active_shards", "wait_for_events", "wait_for_no_relocating_shards",
                  "wait_for_no_initializing_shards", "expand_wildcards")


@router.get("/_cluster/health", dependencies=[_HEALTH])
async def cluster_health(request: Request) -> Response:
    """Every index of the embedded store, as one node holds them: primaries active, replicas unassigned (so
    yellow while an index asks for replicas), with the ``indices`` section at ``level=indices|shards``."""
    return await _health(request, None)


@router.get("/_cluster/health/{index}", dependencies=[_HEALTH])
async def index_health(request: Request, index: str) -> Response:
    """Health of some indices: red while one of them does not exist (as Elasticsearch treats a missing index);
    with a ``wait_for_*`` parameter, waits up to ``timeout`` for it, then answers 408 with ``timed_out``."""
    return await _health(request, [n for n in index.split(",") if n])


async def _health(request: Request, indices: list[str] | None) -> Response:
    check_params(request, _HEALTH_PARAMS)
    wanted = request.query_params.get("wait_for_status")
    if wanted is not None and wanted.lower() not in _HEALTH_STATUS:
        raise IllegalArgumentException(f"unknown cluster health status [{wanted}]")
    level = request.query_params.get("level", "cluster")
    if level.lower() not in ("cluster", "indices", "shards"):
        raise IllegalArgumentException("No enum constant org.elasticsearch.action.admin.cluster.health."
                                       f"ClusterHealthRequest.Level.{level.upper()}")
    level = level.lower()
    timeout_s = time_param(request, "timeout", 30.0)
    known = await run_in_threadpool(_known, request, indices)  # wildcards and aliases as indices
    indices = known[1] if indices is not None else None
    expanded = known[0]
    waits = any(p in request.query_params for p in _HEALTH_PARAMS if p.startswith("wait_for_"))
    if wanted is not None and wanted.lower() == "red":
        waits = False  # red is always reached
    deadline = time.monotonic() + timeout_s
    missing = await run_in_threadpool(_missing, request, [n for n in indices or [] if n not in expanded])
    while missing and waits and time.monotonic() < deadline:
        await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))
        missing = await run_in_threadpool(_missing, request, missing)
    timed_out = bool(missing) and waits
    body: dict[str, Any] = {
        "cluster_name": CLUSTER_NAME, "status": "red" if missing else "green", "timed_out": timed_out,
        "number_of_nodes": 1, "number_of_data_nodes": 1, "active_primary_shards": 0, "active_shards": 0,
        "relocating_shards": 0, "initializing_shards": 0, "unassigned_shards": 0, "unassigned_primary_shards": 0,
        "delayed_unassigned_shards": 0, "number_of_pending_tasks": 0, "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0, "active_shards_percent_as_number": 100.0,
    }
    names = expanded if indices is None else sorted(set(expanded) | set(indices) - set(missing))
    if names and not missing:  # the indices' shards as one node holds them (replicas unassigned)
        body.update(await run_in_threadpool(_index_shards, request, names, level))
        if wanted is not None and wanted.lower() == "green" and body["status"] != "green" and waits:
            # replicas never get a node here: green is never reached, so wait out the timeout as Elasticsearch
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            body["timed_out"] = timed_out = True
    elif level != "cluster" and not missing:
        body["indices"] = {}
    return es_response(request, body, status=408 if timed_out else 200)


def _index_shards(request: Request, indices: list[str], level: str) -> dict[str, Any]:
    catalog = app_context(request).index_catalog()
    try:
        return shard_health(catalog, indices, level)
    finally:
        catalog.close()


def _known(request: Request, parts: list[str] | None) -> tuple[list[str], list[str]]:
    """(indices the expression names through the embedded store: every index for the whole cluster, wildcards
    and aliases expanded; the concrete names left to check for existence). A cluster ``--dest``: ([], parts)."""
    sink = app_destination(request).sink()
    if not is_index_store(sink):
        return [], [p for p in parts or [] if "*" not in p]
    existing: list[str] = sink.indices()  # type: ignore[attr-defined]  # the index store's listing
    if parts is None:
        return list(existing), []
    catalog = app_context(request).index_catalog()
    try:
        aliases = catalog.aliases()
    finally:
        catalog.close()
    alias_names = {a.name for a in aliases}
    expanded: set[str] = set()
    concrete: list[str] = []
    for part in parts:
        if "*" in part or part in alias_names or part == "_all":
            expanded |= set(resolve(part, existing, aliases, Options(ignore_unavailable=True)))
        else:
            concrete.append(part)
    return sorted(expanded), concrete


def _missing(request: Request, indices: list[str]) -> list[str]:
    dest = app_destination(request)
    reads = local_reads(dest)
    return [name for name in indices if not _has_index(dest, reads, name)]
