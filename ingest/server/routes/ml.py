"""``/_ml/trained_models``: the trained models, their stats and deployments, as Elasticsearch serves them.

A thin shell over :class:`ingest.models.trained_models.TrainedModels`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ingest.models.errors import IllegalArgumentException
from ingest.models.trained_models import TrainedModels
from ingest.server.dialect import bool_param, check_params, es_response, json_body, time_param
from ingest.server.security.declare import cluster

router = APIRouter(tags=["ml"])
_GET_PARAMS = ("allow_no_match", "decompress_definition", "exclude_generated", "from", "include",
               "include_model_definition", "size", "tags")
_STATS_PARAMS = ("allow_no_match", "from", "size")
_START_PARAMS = ("cache_size", "deployment_id", "number_of_allocations", "priority", "queue_capacity",
                 "threads_per_allocation", "timeout", "wait_for")


def _models(request: Request) -> TrainedModels:
    return TrainedModels(request.app.state.api)


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise IllegalArgumentException(f"Failed to parse int parameter [{name}] with value [{raw}]") from None
    if value < 0:
        raise IllegalArgumentException(f"[{name}] parameter cannot be negative, found [{value}]")
    return value


# -- GET trained models ------------------------------------------------------------------------------

async def _get(request: Request, model_id: str | None) -> Response:
    check_params(request, _GET_PARAMS)
    models = _models(request)
    body = await run_in_threadpool(
        lambda: models.get(model_id, include=request.query_params.get("include"),
                           start=_int_param(request, "from", 0), size=_int_param(request, "size", 100),
                           allow_no_match=bool_param(request, "allow_no_match", True))
    )
    return es_response(request, body)


@router.get("/_ml/trained_models", dependencies=[cluster("monitor_ml", "cluster:monitor/xpack/ml/inference/get")])
async def get_all(request: Request) -> Response:
    """Every trained model: built-in, their optimised variants, and imported ones."""
    return await _get(request, None)


# -- stats (registered before /{model_id} so that "_stats" is never taken for an id) --------------------

async def _stats(request: Request, model_id: str | None) -> Response:
    check_params(request, _STATS_PARAMS)
    models = _models(request)
    body = await run_in_threadpool(
        lambda: models.stats(model_id, start=_int_param(request, "from", 0), size=_int_param(request, "size", 100),
                             allow_no_match=bool_param(request, "allow_no_match", True))
    )
    return es_response(request, body)


@router.get("/_ml/trained_models/_stats", dependencies=[cluster("monitor_ml", "cluster:monitor/xpack/ml/trained_models/stats/get")])
async def all_stats(request: Request) -> Response:
    """Stats of every model and deployment."""
    return await _stats(request, None)


@router.get("/_ml/trained_models/{model_id}/_stats", dependencies=[cluster("monitor_ml", "cluster:monitor/xpack/ml/trained_models/stats/get")])
async def model_stats(request: Request, model_id: str) -> Response:
    """Stats of the models / deployments matching ``model_id`` (comma-separated, wildcards allowed)."""
    return await _stats(request, model_id)


@router.get("/_ml/trained_models/{model_id}", dependencies=[cluster("monitor_ml", "cluster:monitor/xpack/ml/inference/get")])
async def get_one(request: Request, model_id: str) -> Response:
    """The trained models matching ``model_id`` (comma-separated, wildcards allowed)."""
    return await _get(request, model_id)


# -- deployments -------------------------------------------------------------------------------------

@router.post("/_ml/trained_models/{model_id}/deployment/_start",
             dependencies=[cluster("manage_ml", "cluster:admin/xpack/ml/trained_models/deployment/start")])
async def start(request: Request, model_id: str) -> Response:
    """Start a deployment (query parameters and/or a body, as Elasticsearch accepts both)."""
    check_params(request, _START_PARAMS)
    timeout = time_param(request, "timeout", 30)
    body = await json_body(request, required=False) or {}
    params: dict[str, Any] = {k: v for k, v in request.query_params.items() if k != "timeout"}
    models = _models(request)
    result = await run_in_threadpool(lambda: models.start(model_id, params, body, timeout_s=timeout))
    return es_response(request, result)


@router.post("/_ml/trained_models/{deployment_id}/deployment/_stop",
             dependencies=[cluster("manage_ml", "cluster:admin/xpack/ml/trained_models/deployment/stop")])
async def stop(request: Request, deployment_id: str) -> Response:
    """Stop a deployment."""
    check_params(request, ("allow_no_match", "force"))
    body = await json_body(request, required=False) or {}
    force = bool(body.get("force")) or bool_param(request, "force")
    allow = bool_param(request, "allow_no_match", bool(body.get("allow_no_match", True)))
    models = _models(request)
    result = await run_in_threadpool(lambda: models.stop(deployment_id, force=force, allow_no_match=allow))
    return es_response(request, result)


@router.post("/_ml/trained_models/{deployment_id}/deployment/_update",
             dependencies=[cluster("manage_ml", "cluster:admin/xpack/ml/trained_models/deployment/update")])
async def update(request: Request, deployment_id: str) -> Response:
    """Change a deployment's allocations."""
    check_params(request, ("number_of_allocations",))
    body = dict(await json_body(request, required=False) or {})
    if "number_of_allocations" in request.query_params:
        body["number_of_allocations"] = request.query_params["number_of_allocations"]
    models = _models(request)
    result = await run_in_threadpool(lambda: models.update(deployment_id, body))
    return es_response(request, result)
