"""A job hands its batches to a sink as Arrow tables only when the sink's declared kind has the ``batch_writes``
capability (asked through ``ingest.sinks.registry``, shared-sink wrappers included), never by probing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from ingest.jobs import JobConfig, run_job
from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink
from ingest.sinks.embedded.store import EmbeddedStore
from tests.jobs.helpers import docs, write_jsonl


class _CountingStore(EmbeddedStore):
    """The embedded store, counting its batch writes."""

    batches = 0

    def write_batch(self, index: str, table: pa.Table | pa.RecordBatch, ids: list[str],
                    op: Any = "index") -> list[ItemResult]:
        type(self).batches += 1
        return super().write_batch(index, table, ids, op)


class _OwnSink(Sink):
    """A user's own sink: outside the registry, it is asked nothing beyond the contract, whatever it holds."""

    arrow_native = True  # the attribute the runner used to probe for

    def __init__(self) -> None:
        self.written: list[BulkAction] = []

    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None:
        pass

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        self.written += actions
        return [ItemResult(201, None, id=a.id, result="created") for a in actions]

    def write_batch(self, index: str, table: Any, ids: list[str]) -> list[ItemResult]:
        raise AssertionError("a sink outside the registry got a batch write")

    def refresh(self, index: str) -> None:
        pass

    def close(self) -> None:
        pass


def test_the_embedded_kind_gets_arrow_batches_through_the_shared_sink_wrapper(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(30))
    store = _CountingStore(tmp_path / "e.duckdb")
    try:
        summary = run_job(JobConfig(source=str(src), index="b", id_field="doc_id", senders=2), sink=store)
        assert summary.indexed == 30 and store.count("b") == 30
    finally:
        store.close()
    assert _CountingStore.batches >= 1


def test_a_sink_outside_the_registry_gets_bulk_actions(ingest_home: Path, tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", docs(12))
    sink = _OwnSink()
    summary = run_job(JobConfig(source=str(src), index="own", id_field="doc_id"), sink=sink)
    assert summary.indexed == 12 and summary.failed == 0
    assert sorted(a.id or "" for a in sink.written) == sorted(f"d{i}" for i in range(12))
