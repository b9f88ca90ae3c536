"""One run of a job: the reader, transform, batch and sender threads over bounded queues, checkpoints after
acknowledgements (``Job``); ``runner.run_job`` builds one from a ``JobConfig``."""


from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from ingest.context import AppContext
from ingest.deadletter.store import DeadLetterStore
from ingest.jobs.acks import AckTracker
from ingest.jobs.budget import ErrorBudget, TooManyErrors, parse_max_errors
from ingest.jobs.bulkitems import Item, Prepared
from ingest.jobs.checkpoint import Checkpoints
from ingest.jobs.config import JobConfig, JobSummary
from ingest.jobs.faults import fault
from ingest.jobs.indexmeta import prepare_index, vector_mapping
from ingest.jobs.ingeststats import IngestStats
from ingest.jobs.progress import Reporter, SilentReporter
from ingest.jobs.stages import Counters, prepare_batch, send_chunk
from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import BulkAction, ItemResult, Sink
from ingest.sinks.registry import batch_writes
from ingest.sources.base import Source, SourceBatch

if TYPE_CHECKING:
    import pyarrow as pa

    from ingest.processors.runnable import RunnablePipeline

_DONE = object()


class _Stop(Exception):
    """Another stage failed; this one unwinds quietly."""


class _Serialised:
    """A sink shared by several senders, one ``write`` at a time; of the sink's declared kind (so the registry
    answers for it what it answers for the sink)."""

    def __init__(self, sink: Sink, lock: threading.Lock) -> None:
        self._sink, self._lock = sink, lock
        self.kind_name = sink.kind_name

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """``Sink.write``, one sender at a time."""
        with self._lock:
            return self._sink.write(actions)

    def write_batch(self, index: str, table: pa.Table | pa.RecordBatch, ids: list[str]) -> list[ItemResult]:
        """``BatchWrites.write_batch``, one sender at a time (only called when the kind declares it)."""
        batches = batch_writes(self._sink)
        if batches is None:
            raise TypeError(f"a sink of kind [{self.kind_name}] has no batch write")
        with self._lock:
            return batches.write_batch(index, table, ids)

    def close(self) -> None:
        """The shared sink is closed by its owner."""


