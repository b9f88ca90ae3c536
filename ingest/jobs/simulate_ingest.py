"""Elasticsearch's simulate-ingest API (``POST /_ingest[/{index}]/_simulate``): each document through the
pipelines its index would run (request pipeline, default, final, after reroutes: ``jobs.ingestrun``, with
``pipeline_substitutions`` standing in for stored pipelines), then checked against the mapping it would be
written with (the index's, or its template's for a new one, plus ``mapping_addition``). Nothing is written."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from ingest.indices import mappings as mp
from ingest.indices.catalog import IndexCatalog
from ingest.indices.names import validate_index_name
from ingest.indices.service import IndexStore
from ingest.indices.targets import Resolver
from ingest.indices.templates import TemplateSource, compose
from ingest.jobs.ingestrun import DROPPED, Docs, Plans, run_plans
from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.processors.base import SecurityUser
from ingest.processors.datemath import resolve_index_name
from ingest.sinks.base import ItemResult, Sink
from ingest.sinks.bulk.mapping import MappingError, map_document

_BODY_KEYS = {"docs", "pipeline_substitutions", "component_template_substitutions",
              "index_template_substitutions", "mapping_addition"}


class Substituted:
    """Stored pipelines, with the request's substitutions in their place (validated as a PUT would be)."""

    def __init__(self, service: Any, substitutions: dict[str, Any]) -> None:
        self.service = service
        self.parsed = {pid: service.parse(body, pid) for pid, body in substitutions.items()}

    def load(self, pipeline_id: str) -> Any:
        """The substitute, else the stored pipeline."""
        return self.parsed.get(pipeline_id) or self.service.load(pipeline_id)


def simulate(body: Any, *, default_index: str | None, request_pipeline: str | None, service: Any,
             store: IndexStore | None, catalog: IndexCatalog, templates: TemplateSource | None, sink: Sink,
             user: SecurityUser | None = None) -> dict[str, Any]:
    """The response body ``{"docs": [{"doc": {...}}]}``."""
    if not isinstance(body, dict):
        raise IllegalArgumentException("request body is required")
    unknown = sorted(set(body) - _BODY_KEYS)
    if unknown:
        raise IllegalArgumentException(f"[simulate_ingest] unknown field [{unknown[0]}]")
    docs = body.get("docs")
    if not isinstance(docs, list) or not docs:
        raise IllegalArgumentException("must specify at least one document in [docs]")
    subs = body.get("pipeline_substitutions") or {}
    pipelines = Substituted(service, subs) if subs else service
    resolver = Resolver(catalog, templates)
    now = datetime.now(UTC)
    n_docs = len(docs)
    sources: list[Any] = [None] * n_docs
    targets: list[str | None] = [None] * n_docs
    ids: list[str | None] = [None] * n_docs
    results: list[ItemResult | None] = [None] * n_docs
    plans = Plans()
    for n, doc in enumerate(docs):
        if not isinstance(doc, dict) or not isinstance(doc.get("_source", {}), dict):
            raise IllegalArgumentException("[docs] each document must be an object with a [_source] object")
        sources[n] = copy.deepcopy(doc.get("_source") or {})
        ids[n] = None if doc.get("_id") is None else str(doc["_id"])
        try:
            name = resolve_index_name(str(doc.get("_index") or default_index or ""), now)
            validate_index_name(name)
            plan = resolver.pipelines_for(name, request_pipeline)
        except ElasticsearchError as exc:
            results[n] = ItemResult(exc.status, exc.cause_dict())
            continue
        targets[n] = plan.index
        plans.add(n, plan)
    run_plans(plans, Docs(sources, targets, ids, results), pipelines=pipelines, resolver=resolver, sink=sink,
              user=user, concrete=lambda name: _concrete(name, now))
    addition = body.get("mapping_addition")
    out = []
    for n in range(n_docs):
        entry: dict[str, Any] = {"_id": ids[n], "_index": targets[n], "_version": -3}
        if sources[n] is not DROPPED:
            entry["_source"] = sources[n]
        entry["executed_pipelines"] = plans.executed.get(n, [])
        result = results[n]
        error = result.error if result is not None else None
        if error is None and sources[n] is not DROPPED and targets[n]:
            error = _mapping_error(store, templates, str(targets[n]), sources[n], ids[n], addition)
        if error is not None:
            entry["error"] = error
        out.append({"doc": entry})
    return {"docs": out}


def _concrete(name: str, now: datetime) -> str | ElasticsearchError:
    try:
        concrete = resolve_index_name(name, now)
        validate_index_name(concrete)
    except ElasticsearchError as exc:
        return exc
    return concrete


def _mapping_error(store: IndexStore | None, templates: TemplateSource | None, index: str, source: dict[str, Any],
                   doc_id: str | None, addition: Any) -> dict[str, Any] | None:
    """The error writing ``source`` to ``index`` would meet in its mapping, or None."""
    if store is None:
        return None  # a cluster destination validates there
    try:
        if store.index_exists(index):
            props, options = store.properties(index), store.mapping_options(index)
            skip = set(store.hints(index))
        else:
            composed = compose(templates, index, {}) if templates is not None else {}
            props, options, hints = mp.parse(composed.get("mappings") or {})
            skip = set(hints)
        if addition:
            extra, extra_options, extra_hints = mp.parse(addition)
            props, options = mp.merge(props, extra), {**options, **extra_options}
            skip |= set(extra_hints)
        map_document(copy.deepcopy(source), props, doc_id or "", skip=skip, dynamic=str(options.get("dynamic", "true")))
    except MappingError as exc:
        error: dict[str, Any] = {"type": exc.error_type or "document_parsing_exception", "reason": exc.reason}
        if exc.cause is not None:
            error["caused_by"] = exc.cause
        return error
    except ElasticsearchError as exc:
        return exc.cause_dict()
    return None
