"""Per-processor counters of a pipeline run, as Elasticsearch's ``_nodes/stats/ingest`` lists them.

Only a pipeline's top-level processors are measured (Elasticsearch's ``getProcessorMetrics``: ``on_failure``
handlers are part of the processor they handle). Processors run over a whole batch, so one measurement covers a
batch: ``count`` grows by the documents the processor ran on (for a processor with ``if``, those whose condition
held, as Elasticsearch's conditional metric), ``time_in_millis`` by the wall time of that processor over the
batch (so the per-document time is the batch time shared evenly; an ``inference`` processor's one model call per
batch is charged to it whole), ``failed`` by the documents it failed (ignored failures included, as Elasticsearch
counts them), and ``current`` holds the batch's documents while it runs. Conversions between Arrow and documents
belong to the pipeline's time, not to a processor's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Protocol


class _Common(Protocol):
    @property
    def tag(self) -> str | None: ...

    @property
    def condition(self) -> object | None: ...


class Processor(Protocol):
    """What the counters read of a processor (``processors.base.Processor``; a protocol so that ``base``, whose
    ``ExecEnv`` carries a meter, is not imported back)."""

    @property
    def type(self) -> str: ...

    @property
    def common(self) -> _Common: ...


class ProcessorStatsSink(Protocol):
    """Where the counts go (``ingest.jobs.ingeststats.IngestStats`` satisfies it)."""

    def processors_of(self, pipeline_id: str, processors: list[tuple[str, str]]) -> None:
        """The pipeline's top-level processors as (name, type), before any of them runs."""

    def processor_started(self, pipeline_id: str, slot: int, name: str, docs: int) -> None:
        """``docs`` documents entered processor ``slot``."""

    def processor_finished(self, pipeline_id: str, slot: int, name: str, docs: int, time_ns: int,
                           failed: int, counted: bool) -> None:
        """They left it after ``time_ns``, ``failed`` of them failed; ``counted`` False: the processor handed the
        batch back untouched (a columnar attempt that the per-document path then runs and counts)."""


def stat_name(proc: Processor) -> str:
    """Elasticsearch's key of a processor in the stats: its type, the called pipeline's name for ``pipeline``, and
    its tag, joined by ``:``."""
    parts = [proc.type]
    if proc.type == "pipeline":
        name = getattr(proc, "name", None)
        parts.append(str(getattr(name, "source", name)))
    if proc.common.tag:
        parts.append(proc.common.tag)
    return ":".join(parts)


def stat_type(proc: Processor) -> str:
    """The ``type`` Elasticsearch reports: ``conditional`` for a processor with ``if`` (its wrapper's type)."""
    return "conditional" if proc.common.condition is not None else proc.type


@dataclass
class Measure:
    """One measurement in progress: the caller sets how many documents failed, or that it did not count."""

    failed: int = 0
    counted: bool = True


@dataclass
class ProcessorMeter:
    """Measures the top-level processors of one pipeline for a sink; other processors are ignored."""

    pipeline_id: str
    sink: ProcessorStatsSink
    processors: Sequence[Processor]
    _slots: dict[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._slots = {id(p): i for i, p in enumerate(self.processors)}
        self.sink.processors_of(self.pipeline_id, [(stat_name(p), stat_type(p)) for p in self.processors])

    def measures(self, proc: Processor) -> bool:
        """Whether ``proc`` is one of the measured processors."""
        return id(proc) in self._slots

    @contextmanager
    def measure(self, proc: Processor, docs: int) -> Iterator[Measure]:
        """Count ``docs`` documents through ``proc`` while the block runs (a no-op for unmeasured processors)."""
        m = Measure()
        slot = self._slots.get(id(proc))
        if slot is None or docs == 0:
            yield m
            return
        name = stat_name(proc)
        self.sink.processor_started(self.pipeline_id, slot, name, docs)
        started = time.monotonic_ns()
        try:
            yield m
        finally:
            spent = time.monotonic_ns() - started
            self.sink.processor_finished(self.pipeline_id, slot, name, docs, spent, m.failed, m.counted)
