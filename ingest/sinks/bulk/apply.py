"""``_bulk`` semantics for one index of the embedded store, applied in memory before one write.

Actions on the same id within a request apply in order (index then update then delete…), as in
Elasticsearch; the outcome of each item is computed here and the final state of every touched id is then
written in one transaction by the store.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.sinks.base import BulkAction, FieldHint, ItemResult
from ingest.sinks.bulk.documents import VectorError, split
from ingest.sinks.bulk.items import (
    condition_problems,
    document_missing,
    error_item,
    external_version_conflict,
    merge_doc,
    parsing_failed,
    seq_no_conflict,
    version_conflict,
)
from ingest.sinks.bulk.mapping import MappingError, Properties, map_document
from ingest.sinks.bulk.scripted import run_update_script

PRIMARY_TERM = 1  # one node that never loses its primary: the term never changes


@dataclass
class DocState:
    """What one id looks like after the actions applied so far."""

    version: int
    exists: bool
    doc: dict[str, Any] | None = None  # the full document when known (needed by updates)
    row: tuple[str, dict[str, Any]] | None = None  # (_source JSON, vectors) to write; None if unchanged
    stored: bool = False  # a row for this id is in the table (it must be deleted before the new one goes in)
    seq_no: int = -1  # of the last operation on this id (-1: none known)
    primary_term: int = PRIMARY_TERM
    tombstone: bool = False  # a recent delete of this id is remembered (its version goes on from there)


@dataclass(frozen=True)
class Stored:
    """The version, sequence number and primary term of a stored document."""

    version: int
    seq_no: int
    primary_term: int = PRIMARY_TERM
    live: bool = True  # False: a delete remembered for ``GC_DELETES_S`` (Elasticsearch's index.gc_deletes)


GC_DELETES_S = 60.0


@dataclass(frozen=True)
class StoredDoc:
    """A stored document and its versions."""

    id: str
    source: dict[str, Any]
    version: int
    seq_no: int
    primary_term: int


def _prepare(index: str, doc: dict[str, Any], layout: dict[str, FieldHint], doc_id: str,
             properties: Properties, dynamic: str = "true") -> tuple[str, dict[str, Any]] | ItemResult:
    try:
        row = split(doc, layout, doc_id)
        map_document(doc, properties, doc_id, skip=set(layout), dynamic=dynamic)
        return row
    except MappingError as exc:
        result = parsing_failed(index, doc_id, exc.reason)
        if exc.cause is not None and result.error is not None:
            result.error["caused_by"] = {key: value for key, value in exc.cause.items()}  # a JSON object
        if exc.error_type is not None and result.error is not None:
            result.error["type"] = exc.error_type
        return result
    except VectorError as exc:
        return parsing_failed(index, doc_id, str(exc))
    except (TypeError, ValueError) as exc:
        return parsing_failed(index, doc_id, f"failed to parse document with id '{doc_id}': {exc}")


def apply(
    index: str,
    items: list[tuple[BulkAction, str]],
    layout: dict[str, FieldHint],
    versions: dict[str, Stored],
    load_docs: Callable[[set[str]], dict[str, dict[str, Any]]],
    properties: Properties | None = None,
    next_seq_no: Callable[[], int] | None = None,
    dynamic: str = "true",
) -> tuple[list[ItemResult], dict[str, DocState]]:
    """Outcome of each (action, id) in order, and the final state of every id that changed.

    ``properties`` is the index's dynamic mapping (``mapping.py``), extended in place by new fields;
    ``dynamic`` its root ``dynamic`` setting.

    ``versions`` holds the stored version, seq_no and primary term of each existing id; ``load_docs`` fetches
    full stored documents (called once, for ids that an update touches); ``next_seq_no`` hands out the index's
    next sequence number, one per operation that changes something (deletes of missing ids included, as in
    Elasticsearch).
    """
    counter = iter(range(1 << 62))
    seq = next_seq_no or (lambda: next(counter))
    updated_ids = {doc_id for action, doc_id in items
                   if action.op == "update" and doc_id in versions and versions[doc_id].live}
    stored = load_docs(updated_ids) if updated_ids else {}
    states: dict[str, DocState] = {}
    dirty: set[str] = set()
    results: list[ItemResult] = []
    props: Properties = {} if properties is None else properties

    def state(doc_id: str) -> DocState:
        if doc_id not in states:
            known = versions.get(doc_id)
            live = known is not None and known.live
            states[doc_id] = DocState(known.version if known else 0, live, stored.get(doc_id) if live else None,
                                      stored=live, seq_no=known.seq_no if known else -1,
                                      primary_term=known.primary_term if known else PRIMARY_TERM,
                                      tombstone=known is not None and not known.live)
        return states[doc_id]

    def done(st: DocState, status: int, doc_id: str, result: str) -> ItemResult:
        return ItemResult(status, None, id=doc_id, result=result, version=st.version, seq_no=st.seq_no,
                          primary_term=st.primary_term)

    def put(doc_id: str, doc: dict[str, Any], new_version: int | None = None) -> ItemResult:
        st = state(doc_id)
        row = _prepare(index, doc, layout, doc_id, props, dynamic)
        if isinstance(row, ItemResult):
            return row
        existed = st.exists
        st.version = new_version if new_version is not None else st.version + 1
        st.exists, st.doc, st.row, st.seq_no, st.primary_term = True, doc, row, seq(), PRIMARY_TERM
        dirty.add(doc_id)
        return done(st, 200, doc_id, "updated") if existed else done(st, 201, doc_id, "created")

    def delete(doc_id: str, new_version: int | None = None) -> ItemResult:
        st = state(doc_id)
        st.version = new_version if new_version is not None else st.version + 1
        st.seq_no, st.primary_term = seq(), PRIMARY_TERM
        dirty.add(doc_id)  # its tombstone is written either way
        if not st.exists:
            return done(st, 404, doc_id, "not_found")
        st.exists, st.doc, st.row = False, None, None
        return done(st, 200, doc_id, "deleted")

    for action, doc_id in items:
        st = state(doc_id)
        refused = _refused(index, doc_id, action, st)
        if refused is not None:
            results.append(refused)
            continue
        external = action.version if action.version_type in ("external", "external_gte") else None
        source = action.source or {}
        if action.op == "index":
            results.append(put(doc_id, source, external))
        elif action.op == "create":
            results.append(version_conflict(index, doc_id, st.version) if st.exists else put(doc_id, source))
        elif action.op == "delete":
            results.append(delete(doc_id, external))
        else:
            result = _update(index, doc_id, st, source, put, delete, done)
            if result.error is None and st.exists:
                result = dataclasses.replace(result, source=st.doc)  # as this update left it, for the item's get
            results.append(result)
    return results, {doc_id: states[doc_id] for doc_id in dirty}


def _refused(index: str, doc_id: str, action: BulkAction, st: DocState) -> ItemResult | None:
    """The action's versioning problem (400) or conflict with the current state (409), or None."""
    problems = condition_problems(action.op, action.if_seq_no, action.if_primary_term, action.version,
                                  action.version_type)
    if problems:
        numbered = "".join(f"{n}: {p};" for n, p in enumerate(problems, 1))
        return error_item(400, "action_request_validation_exception", f"Validation Failed: {numbered}", index, doc_id)
    if action.if_seq_no is not None and action.if_primary_term is not None:
        if not st.exists:
            return seq_no_conflict(index, doc_id, action.if_seq_no, action.if_primary_term, None)
        if (st.seq_no, st.primary_term) != (action.if_seq_no, action.if_primary_term):
            return seq_no_conflict(index, doc_id, action.if_seq_no, action.if_primary_term,
                                   (st.seq_no, st.primary_term))
    if action.version is not None and action.version_type in ("external", "external_gte") and st.exists:
        too_old = st.version > action.version if action.version_type == "external_gte" else st.version >= action.version
        if too_old:
            return external_version_conflict(index, doc_id, st.version, action.version, action.version_type)
    return None


