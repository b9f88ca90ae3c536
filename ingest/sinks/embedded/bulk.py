"""``_bulk`` semantics for one index of the embedded store, applied in memory before one write.

Actions on the same id within a request apply in order (index then update then delete…), as in
Elasticsearch; the outcome of each item is computed here and the final state of every touched id is then
written in one transaction by the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.sinks.base import BulkAction, FieldHint, ItemResult
from ingest.sinks.embedded.documents import VectorError, split
from ingest.sinks.embedded.mapping import MappingError, Properties, map_document
from ingest.sinks.items import document_missing, merge_doc, parsing_failed, version_conflict


@dataclass
class DocState:
    """What one id looks like after the actions applied so far."""

    version: int
    exists: bool
    doc: dict[str, Any] | None = None  # the full document when known (needed by updates)
    row: tuple[str, dict[str, Any]] | None = None  # (_source JSON, vectors) to write; None if unchanged
    stored: bool = False  # a row for this id is in the table (it must be deleted before the new one goes in)


def _prepare(index: str, doc: dict[str, Any], layout: dict[str, FieldHint], doc_id: str,
             properties: Properties, dynamic: str = "true") -> tuple[str, dict[str, Any]] | ItemResult:
    try:
        row = split(doc, layout, doc_id)
        map_document(doc, properties, doc_id, skip=set(layout), dynamic=dynamic)
        return row
    except MappingError as exc:
        result = parsing_failed(index, doc_id, exc.reason)
        if exc.cause is not None and result.error is not None:
            result.error["caused_by"] = exc.cause
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
    versions: dict[str, int],
    load_docs: Callable[[set[str]], dict[str, dict[str, Any]]],
    properties: Properties | None = None,
    dynamic: str = "true",
) -> tuple[list[ItemResult], dict[str, DocState]]:
    """Outcome of each (action, id) in order, and the final state of every id that changed.

    ``properties`` is the index's dynamic mapping (``mapping.py``), extended in place by new fields;
    ``dynamic`` its root ``dynamic`` setting.

    ``versions`` holds the stored version of each existing id; ``load_docs`` fetches full stored documents
    (called once, for ids that an update touches).
    """
    updated_ids = {doc_id for action, doc_id in items if action.op == "update" and doc_id in versions}
    stored = load_docs(updated_ids) if updated_ids else {}
    states: dict[str, DocState] = {}
    dirty: set[str] = set()
    results: list[ItemResult] = []
    props: Properties = {} if properties is None else properties

    def state(doc_id: str) -> DocState:
        if doc_id not in states:
            known = doc_id in versions
            states[doc_id] = DocState(versions.get(doc_id, 0), known, stored.get(doc_id) if known else None,
                                      stored=known)
        return states[doc_id]

    def put(doc_id: str, doc: dict[str, Any], status_if_new: int = 201) -> ItemResult:
        st = state(doc_id)
        row = _prepare(index, doc, layout, doc_id, props, dynamic)
        if isinstance(row, ItemResult):
            return row
        existed = st.exists
        st.version, st.exists, st.doc, st.row = st.version + 1, True, doc, row
        dirty.add(doc_id)
        if existed:
            return ItemResult(200, None, id=doc_id, result="updated", version=st.version)
        return ItemResult(status_if_new, None, id=doc_id, result="created", version=st.version)

    for action, doc_id in items:
        st = state(doc_id)
        source = action.source or {}
        if action.op == "index":
            results.append(put(doc_id, source))
        elif action.op == "create":
            results.append(version_conflict(index, doc_id, st.version) if st.exists else put(doc_id, source))
        elif action.op == "delete":
            if st.exists:
                st.version, st.exists, st.doc, st.row = st.version + 1, False, None, None
                dirty.add(doc_id)
                results.append(ItemResult(200, None, id=doc_id, result="deleted", version=st.version))
            else:
                results.append(ItemResult(404, None, id=doc_id, result="not_found", version=max(st.version, 1)))
        else:
            results.append(_update(index, doc_id, st, source, put))
    return results, {doc_id: states[doc_id] for doc_id in dirty}


def _update(index: str, doc_id: str, st: DocState, body: dict[str, Any],
            put: Callable[[str, dict[str, Any]], ItemResult]) -> ItemResult:
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
        return ItemResult(200, None, id=doc_id, result="noop", version=st.version)
    return put(doc_id, merged)
