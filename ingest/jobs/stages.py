"""The work of each stage, without the threading: turn a source batch into bulk items, send a bulk."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from ingest.deadletter.store import DeadLetter, content_of
from ingest.jobs.acks import AckTracker
from ingest.jobs.budget import Letters
from ingest.jobs.bulkitems import Item, Prepared, source_row, write_items
from ingest.jobs.config import JobConfig
from ingest.jobs.documents import (
    METADATA_COLUMNS,
    METADATA_FIELDS,
    batch_content_ids,
    concrete_index,
    content_ids,
    estimate_sizes,
    field_ids,
    id_error,
    metadata_field_error,
    to_rows,
)
from ingest.jobs.faults import fault
from ingest.models.errors import ElasticsearchError
from ingest.sources.base import SourceError
from ingest.sources.jsonready import json_ready

if TYPE_CHECKING:
    from ingest.processors.arrow_exec import PipelineResult
    from ingest.processors.base import StoredSources
    from ingest.processors.runnable import RunnablePipeline
    from ingest.sinks.base import Writer

RETRY_ITEM_STATUSES = frozenset({429, 503})
INGEST_COLUMN = "_ingest"  # a source's per-document metadata, exposed to the pipeline as _ingest.*


class Counters:
    """Live counts for the progress display (the committed ones live in the AckTracker)."""

    def __init__(self) -> None:
        self.read = self.indexed = self.failed = self.dropped = self.retried = 0
        self.requests_retried = 0  # whole bulk requests repeated because the sink was unreachable/overloaded
        self.pipeline_failed = 0  # documents the pipeline failed (for the job's ingest stats)
        self.unreadable_files: list[str] = []  # files dead-lettered whole (truncated, corrupt)


def backoff_s(attempt: int, config: JobConfig) -> float:
    """Exponential backoff with jitter: the cap doubles per attempt, the wait is drawn from its upper half."""
    cap = min(config.backoff_max_s, config.backoff_initial_s * (2 ** max(0, attempt - 1)))
    return cap * random.uniform(0.5, 1.0)


def _letter(config: JobConfig, job_id: str, stage: str, original: Any, doc_id: str | None, error: Any,
            status: int | None = None, at: str | None = None) -> DeadLetter:
    """A dead letter keyed by its id, else its content (and ``at``, where an unreadable record was: identical
    bad records at two places are two letters, the same one read again after a restart is one)."""
    if isinstance(error, ElasticsearchError):
        etype, reason, status = error.error_type, error.reason, status or error.status
    elif isinstance(error, dict):
        etype, reason = str(error.get("type", "exception")), str(error.get("reason", error))
    elif isinstance(error, BaseException):
        etype, reason = type(error).__name__, str(error)
    else:
        etype, reason = "exception", str(error)
    return DeadLetter(
        job_id=job_id, stage=stage, content=content_of(original), error_type=etype, reason=reason,  # type: ignore[arg-type]
        index=config.index, doc_id=doc_id, status=status, doc_key=doc_id or content_ids([{"c": content_of(original), **({"at": at} if at else {})}])[0],
    )


def prepare_batch(
    seq: int,
    batch: pa.RecordBatch,
    read_errors: list[SourceError],
    *,
    config: JobConfig,
    job_id: str,
    pipeline: RunnablePipeline | None,
    tracker: AckTracker,
    deadletters: Letters,
    counters: Counters,
    sleep: Callable[[float], None] = time.sleep,
    stored: StoredSources | None = None,
) -> Prepared | None:
    """Run the pipeline on one source batch; dead-letter its failures; return what is to be written.

    ``stored`` (the sink) is handed to pipelines that compare with the stored documents (``skip_existing``);
    their rows then carry ``_index`` / ``_id``, as Elasticsearch's ``ctx`` does.
    """
    letters = [
        _letter(config, job_id, "read", e.text, None,
                {"type": "parsing_exception", "reason": e.reason if e.whole_file else f"{e.location}: {e.reason}"}, 400,
                at=e.location)
        for e in read_errors
    ]
    counters.unreadable_files += [e.location for e in read_errors if e.whole_file]
    batch = json_ready(batch)  # every source's dates, times and decimals as the official client sends them
    given_ids: list[Any] | None = None
    if "_id" in batch.schema.names:
        # Ids carried by the source (an index being reindexed, a dead-letter replay) win over everything.
        given_ids = batch.column("_id").to_pylist()
        batch = batch.drop_columns(["_id"])
    if pipeline is None and INGEST_COLUMN in batch.schema.names:
        # Source metadata (Kafka's topic, offset, key…) is for pipelines to read, never indexed.
        batch = batch.drop_columns([INGEST_COLUMN])
    if given_ids is not None and None not in given_ids:
        ids: list[str | None] = [str(g) for g in given_ids]  # hashing every row for ids unused costs 30% (Kafka)
    else:
        ids = _input_ids(batch, config.id_field)
        if given_ids is not None:
            ids = [str(g) if g is not None else i for g, i in zip(given_ids, ids, strict=True)]
    dropped = 0
    if pipeline is None:
        out_table: pa.Table | pa.RecordBatch = batch
        source_rows = list(range(batch.num_rows))
    else:
        if stored is not None and pipeline.reads_stored_documents():
            lookup = PatientLookup(stored, config, sleep)
            result = _run_pipeline(pipeline, _with_keys(batch, config.index, ids), config, sleep, lookup)
        else:
            result = _run_pipeline(pipeline, batch, config, sleep)
        if isinstance(result, BaseException):
            letters += [_letter(config, job_id, "pipeline", o, ids[i], result) for i, o in enumerate(to_rows(batch))]
            deadletters.add(letters)
            counters.failed += len(letters)
            counters.pipeline_failed += batch.num_rows
            tracker.seal(seq, failed=len(letters))
            return None
        out_table, source_rows = result.table, list(result.source_rows)
        for i, outcome in enumerate(result.outcomes):
            if outcome.status == "failed":
                counters.pipeline_failed += 1
                error = outcome.error or ElasticsearchError("document failed in the pipeline")
                letters.append(_letter(config, job_id, "pipeline", source_row(batch, i), ids[i], error))
            elif outcome.status == "dropped":
                dropped += 1
    fault("pipeline")
    meta = {k: out_table.column(k).to_pylist() for k in METADATA_COLUMNS if k in out_table.schema.names}
    out_table = out_table.drop_columns(list(meta))
    sizes = estimate_sizes(out_table)
    prepared = Prepared(seq, out_table, batch, [], [], [], [], [])
    # Elasticsearch's metadata fields may not be document fields: a row holding one is refused, as by _bulk.
    reserved = {name: out_table.column(name).is_valid().to_pylist()
                for name in out_table.schema.names if name in METADATA_FIELDS}
    if _all_plain(source_rows, ids, meta, reserved, sizes, config.bulk_bytes):
        # The common case, decided for the whole batch: every row has a valid id of its own, the job's index,
        # no metadata field and a size under the limit; the loop below would keep every row as it is.
        prepared.keep = list(range(len(source_rows)))
        prepared.ids = [ids[src] for src in source_rows]  # type: ignore[misc]  # no None: checked
        prepared.indices = [config.index] * len(source_rows)
        prepared.sizes = sizes.tolist()
        prepared.source_rows = source_rows
        source_rows = []
    for j, src in enumerate(source_rows):
        meta_id = meta["_id"][j] if "_id" in meta else None
        doc_id = str(meta_id) if meta_id is not None else ids[src]
        if doc_id is None:
            reason = f"field [{config.id_field}] is missing or not a scalar; it is needed as the document id"
            letters.append(_letter(config, job_id, "pipeline", source_row(batch, src), None,
                                   {"type": "illegal_argument_exception", "reason": reason}, 400))
            continue
        refused = id_error(doc_id) or metadata_field_error({k: 1 for k, valid in reserved.items() if valid[j]})
        if refused is not None:
            letters.append(_letter(config, job_id, "write", source_row(batch, src), doc_id, refused))
            continue
        size = int(sizes[j])
        if size > config.bulk_bytes:
            reason = f"document of about [{size}] bytes exceeds the bulk request size limit [{config.bulk_bytes}]"
            letters.append(_letter(config, job_id, "write", source_row(batch, src), doc_id,
                                   {"type": "illegal_argument_exception", "reason": reason}, 413))
            continue
        try:
            target = concrete_index(meta["_index"][j] if "_index" in meta else None, config.index)
        except ElasticsearchError as exc:  # a bad date-math _index from the pipeline
            letters.append(_letter(config, job_id, "pipeline", source_row(batch, src), doc_id, exc))
            continue
        prepared.keep.append(j)
        prepared.ids.append(doc_id)
        prepared.indices.append(target)
        prepared.sizes.append(size)
        prepared.source_rows.append(src)
    if letters:
        deadletters.add(letters)
        fault("deadletter")
    counters.failed += len(letters)
    counters.dropped += dropped
    tracker.add(seq, len(prepared))
    tracker.seal(seq, failed=len(letters), dropped=dropped)
    return prepared if len(prepared) else None


def _all_plain(source_rows: list[int], ids: list[str | None], meta: dict[str, list[Any]],
               reserved: dict[str, list[bool]], sizes: Any, bulk_bytes: int) -> bool:
    """Whether no output row needs a decision of its own (an id from the pipeline or refused, an index of its
    own, a metadata field, a size over the bulk limit)."""
    if "_id" in meta or "_index" in meta or any(any(valid) for valid in reserved.values()):
        return False
    if len(sizes) and int(sizes.max()) > bulk_bytes:
        return False
    # ids of up to 128 characters are at most 512 bytes: only longer ones need their UTF-8 length measured
    return all(i and (len(i) <= 128 or id_error(i) is None) for i in (ids[src] for src in source_rows))


def _input_ids(batch: pa.RecordBatch, id_field: str | None) -> list[str | None]:
    """Ids from the id field (a top-level column read straight from Arrow), or content hashes."""
    if id_field is None:
        return list(batch_content_ids(batch))
    if id_field in batch.schema.names and not pa.types.is_nested(batch.schema.field(id_field).type):
        values = batch.column(id_field).to_pylist()
        return [None if v is None or isinstance(v, bool) else str(v) for v in values]
    return field_ids(to_rows(batch), id_field)


def _with_keys(batch: pa.RecordBatch, index: str, ids: list[str | None]) -> pa.RecordBatch:
    """The batch with ``_id`` (the ids the documents will get) and ``_index`` (unless the source gives it)."""
    columns, names = list(batch.columns), list(batch.schema.names)
    if "_index" not in names:
        columns.append(pa.array([index] * batch.num_rows, pa.string()))
        names.append("_index")
    columns.append(pa.array(ids, pa.string()))
    names.append("_id")
    return pa.RecordBatch.from_arrays(columns, names=names)


def _run_pipeline(pipeline: RunnablePipeline, batch: pa.RecordBatch, config: JobConfig,
                  sleep: Callable[[float], None],
                  stored: StoredSources | None = None) -> PipelineResult | ElasticsearchError:
    """The pipeline's result, retrying whole-batch overload errors; another error is returned, not raised."""
    attempt = 0
    while True:
        try:
            return pipeline.run(batch, stored=stored)
        except ElasticsearchError as exc:
            attempt += 1
            if exc.status not in (408, 429, 503) or attempt > config.max_retries:
                return exc
            sleep(backoff_s(attempt, config))


