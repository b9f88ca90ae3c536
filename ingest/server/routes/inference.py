"""``/_inference`` routes: a thin shell over :class:`ingest.models.api.InferenceAPI`."""

from __future__ import annotations

import logging
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from ingest.models.api import InferenceAPI
from ingest.models.endpoints.requests import InferBody, PutEndpointBody, UpdateEndpointBody, parse_body
from ingest.semantic.fields import MappedIndices, indexes_using
from ingest.server.dialect import bool_param, check_params, es_response, json_body, time_param
from ingest.server.security.declare import cluster
from ingest.server.state import app_destination

router = APIRouter(tags=["inference"])
log = logging.getLogger(__name__)

_LONG_TASKS = ("completion", "chat_completion")


def _api(request: Request) -> InferenceAPI:
    api: InferenceAPI = request.app.state.api
    return api


def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return {"requestBody": {"required": True,
                            "content": {"application/json": {"schema": model.model_json_schema()}}}}


# -- GET ---------------------------------------------------------------------------------------------

async def _get(request: Request, inference_id: str | None, task_type: str | None) -> Response:
    check_params(request, ())
    body = await run_in_threadpool(_api(request).get, inference_id, task_type=task_type)
    return es_response(request, body)


async def _services(request: Request, task_type: str | None) -> Response:
    check_params(request, ())
    body = await run_in_threadpool(_api(request).get_services, task_type)
    return es_response(request, body)


# registered before /_inference/{inference_id} so that "_services" is never taken for an endpoint id
@router.get("/_inference/_services",
            dependencies=[cluster("monitor_inference", "cluster:monitor/xpack/inference/services/get")])
async def get_services(request: Request) -> Response:
    """Every service's task types and configuration schema (Kibana builds its forms from it)."""
    return await _services(request, None)


@router.get("/_inference/_services/{task_type}",
            dependencies=[cluster("monitor_inference", "cluster:monitor/xpack/inference/services/get")])
async def get_services_typed(request: Request, task_type: str) -> Response:
    """The services supporting one task type."""
    return await _services(request, task_type)


@router.get("/_inference", dependencies=[cluster("monitor_inference", "cluster:monitor/xpack/inference/get")])
async def get_all(request: Request) -> Response:
    """List every endpoint."""
    return await _get(request, None, None)


@router.get("/_inference/{inference_id}", dependencies=[cluster("monitor_inference", "cluster:monitor/xpack/inference/get")])
async def get_one(request: Request, inference_id: str) -> Response:
    """One endpoint (or ``_all``)."""
    return await _get(request, inference_id, None)


@router.get("/_inference/{task_type}/{inference_id}", dependencies=[cluster("monitor_inference", "cluster:monitor/xpack/inference/get")])
async def get_typed(request: Request, task_type: str, inference_id: str) -> Response:
    """One endpoint of a task type (or ``_all`` of that type)."""
    return await _get(request, inference_id, task_type)


# -- _update (registered before PUT so that ".../_update" is never taken for an id) --------------------

async def _update(request: Request, inference_id: str, task_type: str | None) -> Response:
    check_params(request, ("timeout",))
    time_param(request, "timeout", 30)
    body = await json_body(request)
    result = await run_in_threadpool(_api(request).update, inference_id, body, task_type=task_type)
    return es_response(request, result)


@router.put("/_inference/{inference_id}/_update", dependencies=[cluster("manage_inference", "cluster:admin/xpack/inference/update")], openapi_extra=_schema(UpdateEndpointBody))
async def update(request: Request, inference_id: str) -> Response:
    """Update task settings, secrets, allocations or rate limits."""
    return await _update(request, inference_id, None)


@router.put("/_inference/{task_type}/{inference_id}/_update", dependencies=[cluster("manage_inference", "cluster:admin/xpack/inference/update")], openapi_extra=_schema(UpdateEndpointBody))
async def update_typed(request: Request, task_type: str, inference_id: str) -> Response:
    """Update an endpoint of a given task type."""
    return await _update(request, inference_id, task_type)


