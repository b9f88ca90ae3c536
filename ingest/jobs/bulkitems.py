"""A job's documents between the pipeline and the sink: still Arrow, cut into bulks, written as Arrow tables to a
sink whose kind declares batch writes (``registry.batch_writes``: the embedded store) and as bulk actions to the others."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from ingest.sinks.base import BulkAction, ItemResult, Writer
from ingest.sinks.registry import batch_writes
from ingest.sinks.rows import present, to_rows


class Part:
    """Kept output rows of one pipeline run, cut for one bulk: Arrow, turned into dicts only when asked (a sink
    without a batch write, the index's first vector-field sniff)."""

    def __init__(self, table: pa.Table | pa.RecordBatch) -> None:
        self.table = table
        self._rows: list[dict[str, Any]] | None = None

    def rows(self) -> list[dict[str, Any]]:
        """The documents as dicts without top-level nulls (converted once)."""
        if self._rows is None:
            self._rows = [present(doc) for doc in to_rows(self.table)]
        return self._rows


@dataclass
class Item:
    """One document on its way to the sink: row ``k`` of ``part``. Its original (for the dead-letter store)
    stays in Arrow form too."""

    seq: int
    index: str
    id: str
    size: int
    batch: pa.RecordBatch
    row: int
    part: Part
    k: int

    @property
    def action(self) -> BulkAction:
        """The document as an ``index`` bulk action."""
        return BulkAction("index", self.index, self.id, self.part.rows()[self.k])

    @property
    def original(self) -> dict[str, Any]:
        """The source row as it was read."""
        return source_row(self.batch, self.row)


@dataclass
class Prepared:
    """A pipeline's output for one source batch, still columnar: rows stay Arrow up to an Arrow-native sink
    (``write_batch``), or become dicts only bulk by bulk, so queued batches cost Arrow memory (4 bytes a float),
    not Python objects (~32)."""

    seq: int
    table: pa.Table | pa.RecordBatch  # output documents, metadata columns removed
    batch: pa.RecordBatch  # the input rows
    keep: list[int]  # output rows to write
    ids: list[str]
    indices: list[str]
    sizes: list[int]
    source_rows: list[int]

    def __len__(self) -> int:
        return len(self.keep)

    def items(self, lo: int, hi: int) -> list[Item]:
        """Bulk items for kept rows ``lo:hi``."""
        rows = self.keep[lo:hi]
        if rows and rows[-1] - rows[0] == len(rows) - 1:
            part = Part(self.table.slice(rows[0], len(rows)))
        else:
            part = Part(self.table.take(pa.array(rows, type=pa.int64())))
        return [Item(self.seq, self.indices[lo + k], self.ids[lo + k], self.sizes[lo + k], self.batch,
                     self.source_rows[lo + k], part, k) for k in range(len(rows))]


def write_items(sink: Writer, items: list[Item]) -> list[ItemResult]:
    """One bulk request: Arrow tables to a sink whose kind declares batch writes, else bulk actions."""
    batches = batch_writes(sink)
    if batches is None:
        return list(sink.write([it.action for it in items]))
    results: list[ItemResult | None] = [None] * len(items)
    by_index: dict[str, list[int]] = {}
    for pos, it in enumerate(items):
        by_index.setdefault(it.index, []).append(pos)
    for index, positions in by_index.items():
        for group, table in _tables([items[p] for p in positions], positions):
            answers = batches.write_batch(index, table, [items[p].id for p in group])
            if len(answers) != len(group):
                raise RuntimeError(f"sink answered {len(answers)} results for {len(group)} documents")
            for p, answer in zip(group, answers, strict=True):
                results[p] = answer
    return [r for r in results if r is not None]


def _tables(items: list[Item], positions: list[int]) -> list[tuple[list[int], pa.Table]]:
    """The items' documents as one table when their parts have the same columns in the same order (so each
    document's fields keep their order), else one table per part; a column's type is never widened (1 must not
    become 1.0), only an all-null column takes the others' type."""
    runs: list[tuple[list[int], pa.Table]] = []
    start = 0
    for end in range(1, len(items) + 1):
        if end == len(items) or items[end].part is not items[start].part:
            ks = [it.k for it in items[start:end]]
            table = items[start].part.table
            if ks != list(range(ks[0], ks[0] + len(ks))):
                part_table = table.take(pa.array(ks, pa.int64()))
            else:
                part_table = table.slice(ks[0], len(ks))
            if isinstance(part_table, pa.RecordBatch):
                part_table = pa.Table.from_batches([part_table])
            runs.append((positions[start:end], part_table))
            start = end
    if len(runs) > 1 and len({tuple(t.schema.names) for _, t in runs}) == 1:
        try:
            table = pa.concat_tables([t for _, t in runs], promote_options="default")
            return [([p for group, _ in runs for p in group], table)]
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
    return runs


def source_row(batch: pa.RecordBatch, i: int) -> dict[str, Any]:
    """Row ``i`` of ``batch`` as a dict without top-level nulls."""
    return present(to_rows(batch.slice(i, 1))[0])