class Outage:
    """A sink that is unreachable or overloaded as a whole: waited out with the job's backoff, for up to
    ``unavailable_timeout_s`` of consecutive failures (bulk writes and stored-document lookups alike)."""

    def __init__(self, config: JobConfig, sleep: Callable[[float], None]) -> None:
        self.config, self.sleep = config, sleep
        self.attempt = 0
        self.since: float | None = None

    def wait(self) -> bool:
        """Sleep before the next try; False (no sleep) once the outage has lasted too long."""
        self.since = self.since or time.monotonic()
        if time.monotonic() - self.since > self.config.unavailable_timeout_s:
            return False
        self.attempt += 1
        self.sleep(backoff_s(self.attempt, self.config))
        return True

    def over(self) -> None:
        """The sink answered: the next failure starts a new outage."""
        self.attempt, self.since = 0, None


class PatientLookup:
    """The sink's stored-document lookup with the job's patience: an unreachable or overloaded cluster is
    waited out as bulk writes are (``Outage``), instead of failing every document of the batch that
    ``skip_existing`` had to compare."""

    def __init__(self, stored: StoredSources, config: JobConfig, sleep: Callable[[float], None]) -> None:
        self.stored, self.config, self.sleep = stored, config, sleep

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """``stored.fetch``, repeated while the failure is transient and the outage not too long."""
        outage = Outage(self.config, self.sleep)
        while True:
            try:
                return self.stored.fetch(index, ids)
            except Exception as exc:
                if not is_transient(exc) or not outage.wait():
                    raise


