"""Multi-document APIs: ``_mget``, ``_delete_by_query`` and ``_update_by_query`` on the embedded store.

By-query requests scan the index in ``_id`` order a page at a time (``scroll_size``), keep the documents the
query (``ingest.query.dsl``: the subset documented there) matches, and send each page as one ``_bulk`` through
the destination with every action conditioned on the ``_seq_no``/``_primary_term`` that was read, so a
document changed meanwhile is a version conflict (``conflicts=abort`` stops there, ``proceed`` counts it), as
Elasticsearch's by-query actions do. ``_update_by_query`` runs the request's ``?pipeline=`` or the index's
default pipeline on each document, and its ``script`` (``ctx.op`` ``noop``/``delete``).
"""

from __future__ import annotations

import fnmatch
import json
import time
from typing import Any, cast

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from ingest.models.errors import (
    ActionRequestValidationException,
    ElasticsearchError,
    IllegalArgumentException,
)
from ingest.query.dsl import parse_query, text_fields
from ingest.query.source import from_body
from ingest.server import convertors  # noqa: F401 - registers the {index} path convertor
from ingest.server.destination import Destination
from ingest.server.dialect import check_params, json_body
from ingest.server.filterpath import apply_filter_path
from ingest.server.routes.bulk import SafeJSON, _error, _has_index, versioned
from ingest.server.routes.documents import read_filter
from ingest.server.security import declare as need
from ingest.server.security.bulkauth import AuthorizedSink
from ingest.server.state import app_destination as destination
from ingest.sinks.bulk.items import index_not_found
from ingest.sinks.bulk.scripted import run_update_script
from ingest.sinks.bulk.versioned import VersionedDocuments
from ingest.sinks.registry import cluster_requests

router = APIRouter(tags=["documents"])

MGET_PARAMS = ("_source", "_source_includes", "_source_excludes", "stored_fields", "realtime", "refresh", "routing",
               "preference")
BY_QUERY_PARAMS = ("conflicts", "refresh", "max_docs", "scroll_size", "wait_for_completion", "slices", "timeout",
                   "requests_per_second", "routing", "scroll", "wait_for_active_shards", "allow_no_indices",
                   "expand_wildcards", "ignore_unavailable", "pipeline", "search_timeout", "version")


