"""``_simulate``: run a pipeline on example documents and render Elasticsearch's response."""

from __future__ import annotations

import json
from typing import Any

from ingest.models.errors import ElasticsearchError, IllegalArgumentException
from ingest.processors.arrow_exec import ingest_timestamp
from ingest.processors.base import SecurityUser
from ingest.processors.document import METADATA_KEYS, IngestDocument
from ingest.processors.errors import ParseException
from ingest.processors.painless.limits import shared_budget
from ingest.processors.pipeline import Pipeline

SIMULATED_PIPELINE_ID = "_simulate_pipeline"
# One _simulate is bounded as a whole, not only script by script: documents, script allocations and seconds.
MAX_SIMULATE_DOCS = 10_000
MAX_SIMULATE_SCRIPT_BYTES = 512 * 1024 * 1024
MAX_SIMULATE_SCRIPT_SECONDS = 30.0
# verbose keeps a copy of each document after each processor: about (source bytes x processors) of memory
MAX_VERBOSE_SNAPSHOT_BYTES = 1024 * 1024 * 1024
# ``_type`` is still accepted (and ignored) in simulate documents, as Elasticsearch does.
_DOC_KEYS = {"_index", "_id", "_routing", "_version", "_version_type", "_if_seq_no", "_if_primary_term",
             "_source", "_type"}


def parse_docs(body: dict[str, Any]) -> list[IngestDocument]:
    """The ``docs`` of a simulate request, with Elasticsearch's defaults (``_index``, ``_id``)."""
    docs = body.get("docs")
    if docs is None:
        raise ParseException("[docs] required property is missing", extra={"property_name": "docs"})
    if not isinstance(docs, list):
        raise ParseException("[docs] property isn't a list", extra={"property_name": "docs"})
    if not docs:
        raise ParseException("must specify at least one document in [docs]", extra={"property_name": "docs"})
    if len(docs) > MAX_SIMULATE_DOCS:
        raise IllegalArgumentException(
            f"[docs] holds [{len(docs)}] documents, more than the [{MAX_SIMULATE_DOCS}] a simulate request may run")
    timestamp = ingest_timestamp()
    out = []
    for entry in docs:
        if not isinstance(entry, dict):
            raise ParseException("[docs] must contain objects", extra={"property_name": "docs"})
        if not isinstance(entry.get("_source"), dict):
            raise ParseException("[_source] required property is missing", extra={"property_name": "_source"})
        unknown = sorted(set(entry) - _DOC_KEYS)
        if unknown:
            raise ParseException(f"[docs] unknown field [{unknown[0]}]")
        meta = {"_index": entry.get("_index", "_index"), "_id": entry.get("_id", "_id"),
                **{k: entry[k] for k in ("_routing", "_version", "_version_type", "_if_seq_no",
                                         "_if_primary_term") if k in entry}}
        meta = {k: str(v) if k in ("_index", "_id", "_routing") else v for k, v in meta.items()}
        out.append(IngestDocument.from_source(entry["_source"], meta, timestamp))
    return out


def render_doc(doc: IngestDocument, *, with_pipeline: str | None = None) -> dict[str, Any]:
    """A document as ``_simulate`` shows it."""
    meta = doc.metadata()
    out: dict[str, Any] = {"_index": meta.get("_index"), "_id": meta.get("_id")}
    out["_version"] = str(meta["_version"]) if "_version" in meta else "-3"
    for key in ("_routing", "_version_type", "_if_seq_no", "_if_primary_term"):
        if key in meta:
            out[key] = meta[key]
    out["_source"] = doc.source()
    ingest = {k: v for k, v in doc.ingest.items() if k != "pipeline"}
    if with_pipeline is not None and "pipeline" in doc.ingest:
        ingest = {"pipeline": doc.ingest["pipeline"], **ingest}
    out["_ingest"] = ingest
    return out


def error_body(error: ElasticsearchError) -> dict[str, Any]:
    """``{"root_cause": [...], "type", "reason", ...}``."""
    return error.error_object()


def _render_trace(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for entry in entries:
        item = dict(entry)
        if isinstance(item.get("doc"), IngestDocument):
            item["doc"] = render_doc(item["doc"], with_pipeline="yes")
        if isinstance(item.get("error"), ElasticsearchError):
            item["error"] = error_body(item["error"])
        if isinstance(item.get("ignored_error"), ElasticsearchError):
            item["ignored_error"] = {"error": error_body(item["ignored_error"])}
        out.append(item)
    return out


def simulate(pipeline: Pipeline, body: dict[str, Any], verbose: bool,
             user: SecurityUser | None = None) -> dict[str, Any]:
    """Run ``pipeline`` on the request's docs and render the response (verbose: per-processor results;
    ``user``: who the request runs as)."""
    docs = parse_docs(body)
    if verbose:
        _check_verbose_cost(pipeline, body["docs"])
        for doc in docs:
            doc.trace = []
    with shared_budget(MAX_SIMULATE_SCRIPT_BYTES, MAX_SIMULATE_SCRIPT_SECONDS):
        failures = pipeline.execute_docs(docs, pipeline.env(user=user))
    results: list[Any] = []
    for doc, failure in zip(docs, failures, strict=True):
        if verbose:
            results.append({"processor_results": _render_trace(doc.trace or [])})
        elif failure is not None:
            results.append({"error": error_body(failure.error)})
        elif doc.dropped:
            results.append(None)
        else:
            results.append({"doc": render_doc(doc)})
    return {"docs": results}


def _check_verbose_cost(pipeline: Pipeline, docs: list[Any]) -> None:
    steps = len(pipeline.processors) + len(pipeline.on_failure)
    size = len(json.dumps(docs, default=str))
    if size * steps > MAX_VERBOSE_SNAPSHOT_BYTES:
        raise IllegalArgumentException(
            f"a verbose simulate of [{size}] bytes of documents through [{steps}] processors would keep about "
            f"[{size * steps}] bytes of snapshots, more than the limit of [{MAX_VERBOSE_SNAPSHOT_BYTES}]; "
            "simulate fewer documents or without verbose"
        )


def metadata_keys() -> tuple[str, ...]:
    """The metadata fields a simulate document may carry."""
    return METADATA_KEYS
