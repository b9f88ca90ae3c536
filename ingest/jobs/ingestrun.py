"""Documents through their pipelines as Elasticsearch's ``IngestService`` runs them: the request's or the
index's default pipeline, then the index's final pipeline (which may not change the target index); a document
moved to another index continues with that index's pipelines (its default one only after a ``reroute``), and
a move back to an index already visited is a cycle. Every document runs, an empty ``{}`` too.

The plan of each document comes from ``ingest.indices.targets`` (the one place that decides), the documents
sharing their next pipeline run as one Arrow batch, round after round until every plan is done.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from ingest.indices.targets import IndexPipelines, Resolver
from ingest.jobs.documents import METADATA_COLUMNS, to_rows
from ingest.jobs.ingeststats import IngestStats
from ingest.jobs.listsource import batches_of
from ingest.models.errors import ElasticsearchError, IllegalArgumentException, ResourceNotFoundException
from ingest.processors.base import SecurityUser
from ingest.sinks.base import ItemResult, Sink

DROPPED: Any = {"__dropped__": True}
MAX_ROUNDS = 64  # a plan is finite (cycles are refused), this only bounds a bug


def error_result(exc: ElasticsearchError) -> ItemResult:
    """A failed item."""
    return ItemResult(status=exc.status, error=exc.cause_dict())


@dataclass
class Plans:
    """What is left to run for each document, by position; the pipelines each ran (for reports)."""

    todo: dict[int, list[str]] = field(default_factory=dict)
    final: dict[int, str | None] = field(default_factory=dict)
    history: dict[int, list[str]] = field(default_factory=dict)
    ran: dict[str, list[int]] = field(default_factory=dict)
    executed: dict[int, list[str]] = field(default_factory=dict)  # each document's pipelines, in order

    def add(self, n: int, plan: IndexPipelines) -> None:
        """Start document ``n`` on ``plan``."""
        self.todo[n] = list(plan.pipelines)
        self.final[n] = plan.final
        self.history.setdefault(n, []).append(plan.index)


@dataclass
class Docs:
    """The documents of a request, by position: sources (``DROPPED`` once dropped), targets, ids, results."""

    sources: list[Any]
    targets: list[str | None]
    ids: list[str | None]
    results: list[ItemResult | None]


def run_plans(plans: Plans, docs: Docs, *, pipelines: Any, resolver: Resolver, sink: Sink,
              user: SecurityUser | None, concrete: Callable[[str], str | ElasticsearchError],
              stats: IngestStats | None = None) -> None:
    """Run every document's pipelines (mutates ``docs``; ``concrete`` resolves and checks a new index name)."""
    sizes = {n: _size(docs.sources[n]) for n, todo in plans.todo.items() if todo} if stats is not None else {}
    _rounds(plans, docs, pipelines, resolver, sink, user, concrete, stats)
    for n, size in sizes.items():
        first = plans.executed.get(n)
        if stats is not None and first:
            written = docs.results[n] is None and docs.sources[n] is not DROPPED
            stats.first_pipeline_bytes(first[0], size, _size(docs.sources[n]) if written else 0)


def _size(source: Any) -> int:
    return len(json.dumps(source, separators=(",", ":"), default=str).encode()) if isinstance(source, dict) else 0


def _rounds(plans: Plans, docs: Docs, pipelines: Any, resolver: Resolver, sink: Sink, user: SecurityUser | None,
            concrete: Callable[[str], str | ElasticsearchError], stats: IngestStats | None) -> None:
    for _ in range(MAX_ROUNDS):
        groups: dict[str, list[int]] = {}
        for n, todo in plans.todo.items():
            if todo and docs.results[n] is None and docs.sources[n] is not DROPPED:
                groups.setdefault(todo[0], []).append(n)
        if not groups:
            return
        for name, members in groups.items():
            before = {n: docs.targets[n] for n in members}
            plans.ran.setdefault(name, []).extend(members)
            for n in members:
                plans.executed.setdefault(n, []).append(name)
            rerouting = _run_one(name, members, docs, pipelines, sink, user, stats)
            for n in members:
                plans.todo[n].pop(0)
                if docs.results[n] is not None or docs.sources[n] is DROPPED or docs.targets[n] == before[n]:
                    continue
                _moved(n, name, str(before[n]), rerouting, plans, docs, resolver, concrete)


