"""``_msearch``, scroll (``/_search/scroll``) and point in time (``/{index}/_pit``, ``/_pit``)."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ingest.models.errors import ElasticsearchError
from ingest.query.dsl import parsing_error
from ingest.query.source import SourceFilter
from ingest.server import convertors  # noqa: F401 - registers the {index} path convertor
from ingest.server.dialect import json_body
from ingest.server.routes.bulk import SafeJSON, _error
from ingest.server.routes.search import _corpora, _names, run_search
from ingest.server.security import declare as need
from ingest.server.state import app_context

router = APIRouter(tags=["search"])


async def _msearch(request: Request, index: str | None) -> JSONResponse:
    started = time.monotonic()
    raw = (await request.body()).decode()
    lines = [line for line in raw.split("\n") if line.strip()]
    if len(lines) % 2:
        return _error(parsing_error("The msearch request must be terminated by a newline [\\n]"))
    responses: list[dict[str, Any]] = []
    for header_line, body_line in zip(lines[::2], lines[1::2], strict=True):
        try:
            header, body = json.loads(header_line), json.loads(body_line)
            target = header.get("index", index)
            if isinstance(target, list):
                target = ",".join(target)
            answer = await run_in_threadpool(run_search, request, target, body)
            responses.append({**answer, "status": 200})
        except ElasticsearchError as exc:
            responses.append({**exc.to_dict(), "status": exc.status})
        except ValueError as exc:
            responses.append({"error": {"type": "parsing_exception", "reason": str(exc)}, "status": 400})
    return SafeJSON({"took": int((time.monotonic() - started) * 1000), "responses": responses})


@router.get("/_msearch", dependencies=[need.bulk("indices:data/read/msearch")])
@router.post("/_msearch", dependencies=[need.bulk("indices:data/read/msearch")])
async def msearch_all(request: Request) -> JSONResponse:
    """``_msearch``: each item is a search, checked against the caller's read on its own indices."""
    return await _msearch(request, None)


@router.get("/{index:index}/_msearch", dependencies=[need.bulk("indices:data/read/msearch")])
@router.post("/{index:index}/_msearch", dependencies=[need.bulk("indices:data/read/msearch")])
async def msearch(index: str, request: Request) -> JSONResponse:
    """``_msearch`` with a default index."""
    return await _msearch(request, index)


@router.get("/_search/scroll", dependencies=[need.bulk("indices:data/read/scroll")])
@router.post("/_search/scroll", dependencies=[need.bulk("indices:data/read/scroll")])
async def scroll(request: Request) -> JSONResponse:
    """The next page of a scroll (a scroll id names one caller's search; its indices were checked then)."""
    try:
        body = await json_body(request, required=False) or {}
        scroll_id = body.get("scroll_id", request.query_params.get("scroll_id"))
        if not scroll_id:
            raise ElasticsearchError("Validation Failed: 1: scrollId is missing;", status=400,
                                     error_type="action_request_validation_exception")
        alive = body.get("scroll", request.query_params.get("scroll"))
        return SafeJSON(app_context(request).search().scroll(str(scroll_id), alive, SourceFilter()))
    except ElasticsearchError as exc:
        return _error(exc)


@router.delete("/_search/scroll", dependencies=[need.bulk("indices:data/read/scroll/clear")])
async def clear_scroll(request: Request) -> JSONResponse:
    """Free scrolls."""
    try:
        body = await json_body(request, required=False) or {}
        ids = body.get("scroll_id", [])
        ids = [ids] if isinstance(ids, str) else list(ids)
        freed = app_context(request).search().clear_scroll([str(i) for i in ids])
        return SafeJSON({"succeeded": True, "num_freed": freed}, status_code=200 if freed or not ids else 404)
    except ElasticsearchError as exc:
        return _error(exc)


@router.post("/{index:index}/_pit", dependencies=[need.index("read", "indices:data/read/open_point_in_time")])
async def open_pit(index: str, request: Request) -> JSONResponse:
    """Open a point in time: the indices' documents as they are now, for ``pit`` searches."""
    try:
        alive = request.query_params.get("keep_alive")
        if alive is None:
            raise ElasticsearchError("Validation Failed: 1: [keep_alive] is not specified;", status=400,
                                     error_type="action_request_validation_exception")

        def open_it() -> str:
            corpora, props = _corpora(request, _names(request, index))
            return app_context(request).search().open_pit(corpora, props, alive)

        pit_id = await run_in_threadpool(open_it)
        return SafeJSON({"id": pit_id, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0}})
    except ElasticsearchError as exc:
        return _error(exc)


@router.delete("/_pit", dependencies=[need.bulk("indices:data/read/close_point_in_time")])
async def close_pit(request: Request) -> JSONResponse:
    """Close a point in time."""
    try:
        body = await json_body(request) or {}
        freed = app_context(request).search().close_pit(str(body.get("id")))
        return SafeJSON({"succeeded": True, "num_freed": freed}, status_code=200 if freed else 404)
    except ElasticsearchError as exc:
        return _error(exc)
