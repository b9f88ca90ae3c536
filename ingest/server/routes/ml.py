"""``/_ml/trained_models/.../_stats``: deployment statistics, as Elasticsearch reports them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ingest.server.dialect import bool_param, check_params, es_response
from ingest.server.security.declare import cluster
from models.api import InferenceAPI

router = APIRouter(tags=["ml"])
_PARAMS = ("allow_no_match", "from", "size")


async def _stats(request: Request, model_id: str | None) -> Response:
    check_params(request, _PARAMS)
    allow_no_match = bool_param(request, "allow_no_match", True)
    api: InferenceAPI = request.app.state.api
    body = await run_in_threadpool(api.trained_model_stats, model_id)
    if not allow_no_match and not body["count"]:
        from models.errors import ResourceNotFoundException

        raise ResourceNotFoundException(f"Could not find trained model [{model_id or '_all'}]")
    return es_response(request, body)


@router.get("/_ml/trained_models/_stats", dependencies=[cluster("monitor_ml", "cluster:monitor/xpack/ml/trained_models/stats/get")])
async def all_stats(request: Request) -> Response:
    """Stats of every model and deployment."""
    return await _stats(request, None)


@router.get("/_ml/trained_models/{model_id}/_stats", dependencies=[cluster("monitor_ml", "cluster:monitor/xpack/ml/trained_models/stats/get")])
async def model_stats(request: Request, model_id: str) -> Response:
    """Stats of the models / deployments matching ``model_id`` (comma-separated, wildcards allowed)."""
    return await _stats(request, model_id)
