"""Single-document APIs: ``_doc`` (index, get, exists, delete), ``_create``, ``_source`` and ``_update``.

Every write is one ``_bulk`` action run through the app's destination (``Destination.bulk``), so a document
written here takes exactly the path of a ``_bulk`` item: the request's ``?pipeline=`` or the index's default
pipeline, per-item authorisation, retries, dead letters, ``_seq_no``/``_version`` from the store. The item's
outcome is rendered as Elasticsearch's single-document response (201/200/404/409 and the error envelope).
Reads come from the embedded store, or from the ``--dest`` cluster itself.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ingest.models.errors import ElasticsearchError, IllegalArgumentException, ParsingException
from ingest.query.source import SourceFilter, from_body, from_params
from ingest.server import convertors  # noqa: F401 - registers the {index} path convertor
from ingest.server.destination import Destination
from ingest.server.dialect import bool_param, check_params, int_param, json_body, refresh_param
from ingest.server.filterpath import apply_filter_path
from ingest.server.routes.bulk import SafeJSON, _error, _has_index, parse_timeout, versioned
from ingest.server.security import declare as need
from ingest.server.security.bulkauth import AuthorizedSink
from ingest.server.state import app_destination as destination
from ingest.sinks.bulk.items import index_not_found
from ingest.sinks.registry import cluster_requests, document_reads

router = APIRouter(tags=["documents"])

WRITE_PARAMS = ("if_seq_no", "if_primary_term", "version", "version_type", "routing", "refresh", "timeout",
                "wait_for_active_shards", "pipeline", "require_alias", "require_data_stream", "op_type",
                "include_source_on_error", "list_executed_pipelines")
READ_PARAMS = ("_source", "_source_includes", "_source_excludes", "stored_fields", "realtime", "refresh",
               "routing", "preference", "version", "version_type")
UPDATE_KEYS = {"doc", "upsert", "doc_as_upsert", "script", "scripted_upsert", "detect_noop", "_source"}


def _metadata(request: Request, index: str, doc_id: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"_index": index}
    if doc_id is not None:
        meta["_id"] = doc_id
    for name in ("if_seq_no", "if_primary_term", "version"):
        value = int_param(request, name)
        if value is not None:
            meta[name] = value
    if request.query_params.get("version_type"):
        meta["version_type"] = request.query_params["version_type"]
    return meta


def item_error(item: dict[str, Any]) -> JSONResponse:
    """A failed ``_bulk`` item as Elasticsearch's error envelope of a single-document API."""
    cause = dict(item["error"])
    root = {k: v for k, v in cause.items() if k != "caused_by"}
    return SafeJSON({"error": {"root_cause": [root], **cause}, "status": item["status"]}, status_code=item["status"])


async def write_one(request: Request, op: str, meta: dict[str, Any], body: dict[str, Any] | None
                    ) -> tuple[int, dict[str, Any]]:
    """Run one action through ``_bulk``; the item's status and body (``error`` on failure)."""
    params = request.query_params
    raw = json.dumps({op: meta}).encode() + b"\n"
    if body is not None:
        raw += json.dumps(body).encode() + b"\n"
    dest = destination(request)
    timeout_s = parse_timeout(params.get("timeout"))
    refresh = refresh_param(request)
    authorize = AuthorizedSink.checker(need.principal_of(request), request)
    result = await run_in_threadpool(
        lambda: dest.bulk(raw, index=None, pipeline=params.get("pipeline"), refresh=refresh,
                          timeout_s=timeout_s, authorize=authorize, user=need.security_user(request)))
    item = next(iter(result["items"][0].values()))
    return int(item["status"]), item


