"""Streaming ingest over HTTP: ``_bulk``, ``PUT /{index}``, ``GET /{index}/_doc/{id}``, ``GET /{index}/_count``.

Documents are written to the server's sink: ``$INGEST_BULK_DEST`` (default ``embedded``), opened on first
use. Index-scoped paths use the ``index`` path convertor, which refuses names starting with ``_`` so these
catch-all routes never shadow ``/_inference``, ``/_ingest``, ``/_ml`` and the like, whatever the order in
which routers are included. ``PUT /_something`` is answered with Elasticsearch's invalid index name error.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor

from ingest.jobs.bulkapi import create_index, run_bulk, validate_index_name
from ingest.server.security import declare as need
from ingest.server.security.bulkauth import AuthorizedSink
from ingest.sinks.base import Sink
from models.errors import ElasticsearchError, IllegalArgumentException, ParsingException


class IndexNameConvertor(Convertor[str]):
    """A path segment that can be an index name: not starting with ``_``."""

    regex = "[^_/][^/]*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("index", IndexNameConvertor())

router = APIRouter(tags=["bulk"])
_lock = threading.Lock()
_state: dict[str, Any] = {}


def set_sink(sink: Sink | None) -> None:
    """Use this sink for the routes (an embedding application, tests); None reopens from the environment."""
    with _lock:
        old = _state.pop("sink", None)
        if old is not None and old is not sink:
            old.close()
        if sink is not None:
            _state["sink"] = sink


def _sink() -> Sink:
    with _lock:
        if "sink" not in _state:
            from ingest.sinks import open_sink

            _state["sink"] = open_sink(os.environ.get("INGEST_BULK_DEST", "embedded"))
        return _state["sink"]


def _pipelines() -> Any:
    with _lock:
        if "pipelines" not in _state:
            from ingest.jobs.cache import CachingInference, EmbeddingCache
            from models.api import default_api
            from models.store import Store
            from processors import PipelineService

            inference = CachingInference(default_api(), EmbeddingCache())
            _state["pipelines"] = PipelineService(Store(), inference)
        return _state["pipelines"]


def _error(exc: ElasticsearchError) -> JSONResponse:
    return JSONResponse(exc.to_dict(), status_code=exc.status)


def _embedded() -> Any:
    sink = _sink()
    if not hasattr(sink, "count") or not hasattr(sink, "get"):
        raise IllegalArgumentException("this API is only available on the embedded store")
    return sink


async def _bulk(request: Request, index: str | None) -> JSONResponse:
    raw = await request.body()
    params = request.query_params
    try:
        # Inference and DuckDB block: run them on the thread pool, not the event loop.
        body = await run_in_threadpool(_bulk_sync, raw, index, params.get("pipeline"), params.get("refresh"),
                                       AuthorizedSink.checker(need.principal_of(request), request))
    except ElasticsearchError as exc:
        return _error(exc)
    return JSONResponse(body)


def _bulk_sync(raw: bytes, index: str | None, pipeline: str | None, refresh: str | None,
               authorized: Callable[[Sink], Sink]) -> dict[str, Any]:
    sink = authorized(_sink())  # each item is checked against its final index
    body = run_bulk(raw, sink=sink, pipelines=_PipelinesProxy(), default_index=index, request_pipeline=pipeline)
    if refresh not in (None, "false"):
        for target in {next(iter(item.values())).get("_index") for item in body["items"]} - {None}:
            sink.refresh(str(target))
    return body


class _PipelinesProxy:
    """Loads the pipeline service only when a request needs a pipeline."""

    def load(self, pipeline_id: str) -> Any:
        return _pipelines().load(pipeline_id)


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


@router.put("/{index}", dependencies=[need.index("create_index", "indices:admin/create")])
async def put_index(index: str, request: Request) -> JSONResponse:
    """Create an index, with ``settings.index.default_pipeline`` and vector mappings."""
    raw = await request.body()
    try:
        validate_index_name(index)
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ParsingException("request body must be a JSON object")
        return JSONResponse(await run_in_threadpool(create_index, index, body, _sink()))
    except ValueError as exc:
        return _error(ParsingException(f"failed to parse the request body: {exc}"))
    except ElasticsearchError as exc:
        return _error(exc)


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
def get_doc(index: str, doc_id: str) -> JSONResponse:
    """Fetch one document from the embedded store."""
    try:
        store = _embedded()
        if not _has_index(store, index):
            raise _index_not_found(index)
        source = store.get(index, doc_id)
    except ElasticsearchError as exc:
        return _error(exc)
    if source is None:
        return JSONResponse({"_index": index, "_id": doc_id, "found": False}, status_code=404)
    return JSONResponse({"_index": index, "_id": doc_id, "_version": 1, "_seq_no": 0, "_primary_term": 1,
                         "found": True, "_source": source})


@router.get("/{index:index}/_count", dependencies=[need.index("read", "indices:data/read/search")])
@router.post("/{index:index}/_count", dependencies=[need.index("read", "indices:data/read/search")])
def count(index: str) -> JSONResponse:
    """Document count of an embedded index."""
    try:
        store = _embedded()
        if not _has_index(store, index):
            raise _index_not_found(index)
        n = store.count(index)
    except ElasticsearchError as exc:
        return _error(exc)
    return JSONResponse({"count": n, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}})
