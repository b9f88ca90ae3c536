"""``POST /_inference/{completion|chat_completion}/{id}/_stream``: server-sent events as Elasticsearch frames them.

Each chunk is ``<BOM>event: message\\ndata: <json>\\n\\n``; the stream ends with ``data: [DONE]``; a failure after
the first byte is an ``event: error`` carrying the error envelope. Failures before any chunk are ordinary JSON
errors. The event generator is asynchronous on purpose: when the client disconnects, Starlette cancels it at
its ``await``, its ``finally`` runs at once and closes the service's iterator, which cancels the upstream
request (a synchronous generator would only be finalised whenever it is garbage-collected).
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ingest.models.api import InferenceAPI
from ingest.models.endpoints.requests import InferBody, parse_body
from ingest.models.errors import ActionRequestValidationException, ElasticsearchError
from ingest.server.dialect import PRODUCT_HEADER, check_params, json_body, time_param
from ingest.server.security.declare import cluster

router = APIRouter(tags=["inference"])
log = logging.getLogger(__name__)

BOM = "\ufeff"
_END = object()


def sse_frame(event: str, data: str) -> bytes:
    """One server-sent event, framed as Elasticsearch writes it."""
    return f"{BOM}event: {event}\ndata: {data}\n\n".encode()


async def relay(chunks: Iterator[dict[str, Any]], first: Any, inference_id: str) -> AsyncIterator[bytes]:
    """SSE frames for ``first`` and the rest of ``chunks``; closing (disconnect) closes ``chunks``."""
    try:
        chunk = first
        while chunk is not _END:
            yield sse_frame("message", json.dumps(chunk))
            chunk = await run_in_threadpool(next, chunks, _END)
        yield sse_frame("message", "[DONE]")
    except ElasticsearchError as exc:
        yield sse_frame("error", json.dumps(exc.to_dict()))
    except Exception:
        log.exception("stream of [%s] failed", inference_id)
        yield sse_frame("error", json.dumps(ElasticsearchError("internal server error; see the server log").to_dict()))
    finally:
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


@router.post("/_inference/{task_type}/{inference_id}/_stream", dependencies=[cluster("monitor_inference", "cluster:monitor/xpack/inference")])
async def stream(request: Request, task_type: str, inference_id: str) -> Response:
    """Stream a completion or chat completion."""
    check_params(request, ("timeout",))
    timeout = time_param(request, "timeout", 120 if task_type == "chat_completion" else 30)
    raw = await json_body(request)
    api: InferenceAPI = request.app.state.api
    if task_type == "chat_completion":
        if not isinstance(raw, dict):
            raise ActionRequestValidationException(["request body is required and must be a JSON object"])
        chunks = await run_in_threadpool(
            lambda: api.stream(inference_id, task_type=task_type, chat=raw, timeout_s=timeout))
    else:
        body = parse_body(InferBody, raw, action=True)
        chunks = await run_in_threadpool(
            lambda: api.stream(inference_id, body.input, task_type=task_type, task_settings=body.task_settings,
                               timeout_s=timeout))
    iterator = iter(chunks)
    first = await run_in_threadpool(next, iterator, _END)  # errors before any byte stay plain JSON errors
    return StreamingResponse(relay(iterator, first, inference_id), media_type="text/event-stream",
                             headers=dict(PRODUCT_HEADER))
