"""Elasticsearch's ``_bulk`` on top of a sink: NDJSON in, per-item results and ``errors`` out.

Index and create actions go through their pipeline (the action's ``pipeline``, else the request's
``?pipeline=``, else the index's ``index.default_pipeline``; ``_none`` disables it), then every action is
written with one ``Sink.write`` call (or the ``write`` given, e.g. ``bulkwrite.write_with_retries``). Item
errors are reported to the client, as Elasticsearch does; with ``deadletters`` every failed document is also
recorded there with its stage and reason (a version conflict on ``create`` is not a failure to keep: the
document is already there; failed updates and deletes are not documents to replay), so that a shipper dropping
4xx items loses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.deadletter.store import DeadLetter, DeadLetterStore, content_of
from ingest.indices.catalog import IndexCatalog
from ingest.indices.names import (
    InvalidIndexName as InvalidIndexName,  # re-exported: callers import it from here
)
from ingest.indices.names import validate_index_name
from ingest.indices.service import auto_create, is_index_store, shard_copies
from ingest.indices.targets import Resolver
from ingest.indices.templates import TemplateSource
from ingest.jobs.bulkparse import BulkLine, parse_bulk
from ingest.jobs.documents import id_error, metadata_field_error
from ingest.jobs.indexmeta import IndexMeta, VectorField, vector_mapping
from ingest.jobs.ingestrun import DROPPED, Docs, Plans, run_plans
from ingest.jobs.ingeststats import IngestStats
from ingest.jobs.upserts import pipeline_sources, restore_updates, update_gets
from ingest.models.errors import (
    ActionRequestValidationException,
    ElasticsearchError,
)
from ingest.processors.base import SecurityUser
from ingest.processors.datemath import resolve_index_name
from ingest.processors.outputs import FieldOutput
from ingest.query.source import SourceFilter
from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink


def _item(op: str, index: str | None, doc_id: str | None, res: ItemResult, copies: int) -> dict[str, Any]:
    """One item of the response; ``copies``: the index's shard copies (primary + replicas), which Elasticsearch
    reports as ``_shards.total`` although a single node holds only the primary."""
    body: dict[str, Any] = {"_index": index, "_id": res.id or doc_id, "status": res.status}
    if res.error is not None:
        body["error"] = res.error
    else:
        body["_version"] = res.version or 1
        body["result"] = res.result or ("deleted" if op == "delete" else "created")
        # A document a pipeline dropped never reaches a shard; any other item (an update's noop too) carries
        # its shard request's copies, as the real node answers.
        body["_shards"] = ({"total": 0, "successful": 0, "failed": 0} if res.status == 200 and res.result == "noop"
                           and res.version is None else {"total": copies, "successful": 1, "failed": 0})
        if res.seq_no is not None and res.seq_no >= 0:
            body["_seq_no"] = res.seq_no
            body["_primary_term"] = res.primary_term or 1
    return {op: body}


def _error_result(exc: ElasticsearchError) -> ItemResult:
    return ItemResult(status=exc.status, error=exc.cause_dict())


@dataclass
class BulkReport:
    """Per-pipeline counts of one request (for metrics): ``{pipeline: [documents, failed]}``; dead letters."""

    pipelines: dict[str, list[int]] = field(default_factory=dict)
    dead_lettered: int = 0


Writer = Callable[[list[BulkAction]], list[ItemResult]]


def run_bulk(raw: bytes, *, sink: Sink, pipelines: Any, default_index: str | None = None,
             request_pipeline: str | None = None, write: Writer | None = None,
             deadletters: DeadLetterStore | None = None, job_id: str = "bulk-api",
             report: BulkReport | None = None, user: SecurityUser | None = None,
             index_meta: Callable[[], IndexMeta] = IndexMeta, templates: TemplateSource | None = None,
             stats: IngestStats | None = None, source: SourceFilter | None = None,
             pipelines_done: bool = False) -> dict[str, Any]:
    """Execute a bulk request (``source``: the request's ``_source`` filter, for the updates' ``get``). ``pipelines`` is a ``PipelineService`` (or None when none is needed);
    ``pipelines_done``: the sender ran every pipeline already, the final one included (a job of the server's
    own home; the server trusts it only from its local client), so none runs here;
    ``write`` defaults to ``sink.write``; failed documents go to ``deadletters`` under ``job_id``; ``user`` is
    who sent it (pipelines' ``set_security_user``; None without security); ``index_meta`` opens the index
    metadata (the app context's ``index_meta``)."""
    start = time.monotonic()
    now = datetime.now(UTC)  # one clock for every date-math index name of the request
    if default_index is not None:
        validate_index_name(resolve_index_name(default_index, now))
    lines = parse_bulk(raw, default_index)
    meta = index_meta()
    catalog = IndexCatalog(meta.path)  # the same file: settings written by either are seen by both
    resolver = Resolver(catalog, templates)
    results: list[ItemResult | None] = [None] * len(lines)
    attempted: set[int] = set()
    sources: list[dict[str, Any] | None] = [ln.body for ln in lines]
    targets: list[str | None] = [ln.index for ln in lines]
    ids: list[str | None] = [ln.id for ln in lines]
    upserts = pipeline_sources([ln.body for ln in lines], [ln.op for ln in lines], sources)  # run pipelines too
    plans = Plans()
    valid: dict[str, str | ElasticsearchError] = {}  # index as sent -> its concrete name, or why it is refused
    ingest_took = 0
    gets: dict[int, dict[str, Any]] = {}
    copies: dict[str, int] = {}
    try:
        for n, line in enumerate(lines):
            if line.error is not None:
                results[n] = _error_result(line.error)
                continue
            if line.index is None:
                results[n] = _error_result(ActionRequestValidationException(["index is missing"]))
                continue
            if line.index not in valid:  # once per index and request
                valid[line.index] = _concrete(line.index, now)
            concrete = valid[line.index]
            if isinstance(concrete, ElasticsearchError):
                results[n] = _error_result(concrete)
                continue
            try:  # an alias writes to its write index, whose pipelines apply
                plan = resolver.pipelines_for(concrete, line.pipeline or request_pipeline)
            except ElasticsearchError as exc:
                results[n] = _error_result(exc)
                continue
            line.index = targets[n] = plan.index
            if not pipelines_done and (line.op in ("index", "create") or upserts.get(n)):
                plans.add(n, plan)
        ingest_start = time.monotonic()
        run_plans(plans, Docs(sources, targets, ids, results), pipelines=pipelines, resolver=resolver, sink=sink,
                  user=user, concrete=lambda name: _concrete(name, now), stats=stats)
        restore_updates(upserts, [ln.body for ln in lines], sources,
                        {n for n in upserts if results[n] is None and sources[n] is not _DROPPED})
        ingest_took = int((time.monotonic() - ingest_start) * 1000)
        for n in range(len(lines)):  # what a pipeline may have set is checked as the action's own metadata
            if results[n] is None and sources[n] is not _DROPPED:
                error = _write_error(lines[n].op, ids[n], sources[n])
                if error is None and targets[n] != lines[n].index:  # a pipeline changed _index (date_index_name)
                    concrete = _concrete(str(targets[n]), now)
                    if isinstance(concrete, ElasticsearchError):
                        error = concrete
                    else:
                        targets[n] = concrete
                if error is not None:
                    results[n] = _error_result(error)
        writable = [n for n in range(len(lines)) if results[n] is None and sources[n] is not _DROPPED]
        for n in range(len(lines)):
            if sources[n] is _DROPPED:
                results[n] = ItemResult(200, None, id=ids[n], result="noop")
        attempted = set(writable)  # failures from here on are the sink's: dead-lettered as they were sent
        written = [n for n in writable if lines[n].op != "delete"]
        declared = _declared_fields(written, targets, sources, plans, pipelines)
        refused = _ensure_indices(sink, meta, declared, catalog, templates)
        for n in writable:
            if str(targets[n]) in refused and lines[n].op != "delete":
                results[n] = _error_result(refused[str(targets[n])])
        writable = [n for n in writable if results[n] is None]
        actions = [BulkAction(lines[n].op, str(targets[n]), ids[n], sources[n], **lines[n].conditions)  # type: ignore[arg-type]
                   for n in writable]
        for n, res in zip(writable, (write or sink.write)(actions) if actions else [], strict=True):
            results[n] = res
        gets = update_gets([ln.op for ln in lines], [ln.body for ln in lines], results, targets, ids, sink,
                           source or SourceFilter(False))
        copies = {str(t): shard_copies(catalog, str(t)) for t in {targets[n] for n in writable}}
    finally:
        meta.close()
        catalog.close()
    groups = plans.ran
    if report is not None:
        for name, members in groups.items():
            counts = report.pipelines.setdefault(name, [0, 0])
            counts[0] += len(members)
            counts[1] += sum(1 for n in members if _failed(results[n]))
    if deadletters is not None:
        letters = [_letter(job_id, lines[n], targets[n], ids[n], sources[n], res, n in attempted)
                   for n, res in enumerate(results)
                   if res is not None and res.error is not None and res.status != 409
                   and lines[n].op in ("index", "create")]
        deadletters.add(letters)
        if report is not None:
            report.dead_lettered += len(letters)
    items = [_item(ln.op, targets[n], ids[n], results[n], copies.get(str(targets[n]), 2))  # type: ignore[arg-type]
             for n, ln in enumerate(lines)]
    for n, get in gets.items():
        items[n][lines[n].op]["get"] = get
    body: dict[str, Any] = {
        "errors": any(r is not None and r.error is not None for r in results),
        "took": int((time.monotonic() - start) * 1000),
    }
    if groups:  # Elasticsearch reports the time spent in pipelines when any ran
        body["ingest_took"] = ingest_took
    body["items"] = items
    return body


_DROPPED = DROPPED


def _templates() -> TemplateSource:
    """The home's templates (only opened when an index is about to be created)."""
    from ingest.models.store import Store

    return Store()


def _failed(res: ItemResult | None) -> bool:
    return res is not None and res.error is not None


def _letter(job_id: str, line: BulkLine, index: str | None, doc_id: str | None, source: Any, res: ItemResult,
            written: bool) -> DeadLetter:
    """A failed item: what the sink refused is kept as sent (enriched, so a replay needs no pipeline); what
    failed before (index name, pipeline) is kept as the client sent it."""
    error = res.error or {}
    content = content_of(source if written else line.body if line.body is not None else {"_id": doc_id})
    return DeadLetter(
        job_id=job_id, stage="write" if written else "pipeline", content=content,
        error_type=str(error.get("type", "exception")), reason=str(error.get("reason", error)), index=index,
        doc_id=doc_id, status=res.status, doc_key=f"{index}/{doc_id}" if doc_id else "",
    )
def _concrete(name: str, now: datetime) -> str | ElasticsearchError:
    """The concrete, valid index of ``name`` (date math such as ``<logs-{now/d}>`` resolved), or its error."""
    try:
        concrete = resolve_index_name(name, now)
        validate_index_name(concrete)
    except ElasticsearchError as exc:
        return exc
    return concrete


def _write_error(op: str, doc_id: str | None, source: dict[str, Any] | None) -> ElasticsearchError | None:
    error = id_error(doc_id) if doc_id is not None else None
    if error is None and op in ("index", "create") and source:
        error = metadata_field_error(source)
    return error


def _declared_fields(written: list[int], targets: list[str | None], sources: list[Any], plans: Plans,
                     pipelines: Any) -> dict[str, dict[str, VectorField]]:
    """The vector fields of each target index, as a job works them out (``indexmeta.vector_mapping``): those
    the pipelines its documents went through declare (``Pipeline.outputs()``, with the endpoint filling each),
    and vectors the documents already carry at paths no pipeline writes (an update's ``doc`` included)."""
    by_index: dict[str, list[int]] = {}
    for n in written:
        by_index.setdefault(str(targets[n]), []).append(n)
    outputs_of: dict[str, list[FieldOutput]] = {}
    fields: dict[str, dict[str, VectorField]] = {}
    for index, members in by_index.items():
        outputs: dict[str, FieldOutput] = {}
        for name in dict.fromkeys(p for n in members for p in plans.executed.get(n, [])):
            if name not in outputs_of:
                outputs_of[name] = _pipeline_outputs(name, pipelines)
            outputs.update((out.path, out) for out in outputs_of[name])
        docs = [_document(sources[n]) for n in members]
        fields[index] = vector_mapping(list(outputs.values()), docs)
    return fields


def _document(source: Any) -> dict[str, Any]:
    """The fields an action writes: its source, or an update's ``doc``."""
    if not isinstance(source, dict):
        return {}
    doc = source.get("doc")
    return doc if isinstance(doc, dict) and set(source) <= {"doc", "doc_as_upsert", "detect_noop"} else source


def _pipeline_outputs(name: str, pipelines: Any) -> list[FieldOutput]:
    """What pipeline ``name`` declares it writes (nothing when it cannot be loaded: its documents failed)."""
    try:
        outputs: list[FieldOutput] = pipelines.load(name).outputs()
    except ElasticsearchError:
        return []
    return outputs


def _ensure_indices(sink: Sink, meta: IndexMeta, declared: dict[str, dict[str, VectorField]],
                    catalog: IndexCatalog, templates: TemplateSource | None) -> dict[str, ElasticsearchError]:
    """Create or extend the target indices with their vector fields (a new index of the embedded store gets its
    matching index template, as Elasticsearch's auto-create) and record the endpoint filling each field (so
    ``ingest search`` embeds the query with it); an index the sink refuses (a conflicting mapping, a cluster
    that cannot be reached) fails its documents alone: its error is returned by index name."""
    refused: dict[str, ElasticsearchError] = {}
    for index, fields in declared.items():
        hints = {p: FieldHint(f.kind, f.dims, f.similarity if f.kind == "dense" else None) for p, f in fields.items()}
        try:
            if is_index_store(sink) and not sink.index_exists(index):  # type: ignore[attr-defined]
                auto_create(sink, catalog, templates if templates is not None else _templates(), index)  # type: ignore[arg-type]
            sink.ensure_index(index, hints)
        except ElasticsearchError as exc:
            refused[index] = exc
            continue
        if not meta.exists(index) or fields:
            known = meta.fields(index)
            # a field first seen in a document keeps its record; a pipeline's endpoint replaces an earlier one
            new = {p: {"kind": f.kind, "dims": f.dims, "endpoint": f.endpoint} for p, f in fields.items()
                   if p not in known or (f.endpoint is not None and known[p].get("endpoint") != f.endpoint)}
            meta.record_fields(index, new)
    return refused
