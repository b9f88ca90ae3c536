"""Streaming ingest over HTTP: ``_bulk``, ``GET /{index}/_doc/{id}``, ``GET /{index}/_count`` (``PUT /{index}``: routes/indices.py).

Documents are written to the app's destination (``app.state.destination``, an
``ingest.server.destination.Destination``: ``ingest serve --dest URL``, default the embedded store). Index-scoped
paths use the ``index`` path convertor, which refuses names starting with ``_`` so these catch-all routes never
shadow ``/_inference``, ``/_ingest``, ``/_ml`` and the like, whatever the order in which routers are included.
``PUT /_something`` is answered with Elasticsearch's invalid index name error.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.processors.datemath import resolve_index_name
from ingest.server.destination import DEFAULT_TIMEOUT_S, Destination
from ingest.server.filterpath import apply_filter_path
from ingest.server.limits import SimpleError, body_format
from ingest.server.security import declare as need
from ingest.server.security.bulkauth import AuthorizedSink


class IndexNameConvertor(Convertor[str]):
    """A path segment that can be an index name: not starting with ``_``; or a date-math name such as
    ``<logs-{now/d}>`` (sent URL-encoded, its ``/`` arrives decoded), resolved here as Elasticsearch resolves
    date math in every index path, so routes and privilege checks see the concrete index."""

    regex = "<[^>]*>|[^_/][^/]*"

    def convert(self, value: str) -> str:
        try:
            return resolve_index_name(value)
        except ElasticsearchError:  # a bad expression is left as sent: the index-name check names it
            return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("index", IndexNameConvertor())

class SafeJSON(JSONResponse):
    """JSON that stays valid UTF-8 when a value holds a lone surrogate (escaped, rather than a 500)."""

    def render(self, content: Any) -> bytes:
        """Starlette's rendering, or ASCII-escaped JSON when the text cannot be UTF-8."""
        try:
            return super().render(content)
        except UnicodeEncodeError:
            return json.dumps(content, separators=(",", ":")).encode()


router = APIRouter(tags=["bulk"])


def destination(request: Request) -> Destination:
    """The app's destination (set by ``create_app``)."""
    dest: Destination = request.app.state.destination
    return dest


def _error(exc: ElasticsearchError) -> JSONResponse:
    return SafeJSON(exc.to_dict(), status_code=exc.status)


def _embedded(dest: Destination) -> Any:
    sink = dest.sink()
    if not hasattr(sink, "count") or not hasattr(sink, "get"):
        raise IllegalArgumentException("this API is only available on the embedded store")
    return sink


def _from_cluster(dest: Destination, path: str) -> JSONResponse | None:
    """The cluster's own answer to a read (``--dest`` is a cluster), or None for the embedded store."""
    sink = dest.sink()
    ask = getattr(sink, "request", None)
    if not callable(ask):
        return None
    status, body = ask("GET", path, ignore=(404,))
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


async def _bulk(request: Request, index: str | None) -> JSONResponse:
    if body_format(request.headers.get("content-type")) == "yaml":
        vendor = "VND_" if "vnd.elasticsearch" in request.headers.get("content-type", "") else ""
        return _error(SimpleError(f"Content-Type [{vendor}YAML] does not support stream parsing. Use JSON or SMILE "
                                  "instead", status=406))
    raw = await request.body()
    params = request.query_params
    dest = destination(request)
    try:
        timeout_s = parse_timeout(params.get("timeout"))
        authorize = AuthorizedSink.checker(need.principal_of(request), request)  # each item against its index
        # Inference, DuckDB and the cluster's answers block: run them on the thread pool, not the event loop.
        body = await run_in_threadpool(
            lambda: dest.bulk(raw, index=index, pipeline=params.get("pipeline"), refresh=params.get("refresh"),
                              timeout_s=timeout_s, authorize=authorize, user=need.security_user(request)))
    except ElasticsearchError as exc:
        return _error(exc)
    return SafeJSON(apply_filter_path(body, params.get("filter_path")))  # Logstash sends errors,items.*.error,...


@router.post("/_bulk", dependencies=[need.bulk()])
@router.put("/_bulk", dependencies=[need.bulk()])
async def bulk(request: Request) -> JSONResponse:
    """Elasticsearch's ``_bulk``."""
    return await _bulk(request, None)


@router.post("/{index:index}/_bulk", dependencies=[need.bulk()])
@router.put("/{index:index}/_bulk", dependencies=[need.bulk()])
async def index_bulk(index: str, request: Request) -> JSONResponse:
    """``_bulk`` with a default index."""
    return await _bulk(request, index)


def _index_not_found(index: str) -> ElasticsearchError:
    return ElasticsearchError(
        f"no such index [{index}]", status=404, error_type="index_not_found_exception",
        extra={"resource.type": "index_or_alias", "resource.id": index, "index_uuid": "_na_", "index": index},
    )


def _has_index(store: Any, index: str) -> bool:
    from ingest.jobs.indexmeta import IndexMeta

    meta = IndexMeta()
    try:
        if meta.exists(index):
            return True
    finally:
        meta.close()
    exists = getattr(store, "index_exists", None) or getattr(store, "exists", None)
    return bool(exists(index)) if callable(exists) else True


@router.get("/{index:index}/_doc/{doc_id}", dependencies=[need.index("read", "indices:data/read/get")])
def get_doc(index: str, doc_id: str, request: Request) -> JSONResponse:
    """Fetch one document from the embedded store, or from the ``--dest`` cluster."""
    try:
        forwarded = _from_cluster(destination(request), f"/{index}/_doc/{quote(doc_id, safe='')}")
        if forwarded is not None:
            return forwarded
        store = _embedded(destination(request))
        if not _has_index(store, index):
            raise _index_not_found(index)
        source = store.get(index, doc_id)
    except ElasticsearchError as exc:
        return _error(exc)
    if source is None:
        return SafeJSON({"_index": index, "_id": doc_id, "found": False}, status_code=404)
    return SafeJSON({"_index": index, "_id": doc_id, "_version": 1, "_seq_no": 0, "_primary_term": 1,
                         "found": True, "_source": source})


@router.get("/{index:index}/_count", dependencies=[need.index("read", "indices:data/read/search")])
@router.post("/{index:index}/_count", dependencies=[need.index("read", "indices:data/read/search")])
def count(index: str, request: Request) -> JSONResponse:
    """Document count of an embedded index, or of the ``--dest`` cluster's."""
    try:
        forwarded = _from_cluster(destination(request), f"/{index}/_count")
        if forwarded is not None:
            return forwarded
        store = _embedded(destination(request))
        if not _has_index(store, index):
            raise _index_not_found(index)
        n = store.count(index)
    except ElasticsearchError as exc:
        return _error(exc)
    return SafeJSON({"count": n, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}})
