"""The part of an ``update`` that goes through ingest pipelines, as Elasticsearch's TransportBulkAction picks it
(``getIndexWriteRequest``): the ``doc`` of a ``doc_as_upsert`` update, else its ``upsert`` document. Pipelines
(the request's, the index's default and final ones) run on it before the update is applied: a document an
upsert creates is processed as on the real node. On an existing document the real node (9.1) differs: it applies
the pipeline to an ``upsert`` update's result and not to a ``doc_as_upsert``'s, while this processes the upsert
part only (``tests/api/test_update_pipelines_es.py`` records the cases). A plain ``doc`` or ``script`` runs none."""

from __future__ import annotations

from typing import Any

from ingest.processors.base import StoredSources
from ingest.query.source import SourceFilter, from_body
from ingest.sinks.base import ItemResult


def upsert_key(body: Any) -> str | None:
    """Which key of an update body the pipelines run on (``doc`` or ``upsert``), or None."""
    if not isinstance(body, dict):
        return None
    if body.get("doc_as_upsert") is True:
        return "doc" if isinstance(body.get("doc"), dict) else None
    return "upsert" if isinstance(body.get("upsert"), dict) else None


def pipeline_sources(bodies: list[Any], ops: list[str], sources: list[Any]) -> dict[int, str]:
    """Replace each update's source by the part its pipelines run on; the key of each one replaced, by position."""
    keys: dict[int, str] = {}
    for n, (op, body) in enumerate(zip(ops, bodies, strict=True)):
        key = upsert_key(body) if op == "update" else None
        if key is not None:
            keys[n] = key
            sources[n] = body[key]
    return keys


def restore_updates(keys: dict[int, str], bodies: list[Any], sources: list[Any], keep: set[int]) -> None:
    """Put each processed part back into its update body (``keep``: the positions still to be written; the
    others, failed or dropped, keep what the pipelines left)."""
    for n, key in keys.items():
        if n in keep:
            sources[n] = {**bodies[n], key: sources[n]}


def update_gets(ops: list[str], bodies: list[Any], results: list[ItemResult | None], targets: list[str | None],
                ids: list[str | None], sink: StoredSources, default: SourceFilter) -> dict[int, dict[str, Any]]:
    """The ``get`` of each written update whose ``_source`` (its body's, else the request's) asks for it, as
    Elasticsearch's UpdateHelper.extractGetResult: the document after the update, noops included."""
    wanted: dict[int, SourceFilter] = {}
    for n, op in enumerate(ops):
        res, body = results[n], bodies[n]
        if op != "update" or res is None or res.error is not None or res.result == "deleted":
            continue
        spec = body.get("_source") if isinstance(body, dict) else None
        chosen = from_body(spec, default)
        if chosen.fetch and ids[n] is not None and targets[n] is not None:
            wanted[n] = chosen
    by_index: dict[str, list[int]] = {}
    for n in wanted:
        by_index.setdefault(str(targets[n]), []).append(n)
    gets: dict[int, dict[str, Any]] = {}
    for index, members in by_index.items():
        # The sink's document as the update left it; else (a sink that does not say) the stored one.
        missing = [str(ids[n]) for n in members if results[n] is not None and results[n].source is None]  # type: ignore[union-attr]
        stored = sink.fetch(index, missing) if missing else {}
        for n in members:
            res = results[n]
            source = res.source if res is not None and res.source is not None else stored.get(str(ids[n]))
            if source is None or res is None:
                continue
            gets[n] = {"_seq_no": res.seq_no, "_primary_term": res.primary_term or 1, "found": True,
                       "_source": wanted[n].apply(source) or {}}
    return gets