def _mget(request: Request, index: str | None, body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ActionRequestValidationException(["no documents to get"])
    if "docs" in body:
        specs = body["docs"]
    elif "ids" in body:
        specs = [{"_id": i} for i in body["ids"]] if isinstance(body["ids"], list) else None
    else:
        specs = []
    if not isinstance(specs, list) or not specs:
        raise ActionRequestValidationException(["no documents to get"])
    problems = []
    for n, spec in enumerate(specs):
        if not isinstance(spec, dict) or not (spec.get("_index") or index):
            problems.append(f"index is missing for doc {n}")
        if not isinstance(spec, dict) or spec.get("_id") in (None, ""):
            problems.append(f"id is missing for doc {n}")
    if problems:
        raise ActionRequestValidationException(problems)
    dest = destination(request)
    cluster = cluster_requests(dest.sink(), dest.kind())
    if cluster is not None:  # --dest: the cluster answers
        _status, answer = cluster.request("POST", f"/{index}/_mget" if index else "/_mget", body=body)
        return dict(cast(dict[str, Any], answer))  # a cluster answers _mget with an object
    store = versioned(dest)
    principal = need.principal_of(request)
    default = read_filter(request)
    wanted: dict[str, set[str]] = {}
    for spec in specs:
        wanted.setdefault(str(spec.get("_index") or index), set()).add(str(spec["_id"]))
    found: dict[str, dict[str, Any] | ElasticsearchError] = {}
    for name, ids in wanted.items():
        if not need.allowed_on_index(principal, "indices:data/read/mget", name):
            found[name] = need.denied(request, principal, "indices:data/read/mget", [name])
        elif not _has_index(dest, store, name) or not store.index_exists(name):
            found[name] = index_not_found(name)
        else:
            found[name] = {doc_id: doc for doc_id, doc in store.get_docs(name, sorted(ids)).items()}
    docs = []
    for spec in specs:
        name, doc_id = str(spec.get("_index") or index), str(spec["_id"])
        hits = found[name]
        if isinstance(hits, ElasticsearchError):
            docs.append({"_index": name, "_id": doc_id, "error": hits.to_dict()["error"]})
            continue
        doc = hits.get(doc_id)
        if doc is None:
            docs.append({"_index": name, "_id": doc_id, "found": False})
            continue
        item: dict[str, Any] = {"_index": name, "_id": doc_id, "_version": doc.version, "_seq_no": doc.seq_no,
                                "_primary_term": doc.primary_term, "found": True}
        source = from_body(spec.get("_source"), default).apply(doc.source)
        if source is not None:
            item["_source"] = source
        docs.append(item)
    return {"docs": docs}


async def _mget_route(request: Request, index: str | None) -> JSONResponse:
    try:
        check_params(request, MGET_PARAMS)
        body = await json_body(request)
        answer = await run_in_threadpool(_mget, request, index, body)
    except ValueError as exc:
        return _error(IllegalArgumentException(f"failed to parse the request body: {exc}"))
    except ElasticsearchError as exc:
        return _error(exc)
    return SafeJSON(apply_filter_path(answer, request.query_params.get("filter_path")))


@router.get("/_mget", dependencies=[need.bulk("indices:data/read/mget")])
@router.post("/_mget", dependencies=[need.bulk("indices:data/read/mget")])
async def mget(request: Request) -> JSONResponse:
    """Several documents by index and id (each index checked against the caller's privileges)."""
    return await _mget_route(request, None)


@router.get("/{index:index}/_mget", dependencies=[need.index("read", "indices:data/read/mget")])
@router.post("/{index:index}/_mget", dependencies=[need.index("read", "indices:data/read/mget")])
async def index_mget(index: str, request: Request) -> JSONResponse:
    """``_mget`` with a default index (``docs`` or ``ids``)."""
    return await _mget_route(request, index)


def _targets(dest: Destination, store: VersionedDocuments, expression: str) -> list[str]:
    names: list[str] = []
    for part in expression.split(","):
        if "*" in part:
            names += [n for n in store.indices() if fnmatch.fnmatchcase(n, part) and n not in names]
        elif not _has_index(dest, store, part) or not store.index_exists(part):
            raise index_not_found(part)
        elif part not in names:
            names.append(part)
    return names


class _Tally:
    """The counters of a by-query response."""

    def __init__(self) -> None:
        self.total = self.updated = self.deleted = self.noops = self.conflicts = self.batches = 0
        self.failures: list[dict[str, Any]] = []


def _by_query(request: Request, expression: str, body: dict[str, Any], update: bool) -> tuple[int, dict[str, Any]]:
    start = time.monotonic()
    params = request.query_params
    if params.get("wait_for_completion") == "false":
        raise IllegalArgumentException("[wait_for_completion=false] is not supported: the embedded store runs "
                                       "by-query requests to completion and has no tasks API")
    if "slice" in body:  # each slice would see every document: refused rather than done twice
        raise IllegalArgumentException("manual slicing ([slice]) is not supported by the embedded store; "
                                       "send one request (or ?slices=N, run as one slice)")
    unknown = sorted(set(body) - {"query", "max_docs", "conflicts", "script"})
    if unknown:
        raise ElasticsearchError(f"[1:2] [{'update' if update else 'delete'}_by_query] unknown field [{unknown[0]}]",
                                 status=400, error_type="x_content_parse_exception")
    if "script" in body and not update:
        raise ElasticsearchError("[1:2] [delete_by_query] unknown field [script]", status=400,
                                 error_type="x_content_parse_exception")
    parse_query(body.get("query", {"match_all": {}}))  # refuse a bad query before anything else
    conflicts = params.get("conflicts", body.get("conflicts", "abort"))
    if conflicts not in ("abort", "proceed"):
        raise IllegalArgumentException(f"conflicts may only be \"proceed\" or \"abort\" but was [{conflicts}]")
    raw_max = params.get("max_docs", body.get("max_docs"))
    max_docs = int(raw_max) if raw_max is not None else None
    page = int(params.get("scroll_size", 1000))
    dest = destination(request)
    store = versioned(dest)
    principal = need.principal_of(request)
    names = _targets(dest, store, expression)
    for name in names:  # the search half of the request needs read, as in Elasticsearch
        if not need.allowed_on_index(principal, "indices:data/read/search", name):
            raise need.denied(request, principal, "indices:data/read/search", [name])
    tally = _Tally()
    stop = False
    for name in names:
        query = parse_query(body.get("query", {"match_all": {}}), text_fields(store.properties(name)))
        for docs in store.scan(name, page):
            matched = [d for d in docs if query.matches(d.id, d.source)]
            if max_docs is not None:
                matched = matched[: max(0, max_docs - tally.total)]
            tally.total += len(matched)
            lines = _actions(name, matched, body.get("script"), update, tally)
            if lines:
                stop = _send(request, lines, tally, conflicts == "abort")
            if stop or (max_docs is not None and tally.total >= max_docs):
                break
        if stop or (max_docs is not None and tally.total >= max_docs):
            break
    if params.get("refresh") in ("", "true", "wait_for"):
        for name in names:
            store.refresh(name)
    answer: dict[str, Any] = {"took": int((time.monotonic() - start) * 1000), "timed_out": False,
                              "total": tally.total}
    if update:
        answer["updated"] = tally.updated
    answer.update({"deleted": tally.deleted, "batches": tally.batches, "version_conflicts": tally.conflicts,
                   "noops": tally.noops, "retries": {"bulk": 0, "search": 0}, "throttled_millis": 0,
                   "requests_per_second": -1.0, "throttled_until_millis": 0, "failures": tally.failures})
    status = max((int(f["status"]) for f in tally.failures), default=200)
    return status, answer


def _actions(index: str, docs: list[Any], script: Any, update: bool, tally: _Tally) -> list[bytes]:
    lines: list[bytes] = []
    for doc in docs:
        meta = {"_index": index, "_id": doc.id, "if_seq_no": doc.seq_no, "if_primary_term": doc.primary_term}
        op, source = ("index", doc.source) if update else ("delete", None)
        if update and script is not None:
            outcome = run_update_script(script, doc.source, op="index", index=index, doc_id=doc.id,
                                        version=doc.version)
            if outcome.op == "noop":
                tally.noops += 1
                continue
            op, source = ("delete", None) if outcome.op == "delete" else ("index", outcome.source)
        lines.append(json.dumps({op: meta}).encode())
        if source is not None:
            lines.append(json.dumps(source).encode())
    return lines


def _send(request: Request, lines: list[bytes], tally: _Tally, abort: bool) -> bool:
    """One page as one ``_bulk``; True when the request must stop (a failure, or a conflict with abort)."""
    dest = destination(request)
    authorize = AuthorizedSink.checker(need.principal_of(request), request)
    result = dest.bulk(b"\n".join(lines) + b"\n", index=None, pipeline=request.query_params.get("pipeline"),
                       refresh=None, authorize=authorize, user=need.security_user(request))
    tally.batches += 1
    stop = False
    for entry in result["items"]:
        item = next(iter(entry.values()))
        if "error" not in item:
            result_name = item.get("result")
            if result_name == "deleted":
                tally.deleted += 1
            elif result_name == "noop":
                tally.noops += 1
            else:
                tally.updated += 1
            continue
        conflict = item["status"] == 409
        tally.conflicts += conflict
        if conflict and not abort:
            continue
        tally.failures.append({"index": item.get("_index"), "id": item.get("_id"), "cause": item["error"],
                               "status": item["status"]})
        stop = True
    return stop


async def _by_query_route(request: Request, index: str, update: bool) -> JSONResponse:
    try:
        check_params(request, BY_QUERY_PARAMS if update else tuple(p for p in BY_QUERY_PARAMS if p != "pipeline"))
        body = await json_body(request, required=not update) or {}
        if not isinstance(body, dict):
            raise IllegalArgumentException("request body must be a JSON object")
        status, answer = await run_in_threadpool(_by_query, request, index, body, update)
    except ValueError as exc:
        return _error(IllegalArgumentException(f"failed to parse the request body: {exc}"))
    except ElasticsearchError as exc:
        return _error(exc)
    return SafeJSON(apply_filter_path(answer, request.query_params.get("filter_path")), status_code=status)


@router.post("/{index:index}/_delete_by_query",
             dependencies=[need.index("delete", "indices:data/write/delete/byquery")])
async def delete_by_query(index: str, request: Request) -> JSONResponse:
    """Delete the documents a query matches (``conflicts``, ``max_docs``, ``refresh``, ``scroll_size``)."""
    return await _by_query_route(request, index, update=False)


@router.post("/{index:index}/_update_by_query",
             dependencies=[need.index("index", "indices:data/write/update/byquery")])
async def update_by_query(index: str, request: Request) -> JSONResponse:
    """Rewrite the documents a query matches: through ``?pipeline=`` / the default pipeline, and ``script``."""
    return await _by_query_route(request, index, update=True)
