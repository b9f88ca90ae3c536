"""A source over documents already in memory (dead-letter replay, the bulk REST endpoint)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from ingest.sources.base import Source, SourceBatch


class RowsSource(Source):
    """Yield given Arrow batches; the position is the number of batches done."""

    def __init__(self, batches: list[pa.RecordBatch]) -> None:
        self._batches = batches

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[SourceBatch]:
        """Every batch after ``resume_from``."""
        start = int((resume_from or {}).get("batch", 0))
        for i in range(start, len(self._batches)):
            yield SourceBatch(self._batches[i], {"batch": i + 1})

    def total_rows(self) -> int | None:
        """Rows in all batches."""
        return sum(b.num_rows for b in self._batches)


def batches_of(docs: list[dict[str, Any]], ids: list[str | None] | None = None) -> list[pa.RecordBatch]:
    """Arrow batches of the documents; documents whose types clash with the others get a batch of their own.

    Returns the batches and never raises for a single document Arrow can represent; one it cannot is left out
    (the caller compares counts).
    """
    # Every row gets every key: Arrow takes a batch's columns from its first row alone, so a field absent
    # there would be silently dropped from every later document.
    keys = dict.fromkeys(k for d in docs for k in d)
    rows = [{k: d.get(k) for k in keys} for d in docs]
    if ids is not None:
        for row, doc_id in zip(rows, ids, strict=True):
            row["_id"] = doc_id
    if rows and not keys:  # only empty documents: Arrow needs the row count without any column
        return [pa.RecordBatch.from_struct_array(pa.array(rows, pa.struct([])))]
    try:
        return [pa.RecordBatch.from_pylist(rows)] if rows else []
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        out = []
        for row in rows:
            try:
                out.append(pa.RecordBatch.from_pylist([row]))
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                continue
        return out
