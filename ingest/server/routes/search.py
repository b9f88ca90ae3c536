"""``_search``, ``_count``, ``_msearch``, scroll and point in time on the embedded store (``ingest.searching``);
a cluster ``--dest`` answers them itself (forwarded)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ingest.indices.expressions import options_from
from ingest.models.errors import ElasticsearchError
from ingest.query.dsl import parsing_error
from ingest.query.source import from_params
from ingest.searching.api import complete, prepare, resolve_names
from ingest.searching.api import search as search_api
from ingest.searching.corpus import Corpus
from ingest.searching.scoring import evaluate
from ingest.server import convertors  # noqa: F401 - registers the {index} path convertor
from ingest.server.destination import Destination
from ingest.server.dialect import json_body
from ingest.server.routes.bulk import SafeJSON, _error, _has_index, _index_not_found, local_reads, versioned
from ingest.server.security import declare as need
from ingest.server.state import app_context, app_destination
from ingest.sinks.registry import cluster_requests

router = APIRouter(tags=["search"])
_SEARCH = "indices:data/read/search"


def _names(request: Request, expression: str | None) -> list[str]:
    """The concrete indices of an expression (aliases and wildcards), each checked against the caller's read
    (``_all`` and wildcards are narrowed to the indices the caller may read, as Elasticsearch does)."""
    names = resolve_names(app_context(request), versioned(app_destination(request)), expression,
                          options_from(dict(request.query_params)))
    principal = need.principal_of(request)
    if expression is None or expression == "_all" or "*" in expression:  # narrowed to what the caller may read
        return [n for n in names if need.allowed_on_index(principal, _SEARCH, n)]
    for name in names:
        if not need.allowed_on_index(principal, _SEARCH, name):
            raise need.denied(request, principal, _SEARCH, [name])
    return names


def _corpora(request: Request, names: list[str]) -> tuple[list[Corpus], dict[str, dict[str, Any]]]:
    store = versioned(app_destination(request))
    service = app_context(request).search()
    corpora = [service.corpus(store, n) for n in names]
    return corpora, {n: store.properties(n) for n in names}


def _forward(request: Request, path: str, body: Any) -> JSONResponse | None:
    dest = app_destination(request)
    cluster = cluster_requests(dest.sink(), dest.kind())
    if cluster is None:
        return None
    status, answer = cluster.request(request.method if body is None else "POST", path,
                                     params=dict(request.query_params), body=body, ignore=(400, 404))
    return JSONResponse(answer, status_code=status)


def _body_params(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """Query parameters Elasticsearch accepts in place of body keys (``size``, ``from``, ``sort``, ``q`` no)."""
    params = request.query_params
    out = dict(body)
    for key in ("size", "from"):
        if key in params:
            out[key] = int(params[key])
    if "sort" in params:
        out["sort"] = params["sort"].split(",")
    if "track_total_hits" in params:
        raw = params["track_total_hits"]
        out["track_total_hits"] = raw != "false" if raw in ("true", "false", "") else int(raw)
    if "q" in params:
        raise parsing_error("[q] (query string) is not supported by the embedded store; send a query DSL body")
    return out


def run_search(request: Request, expression: str | None, body: dict[str, Any]) -> dict[str, Any]:
    """One search (also each ``_msearch`` item): resolves inference, indices or the point in time, and runs it.
    A value of the wrong type (``"size": "ten"``) is a 400, never a 500."""
    try:
        return _run_search(request, expression, body)
    except (ValueError, TypeError) as exc:
        raise parsing_error(f"failed to parse the search request: {exc}") from None


def _run_search(request: Request, expression: str | None, body: dict[str, Any]) -> dict[str, Any]:
    context = app_context(request)
    body = _body_params(request, body)
    body = prepare(context, body)
    service = context.search()
    default = from_params(request.query_params.get("_source"), request.query_params.get("_source_includes"),
                          request.query_params.get("_source_excludes"))
    pit = body.pop("pit", None)
    if pit is not None:
        if expression is not None:
            raise ElasticsearchError("Validation Failed: 1: [indices] cannot be used with point in time. Do not "
                                     "specify any index with point in time.;", status=400,
                                     error_type="action_request_validation_exception")
        corpora, props = service.pit(str(pit.get("id")), pit.get("keep_alive"))
        body = complete(context, body, props)
        return service.search(body, corpora, props, default, pit_id=str(pit.get("id")), api=context.api)
    names = _names(request, expression)
    _check_window(request, names, body, request.query_params.get("scroll"))
    return search_api(context, versioned(app_destination(request)), names, body, default,
                      scroll=request.query_params.get("scroll"))


MAX_RESULT_WINDOW = 10000  # Elasticsearch's default index.max_result_window


class _ShardsFailed(ElasticsearchError):
    """Every shard refused the request: Elasticsearch's ``search_phase_execution_exception`` envelope, the
    shards' own error as ``root_cause`` and ``caused_by``."""

    def __init__(self, index: str, cause: ElasticsearchError) -> None:
        super().__init__("all shards failed", status=cause.status, error_type="search_phase_execution_exception",
                         caused_by=cause, extra={"phase": "query", "grouped": True, "failed_shards": [
                             {"shard": 0, "index": index, "node": "ingest", "reason": cause.cause_dict()}]})
        self.cause = cause

    def error_object(self) -> Any:
        return {"root_cause": [self.cause.cause_dict()], **self.cause_dict()}


