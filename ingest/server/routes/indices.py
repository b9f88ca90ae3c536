"""Index APIs: ``PUT|GET|HEAD|DELETE /{index}``, ``GET|PUT /{index}/_mapping``, ``GET|PUT /{index}/_settings``,
``_refresh`` and ``_flush``, a thin shell over ``ingest.indices.service`` on the embedded store. With
``ingest serve --dest URL`` the cluster answers them (``PUT /{index}`` keeps the default pipeline here)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from ingest.indices import service
from ingest.indices.catalog import IndexCatalog
from ingest.indices.expressions import Options, options_from, resolve
from ingest.indices.settings import flatten_keys
from ingest.jobs.createindex import create_index as create_on_cluster
from ingest.models.errors import ElasticsearchError, ParsingException
from ingest.semantic.fields import check_endpoints
from ingest.server import convertors  # noqa: F401 - registers the {index} path convertor
from ingest.server.dialect import PRODUCT_HEADER, bool_param, check_params, es_response, json_body
from ingest.server.security import declare as need
from ingest.server.security.declare import declaration, principal_of
from ingest.server.snapshots import remove_stale_snapshots, write_snapshot
from ingest.server.state import app_context, app_destination
from ingest.sinks.registry import cluster_requests

router = APIRouter(tags=["indices"])
_FEATURES = ("aliases", "mappings", "settings")
# query parameters Elasticsearch accepts on these APIs (others answer its 400)
EXPRESSION_PARAMS = ("ignore_unavailable", "allow_no_indices", "expand_wildcards", "master_timeout", "timeout",
                     "local")
_GET_PARAMS = (*EXPRESSION_PARAMS, "features", "flat_settings", "include_defaults")


@contextmanager
def _catalog(request: Request) -> Iterator[IndexCatalog]:
    catalog = app_context(request).index_catalog()
    try:
        yield catalog
    finally:
        catalog.close()


def _store(request: Request) -> Any:
    """The embedded store, or None when ``--dest`` is a cluster."""
    sink = app_destination(request).sink()
    return sink if service.is_index_store(sink) else None


async def _forward(request: Request) -> Response:
    """The cluster's own answer (``--dest``)."""
    dest = app_destination(request)
    cluster = cluster_requests(dest.sink(), dest.kind())
    if cluster is None:
        raise ElasticsearchError("the destination cannot answer index APIs", status=400)
    raw = await request.body()
    body = await json_body(request, required=False) if raw else None
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    status, answer = await run_in_threadpool(cluster.request, request.method, path, body=body,
                                             ignore=(400, 404, 409))
    return es_response(request, answer, status=status)


def _names(store: Any, catalog: IndexCatalog, expression: str, request: Request,
           options: Options | None = None) -> list[str]:
    """The indices ``expression`` names. On the routes over every index (declared ``bulk``: ``_cat/indices``,
    ``_mapping``, ``_alias`` ...), only those the caller may act on, as Elasticsearch narrows ``_all``."""
    names = resolve(expression, store.indices(), catalog.aliases(), options or options_from(dict(request.query_params)))
    route = request.scope.get("route")
    need_ = declaration(route) if isinstance(route, APIRoute) else None
    if need_ is not None and need_.kind == "bulk":
        principal = principal_of(request)
        names = [n for n in names if principal.permission.index(need_.action, n)]
    return names


async def _run(request: Request, work: Callable[[Any, IndexCatalog], Any], status: int = 200) -> Response:
    store = _store(request)
    if store is None:
        return await _forward(request)

    def call() -> Any:
        with _catalog(request) as catalog:
            return work(store, catalog)
    return es_response(request, await run_in_threadpool(call), status=status)


@router.put("/{index:index}", dependencies=[need.index("create_index", "indices:admin/create")])
async def create(index: str, request: Request) -> Response:
    """Create an index: settings (``index.default_pipeline``, ``index.final_pipeline``, shards, replicas, any
    other), mappings and aliases, over the matching index template's."""
    check_params(request, ("wait_for_active_shards", "master_timeout", "timeout"))
    body = await json_body(request, required=False) or {}
    if not isinstance(body, dict):
        raise ParsingException("request body must be a JSON object")
    store = _store(request)
    if store is None:
        dest = app_destination(request)
        sink = dest.sink()
        answer = await run_in_threadpool(create_on_cluster, index, body, sink, cluster_requests(sink, dest.kind()),
                                         dest.context.index_meta)
        return es_response(request, answer)
    api = app_context(request).api
    templates = api.store

    def work(s: Any, c: IndexCatalog) -> Any:
        check_endpoints(body.get("mappings"), api)  # semantic_text fields name existing endpoints
        return service.create(s, c, templates, index, body)
    return await _run(request, work)


@router.get("/{index:index}", dependencies=[need.index("view_index_metadata", "indices:admin/get")])
async def get(index: str, request: Request) -> Response:
    """Aliases, mappings and settings of the indices an expression names (``features`` selects)."""
    check_params(request, _GET_PARAMS)
    raw = request.query_params.get("features")
    features = set(raw.split(",")) if raw else set(_FEATURES)
    return await _run(request, lambda s, c: service.get(s, c, _names(s, c, index, request), features))


@router.head("/{index:index}", dependencies=[need.index("view_index_metadata", "indices:admin/get")])
async def exists(index: str, request: Request) -> Response:
    """200 when every index named exists, else 404 (no body)."""
    check_params(request, _GET_PARAMS)
    store = _store(request)
    if store is None:
        return await _forward(request)

    def check() -> bool:
        with _catalog(request) as catalog:
            try:
                return bool(_names(store, catalog, index, request,
                                   options_from(dict(request.query_params), allow_no_indices=False)))
            except ElasticsearchError:
                return False
    found = await run_in_threadpool(check)
    return Response(status_code=200 if found else 404, headers=PRODUCT_HEADER)