Put = Callable[..., ItemResult]


def _update(index: str, doc_id: str, st: DocState, body: dict[str, Any], put: Put,
            delete: Callable[[str], ItemResult], done: Callable[[DocState, int, str, str], ItemResult]
            ) -> ItemResult:
    if "script" in body:
        return _scripted(index, doc_id, st, body, put, delete, done)
    patch = body.get("doc")
    if not st.exists:
        if isinstance(patch, dict) and body.get("doc_as_upsert") is True:
            return put(doc_id, patch)
        if isinstance(body.get("upsert"), dict):
            return put(doc_id, body["upsert"])
        return document_missing(index, doc_id)
    current = st.doc or {}
    merged = merge_doc(current, patch) if isinstance(patch, dict) else current
    if merged == current and body.get("detect_noop", True) is not False:
        return done(st, 200, doc_id, "noop")
    return put(doc_id, merged)


def _scripted(index: str, doc_id: str, st: DocState, body: dict[str, Any], put: Put,
              delete: Callable[[str], ItemResult], done: Callable[[DocState, int, str, str], ItemResult]
              ) -> ItemResult:
    """``script`` (with ``upsert``/``scripted_upsert``) as Elasticsearch's UpdateHelper applies it."""
    upsert = body.get("upsert")
    if not st.exists:
        if not isinstance(upsert, dict):
            return document_missing(index, doc_id)
        if body.get("scripted_upsert") is not True:
            return put(doc_id, upsert)
    try:
        if st.exists:
            outcome = run_update_script(body["script"], st.doc or {}, op="index", index=index, doc_id=doc_id,
                                        version=st.version)
        else:
            outcome = run_update_script(body["script"], upsert or {}, op="create", index=index, doc_id=doc_id,
                                        version=None)
    except ElasticsearchError as exc:
        cause = exc.cause_dict()
        cause.pop("type"), cause.pop("reason")
        return error_item(exc.status, exc.error_type, exc.reason, index, doc_id, **cause)
    if outcome.op == "noop":
        return done(st, 200, doc_id, "noop")
    if outcome.op == "delete":
        return delete(doc_id) if st.exists else done(st, 200, doc_id, "noop")
    return put(doc_id, outcome.source)
