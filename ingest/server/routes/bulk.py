"""Streaming ingest over HTTP: ``_bulk``, ``GET /{index}/_count`` (documents: ``documents.py``; ``PUT /{index}``:
``indices.py``).

Documents are written to the app's destination (an ``ingest.server.destination.Destination`` over the app's
context, ``Depends(app_destination)``: ``ingest serve --dest URL``, default the embedded store). Index-scoped
paths use the ``index`` path convertor, which refuses names starting with ``_`` so these catch-all routes never
shadow ``/_inference``, ``/_ingest``, ``/_ml`` and the like, whatever the order in which routers are included.
``PUT /_something`` is answered with Elasticsearch's invalid index name error.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.query.source import SourceFilter, from_params
from ingest.server import convertors  # noqa: F401 - registers the {index} path convertor
from ingest.server.destination import DEFAULT_TIMEOUT_S, Destination
from ingest.server.dialect import refresh_param
from ingest.server.filterpath import apply_filter_path
from ingest.server.limits import SimpleError, body_format
from ingest.server.security import declare as need
from ingest.server.security.bulkauth import AuthorizedSink
from ingest.server.state import app_destination
from ingest.sinks.base import DocumentReads
from ingest.sinks.bulk.versioned import VersionedDocuments
from ingest.sinks.registry import cluster_requests, document_reads, versioned_documents
from ingest.sinks.served.wire import PIPELINES_DONE


class SafeJSON(JSONResponse):
    """JSON that stays valid UTF-8 when a value holds a lone surrogate (escaped, rather than a 500)."""

    def render(self, content: Any) -> bytes:
        """Starlette's rendering, or ASCII-escaped JSON when the text cannot be UTF-8."""
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, separators=(",", ":")).encode()


router = APIRouter(tags=["bulk"])


def _error(exc: ElasticsearchError) -> JSONResponse:
    return SafeJSON(exc.to_dict(), status_code=exc.status)


def _embedded(dest: Destination) -> DocumentReads:
    """The destination's document reads, when its kind declares them (registry), else a 400."""
    return document_reads(dest.sink(), dest.kind())


def versioned(dest: Destination) -> VersionedDocuments:
    """The destination's versioned documents (the document APIs), when its kind declares them, else a 400."""
    return versioned_documents(dest.sink(), dest.kind())


def _from_cluster(dest: Destination, path: str) -> JSONResponse | None:
    """The cluster's own answer to a read (``--dest`` is a cluster), or None for a local sink."""
    cluster = cluster_requests(dest.sink(), dest.kind())
    if cluster is None:
        return None
    status, body = cluster.request("GET", path, ignore=(404,))
    return JSONResponse(body, status_code=status)


_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_timeout(value: str | None) -> float:
    """Elasticsearch's time value (``30s``, ``1m``, ``500ms``) in seconds; the bulk default when absent."""
    if value is None:
        return DEFAULT_TIMEOUT_S
    if value in ("0", "-1"):  # Elasticsearch's special values: no wait, wait without limit
        return 0.0 if value == "0" else 86400.0
    for unit in ("ms", "s", "m", "h", "d"):
        number = value[: -len(unit)]
        if value.endswith(unit) and number.replace(".", "", 1).isdigit():
            return float(number) * _UNITS[unit]
    raise IllegalArgumentException(
        f"failed to parse setting [timeout] with value [{value}] as a time value: unit is missing or unrecognized")


async def _bulk(request: Request, index: str | None, dest: Destination) -> JSONResponse:
    if body_format(request.headers.get("content-type")) == "yaml":
        vendor = "VND_" if "vnd.elasticsearch" in request.headers.get("content-type", "") else ""
        return _error(SimpleError(f"Content-Type [{vendor}YAML] does not support stream parsing. Use JSON or SMILE "
                                  "instead", status=406))
    raw = await request.body()
    params = request.query_params
    try:
        timeout_s = parse_timeout(params.get("timeout"))
        refresh = refresh_param(request)
        authorize = AuthorizedSink.checker(need.principal_of(request), request)  # each item against its index
        # a job of this home ran every pipeline itself, the final one too: trusted from the local client only
        done = request.headers.get(PIPELINES_DONE) == "true" and need.is_local_client(request)
        # Inference, DuckDB and the cluster's answers block: run them on the thread pool, not the event loop.
        body = await run_in_threadpool(
            lambda: dest.bulk(raw, index=index, pipeline=params.get("pipeline"), refresh=refresh,
                              timeout_s=timeout_s, authorize=authorize, user=need.security_user(request),
                              source=from_params(params.get("_source"), params.get("_source_includes"),
                                                 params.get("_source_excludes"), SourceFilter(False)),
                              pipelines_done=done))
    except ElasticsearchError as exc:
        return _error(exc)
    return SafeJSON(apply_filter_path(body, params.get("filter_path")))  # Logstash sends errors,items.*.error,...


@router.post("/_bulk", dependencies=[need.bulk()])
@router.put("/_bulk", dependencies=[need.bulk()])
async def bulk(request: Request, dest: Destination = Depends(app_destination)) -> JSONResponse:
    """Elasticsearch's ``_bulk``."""
    return await _bulk(request, None, dest)


@router.post("/{index:index}/_bulk", dependencies=[need.bulk()])
@router.put("/{index:index}/_bulk", dependencies=[need.bulk()])
async def index_bulk(index: str, request: Request, dest: Destination = Depends(app_destination)) -> JSONResponse:
    """``_bulk`` with a default index."""
    return await _bulk(request, index, dest)


def _index_not_found(index: str) -> ElasticsearchError:
    return ElasticsearchError(
        f"no such index [{index}]", status=404, error_type="index_not_found_exception",
        extra={"resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_", "index": index},
    )


def local_reads(dest: Destination) -> DocumentReads | None:
    """The destination's document reads when its kind declares them (registry), else None (a cluster)."""
    kind = dest.kind()
    return document_reads(dest.sink(), kind) if kind.capabilities.documents else None


def _has_index(dest: Destination, store: DocumentReads | None, index: str) -> bool:
    """Whether ``index`` exists: created through ingest, or in a local sink (a cluster's indices: assumed)."""
    meta = dest.context.index_meta()
    try:
        if meta.exists(index):
            return True
    finally:
        meta.close()
    return store is None or store.index_exists(index)