@router.delete("/{index:index}", dependencies=[need.index("delete_index", "indices:admin/delete")])
async def delete(index: str, request: Request) -> Response:
    """Delete indices (wildcards and comma lists; an alias must be named by its indices)."""
    check_params(request, EXPRESSION_PARAMS)
    def work(s: Any, c: IndexCatalog) -> Any:
        answer = service.delete(s, c, index, options_from(dict(request.query_params)))
        remove_stale_snapshots(app_context(request).home, set(s.indices()))
        return answer
    return await _run(request, work)


@router.get("/_mapping", dependencies=[need.bulk("indices:admin/mappings/get")])
async def get_all_mappings(request: Request) -> Response:
    """Mappings of every index."""
    return await _mappings(request, "_all")


@router.get("/{index:index}/_mapping", dependencies=[need.index("view_index_metadata", "indices:admin/mappings/get")])
async def get_mappings(index: str, request: Request) -> Response:
    """Mappings of the indices named."""
    return await _mappings(request, index)


async def _mappings(request: Request, expression: str) -> Response:
    check_params(request, EXPRESSION_PARAMS)
    def work(s: Any, c: IndexCatalog) -> Any:
        return {n: {"mappings": service.mapping_of(s, n)} for n in _names(s, c, expression, request)}
    return await _run(request, work)


@router.put("/{index:index}/_mapping", dependencies=[need.index("manage", "indices:admin/mapping/put")])
@router.post("/{index:index}/_mapping", dependencies=[need.index("manage", "indices:admin/mapping/put")])
async def put_mapping(index: str, request: Request) -> Response:
    """Add fields to the mappings of the indices named (a changed type is refused)."""
    check_params(request, (*EXPRESSION_PARAMS, "write_index_only"))
    body = await json_body(request)
    api = app_context(request).api

    def work(s: Any, c: IndexCatalog) -> Any:
        check_endpoints(body, api)  # semantic_text fields name existing endpoints
        return service.put_mapping(s, _names(s, c, index, request), body)
    return await _run(request, work)


@router.get("/_settings", dependencies=[need.bulk("indices:monitor/settings/get")])
async def get_all_settings(request: Request) -> Response:
    """Settings of every index."""
    return await _settings(request, "_all")


@router.get("/{index:index}/_settings", dependencies=[need.index("view_index_metadata", "indices:monitor/settings/get")])
async def get_settings(index: str, request: Request) -> Response:
    """Settings of the indices named."""
    return await _settings(request, index)


async def _settings(request: Request, expression: str) -> Response:
    check_params(request, _GET_PARAMS)
    flat = bool_param(request, "flat_settings")

    def work(s: Any, c: IndexCatalog) -> Any:
        out = {}
        for name in _names(s, c, expression, request):
            nested = service.settings_of(c, name)
            out[name] = {"settings": flatten_keys(nested) if flat else nested}
        return out
    return await _run(request, work)


@router.put("/{index:index}/_settings", dependencies=[need.index("manage", "indices:admin/settings/update")])
async def put_settings(index: str, request: Request) -> Response:
    """Update dynamic settings (``index.default_pipeline``, ``index.final_pipeline``, replicas, ...)."""
    check_params(request, (*EXPRESSION_PARAMS, "preserve_existing", "reopen", "flat_settings"))
    body = await json_body(request)
    return await _run(request, lambda s, c: service.put_settings(s, c, _names(s, c, index, request), body))


@router.post("/{index:index}/_refresh", dependencies=[need.index("maintenance", "indices:admin/refresh")])
@router.get("/{index:index}/_refresh", dependencies=[need.index("maintenance", "indices:admin/refresh")])
async def refresh(index: str, request: Request) -> Response:
    """Committed writes are visible at once: answers with the shards a refresh covers."""
    return await _broadcast(request, index)


@router.post("/_refresh", dependencies=[need.bulk("indices:admin/refresh")])
@router.get("/_refresh", dependencies=[need.bulk("indices:admin/refresh")])
async def refresh_all(request: Request) -> Response:
    """Refresh every index."""
    return await _broadcast(request, "_all")


@router.post("/{index:index}/_flush", dependencies=[need.index("maintenance", "indices:admin/flush")])
@router.get("/{index:index}/_flush", dependencies=[need.index("maintenance", "indices:admin/flush")])
async def flush(index: str, request: Request) -> Response:
    """Every write is committed already (one DuckDB transaction per request); a flush also checkpoints DuckDB's
    write-ahead log into the file, as Elasticsearch's flush trims its translog. Answers with the shards covered."""
    return await _broadcast(request, index, checkpoint=True)


@router.post("/_flush", dependencies=[need.bulk("indices:admin/flush")])
@router.get("/_flush", dependencies=[need.bulk("indices:admin/flush")])
async def flush_all(request: Request) -> Response:
    """Flush every index."""
    return await _broadcast(request, "_all", checkpoint=True)


async def _broadcast(request: Request, expression: str, checkpoint: bool = False) -> Response:
    check_params(request, (*EXPRESSION_PARAMS, "force", "wait_if_ongoing"))

    def work(store: Any, catalog: IndexCatalog) -> dict[str, Any]:
        names = _names(store, catalog, expression, request)
        shards = service.shard_counts(catalog, names)
        if checkpoint and callable(getattr(store, "checkpoint", None)):
            store.checkpoint()
        if checkpoint:  # analysts read the flushed indices from Parquet while the server holds the store
            home = app_context(request).home
            for name in names:
                write_snapshot(store, home, name)
        return {"_shards": shards}
    return await _run(request, work)
