"""``POST /_ingest_local/job``: the home's CLI hands a whole job (a file source) to the server, which runs it
with its own store and streams the job's events back as NDJSON (``ingest.server.localjobs``; issue 14 item 4).

Only the home's own CLI may use it (``need.local``: the local token from a loopback peer, whatever the security
state), as the Arrow route: the server reads the file the CLI names, as the user who runs both. The job is
cancelled when the client goes away. A server whose destination is not the home's embedded store answers 400.
``POST /_ingest_local/job/stream``: the same for ``ingest run --source -``, whose standard input is the request
body after the spec line (``ingest.server.streamjob``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.models.jsonparse import loads
from ingest.server.destination import Destination
from ingest.server.localjobs import LocalJobs, ServedJob, parse_spec
from ingest.server.security import declare as need
from ingest.server.state import app_destination
from ingest.server.streamjob import StreamedJobResponse, job_events
from ingest.sinks.served.wire import JOB_ACTION, JOB_PATH, JOB_STOP_PATH, JOB_STREAM_PATH

router = APIRouter(tags=["local"])


def app_local_jobs(request: Request) -> LocalJobs:
    """The app's running local jobs (``create_app``)."""
    jobs: LocalJobs = request.app.state.local_jobs
    return jobs


@router.post(JOB_PATH, dependencies=[need.local(JOB_ACTION)])
async def local_job(request: Request, dest: Destination = Depends(app_destination),
                    jobs: LocalJobs = Depends(app_local_jobs)) -> Response:
    """Run a job with the server's store; NDJSON events: ``progress``…, then ``summary`` or ``error``."""
    try:
        config, source_path = parse_spec(await request.body())
        if not dest.kind().capabilities.index_store:
            raise IllegalArgumentException(f"the [{dest.kind().name}] destination is not the home's store")
        job = await run_in_threadpool(jobs.start, config, source_path, dest)
    except ElasticsearchError as exc:
        return JSONResponse(exc.to_dict(), status_code=exc.status)
    return StreamingResponse(_events(request, job), media_type="application/x-ndjson")


@router.post(JOB_STREAM_PATH, dependencies=[need.local(JOB_ACTION)])
async def local_stream_job(dest: Destination = Depends(app_destination),
                           jobs: LocalJobs = Depends(app_local_jobs)) -> StreamedJobResponse:
    """Run a job whose source is the rest of the body (the CLI's standard input; ``ingest.server.streamjob``)."""
    return StreamedJobResponse(jobs, dest)


@router.post(JOB_STOP_PATH, dependencies=[need.local(JOB_ACTION)])
async def local_job_stop(request: Request, jobs: LocalJobs = Depends(app_local_jobs)) -> Response:
    """Stop a running job's streaming source gracefully (``{"job_id": ...}``; 404 when none can be stopped)."""
    spec = loads(await request.body())
    job_id = spec.get("job_id") if isinstance(spec, dict) else None
    if not isinstance(job_id, str):
        return JSONResponse(IllegalArgumentException("expected {\"job_id\": \"...\"}").to_dict(), status_code=400)
    if not jobs.stop_reading(job_id):
        missing = ElasticsearchError(f"no running job [{job_id}] with a source to stop", status=404,
                                     error_type="resource_not_found_exception")
        return JSONResponse(missing.to_dict(), status_code=404)
    return JSONResponse({"acknowledged": True})


async def _events(request: Request, job: ServedJob) -> AsyncIterator[bytes]:
    """The job's events as they come; the job is cancelled however the stream ends (a finished job ignores it)."""
    try:
        async for line in job_events(job, request.is_disconnected):
            yield line
    finally:
        job.cancel.set()