def written(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    """The single-document response of a successful item (Elasticsearch's field order)."""
    body: dict[str, Any] = {k: item[k] for k in ("_index", "_id", "_version", "result") if k in item}
    if item.get("result") == "noop":
        body["_shards"] = {"total": 0, "successful": 0, "failed": 0}
    else:
        body["_shards"] = item.get("_shards", {"total": 1, "successful": 1, "failed": 0})
    if request.query_params.get("refresh") in ("", "true") and item.get("result") != "noop":
        body["forced_refresh"] = True
    for key in ("_seq_no", "_primary_term"):
        if key in item:
            body[key] = item[key]
    return body


async def _index(request: Request, index: str, doc_id: str | None, op: str) -> JSONResponse:
    try:
        check_params(request, WRITE_PARAMS)
        # A generated id is a create unless op_type says otherwise (RestIndexAction's AutoIdHandler), so that
        # create_doc suffices for it, per document in the item check too.
        op_type = request.query_params.get("op_type", "create" if doc_id is None else op)
        if op_type not in ("index", "create"):
            raise IllegalArgumentException(f"opType must be 'create' or 'index', found: [{op_type}]")
        if op == "create" and op_type != "create":
            raise IllegalArgumentException("[op_type] must be [create] on the _create endpoint")
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ParsingException("request body must be a JSON object", error_type="mapper_parsing_exception")
        status, item = await write_one(request, op_type, _metadata(request, index, doc_id), body)
    except ValueError as exc:
        return _error(ParsingException(f"failed to parse the request body: {exc}"))
    except ElasticsearchError as exc:
        return _error(exc)
    if "error" in item:
        return item_error(item)
    return SafeJSON(apply_filter_path(written(request, item), request.query_params.get("filter_path")),
                    status_code=status)


@router.put("/{index:index}/_doc/{doc_id}", dependencies=[need.index_write()])
@router.post("/{index:index}/_doc/{doc_id}", dependencies=[need.index_write()])
async def index_doc(index: str, doc_id: str, request: Request) -> JSONResponse:
    """Index (create or replace) a document; ``op_type=create`` refuses an existing id."""
    return await _index(request, index, doc_id, "index")


@router.post("/{index:index}/_doc", dependencies=[need.index_write()])
async def index_new_doc(index: str, request: Request) -> JSONResponse:
    """Index a document under a generated id (20 characters, time-based, as Elasticsearch makes them)."""
    return await _index(request, index, None, "index")


@router.put("/{index:index}/_create/{doc_id}",
            dependencies=[need.index("create_doc", "indices:data/write/index:op_type/create")])
@router.post("/{index:index}/_create/{doc_id}",
             dependencies=[need.index("create_doc", "indices:data/write/index:op_type/create")])
async def create_doc(index: str, doc_id: str, request: Request) -> JSONResponse:
    """Create a document; 409 when the id exists."""
    return await _index(request, index, doc_id, "create")


@router.delete("/{index:index}/_doc/{doc_id}", dependencies=[need.index("delete", "indices:data/write/delete")])
async def delete_doc(index: str, doc_id: str, request: Request) -> JSONResponse:
    """Delete a document: 200 ``deleted``, or 404 ``not_found`` (same shape)."""
    try:
        check_params(request, WRITE_PARAMS)
        if _forwardable(request) is None and not await run_in_threadpool(_exists, request, index):
            raise index_not_found(index)
        status, item = await write_one(request, "delete", _metadata(request, index, doc_id), None)
    except ElasticsearchError as exc:
        return _error(exc)
    if "error" in item:
        return item_error(item)
    return SafeJSON(written(request, item), status_code=status)


def _forwardable(request: Request) -> Any:
    """The ``--dest`` cluster's request function, or None for the embedded store."""
    dest = destination(request)
    cluster = cluster_requests(dest.sink(), dest.kind())
    return cluster.request if cluster is not None else None


def _exists(request: Request, index: str) -> bool:
    dest = destination(request)
    store = versioned(dest)
    return _has_index(dest, store, index) and store.index_exists(index)


def read_filter(request: Request) -> SourceFilter:
    """The ``_source`` filter of a read's query parameters (``stored_fields`` alone returns no source, as in
    Elasticsearch when the named fields are not stored)."""
    params = request.query_params
    default = SourceFilter(False) if "stored_fields" in params and "_source" not in params else SourceFilter()
    return from_params(params.get("_source"), params.get("_source_includes"), params.get("_source_excludes"), default)


def get_document(request: Request, index: str, doc_id: str) -> tuple[int, dict[str, Any]]:
    """GET ``_doc``: status and body, from the embedded store or the cluster (blocking)."""
    ask = _forwardable(request)
    if ask is not None:
        query = urlencode([(k, v) for k, v in request.query_params.items() if k != "filter_path"])
        status, body = ask("GET", f"/{index}/_doc/{quote(doc_id, safe='')}" + (f"?{query}" if query else ""),
                           ignore=(404, 409))
        return status, body
    dest = destination(request)
    if not dest.kind().capabilities.versions:
        return _get_unversioned(request, dest, index, doc_id)
    store = versioned(dest)
    if not _has_index(dest, store, index):
        raise index_not_found(index)
    doc = store.get_docs(index, [doc_id]).get(doc_id) if store.index_exists(index) else None
    if doc is None:
        return 404, {"_index": index, "_id": doc_id, "found": False}
    wanted = int_param(request, "version")
    if wanted is not None and wanted != doc.version:
        raise ElasticsearchError(
            f"[{doc_id}]: version conflict, current version [{doc.version}] is different than the one provided "
            f"[{wanted}]", status=409, error_type="version_conflict_engine_exception",
            extra={"index_uuid": "_na_", "shard": "0", "index": index})
    found: dict[str, Any] = {"_index": index, "_id": doc_id, "_version": doc.version, "_seq_no": doc.seq_no,
                             "_primary_term": doc.primary_term, "found": True}
    source = read_filter(request).apply(doc.source)
    if source is not None:
        found["_source"] = source
    return 200, found


def _get_unversioned(request: Request, dest: Destination, index: str, doc_id: str) -> tuple[int, dict[str, Any]]:
    """GET ``_doc`` on a sink that keeps documents but no ``_seq_no`` (LanceDB): the document without the
    version fields it cannot state, rather than made-up ones."""
    store = document_reads(dest.sink(), dest.kind())
    if not _has_index(dest, store, index):
        raise index_not_found(index)
    source = store.get(index, doc_id)
    if source is None:
        return 404, {"_index": index, "_id": doc_id, "found": False}
    found: dict[str, Any] = {"_index": index, "_id": doc_id, "found": True}
    filtered = read_filter(request).apply(source)
    if filtered is not None:
        found["_source"] = filtered
    return 200, found


@router.get("/{index:index}/_doc/{doc_id}", dependencies=[need.index("read", "indices:data/read/get")])
@router.head("/{index:index}/_doc/{doc_id}", dependencies=[need.index("read", "indices:data/read/get")])
async def get_doc(index: str, doc_id: str, request: Request) -> Response:
    """Fetch one document (``_source`` filtering; ``stored_fields``, ``realtime``, ``routing`` accepted); HEAD
    answers 200 or 404 without a body."""
    try:
        check_params(request, READ_PARAMS)
        bool_param(request, "realtime", True)
        status, body = await run_in_threadpool(get_document, request, index, doc_id)
    except ElasticsearchError as exc:
        if request.method == "HEAD":
            return Response(status_code=exc.status)
        return _error(exc)
    if request.method == "HEAD":
        return Response(status_code=status)
    return SafeJSON(apply_filter_path(body, request.query_params.get("filter_path")), status_code=status)


@router.get("/{index:index}/_source/{doc_id}", dependencies=[need.index("read", "indices:data/read/get")])
@router.head("/{index:index}/_source/{doc_id}", dependencies=[need.index("read", "indices:data/read/get")])
async def get_source(index: str, doc_id: str, request: Request) -> Response:
    """The document's ``_source`` alone (filtered as asked); 404 ``resource_not_found_exception`` when missing."""
    try:
        check_params(request, READ_PARAMS)
        status, body = await run_in_threadpool(get_document, request, index, doc_id)
        if status == 404 or not body.get("found"):
            raise ElasticsearchError(f"Document not found [{index}]/[{doc_id}]", status=404,
                                     error_type="resource_not_found_exception")
    except ElasticsearchError as exc:
        if request.method == "HEAD":
            return Response(status_code=exc.status)
        return _error(exc)
    if request.method == "HEAD":
        return Response(status_code=200)
    return SafeJSON(body.get("_source", {}))


@router.post("/{index:index}/_update/{doc_id}", dependencies=[need.index("index", "indices:data/write/update")])
async def update_doc(index: str, doc_id: str, request: Request) -> JSONResponse:
    """Partial update (``doc``, ``doc_as_upsert``, ``upsert``, ``detect_noop``) or scripted update (``script``,
    ``scripted_upsert``; ``ctx.op`` ``noop``/``delete``); ``_source`` returns the result under ``get``."""
    try:
        check_params(request, ("if_seq_no", "if_primary_term", "routing", "refresh", "timeout", "retry_on_conflict",
                               "wait_for_active_shards", "_source", "_source_includes", "_source_excludes", "lang",
                               "require_alias", "include_source_on_error"))
        int_param(request, "retry_on_conflict")  # one writer per store: a conflict can only come from if_seq_no
        body = await json_body(request)
        if not isinstance(body, dict):
            raise ParsingException("request body must be a JSON object")
        unknown = sorted(set(body) - UPDATE_KEYS)
        if unknown:
            raise ElasticsearchError(f"[1:2] [UpdateRequest] unknown field [{unknown[0]}]", status=400,
                                     error_type="x_content_parse_exception")
        params = request.query_params
        wanted = from_body(body.pop("_source", None), from_params(
            params.get("_source"), params.get("_source_includes"), params.get("_source_excludes"),
            SourceFilter(False)))
        status, item = await write_one(request, "update", _metadata(request, index, doc_id), body)
        if "error" in item:
            return item_error(item)
        response = written(request, item)
        if wanted.fetch and item.get("result") != "deleted":
            found, doc = await run_in_threadpool(get_document, request, str(item["_index"]), doc_id)
            if found == 200 and doc.get("found"):
                source = wanted.apply(doc.get("_source", {}))
                response["get"] = {"_seq_no": doc.get("_seq_no"), "_primary_term": doc.get("_primary_term"),
                                   "found": True, "_source": source if source is not None else {}}
    except ValueError as exc:
        return _error(ParsingException(f"failed to parse the request body: {exc}"))
    except ElasticsearchError as exc:
        return _error(exc)
    return SafeJSON(response, status_code=status)