def _moved(n: int, pipeline: str, old: str, rerouted: bool, plans: Plans, docs: Docs, resolver: Resolver,
           concrete: Callable[[str], str | ElasticsearchError]) -> None:
    """Document ``n`` left ``old`` for another index during ``pipeline``."""
    target = concrete(str(docs.targets[n]))
    if isinstance(target, ElasticsearchError):
        docs.results[n] = error_result(target)
        return
    if plans.final.get(n) == pipeline and not plans.todo[n]:
        docs.results[n] = error_result(ElasticsearchError(
            f"final pipeline [{pipeline}] can't change the target index (from [{old}] to [{target}]) for "
            f"document [{docs.ids[n]}]", status=500, error_type="illegal_state_exception"))
        return
    history = plans.history.setdefault(n, [old])
    if target in history:
        cycle = ", ".join([*history, target])
        docs.results[n] = error_result(ElasticsearchError(
            f"index cycle detected while processing pipeline [{pipeline}] for document [{docs.ids[n]}]: [{cycle}]",
            status=500, error_type="illegal_state_exception"))
        return
    try:
        plan = resolver.after_reroute(target, rerouted)
    except ElasticsearchError as exc:
        docs.results[n] = error_result(exc)
        return
    docs.targets[n] = plan.index
    plans.add(n, plan)


def _batches(members: list[int], inputs: dict[int, dict[str, Any]]) -> list[tuple[list[int], pa.RecordBatch]]:
    """Arrow batches of the members' documents. Documents whose types clash run one by one; documents
    without fields become rows without columns (Arrow would make no row of ``{}``)."""
    if all(not inputs[n] for n in members):
        empty = pa.RecordBatch.from_pylist([{"_": None}] * len(members)).drop_columns(["_"])
        return [(members, empty)]
    batches = batches_of([inputs[n] for n in members])
    if len(batches) == 1 and batches[0].num_rows == len(members):
        return [(members, batches[0])]
    out = []
    for n in members:
        single = batches_of([inputs[n]])
        if single:
            out.append(([n], single[0]))
        elif not inputs[n]:
            out.append(([n], pa.RecordBatch.from_pylist([{"_": None}]).drop_columns(["_"])))
    return out


def _run_one(name: str, members: list[int], docs: Docs, pipelines: Any, sink: Sink, user: SecurityUser | None,
             stats: IngestStats | None) -> bool:
    """Run pipeline ``name`` on ``members``; True when it may ``reroute`` (a moved document then gets the new
    index's default pipeline, as Elasticsearch's reroute does)."""
    try:
        if pipelines is None:
            raise IllegalArgumentException(f"pipeline with id [{name}] does not exist")
        pipeline = pipelines.load(name)
    except ResourceNotFoundException:
        # Elasticsearch answers a bulk item naming a missing pipeline with 400 illegal_argument_exception.
        for n in members:
            docs.results[n] = error_result(IllegalArgumentException(f"pipeline with id [{name}] does not exist"))
        return False
    except ElasticsearchError as exc:
        for n in members:
            docs.results[n] = error_result(exc)
        return False
    # Processors see the document's _index and _id in ctx, as in Elasticsearch (and skip_existing needs them).
    stored = sink if pipeline.reads_stored_documents() else None
    inputs = {n: _with_keys(docs.sources[n] or {}, docs.targets[n], docs.ids[n]) for n in members}
    originals = {n: docs.sources[n] or {} for n in members}
    for rows, batch in _batches(members, inputs):
        with _counting(stats, name, len(rows)) as failures:
            try:
                result = pipeline.run(batch, stored=stored, user=user, stats=stats)
            except ElasticsearchError as exc:
                for n in rows:
                    docs.results[n] = error_result(exc)
                    failures.append(n)
                continue
            for i, outcome in enumerate(result.outcomes):
                if outcome.status == "failed":
                    err = outcome.error or ElasticsearchError("document failed in the pipeline")
                    docs.results[rows[i]] = error_result(err)
                    failures.append(rows[i])
                elif outcome.status == "dropped":
                    docs.sources[rows[i]] = DROPPED
            for j, doc in enumerate(to_rows(result.table)):
                n = rows[result.source_rows[j]]
                meta = {k: doc.pop(k, None) for k in METADATA_COLUMNS}
                # Arrow fills keys other documents had with nulls (nested ones too); keep only those the
                # document really has.
                docs.sources[n] = _without_filled_nulls(doc, originals[n])
                if meta["_index"]:
                    docs.targets[n] = str(meta["_index"])
                if meta["_id"] is not None:
                    docs.ids[n] = str(meta["_id"])
    return any(p.type == "reroute" for p in pipeline.all_processors())


class _NoCount:
    def __enter__(self) -> list[int]:
        return []

    def __exit__(self, *exc: object) -> None:
        return None


def _counting(stats: IngestStats | None, name: str, docs: int) -> Any:
    return stats.running(name, docs) if stats is not None else _NoCount()


def _without_filled_nulls(doc: dict[str, Any], original: Any) -> dict[str, Any]:
    """``doc`` without the nulls Arrow added: a null is kept only where the original had that key."""
    known = original if isinstance(original, dict) else {}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if value is None and key not in known:
            continue
        out[key] = _without_filled_nulls(value, known.get(key)) if isinstance(value, dict) else value
    return out


def _with_keys(body: dict[str, Any], index: str | None, doc_id: str | None) -> dict[str, Any]:
    keys = {k: v for k, v in (("_index", index), ("_id", doc_id)) if v is not None}
    return {**body, **keys}