# -- PUT ---------------------------------------------------------------------------------------------

async def _put(request: Request, inference_id: str, task_type: str | None) -> Response:
    check_params(request, ("timeout",))
    timeout = time_param(request, "timeout", 120 if task_type in _LONG_TASKS else 30)
    body = await json_body(request)
    result = await run_in_threadpool(
        lambda: _api(request).put(inference_id, body, task_type=task_type, timeout_s=timeout)
    )
    return es_response(request, result)


@router.put("/_inference/{inference_id}", dependencies=[cluster("manage_inference", "cluster:admin/xpack/inference/put")], openapi_extra=_schema(PutEndpointBody))
async def put(request: Request, inference_id: str) -> Response:
    """Create an endpoint."""
    return await _put(request, inference_id, None)


@router.put("/_inference/{task_type}/{inference_id}", dependencies=[cluster("manage_inference", "cluster:admin/xpack/inference/put")], openapi_extra=_schema(PutEndpointBody))
async def put_typed(request: Request, task_type: str, inference_id: str) -> Response:
    """Create an endpoint of a given task type."""
    return await _put(request, inference_id, task_type)


# POST .../_stream lives in ingest.server.routes.stream, included before this router.


# -- POST (inference) --------------------------------------------------------------------------------

async def _infer(request: Request, inference_id: str, task_type: str | None) -> Response:
    check_params(request, ("timeout",))
    timeout = time_param(request, "timeout", 120 if task_type in _LONG_TASKS else 30)
    body = parse_body(InferBody, await json_body(request), action=True)
    # Awaited, not on a worker thread: local models queue at once (429 when full), as Elasticsearch's do.
    result = await _api(request).infer_async(
        inference_id, body.input, task_type=task_type, input_type=body.input_type,
        task_settings=body.task_settings, query=body.query, return_documents=body.return_documents,
        top_n=body.top_n, timeout_s=timeout,
    )
    return es_response(request, result.to_dict())


@router.post("/_inference/{inference_id}", dependencies=[cluster("monitor_inference", "cluster:monitor/xpack/inference")], openapi_extra=_schema(InferBody))
async def infer(request: Request, inference_id: str) -> Response:
    """Run inference."""
    return await _infer(request, inference_id, None)


@router.post("/_inference/{task_type}/{inference_id}", dependencies=[cluster("monitor_inference", "cluster:monitor/xpack/inference")], openapi_extra=_schema(InferBody))
async def infer_typed(request: Request, task_type: str, inference_id: str) -> Response:
    """Run inference, checking the endpoint's task type."""
    return await _infer(request, inference_id, task_type)


# -- DELETE ------------------------------------------------------------------------------------------

async def _delete(request: Request, inference_id: str, task_type: str | None) -> Response:
    check_params(request, ("dry_run", "force"))
    dry_run, force = bool_param(request, "dry_run"), bool_param(request, "force")
    sink = app_destination(request).sink() if app_destination(request).kind().capabilities.index_store else None

    def delete() -> Any:
        store = cast(MappedIndices, sink)
        indexes = (lambda endpoint: indexes_using(store, endpoint)) if sink is not None else None
        return _api(request).delete(inference_id, task_type=task_type, dry_run=dry_run, force=force,
                                    indexes=indexes)
    result = await run_in_threadpool(delete)
    return es_response(request, result)


@router.delete("/_inference/{inference_id}", dependencies=[cluster("manage_inference", "cluster:admin/xpack/inference/delete")])
async def delete(request: Request, inference_id: str) -> Response:
    """Delete an endpoint."""
    return await _delete(request, inference_id, None)


@router.delete("/_inference/{task_type}/{inference_id}", dependencies=[cluster("manage_inference", "cluster:admin/xpack/inference/delete")])
async def delete_typed(request: Request, task_type: str, inference_id: str) -> Response:
    """Delete an endpoint of a given task type."""
    return await _delete(request, inference_id, task_type)
