"""Where the server's ``_bulk`` writes: the destination (``ingest serve --dest``), owned by the app.

``Destination`` holds the sink (opened on first use through the app's ``AppContext``), the pipeline service over
the context's ``InferenceAPI`` (with the skip-unchanged embedding cache) and the context's dead-letter store, and
runs a ``_bulk`` request through them with the job machinery's per-item retries (``ingest.jobs.bulkwrite``). One
per app, closed with it: nothing lives at module level, so two apps in one process (tests, an embedding
application) never share a sink.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from ingest.jobs.bulkapi import BulkReport, run_bulk
from ingest.jobs.bulkwrite import WriteStats, pause, write_with_retries
from ingest.jobs.config import JobConfig
from ingest.jobs.ingeststats import IngestStats
from ingest.jobs.stages import backoff_s, is_transient
from ingest.models.errors import ElasticsearchError
from ingest.query.source import SourceFilter
from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink

if TYPE_CHECKING:
    from ingest.context import AppContext
    from ingest.deadletter.store import DeadLetterStore
    from ingest.jobs.cache import EmbeddingCache
    from ingest.processors import PipelineService
    from ingest.processors.base import SecurityUser
    from ingest.server.metrics import ServerMetrics
    from ingest.server.snapshots import SnapshotSource, Snapshotter
    from ingest.sinks.registry import SinkKind

log = logging.getLogger(__name__)
DEFAULT_TIMEOUT_S = 60.0  # Elasticsearch's bulk ``timeout`` default (1m)
JOB_ID = "bulk-api"  # the dead-letter job id of documents refused through the REST ``_bulk``


class Destination:
    """The app's sink, pipelines and dead letters, from its ``context``. ``dest`` is an ``open_sink`` string;
    ``sink`` overrides it."""

    def __init__(self, context: AppContext, dest: str = "embedded", *, sink: Sink | None = None,
                 policy: JobConfig | None = None, metrics: ServerMetrics | None = None) -> None:
        self.context, self.dest, self.metrics = context, dest, metrics
        self.policy = policy or JobConfig(source="_bulk", index="", dest=dest, backoff_initial_s=0.2,
                                          backoff_max_s=5.0)
        self._sink = sink
        self._pipelines: PipelineService | None = None
        self._cache: EmbeddingCache | None = None
        self.ingest_stats = IngestStats()  # GET /_nodes/stats/ingest
        self._lock = threading.Lock()
        self._snapshots: Snapshotter | None = None

    def sink(self) -> Sink:
        """The destination's sink, opened on first use (a cluster is contacted then, not at startup)."""
        with self._lock:
            if self._sink is None:
                self._sink = self.context.open_sink(self.dest)
            return self._sink

    def kind(self) -> SinkKind:
        """The kind of sink ``dest`` names (its declared capabilities: ``ingest.sinks.registry``)."""
        from ingest.sinks.registry import kind_of

        return kind_of(self.dest)

    def pipelines(self) -> PipelineService:
        """The pipeline service over the context's API and the skip-unchanged cache, loaded when a request first
        needs a pipeline."""
        with self._lock:
            if self._pipelines is None:
                from ingest.jobs.cache import CachingInference

                self._cache = self.context.embedding_cache()
                self._pipelines = self.context.pipelines(CachingInference(self.context.api, self._cache))
            return self._pipelines

    def snapshots(self) -> Snapshotter:
        """The background writer of the analysts' Parquet snapshots (``ingest.server.snapshots``)."""
        with self._lock:
            if self._snapshots is None:
                from ingest.server.snapshots import Snapshotter

                self._snapshots = Snapshotter(self.context.home, lambda: cast("SnapshotSource", self.sink()))
            return self._snapshots

    def deadletters(self) -> DeadLetterStore:
        """The context's dead-letter store (``<home>/deadletter.sqlite``)."""
        return self.context.deadletters()

    def bulk(self, raw: bytes, *, index: str | None, pipeline: str | None, refresh: str | None,
             timeout_s: float = DEFAULT_TIMEOUT_S, authorize: Callable[[Sink], Sink] | None = None,
             user: SecurityUser | None = None, source: SourceFilter | None = None,
             pipelines_done: bool = False) -> dict[str, Any]:
        """Run one ``_bulk`` request; blocking (call it from a worker thread). ``authorize`` wraps the sink so
        that each item is checked against the caller's privileges on its final index; ``user`` is the caller,
        for pipelines' ``set_security_user``; ``source`` the request's ``_source`` (updates' ``get``);
        ``pipelines_done``: the local client ran every pipeline (``run_bulk``)."""
        deadline = time.monotonic() + timeout_s
        report, stats = BulkReport(), WriteStats()
        sink = self._patient_sink(deadline)
        if authorize is not None:
            sink = authorize(sink)

        def write(actions: list[BulkAction]) -> list[ItemResult]:
            return write_with_retries(sink, actions, policy=self.policy, deadline=deadline, stats=stats)

        body = run_bulk(raw, sink=sink, pipelines=_LazyPipelines(self), default_index=index,
                        request_pipeline=pipeline, write=write, deadletters=self.deadletters(), job_id=JOB_ID,
                        report=report, user=user, index_meta=self.context.index_meta,
                        templates=self.context.api.store, stats=self.ingest_stats, source=source,
                        pipelines_done=pipelines_done)
        if refresh not in (None, "false"):
            written = [next(iter(item.values())) for item in body["items"]]
            for target in {it.get("_index") for it in written if "error" not in it} - {None}:
                try:
                    sink.refresh(str(target))
                except ElasticsearchError as exc:  # the documents are written: say so, not fail the request
                    log.warning("refresh of [%s] after _bulk failed: %s", target, exc.reason)
        if self.metrics is not None:
            self.metrics.observe_bulk(body, report, stats)
        return body

    def _patient_sink(self, deadline: float) -> Sink:
        """The sink; a cluster that cannot be reached yet is waited for until ``deadline``, then stood in for
        by ``_Unreachable`` so that every document gets its per-item 503 (and a dead letter)."""
        attempt = 0
        while True:
            try:
                return self.sink()
            except ElasticsearchError as exc:
                attempt += 1
                if not is_transient(exc):
                    raise
                if not pause(deadline, backoff_s(attempt, self.policy)):
                    return _Unreachable(exc)

    def close(self) -> None:
        """Close the sink and the embedding cache this object opened (the context closes its own stores)."""
        with self._lock:
            snapshots, self._snapshots = self._snapshots, None
        if snapshots is not None:
            snapshots.close()
        with self._lock:
            sink, self._sink = self._sink, None
            cache, self._cache, self._pipelines = self._cache, None, None
        if sink is not None:
            sink.close()
        if cache is not None:
            cache.close()


class _Unreachable(Sink):
    """Stands in for a destination that could not be opened: every operation fails with its error."""

    def __init__(self, error: ElasticsearchError) -> None:
        self.error = error

    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None:
        raise self.error

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        raise self.error

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        raise self.error

    def refresh(self, index: str) -> None:
        raise self.error

    def close(self) -> None:
        """Nothing was opened."""


class _LazyPipelines:
    """Loads the pipeline service only when a request names a pipeline."""

    def __init__(self, destination: Destination) -> None:
        self._destination = destination

    def load(self, pipeline_id: str) -> Any:
        return self._destination.pipelines().load(pipeline_id)