class Job:
    """One run of a job. Build it, call :meth:`run`."""

    def __init__(
        self,
        config: JobConfig,
        *,
        source: Source,
        sink: Sink,
        pipeline: RunnablePipeline | None = None,
        inference: Any = None,
        deadletters: DeadLetterStore | None = None,
        reporter: Reporter | None = None,
        sink_factory: Callable[[], Sink] | None = None,
        context: AppContext | None = None,
        pipeline_id: str | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        self.config = config
        self.sink_factory = sink_factory
        self._sink_lock = threading.Lock()
        self.job_id = config.resolved_job_id()
        self.source, self.sink, self.pipeline = source, sink, pipeline
        # The fields the pipeline writes, with their vector types: the index's mapping comes from them.
        self.outputs = pipeline.outputs() if pipeline is not None else []
        self.inference = inference
        self.reporter = reporter or SilentReporter()
        self.context = context
        self.checkpoints = context.checkpoints(self.job_id) if context is not None else Checkpoints(self.job_id)
        self.counters = Counters()
        # Elasticsearch's ``GET /_nodes/stats/ingest`` counters for this run, carried by the final summary.
        self.ingest_stats = IngestStats()
        self.pipeline_id = pipeline_id or pipeline_name(config.pipeline)
        self.deadletters = ErrorBudget(deadletters or DeadLetterStore(), parse_max_errors(config.max_errors),
                                       self.counters, self.job_id)
        # set from outside (``cancel``: the server's job route when its client went away) it stops the job
        # as Ctrl-C does: acknowledged batches stay, the checkpoint is where ``--resume`` goes on from
        self._stop = cancel if cancel is not None else threading.Event()
        self._errors: list[BaseException] = []
        depth = max(1, config.queue_depth)
        self._q_batches: queue.Queue[Any] = queue.Queue(depth)
        self._q_items: queue.Queue[Any] = queue.Queue(depth)
        self._q_chunks: queue.Queue[Any] = queue.Queue(config.sender_count())
        self._loading = False
        self._last_position: dict[str, Any] | None = None

    # --- plumbing -------------------------------------------------------------------------------------------

    def _put(self, q: queue.Queue[Any], value: Any) -> None:
        while True:
            if self._stop.is_set():
                raise _Stop
            try:
                q.put(value, timeout=0.2)
                return
            except queue.Full:
                continue

    def _get(self, q: queue.Queue[Any], timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if self._stop.is_set():
                raise _Stop
            try:
                return q.get(timeout=0.2)
            except queue.Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                continue

    def _thread(self, name: str, target: Callable[[], None]) -> threading.Thread:
        def wrapped() -> None:
            try:
                target()
            except _Stop:
                pass
            except BaseException as exc:
                self._errors.append(exc)
                self._stop.set()

        t = threading.Thread(target=wrapped, name=f"ingest-{name}", daemon=True)
        t.start()
        return t

    # --- stages ---------------------------------------------------------------------------------------------

    def _read(self, resume_from: dict[str, Any] | None) -> None:
        for seq, sb in enumerate(self.source.batches(resume_from=resume_from), start=1):
            rows = sb.batch.num_rows + len(sb.errors)
            self.tracker.open(seq, sb.position, rows)
            self.counters.read += rows
            fault("read")
            self._put(self._q_batches, (seq, sb))
        self._put(self._q_batches, _DONE)

    def _transform(self) -> None:
        while (got := self._get(self._q_batches)) is not _DONE:
            seq, sb = got
            prepared = self._prepare(seq, sb)
            if prepared is not None:
                self._put(self._q_items, prepared)
        self._put(self._q_items, _DONE)

    def _prepare(self, seq: int, sb: SourceBatch) -> Prepared | None:
        """One batch through the pipeline, counted in the job's ingest stats when there is a pipeline."""
        def prepare() -> Prepared | None:
            return prepare_batch(
                seq, sb.batch, sb.errors, config=self.config, job_id=self.job_id, pipeline=self.pipeline,
                tracker=self.tracker, deadletters=self.deadletters, counters=self.counters, stored=self.sink,
            )

        if self.pipeline is None:
            return prepare()
        failed_before = self.counters.pipeline_failed  # only this thread runs pipelines
        with self.ingest_stats.running(self.pipeline_id, sb.batch.num_rows) as failures:
            prepared = prepare()
            failures.extend([1] * (self.counters.pipeline_failed - failed_before))
        return prepared

    def _batch(self) -> None:
        """Cut the prepared rows into bulks by bytes and count; turn only each bulk's rows into documents."""
        segments: list[tuple[Prepared, int, int]] = []
        size = count = 0
        limit_bytes, limit_docs = self.config.bulk_bytes, self.config.bulk_docs
        while True:
            try:
                got = self._get(self._q_items, timeout=self.config.linger_s if segments else None)
            except queue.Empty:
                got = None  # idle: flush what we have (streaming sources)
            if got is _DONE:
                break
            if got is None:
                self._flush(segments)
                segments, size, count = [], 0, 0
                continue
            lo = 0
            for k, s in enumerate(got.sizes):
                if count and (size + s > limit_bytes or count >= limit_docs):
                    if k > lo:
                        segments.append((got, lo, k))
                    self._flush(segments)
                    segments, size, count, lo = [], 0, 0, k
                size += s
                count += 1
            if lo < len(got):
                segments.append((got, lo, len(got)))
            if count >= limit_docs:
                # A full bulk goes now rather than when the next rows arrive: at the end of what a streaming
                # source has, it would otherwise wait linger_s with nothing else to come.
                self._flush(segments)
                segments, size, count = [], 0, 0
        if segments:
            self._flush(segments)
        for _ in range(self.config.sender_count()):
            self._put(self._q_chunks, _DONE)

    def _flush(self, segments: list[tuple[Prepared, int, int]]) -> None:
        chunk = [item for prepared, lo, hi in segments for item in prepared.items(lo, hi)]
        if not chunk:
            return
        if not self._loading:
            self._prepare_index(chunk)
        self._put(self._q_chunks, chunk)

    def _send(self, number: int) -> None:
        # Sinks are used from one thread at a time: each extra sender gets a sink of its own when a factory
        # is given; otherwise the senders take turns on the one sink.
        sink = self.sink_factory() if number and self.sink_factory else _Serialised(self.sink, self._sink_lock)
        try:
            while (chunk := self._get(self._q_chunks)) is not _DONE:
                send_chunk(
                    chunk, sink=sink, config=self.config, job_id=self.job_id, tracker=self.tracker,
                    deadletters=self.deadletters, counters=self.counters,
                )
        finally:
            if number and self.sink_factory:
                sink.close()

    def _prepare_index(self, chunk: list[Item]) -> None:
        """Create the index with the pipeline's vector fields (and those the first bulk already carries), then
        switch it to load mode."""
        fields = vector_mapping(self.outputs, [item.action.source or {} for item in chunk[:200]])
        # An unbounded source never ends the load: its index stays refreshed and replicated as configured.
        meta = {"index_meta": self.context.index_meta} if self.context is not None else {}
        prepare_index(self.sink, self.config.index, fields, load_mode=not self.source.unbounded, **meta)
        self._loading = True

    # --- the run --------------------------------------------------------------------------------------------

    def _commit(self, position: dict[str, Any], totals: dict[str, int]) -> None:
        self._last_position = position
        self.checkpoints.commit(
            {"position": position, "totals": totals, "status": "running", "config": self.config.describe(),
             **self._source_progress()}
        )
        # Streaming sources (Kafka) commit their own offsets once told everything up to here is done.
        self.source.acknowledged(position)

    def _source_progress(self) -> dict[str, Any]:
        """What the source reports about itself (Kafka: lag per partition), under ``source``."""
        progress = self.source.progress()
        return {"source": progress} if progress is not None else {}

    def run(self) -> JobSummary:
        """Run to the end of the source (or until a stage fails, which is raised)."""
        start = time.monotonic()
        state = self.checkpoints.load() if self.config.resume else None
        if state is not None:
            before = state.get("config", {})
            for key in ("source", "index", "dest"):
                if before.get(key) not in (None, getattr(self.config, key)):
                    raise IllegalArgumentException(
                        f"job [{self.job_id}] was started with {key} [{before[key]}], not "
                        f"[{getattr(self.config, key)}]; resume it with the same options or use another --job-id"
                    )
        if not self.config.resume:
            self.checkpoints.clear()
        resume_from = state.get("position") if state else None
        self._last_position = resume_from
        self.tracker = AckTracker(self._commit, dict(state.get("totals", {})) if state else None)
        threads = [
            self._thread("read", lambda: self._read(resume_from)),
            self._thread("pipeline", self._transform),
            self._thread("batch", self._batch),
        ] + [self._thread(f"send-{i}", partial(self._send, i)) for i in range(self.config.sender_count())]
        try:
            while (alive := [t for t in threads if t.is_alive()]) and not self._stop.is_set():
                self.reporter.update(self._live())
                alive[0].join(timeout=0.25)
        except KeyboardInterrupt:
            self._stop.set()
        finally:
            # A stage failed or we were interrupted: the others notice within a queue timeout; a reader
            # blocked on standard input may not, and is a daemon thread.
            for t in threads:
                t.join(timeout=30 if t.name != "ingest-read" else 1)
            self._finish_load()
        if not self._errors and not self._stop.is_set():
            try:
                self.deadletters.check_final()  # a percentage is judged on the whole job too
            except TooManyErrors as exc:
                self._errors.append(exc)
        summary = self._summary(time.monotonic() - start)
        if self._errors:
            self.reporter.finish(summary.to_dict())
            raise self._errors[0]
        summary.completed = not self._stop.is_set()
        if summary.completed:
            self.checkpoints.commit(
                {"position": self._last_position, "totals": self.tracker.totals, "status": "completed",
                 "config": self.config.describe()}
            )
        self.reporter.finish(summary.to_dict())
        return summary

    def _finish_load(self) -> None:
        try:
            if not self._loading:
                # Nothing was written: still create the index, so the job's target exists.
                if not self._errors and not self._stop.is_set():
                    self.sink.ensure_index(self.config.index, {})
                return
            self.sink.end_load(self.config.index)
            self.sink.refresh(self.config.index)
        except Exception as exc:
            if not self._errors:
                self._errors.append(exc)

    def _live(self) -> dict[str, Any]:
        c = self.counters
        return {"read": c.read, "indexed": c.indexed, "failed": c.failed, "dropped": c.dropped, "retried": c.retried,
                **self._source_progress()}

    def _summary(self, elapsed: float) -> JobSummary:
        totals = self.tracker.totals
        hits = getattr(self.inference, "hits", 0)
        misses = getattr(self.inference, "misses", 0)
        return JobSummary(
            job_id=self.job_id, index=self.config.index, read=totals["read"], indexed=totals["indexed"],
            dropped=totals["dropped"], failed=totals["failed"], retried=self.counters.retried,
            requests_retried=self.counters.requests_retried,
            cache_hits=hits, cache_misses=misses, elapsed_s=elapsed,
            unreadable_files=list(self.counters.unreadable_files),
            ingest=self._ingest_stats() if self.pipeline is not None else None,
            source=self.source.progress(),
        )

    def _ingest_stats(self) -> dict[str, Any]:
        """The ``ingest`` object of ``GET /_nodes/stats/ingest`` for this run. The byte sizes Elasticsearch adds
        per pipeline are left out: a job does not serialise its documents to JSON to measure them."""
        body = self.ingest_stats.render()
        for entry in body["pipelines"].values():
            for key in ("ingested_as_first_pipeline_in_bytes", "produced_as_first_pipeline_in_bytes"):
                entry.pop(key, None)
        return body


def pipeline_name(pipeline: str | dict[str, Any] | None) -> str:
    """The job's first pipeline as its ingest stats name it: a stored id or a file as given, ``_inline`` for a
    body."""
    if isinstance(pipeline, dict):
        return "_inline"
    return pipeline or "_none"