def is_transient(exc: BaseException) -> bool:
    """Whether a failed bulk request is worth repeating: the sink is unreachable, overloaded or restarting."""
    if isinstance(exc, ElasticsearchError):
        # 500 is a failure of ours or the sink's, not a passing condition: repeating it would only wait.
        return exc.status in (408, 429, 502, 503, 504)
    if isinstance(exc, OSError | TimeoutError):
        return True
    names = " ".join(c.__name__ for c in type(exc).__mro__)
    return any(word in names for word in ("Connection", "Timeout", "Transport", "Network", "Protocol"))


def send_chunk(
    items: list[Item],
    *,
    sink: Writer,
    config: JobConfig,
    job_id: str,
    tracker: AckTracker,
    deadletters: Letters,
    counters: Counters,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Write one bulk; retry only the items rejected with 429/503; dead-letter other item errors; acknowledge."""
    pending = items
    attempt = 0  # rounds of item retries (429/503 items)
    outage = Outage(config, sleep)  # consecutive failed requests (sink unreachable or overloaded as a whole)
    while pending:
        try:
            results = write_items(sink, pending)
        except Exception as exc:
            if not is_transient(exc):
                if isinstance(exc, ElasticsearchError) and 400 <= exc.status < 500:
                    _fail(pending, exc, None, config, job_id, tracker, deadletters, counters)
                    return
                raise
            if not outage.wait():
                raise
            counters.requests_retried += 1
            continue
        outage.over()
        fault("bulk")
        if len(results) != len(pending):
            raise RuntimeError(f"sink answered {len(results)} results for {len(pending)} actions")
        retry: list[Item] = []
        done: dict[int, int] = {}
        for item, res in zip(pending, results, strict=True):
            if res.error is None:
                done[item.seq] = done.get(item.seq, 0) + 1
            elif res.status in RETRY_ITEM_STATUSES and attempt < config.max_retries:
                retry.append(item)
            else:
                _fail([item], res.error or {"type": "exception", "reason": f"status {res.status}"}, res.status,
                      config, job_id, tracker, deadletters, counters)
        for seq, n in done.items():
            counters.indexed += n
            tracker.done(seq, indexed=n)
        pending = retry
        if retry:
            attempt += 1
            counters.retried += len(retry)
            sleep(backoff_s(attempt, config))


def _fail(items: list[Item], error: Any, status: int | None, config: JobConfig, job_id: str,
          tracker: AckTracker, deadletters: Letters, counters: Counters) -> None:
    deadletters.add([_letter(config, job_id, "write", it.original, it.id, error, status) for it in items])
    fault("deadletter")
    counters.failed += len(items)
    per_seq: dict[int, int] = {}
    for it in items:
        per_seq[it.seq] = per_seq.get(it.seq, 0) + 1
    for seq, n in per_seq.items():
        tracker.done(seq, failed=n)
