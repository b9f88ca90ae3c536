"""An index source on Ray: one point in time opened by the driver, one read task per slice.

Each read task pages through its slice with ``search_after`` (the paging and hit → Arrow conversion are those
of ``ingest.sources.index.IndexSource``) and tags its rows with the slice's split name. A slice is a
checkpointed split: ``--resume`` re-reads only the slices not yet committed, with a new point in time if the old
one expired; documents keep their ``_id``, so a re-read rewrites rather than duplicates.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from typing import Any

import pyarrow as pa
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from ingest.models.errors import StatusException
from ingest.sources.index import IndexSource

SLICE_COLUMN = "_ingest_split"  # cannot come from the index: its rows are built from _source + _id


def slice_name(n: int, of: int) -> str:
    """The split name of slice ``n`` of ``of``."""
    return f"slice-{n}-of-{of}"


class SliceReader(IndexSource):
    """``IndexSource`` reading one slice of an already open point in time."""

    def read_slice(self, pit: str, slice_id: int, split: str) -> Iterator[pa.Table]:
        """Pages of the slice as Arrow tables with the split column; unconvertible hits fail the read."""
        after: list[Any] | None = None
        while True:
            hits, last = self._page(pit, slice_id, after)
            if not hits:
                return
            for got in self._batches(hits, {}, {}):  # one per run of agreeing field types
                if got.errors:
                    where = ", ".join(e.location for e in got.errors[:3])
                    raise StatusException(f"cannot convert documents of [{self.index}] to Arrow ({where}): "
                                          f"{got.errors[0].reason}", status=400)
                table = pa.Table.from_batches([got.batch])
                yield table.append_column(SLICE_COLUMN, pa.array([split] * table.num_rows, pa.string()))
            after = last  # a short page is not the end (slices can return fewer hits): stop at an empty one


def _read(url: str, options: dict[str, Any], pit: str, slice_id: int, slices: int) -> Iterable[pa.Table]:
    reader = SliceReader(url, slices=slices, **options)
    try:
        yield from reader.read_slice(pit, slice_id, slice_name(slice_id, slices))
    finally:
        reader.close()


class IndexSlices(Datasource):
    """A Ray datasource over the slices still to read."""

    def __init__(self, url: str, options: dict[str, Any], pit: str, todo: list[int], slices: int) -> None:
        self.url, self.options, self.pit, self.todo, self.slices = url, options, pit, todo, slices

    def estimate_inmemory_data_size(self) -> int | None:
        """Unknown before reading."""
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[ReadTask]:
        """One read task per slice, whatever ``parallelism`` asks."""
        meta = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None)
        limit = {"per_task_row_limit": per_task_row_limit} if per_task_row_limit is not None else {}
        return [ReadTask(partial(_read, self.url, self.options, self.pit, s, self.slices), meta, **limit)
                for s in self.todo]


def open_index_input(url: str, options: dict[str, Any], slices: int) -> tuple[IndexSource, str]:
    """The driver's source (kept to close the point in time at the end) and the point in time for all slices."""
    source = IndexSource(url, slices=slices, **options)
    return source, source._open_pit()


def read_options(options: dict[str, Any]) -> dict[str, Any]:
    """The source options a read task needs (everything but ``slices``)."""
    return {k: v for k, v in options.items() if k != "slices"}


def close_index_input(source: IndexSource, pit: str) -> None:
    """Close the point in time and the client."""
    source._close_pit(pit)
    source.close()

