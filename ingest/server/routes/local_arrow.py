"""``POST /_ingest_local/arrow_bulk``: a job of this home hands its batches over still Arrow (issue 14 item 4).

Only the home's own CLI may use it (``need.local``: the local token from a loopback peer, whatever the security
state; not even a superuser's API key). The job has run every pipeline already and resolved the write index, so
the route hands the batch to the destination's ``write_batch`` — what the job would call writing the store
itself — and answers one item per row (``ingest.sinks.served.wire``). A destination whose kind takes no Arrow
batches answers 400 (the CLI only comes here when the server owns the home's embedded store).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.server.destination import Destination
from ingest.server.security import declare as need
from ingest.server.state import app_destination
from ingest.sinks.registry import batch_writes
from ingest.sinks.served.wire import ARROW_ACTION, ARROW_PATH, decode_batch, encode_results

router = APIRouter(tags=["local"])


@router.post(ARROW_PATH, dependencies=[need.local(ARROW_ACTION)])
async def arrow_bulk(request: Request, dest: Destination = Depends(app_destination)) -> Response:
    """Write one Arrow batch of whole documents to the destination's store; one item per row."""
    raw = await request.body()
    try:
        index, table, ids = decode_batch(raw)
        batches = batch_writes(dest.sink())
        if batches is None:
            raise IllegalArgumentException(f"the [{dest.kind().name}] destination takes no Arrow batches")
        # DuckDB blocks: on the thread pool, not the event loop
        results = await run_in_threadpool(batches.write_batch, index, table, ids)
        dest.snapshots().touch(index)  # the analysts' snapshot, once the job has been quiet a moment
    except ElasticsearchError as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.status)
    return Response(encode_results(results), media_type="application/json")
