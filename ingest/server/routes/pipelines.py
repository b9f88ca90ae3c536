"""``/_ingest`` routes: a thin shell over :class:`processors.PipelineService`."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ingest.indices.service import is_index_store
from ingest.models.errors import IllegalArgumentException, ResourceNotFoundException
from ingest.processors import PipelineService
from ingest.processors.grok.library import builtin_patterns
from ingest.server.dialect import bool_param, check_params, es_response, int_param, json_body
from ingest.server.security.declare import cluster, security_user
from ingest.server.state import app_context, app_destination

router = APIRouter(tags=["ingest"])


def _service(request: Request) -> PipelineService:
    return app_context(request).pipelines()


@router.get("/_ingest/pipeline/_simulate", dependencies=[cluster("read_pipeline", "cluster:admin/ingest/pipeline/simulate")])
@router.post("/_ingest/pipeline/_simulate", dependencies=[cluster("read_pipeline", "cluster:admin/ingest/pipeline/simulate")])
async def simulate(request: Request) -> Response:
    """Simulate a pipeline given in the body."""
    return await _simulate(request, None)


@router.get("/_ingest/pipeline/{pipeline_id}/_simulate", dependencies=[cluster("read_pipeline", "cluster:admin/ingest/pipeline/simulate")])
@router.post("/_ingest/pipeline/{pipeline_id}/_simulate", dependencies=[cluster("read_pipeline", "cluster:admin/ingest/pipeline/simulate")])
async def simulate_stored(request: Request, pipeline_id: str) -> Response:
    """Simulate a stored pipeline."""
    return await _simulate(request, pipeline_id)


async def _simulate(request: Request, pipeline_id: str | None) -> Response:
    check_params(request, ("verbose",))
    verbose = bool_param(request, "verbose")
    body = await json_body(request)
    user = security_user(request)  # for set_security_user
    result = await run_in_threadpool(lambda: _service(request).simulate(body, pipeline_id, verbose, user=user))
    return es_response(request, result)


@router.put("/_ingest/pipeline/{pipeline_id}", dependencies=[cluster("manage_pipeline", "cluster:admin/ingest/pipeline/put")])
@router.post("/_ingest/pipeline/{pipeline_id}", dependencies=[cluster("manage_pipeline", "cluster:admin/ingest/pipeline/put")])
async def put_pipeline(request: Request, pipeline_id: str) -> Response:
    """Create or replace a pipeline."""
    check_params(request, ("if_version", "master_timeout", "timeout"))
    body = await json_body(request)
    result = await run_in_threadpool(_service(request).put, pipeline_id, body, int_param(request, "if_version"))
    return es_response(request, result)


@router.get("/_ingest/pipeline", dependencies=[cluster("read_pipeline", "cluster:admin/ingest/pipeline/get")])
async def get_all(request: Request) -> Response:
    """Every pipeline."""
    return await _get(request, None)


@router.get("/_ingest/pipeline/{pipeline_id}", dependencies=[cluster("read_pipeline", "cluster:admin/ingest/pipeline/get")])
async def get_pipelines(request: Request, pipeline_id: str) -> Response:
    """Pipelines by id, comma list or wildcard; 404 with ``{}`` when nothing matches."""
    return await _get(request, pipeline_id)


async def _get(request: Request, ids: str | None) -> Response:
    check_params(request, ("master_timeout", "summary"))
    summary = bool_param(request, "summary")
    found: dict[str, Any] = await run_in_threadpool(_service(request).get, ids, summary=summary)
    if not summary:
        found = _with_dates(found, await run_in_threadpool(app_context(request).registry().pipeline_dates),
                            bool_param(request, "human"))
    return es_response(request, found, status=200 if found or ids is None else 404)


def _with_dates(found: dict[str, Any], dates: dict[str, tuple[int, int]], human: bool) -> dict[str, Any]:
    """Elasticsearch 9's ``created_date_millis`` / ``modified_date_millis`` (and, with ``?human``, the dates)."""
    out = {}
    for pid, body in found.items():
        if pid not in dates:  # stored before dates were kept: Elasticsearch omits them too
            out[pid] = body
            continue
        created, modified = dates[pid]
        extra: dict[str, Any] = {}
        if human:
            extra["created_date"] = _iso(created)
        extra["created_date_millis"] = created
        if human:
            extra["modified_date"] = _iso(modified)
        extra["modified_date_millis"] = modified
        out[pid] = {**body, **extra}
    return out


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms / 1000)) + f".{ms % 1000:03d}Z"


@router.delete("/_ingest/pipeline/{pipeline_id}", dependencies=[cluster("manage_pipeline", "cluster:admin/ingest/pipeline/delete")])
async def delete_pipeline(request: Request, pipeline_id: str) -> Response:
    """Delete pipelines (wildcards allowed); warns about pipelines still referenced by others."""
    check_params(request, ("master_timeout", "timeout"))
    warnings: list[str] = []
    matched = await run_in_threadpool(_service(request).get, pipeline_id)
    if pipeline_id not in ("*", "_all") and not matched:
        # Elasticsearch: a pattern matching nothing is missing too (not a 200)
        raise ResourceNotFoundException(f"pipeline [{pipeline_id}] is missing")
    await run_in_threadpool(_refuse_in_use, request, sorted(matched))
    result = await run_in_threadpool(_service(request).delete, pipeline_id, warnings)
    headers = {"Warning": ", ".join(f'299 Elasticsearch-9.1.0 "{w}"' for w in warnings)} if warnings else None
    return es_response(request, result, headers=headers)


def _refuse_in_use(request: Request, ids: list[str]) -> None:
    """Refuse to delete a pipeline an index of the embedded store names as its default or final pipeline, with
    Elasticsearch's message (``IngestService.validateNotInUse``): its documents would be written unprocessed."""
    sink = app_destination(request).sink()
    if not ids or not is_index_store(sink):
        return  # a cluster --dest keeps its indices' settings itself
    indices: list[str] = sink.indices()  # type: ignore[attr-defined]  # the index store's listing
    catalog = app_context(request).index_catalog()
    try:
        settings = {name: catalog.settings(name) for name in indices}
    finally:
        catalog.close()
    for pipeline in ids:
        default = sorted(n for n, s in settings.items() if s.get("index.default_pipeline") == pipeline)
        final = sorted(n for n, s in settings.items() if s.get("index.final_pipeline") == pipeline)
        if not default and not final:
            continue
        parts = [f"the {kind} pipeline for {len(names)} index(es) including [{','.join(names[:3])}]"
                 for kind, names in (("default", default), ("final", final)) if names]
        raise IllegalArgumentException(f"pipeline [{pipeline}] cannot be deleted because it is {' and '.join(parts)}")


@router.get("/_ingest/processor/grok", dependencies=[cluster("manage_pipeline", "cluster:admin/ingest/processor/grok/get")])
async def grok_patterns(request: Request) -> Response:
    """The built-in grok patterns."""
    check_params(request, ("s", "ecs_compatibility"))
    try:
        bank = builtin_patterns(request.query_params.get("ecs_compatibility", "disabled"))
    except ValueError as exc:
        raise IllegalArgumentException(str(exc)) from None
    patterns = dict(sorted(bank.items())) if bool_param(request, "s") else dict(bank)
    return es_response(request, {"patterns": patterns})
