"""``POST|GET /_ingest[/{index}]/_simulate``: the simulate-ingest API over ``ingest.jobs.simulate_ingest``. Each
document is checked against the caller's privileges on its index, as a write would be."""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ingest.indices import service as index_service
from ingest.jobs.simulate_ingest import simulate
from ingest.server import convertors  # noqa: F401 - registers the {index} path convertor
from ingest.server.dialect import check_params, es_response, json_body
from ingest.server.routes.indices import _catalog
from ingest.server.security import declare as need
from ingest.server.security.declare import denied, principal_of, security_user
from ingest.server.state import app_destination as destination

router = APIRouter(tags=["ingest"])
_ACTION = "indices:data/write/simulate/bulk"


@router.post("/_ingest/_simulate", dependencies=[need.bulk(_ACTION)])
@router.get("/_ingest/_simulate", dependencies=[need.bulk(_ACTION)])
async def simulate_ingest(request: Request) -> Response:
    """Simulate ingesting ``docs`` (each names its ``_index``)."""
    return await _simulate(request, None)


@router.post("/_ingest/{index:index}/_simulate", dependencies=[need.bulk(_ACTION)])
@router.get("/_ingest/{index:index}/_simulate", dependencies=[need.bulk(_ACTION)])
async def simulate_ingest_index(index: str, request: Request) -> Response:
    """Simulate ingesting ``docs`` into ``index`` (unless a document names its own)."""
    return await _simulate(request, index)


async def _simulate(request: Request, index: str | None) -> Response:
    check_params(request, ("pipeline", "merge_type"))
    body = await json_body(request)
    principal = principal_of(request)
    docs = body.get("docs") if isinstance(body, dict) else None
    for doc in docs if isinstance(docs, list) else []:
        target = str(doc.get("_index") or index or "") if isinstance(doc, dict) else str(index or "")
        if not principal.permission.index("indices:data/write/index", target):
            raise denied(request, principal, "indices:data/write/index", [target])
    dest = destination(request)
    user = security_user(request)

    def work() -> dict[str, Any]:
        sink = dest.sink()
        store = cast(index_service.IndexStore, sink) if index_service.is_index_store(sink) else None
        with _catalog(request) as catalog:
            return simulate(body, default_index=index, request_pipeline=request.query_params.get("pipeline"),
                            service=dest.pipelines(), store=store, catalog=catalog, templates=dest.context.api.store,
                            sink=sink, user=user)
    return es_response(request, await run_in_threadpool(work))
