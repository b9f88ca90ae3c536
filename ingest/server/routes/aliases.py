"""Alias APIs: ``PUT|POST|DELETE /{index}/_alias/{name}`` (and ``_aliases``), ``POST /_aliases``, ``GET
[/{index}]/_alias[/{name}]``, ``HEAD /_alias/{name}``, over ``ingest.indices.aliases``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from ingest.indices import aliases as ops
from ingest.indices.catalog import IndexCatalog
from ingest.indices.expressions import options_from
from ingest.indices.service import make_alias
from ingest.server import convertors  # noqa: F401 - registers the {index} path convertor
from ingest.server.dialect import PRODUCT_HEADER, check_params, es_response, json_body
from ingest.server.routes.indices import EXPRESSION_PARAMS, _catalog, _forward, _names, _run, _store
from ingest.server.security import declare as need
from ingest.server.security.declare import denied, principal_of

router = APIRouter(tags=["aliases"])
_MANAGE = need.index("manage", "indices:admin/aliases")


@router.put("/{index:index}/_alias/{name}", dependencies=[_MANAGE])
@router.post("/{index:index}/_alias/{name}", dependencies=[_MANAGE])
@router.put("/{index:index}/_aliases/{name}", dependencies=[_MANAGE])
@router.post("/{index:index}/_aliases/{name}", dependencies=[_MANAGE])
async def put_alias(index: str, name: str, request: Request) -> Response:
    """Add alias ``name`` to the indices named (body: ``filter``, ``routing``, ``is_write_index`` ...)."""
    check_params(request, ("master_timeout", "timeout"))
    body = await json_body(request, required=False) or {}
    make_alias(name, "-", dict(body))  # the name and keys are checked before anything resolves

    def work(s: Any, c: IndexCatalog) -> Any:
        targets = _names(s, c, index, request)
        ops.update(s, c, [{"add": {**body, "indices": targets, "alias": name}}])
        return {"acknowledged": True}
    return await _run(request, work)


@router.delete("/{index:index}/_alias/{name}", dependencies=[_MANAGE])
@router.delete("/{index:index}/_aliases/{name}", dependencies=[_MANAGE])
async def delete_alias(index: str, name: str, request: Request) -> Response:
    """Remove aliases (comma lists, wildcards) from the indices named; 404 when none matches."""
    check_params(request, ("master_timeout", "timeout"))
    def work(s: Any, c: IndexCatalog) -> Any:
        targets = _names(s, c, index, request)
        ops.update(s, c, [{"remove": {"indices": targets, "aliases": name.split(",")}}])
        return {"acknowledged": True, "errors": False}  # Elasticsearch 9 reports per-action errors here
    return await _run(request, work)


@router.post("/_aliases", dependencies=[need.bulk("indices:admin/aliases")])
async def update_aliases(request: Request) -> Response:
    """``add`` / ``remove`` / ``remove_index`` actions, all or nothing; each checked against the caller's
    privileges on its indices (``manage``; ``delete_index`` for ``remove_index``)."""
    check_params(request, ("master_timeout", "timeout"))
    body = await json_body(request)
    actions = body.get("actions") if isinstance(body, dict) else None
    principal = principal_of(request)
    for entry in actions if isinstance(actions, list) else []:
        if not isinstance(entry, dict) or not entry:
            continue
        kind, spec = next(iter(entry.items()))
        action = "indices:admin/delete" if kind == "remove_index" else "indices:admin/aliases"
        spec = spec if isinstance(spec, dict) else {}
        raw = spec.get("indices", spec.get("index"))
        names = [str(n) for n in (raw if isinstance(raw, list) else [raw] if raw is not None else [])]
        refused = [n for n in names if not principal.permission.index(action, n)]
        if refused:
            raise denied(request, principal, action, refused)
    return await _run(request, lambda s, c: ops.update(s, c, actions))


@router.get("/_alias", dependencies=[need.bulk("indices:admin/aliases/get")])
async def get_all(request: Request) -> Response:
    """Every index with its aliases."""
    return await _get(request, "_all", None)


@router.get("/_alias/{name}", dependencies=[need.bulk("indices:admin/aliases/get")])
async def get_named(name: str, request: Request) -> Response:
    """The indices holding the aliases named."""
    return await _get(request, "_all", name)


@router.head("/_alias/{name}", dependencies=[need.bulk("indices:admin/aliases/get")])
async def exists(name: str, request: Request) -> Response:
    """200 when every alias named exists."""
    store = _store(request)
    if store is None:
        return await _forward(request)

    def check() -> bool:
        with _catalog(request) as catalog:
            found, missing = ops.get(catalog, store.indices(), name, all_indices=False)
            return bool(found) and not missing
    return Response(status_code=200 if await run_in_threadpool(check) else 404, headers=PRODUCT_HEADER)


@router.get("/{index:index}/_alias", dependencies=[need.index("view_index_metadata", "indices:admin/aliases/get")])
async def get_of_index(index: str, request: Request) -> Response:
    """The aliases of the indices named."""
    return await _get(request, index, None)


@router.get("/{index:index}/_alias/{name}", dependencies=[need.index("view_index_metadata", "indices:admin/aliases/get")])
async def get_of_index_named(index: str, name: str, request: Request) -> Response:
    """The aliases named, on the indices named."""
    return await _get(request, index, name)


async def _get(request: Request, expression: str, names: str | None) -> Response:
    check_params(request, EXPRESSION_PARAMS)
    store = _store(request)
    if store is None:
        return await _forward(request)

    def work() -> tuple[dict[str, Any], list[str]]:
        with _catalog(request) as catalog:
            indices = _names(store, catalog, expression, request, options_from(dict(request.query_params)))
            return ops.get(catalog, indices, names, all_indices=True)
    found, missing = await run_in_threadpool(work)
    if missing:  # Elasticsearch's flat 404 body, with what was found beside it
        word = "alias" if len(missing) == 1 else "aliases"
        return es_response(request, {"error": f"{word} [{','.join(missing)}] missing", "status": 404, **found},
                           status=404)
    if names and not found:
        return es_response(request, {}, status=404)
    return es_response(request, found)
