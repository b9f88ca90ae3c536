"""Running processors over a batch of documents with Elasticsearch's failure semantics.

Execution is processor-major: each processor sees every live document of the batch at once, which is what lets
the inference processor send one request per batch. Per document the outcome is the same as Elasticsearch's
document-at-a-time CompoundProcessor: ``ignore_failure``, a processor's ``on_failure`` (then continue), the
enclosing list's ``on_failure`` (then stop), ``drop`` and ``terminate``.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from ingest.models.errors import ElasticsearchError
from ingest.processors.base import ExecEnv, Failure, Processor
from ingest.processors.document import IngestDocument
from ingest.processors.errors import as_es_error
from ingest.processors.metrics import Measure

FAILURE_KEYS = ("on_failure_message", "on_failure_processor_type", "on_failure_processor_tag",
                "on_failure_pipeline")


def run_compound(processors: list[Processor], on_failure: list[Processor], docs: list[IngestDocument],
                 env: ExecEnv) -> list[Failure | None]:
    """Run a processor list; failures go to ``on_failure`` (which ends the list for that document)."""
    failures: list[Failure | None] = [None] * len(docs)
    for proc in processors:
        live = [i for i, d in enumerate(docs) if failures[i] is None and not d.dropped and not d.terminated]
        if not live:
            break
        results = run_processor(proc, [docs[i] for i in live], env)
        for i, failure in zip(live, results, strict=True):
            failures[i] = failure
    failed = [i for i, f in enumerate(failures) if f is not None]
    if failed and on_failure:
        handled = run_on_failure(on_failure, [docs[i] for i in failed], [failures[i] for i in failed], env)
        for i, failure in zip(failed, handled, strict=True):
            failures[i] = failure
    return failures


def run_on_failure(handlers: list[Processor], docs: list[IngestDocument], failures: list[Any],
                   env: ExecEnv) -> list[Failure | None]:
    """Run failure handlers with the ``_ingest.on_failure_*`` fields set, then restore the previous values."""
    saved = [{k: d.ingest[k] for k in FAILURE_KEYS if k in d.ingest} for d in docs]
    for doc, failure in zip(docs, failures, strict=True):
        doc.ingest["on_failure_message"] = failure.error.reason
        doc.ingest["on_failure_processor_type"] = failure.processor_type
        doc.ingest["on_failure_processor_tag"] = failure.processor_tag
        if failure.pipeline:
            doc.ingest["on_failure_pipeline"] = failure.pipeline
        else:
            doc.ingest.pop("on_failure_pipeline", None)
    results = run_compound(handlers, [], docs, env)
    for doc, before in zip(docs, saved, strict=True):
        for key in FAILURE_KEYS:
            doc.ingest.pop(key, None)
        doc.ingest.update(before)
    return results


def run_processor(proc: Processor, docs: list[IngestDocument], env: ExecEnv) -> list[Failure | None]:
    """One processor over a batch: its ``if``, the work, ``ignore_failure`` and its own ``on_failure``."""
    common = proc.common
    out: list[Failure | None] = [None] * len(docs)
    selected: list[int] = []
    for k, doc in enumerate(docs):
        if common.condition is None:
            selected.append(k)
            continue
        try:
            passed = common.condition.test(doc)
        except Exception as exc:
            err = as_es_error(exc)
            if common.ignore_failure:
                _trace(doc, proc, "error_ignored", error=err, snapshot=True)
                continue
            _trace(doc, proc, "error", error=err)
            out[k] = Failure(err, proc.type, common.tag, env.pipeline_id)
            continue
        if passed:
            selected.append(k)
        else:
            _trace(doc, proc, "skipped", result=False)
    meter = env.meter if env.meter is not None and env.meter.measures(proc) else None
    with meter.measure(proc, len(selected)) if meter is not None else nullcontext(Measure()) as measure:
        results = proc.execute_batch([docs[k] for k in selected], env) if selected else []
        for k, result in zip(selected, results, strict=True):
            doc = docs[k]
            if result is None:
                if proc.type != "pipeline":  # the pipeline processor traces itself before its inner processors
                    _trace(doc, proc, "dropped" if doc.dropped else "success", snapshot=not doc.dropped)
                continue
            failure: Failure = (result if isinstance(result, Failure)
                                else Failure(result, proc.type, common.tag, env.pipeline_id))
            measure.failed += 1  # ignored failures too: Elasticsearch's inner processor metric counts them
            if common.ignore_failure:
                _trace(doc, proc, "error_ignored", error=failure.error, snapshot=True)
                continue
            if proc.type != "pipeline":  # the pipeline processor traced itself (or its inner processors did)
                _trace(doc, proc, "error", error=failure.error)
            out[k] = failure
        failed = [k for k, f in enumerate(out) if f is not None]
        if failed and common.on_failure:
            handled = run_on_failure(common.on_failure, [docs[k] for k in failed], [out[k] for k in failed], env)
            for k, handled_failure in zip(failed, handled, strict=True):
                out[k] = handled_failure
    return out


def _trace(doc: IngestDocument, proc: Processor, status: str, *, error: ElasticsearchError | None = None,
           snapshot: bool = False, result: bool | None = None) -> None:
    """Record one verbose-simulate entry (only when the document is being traced)."""
    if doc.trace is None:
        return
    entry: dict[str, Any] = {"processor_type": proc.type, "status": status}
    if proc.common.description is not None:
        entry["description"] = proc.common.description
    if proc.common.tag is not None:
        entry["tag"] = proc.common.tag
    if proc.common.condition is not None:
        entry["if"] = {"condition": proc.common.condition.source, "result": result is not False}
    if error is not None:
        entry["ignored_error" if status == "error_ignored" else "error"] = error
    if snapshot:
        entry["doc"] = doc.copy()
    doc.trace.append(entry)


def trace_entry(doc: IngestDocument, proc: Processor, status: str, *, error: ElasticsearchError | None = None,
                snapshot: bool = False) -> None:
    """Public hook for processors that trace themselves (``pipeline``)."""
    _trace(doc, proc, status, error=error, snapshot=snapshot)
