"""Ingest counters as Elasticsearch's ``GET /_nodes/stats/ingest`` reports them: totals, and per pipeline
``count`` / ``time_in_millis`` / ``current`` / ``failed``, ``ingested_as_first_pipeline_in_bytes`` and
``produced_as_first_pipeline_in_bytes`` (JSON sizes), counted where pipelines run (``jobs.ingestrun``). The per-processor list is empty: the executor runs each
processor over a whole Arrow batch and does not count per processor yet, and made-up numbers would mislead."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Counter:
    """One metric: documents, milliseconds, in flight, failed."""

    count: int = 0
    time_ns: int = 0
    current: int = 0
    failed: int = 0

    def render(self) -> dict[str, int]:
        """Elasticsearch's ``stats`` object."""
        return {"count": self.count, "time_in_millis": self.time_ns // 1_000_000, "current": self.current,
                "failed": self.failed}


@dataclass
class PipelineCounters:
    """A pipeline's counter."""

    total: Counter = field(default_factory=Counter)
    ingested_bytes: int = 0  # of documents this pipeline was the first to process
    produced_bytes: int = 0  # of those documents after all their pipelines (written ones)


class IngestStats:
    """Thread-safe ingest counters of one server (kept by the app's ``Destination``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total = Counter()
        self.pipelines: dict[str, PipelineCounters] = {}

    @contextmanager
    def running(self, pipeline_id: str, docs: int) -> Iterator[list[int]]:
        """Count ``docs`` documents in ``pipeline_id`` while the block runs (``current`` meanwhile); the block
        appends one entry per failed document to the list it is given."""
        failures: list[int] = []
        with self._lock:
            entry = self.pipelines.setdefault(pipeline_id, PipelineCounters())
            entry.total.current += docs
            self.total.current += docs
        started = time.monotonic_ns()
        try:
            yield failures
        finally:
            spent = time.monotonic_ns() - started
            with self._lock:
                entry.total.current -= docs
                self.total.current -= docs
                entry.total.count += docs
                entry.total.time_ns += spent
                entry.total.failed += len(failures)
                self.total.count += docs
                self.total.time_ns += spent
                self.total.failed += len(failures)

    def first_pipeline_bytes(self, pipeline_id: str, ingested: int, produced: int) -> None:
        """Sizes (JSON bytes) of one document that ``pipeline_id`` processed first: as sent, and as written
        after every pipeline (0 when it was not written)."""
        with self._lock:
            entry = self.pipelines.setdefault(pipeline_id, PipelineCounters())
            entry.ingested_bytes += ingested
            entry.produced_bytes += produced

    def render(self) -> dict[str, Any]:
        """The ``ingest`` object of a node's stats."""
        with self._lock:
            pipelines = {}
            for pid, entry in sorted(self.pipelines.items()):
                pipelines[pid] = {**entry.total.render(),
                                  "ingested_as_first_pipeline_in_bytes": entry.ingested_bytes,
                                  "produced_as_first_pipeline_in_bytes": entry.produced_bytes,
                                  "processors": []}
            return {"total": self.total.render(), "pipelines": pipelines}
