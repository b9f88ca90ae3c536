"""``_cat/indices`` and ``_cat/count`` as Elasticsearch's cat APIs answer: aligned text (``v`` for headers,
``h`` to choose columns) or ``format=json`` (every value a string)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from ingest.indices import service
from ingest.indices.catalog import IndexCatalog
from ingest.models.errors import IllegalArgumentException
from ingest.server import convertors  # noqa: F401 - registers the {index} path convertor
from ingest.server.dialect import PRODUCT_HEADER, bool_param, check_params, es_response
from ingest.server.routes.indices import _catalog, _forward, _names, _store
from ingest.server.security import declare as need

router = APIRouter(tags=["cat"])
INDEX_COLUMNS = ("health", "status", "index", "uuid", "pri", "rep", "docs.count", "docs.deleted", "store.size",
                 "pri.store.size", "dataset.size")
COUNT_COLUMNS = ("epoch", "timestamp", "count")


_UNITS = ("b", "kb", "mb", "gb", "tb", "pb")


def byte_size(n: int, unit: str | None = None) -> str:
    """Elasticsearch's ByteSizeValue text: the largest unit holding at least 1, one decimal truncated and dropped
    when 0 (``208b``, ``4.5kb``, ``1mb``); with the cat ``bytes`` parameter, a whole number of that unit."""
    if unit is not None:
        if unit not in _UNITS:
            raise IllegalArgumentException(f"failed to parse setting [bytes] with value [{unit}]")
        return str(n // 1024 ** _UNITS.index(unit))
    power = 0
    while power < len(_UNITS) - 1 and n >= 1024 ** (power + 1):
        power += 1
    whole, _, fraction = repr(n / 1024 ** power).partition(".")
    return whole + ("" if not fraction or fraction[0] == "0" else "." + fraction[0]) + _UNITS[power]


def _size(store: Any, index: str, unit: str | None) -> str:
    """The index's bytes in the embedded store's file (``sinks/embedded/size.py``: as of DuckDB's last
    checkpoint; a sink that cannot tell reports ``0b``)."""
    measure = getattr(store, "storage_bytes", None)
    return byte_size(int(measure(index)) if callable(measure) else 0, unit)


def _index_rows(store: Any, catalog: IndexCatalog, names: list[str], unit: str | None = None
                ) -> list[dict[str, str]]:
    rows = []
    for name in names:
        settings = catalog.settings(name)
        size = _size(store, name, unit)  # one primary, no replica copies on one node: all three are the same
        rows.append({"health": service.health(catalog, name), "status": "open", "index": name,
                     "uuid": catalog.facts(name)[0], "pri": str(settings.get("index.number_of_shards", "1")),
                     "rep": str(settings.get("index.number_of_replicas", "1")), "docs.count": str(store.count(name)),
                     "docs.deleted": "0", "store.size": size, "pri.store.size": size, "dataset.size": size})
    return rows


_CAT_PARAMS = ("format", "h", "v", "s", "help", "bytes", "health", "pri", "time", "expand_wildcards", "local",
               "master_timeout", "include_unloaded_segments")


def _answer(request: Request, rows: list[dict[str, str]], columns: tuple[str, ...]) -> Response:
    wanted = request.query_params.get("h")
    chosen = list(columns)
    if wanted:
        chosen = [c.strip() for c in wanted.split(",") if c.strip()]
        unknown = [c for c in chosen if c not in columns]
        if unknown:
            raise IllegalArgumentException(f"Unable to find column [{unknown[0]}]")
    sort = request.query_params.get("s")
    if sort:
        key = sort.split(":")[0]
        rows = sorted(rows, key=lambda r: r.get(key, ""), reverse=sort.endswith(":desc"))
    if request.query_params.get("format") == "json":
        return es_response(request, [{c: r[c] for c in chosen} for r in rows])
    table = [[r[c] for c in chosen] for r in rows]
    if bool_param(request, "v"):
        table.insert(0, chosen)
    widths = [max((len(line[i]) for line in table), default=0) for i in range(len(chosen))]
    text = "".join(" ".join(v.ljust(widths[i]) for i, v in enumerate(line)).rstrip() + "\n" for line in table)
    return PlainTextResponse(text, headers=PRODUCT_HEADER)


@router.get("/_cat/indices", dependencies=[need.bulk("indices:monitor/stats")])
async def cat_indices(request: Request) -> Response:
    """Every index."""
    return await _indices(request, "_all")


@router.get("/_cat/indices/{index:index}", dependencies=[need.index("monitor", "indices:monitor/stats")])
async def cat_indices_of(index: str, request: Request) -> Response:
    """The indices named."""
    return await _indices(request, index)


async def _indices(request: Request, expression: str) -> Response:
    check_params(request, _CAT_PARAMS)
    store = _store(request)
    if store is None:
        return await _forward(request)

    def work() -> list[dict[str, str]]:
        with _catalog(request) as catalog:
            return _index_rows(store, catalog, _names(store, catalog, expression, request),
                               request.query_params.get("bytes"))
    return _answer(request, await run_in_threadpool(work), INDEX_COLUMNS)


@router.get("/_cat/count", dependencies=[need.bulk("indices:data/read/search")])
@router.post("/_cat/count", dependencies=[need.bulk("indices:data/read/search")])
async def cat_count(request: Request) -> Response:
    """Documents in every index."""
    return await _count(request, "_all")


@router.get("/_cat/count/{index:index}", dependencies=[need.index("read", "indices:data/read/search")])
@router.post("/_cat/count/{index:index}", dependencies=[need.index("read", "indices:data/read/search")])
async def cat_count_of(index: str, request: Request) -> Response:
    """Documents in the indices named."""
    return await _count(request, index)


async def _count(request: Request, expression: str) -> Response:
    check_params(request, _CAT_PARAMS)
    store = _store(request)
    if store is None:
        return await _forward(request)

    def work() -> int:
        with _catalog(request) as catalog:
            return sum(store.count(n) for n in _names(store, catalog, expression, request))
    total = await run_in_threadpool(work)
    now = time.time()
    row = {"epoch": str(int(now)), "timestamp": time.strftime("%H:%M:%S", time.gmtime(now)), "count": str(total)}
    return _answer(request, [row], COUNT_COLUMNS)