def _check_window(request: Request, names: list[str], body: dict[str, Any], scroll: str | None) -> None:
    """``from + size`` (a scroll's batch ``size``) within each index's ``index.max_result_window``, as
    Elasticsearch's query phase checks it: past it, a 400 naming the setting, never a huge page."""
    start, size = int(body.get("from", 0) or 0), int(body.get("size", 10) if body.get("size") is not None else 10)
    wanted = size if scroll is not None else start + size
    catalog = app_context(request).index_catalog()
    try:
        for name in names:
            window = int(catalog.settings(name).get("index.max_result_window", MAX_RESULT_WINDOW))
            if wanted <= window:
                continue
            if scroll is not None:
                reason = (f"Batch size is too large, size must be less than or equal to: [{window}] but was "
                          f"[{wanted}]. Scroll batch sizes cost as much memory as result windows so they are "
                          "controlled by the [index.max_result_window] index level setting.")
            else:
                reason = (f"Result window is too large, from + size must be less than or equal to: [{window}] but "
                          f"was [{wanted}]. See the scroll api for a more efficient way to request large data "
                          "sets. This limit can be set by changing the [index.max_result_window] index level "
                          "setting.")
            raise _ShardsFailed(name, ElasticsearchError(reason, status=400,
                                                         error_type="illegal_argument_exception"))
    finally:
        catalog.close()


async def _object(request: Request) -> dict[str, Any]:
    body = await json_body(request, required=False)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise parsing_error("request body must be an object")
    return body


@router.get("/_search", dependencies=[need.bulk(_SEARCH)])
@router.post("/_search", dependencies=[need.bulk(_SEARCH)])
async def search_all(request: Request) -> JSONResponse:
    """``_search`` over every index (or a point in time)."""
    try:
        body = await _object(request)
        forwarded = await run_in_threadpool(_forward, request, "/_search", body)
        if forwarded is not None:
            return forwarded
        return SafeJSON(await run_in_threadpool(run_search, request, None, body))
    except ElasticsearchError as exc:
        return _error(exc)


@router.get("/{index:index}/_search", dependencies=[need.index("read", _SEARCH)])
@router.post("/{index:index}/_search", dependencies=[need.index("read", _SEARCH)])
async def search(index: str, request: Request) -> JSONResponse:
    """``_search`` over an index expression (names, wildcards, aliases)."""
    try:
        body = await _object(request)
        forwarded = await run_in_threadpool(_forward, request, f"/{index}/_search", body)
        if forwarded is not None:
            return forwarded
        return SafeJSON(await run_in_threadpool(run_search, request, index, body))
    except ElasticsearchError as exc:
        return _error(exc)


def _count(request: Request, expression: str | None, body: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(body) - {"query"})
    if unknown:
        raise parsing_error(f"request does not support [{unknown[0]}]")
    try:
        body = prepare(app_context(request), body)
    except (ValueError, TypeError) as exc:
        raise parsing_error(f"failed to parse the count request: {exc}") from None
    names = _names(request, expression)
    if _every_document(body):
        # the store's count, not a search corpus loaded for it (at 10M documents that load took minutes and
        # gigabytes; a shipper or a user polls _count while a job writes)
        store = versioned(app_destination(request))
        total = sum(store.count(n) for n in names)
    else:
        corpora, props = _corpora(request, names)
        from ingest.searching.request import parse

        body = complete(app_context(request), body, props)
        total = sum(len(evaluate(parse(body, c, props[c.index]), c)) for c in corpora)
    return {"count": total, "_shards": {"total": len(names), "successful": len(names), "skipped": 0, "failed": 0}}


def _every_document(body: dict[str, Any]) -> bool:
    """Whether a count request's query matches every document (none, or ``match_all``)."""
    return body.get("query", {"match_all": {}}) == {"match_all": {}}


def _plain_count(dest: Destination, index: str, body: dict[str, Any]) -> dict[str, Any]:
    """The document count of a sink that keeps documents but cannot search them (a query other than
    ``match_all`` is refused, not ignored)."""
    if not _every_document(body) or set(body) - {"query"}:
        raise parsing_error(f"the [{dest.kind().name}] destination counts documents but cannot run a query")
    store = local_reads(dest)
    if store is None or not _has_index(dest, store, index):
        raise _index_not_found(index)
    return {"count": store.count(index), "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}}


@router.get("/_count", dependencies=[need.bulk(_SEARCH)])
@router.post("/_count", dependencies=[need.bulk(_SEARCH)])
async def count_all(request: Request) -> JSONResponse:
    """``_count`` over every index."""
    try:
        body = await _object(request)
        return SafeJSON(await run_in_threadpool(_count, request, None, body))
    except ElasticsearchError as exc:
        return _error(exc)


@router.get("/{index:index}/_count", dependencies=[need.index("read", _SEARCH)])
@router.post("/{index:index}/_count", dependencies=[need.index("read", _SEARCH)])
async def count(index: str, request: Request) -> JSONResponse:
    """``_count`` of the documents matching ``query`` (all without one)."""
    try:
        body = await _object(request)
        forwarded = await run_in_threadpool(_forward, request, f"/{index}/_count", body or None)
        if forwarded is not None:
            return forwarded
        dest = app_destination(request)
        if not dest.kind().capabilities.versions:  # a sink that only counts (LanceDB): no query to run
            return SafeJSON(await run_in_threadpool(_plain_count, dest, index, body))
        return SafeJSON(await run_in_threadpool(_count, request, index, body))
    except ElasticsearchError as exc:
        return _error(exc)
