"""Ingest counters as Elasticsearch's ``GET /_nodes/stats/ingest`` reports them: totals, and per pipeline
``count`` / ``time_in_millis`` / ``current`` / ``failed``, ``ingested_as_first_pipeline_in_bytes`` and
``produced_as_first_pipeline_in_bytes`` (JSON sizes), counted where pipelines run (``jobs.ingestrun``), and the
list of its top-level processors with the same four counters, taken by the executor (``processors.metrics``
says how a batch's time is charged)."""

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
    processors: list[tuple[str, str, Counter]] = field(default_factory=list)  # (name, type, counter)


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

    def processors_of(self, pipeline_id: str, processors: list[tuple[str, str]]) -> None:
        """Register the pipeline's top-level processors; a changed list (the pipeline was replaced) starts them
        again from zero, an unchanged one keeps counting."""
        with self._lock:
            entry = self.pipelines.setdefault(pipeline_id, PipelineCounters())
            if [(name, kind) for name, kind, _ in entry.processors] != processors:
                entry.processors = [(name, kind, Counter()) for name, kind in processors]

    def _processor(self, pipeline_id: str, slot: int, name: str) -> Counter | None:
        entry = self.pipelines.get(pipeline_id)
        if entry is None or slot >= len(entry.processors) or entry.processors[slot][0] != name:
            return None  # the pipeline was replaced while this batch ran
        return entry.processors[slot][2]

    def processor_started(self, pipeline_id: str, slot: int, name: str, docs: int) -> None:
        """``docs`` documents entered a processor (``current``)."""
        with self._lock:
            counter = self._processor(pipeline_id, slot, name)
            if counter is not None:
                counter.current += docs

    def processor_finished(self, pipeline_id: str, slot: int, name: str, docs: int, time_ns: int,
                           failed: int, counted: bool) -> None:
        """They left it: count, time and failures."""
        with self._lock:
            counter = self._processor(pipeline_id, slot, name)
            if counter is None:
                return
            counter.current = max(0, counter.current - docs)
            counter.time_ns += time_ns
            if counted:
                counter.count += docs
                counter.failed += failed

    def render(self) -> dict[str, Any]:
        """The ``ingest`` object of a node's stats."""
        with self._lock:
            pipelines = {}
            for pid, entry in sorted(self.pipelines.items()):
                pipelines[pid] = {**entry.total.render(),
                                  "ingested_as_first_pipeline_in_bytes": entry.ingested_bytes,
                                  "produced_as_first_pipeline_in_bytes": entry.produced_bytes,
                                  "processors": [{name: {"type": kind, "stats": counter.render()}}
                                                 for name, kind, counter in entry.processors]}
            return {"total": self.total.render(), "pipelines": pipelines}
