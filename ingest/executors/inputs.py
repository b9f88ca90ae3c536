"""What a Ray job reads: its splits (files, or slices of an index) as a Ray dataset, minus those already done."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ingest.executors.splits import SPLIT_COLUMN, file_splits
from ingest.jobs.config import JobConfig


@dataclass
class JobInput:
    """The splits still to read, the column naming each row's split, and how to read them."""

    todo: list[str]
    split_column: str
    read: Callable[[Any], Any]  # ray module → Dataset of the todo splits
    position: dict[str, Any] = field(default_factory=dict)  # kept in the checkpoint with the done splits
    close: Callable[[], None] = lambda: None


def job_input(config: JobConfig, done: list[str], state: dict[str, Any] | None, default_slices: int) -> JobInput:
    """Files through our readers in Ray read tasks, or an index through point-in-time slices (opened here,
    closed by ``close``)."""
    if config.source.startswith(("http://", "https://")):
        return _index_input(config, done, state, default_slices)
    splits = file_splits(config.source, config.source_options)
    todo = [f for f in splits.files if f not in set(done)]

    def read(ray: Any) -> Any:
        # Our own readers, one read task per file: Ray's fail the whole job on one malformed row or corrupt file
        from ingest.executors.file_reads import FileRows

        return ray.data.read_datasource(FileRows(todo, splits.format, SPLIT_COLUMN, splits.options),
                                        override_num_blocks=len(todo))

    return JobInput(todo, SPLIT_COLUMN, read)


def _index_input(config: JobConfig, done: list[str], state: dict[str, Any] | None, default_slices: int) -> JobInput:
    from ingest.executors.index_splits import (
        SLICE_COLUMN,
        IndexSlices,
        close_index_input,
        open_index_input,
        read_options,
        slice_name,
    )

    # A resumed job keeps its slicing: its done splits name slices of that many.
    previous = ((state or {}).get("position") or {}).get("slices")
    slices = int(previous or config.source_options.get("slices") or max(1, default_slices))
    todo_ids = [i for i in range(slices) if slice_name(i, slices) not in set(done)]
    options = read_options(config.source_options)
    if not todo_ids:
        return JobInput([], SLICE_COLUMN, lambda ray: None, {"slices": slices})
    source, pit = open_index_input(config.source, options, slices)

    def read(ray: Any) -> Any:
        return ray.data.read_datasource(IndexSlices(config.source, options, pit, todo_ids, slices),
                                        override_num_blocks=len(todo_ids))

    return JobInput([slice_name(i, slices) for i in todo_ids], SLICE_COLUMN, read, {"slices": slices},
                    lambda: close_index_input(source, pit))
