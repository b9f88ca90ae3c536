"""Files read by the runner's own readers inside Ray read tasks (one task per file).

Ray's readers are all-or-nothing: one malformed line or one corrupt file fails the whole Ray job. Here a read
task only does I/O — JSONL files travel as their raw lines (with line numbers), CSV and Parquet files through
``readers.read_csv`` / ``read_parquet`` — and every unreadable row, or a damaged file (truncated gzip, corrupt
Parquet), travels as an error row.
The worker (``decode``) then parses lines with ``sources.rows`` exactly as the single-process runner does, so
bad rows become dead letters with the same reasons, and mixed field types are kept (a batch per run).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from ray.data.block import BlockMetadata
from ray.data.datasource import Datasource, ReadTask

from ingest.sources.base import SourceError
from ingest.sources.files import FILE_ERRORS, unreadable

LINE = "__ingest_line"  # JSONL: a raw line (binary), parsed in the worker
LINE_NO = "__ingest_line_no"
ERROR = "__ingest_error"  # a SourceError as JSON (raw bytes base64)
_LINES_PER_TABLE = 10_000


class FileRows(Datasource):
    """A Ray datasource over files of one format (``jsonl``, ``csv`` or ``parquet``), one read task per file."""

    def __init__(self, files: list[str], fmt: str, split_column: str, options: dict[str, Any]) -> None:
        self.files, self.format, self.split_column, self.options = files, fmt, split_column, options

    def estimate_inmemory_data_size(self) -> int | None:
        """Unknown before reading."""
        return None

    def get_read_tasks(self, parallelism: int, per_task_row_limit: int | None = None,
                       data_context: Any = None) -> list[ReadTask]:
        """One read task per file, whatever ``parallelism`` asks (a file is a split)."""
        limit = {"per_task_row_limit": per_task_row_limit} if per_task_row_limit is not None else {}
        return [ReadTask(partial(read_file, path, self.format, self.split_column, self.options),
                         BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=(path,)), **limit)
                for path in self.files]


def _error_table(path: str, column: str, errors: list[SourceError]) -> pa.Table:
    encoded = [json.dumps({"location": e.location, "reason": e.reason, "whole_file": e.whole_file,
                           "raw": base64.b64encode(e.raw).decode("ascii")}) for e in errors]
    return pa.table({column: pa.array([path] * len(errors), pa.string()), ERROR: pa.array(encoded, pa.string())})


def _lines_table(path: str, column: str, lines: list[bytes], numbers: list[int]) -> pa.Table:
    return pa.table({column: pa.array([path] * len(lines), pa.string()), LINE: pa.array(lines, pa.binary()),
                     LINE_NO: pa.array(numbers, pa.int64())})


def read_file(path: str, fmt: str, column: str, options: dict[str, Any]) -> Iterator[pa.Table]:
    """The tables of one file: data (or raw lines) and error rows, in file order."""
    from ingest.sources import readers

    inner: dict[str, Any] = {}
    try:
        if fmt == "jsonl":
            lines: list[bytes] = []
            numbers: list[int] = []
            with readers._open_binary(Path(path)) as handle:
                for n, raw in enumerate(handle, start=1):
                    if raw.strip():
                        lines.append(raw.rstrip(b"\r\n"))
                        numbers.append(n)
                    if len(lines) >= _LINES_PER_TABLE:
                        yield _lines_table(path, column, lines, numbers)
                        inner, lines, numbers = {"line": n}, [], []
            if lines:
                yield _lines_table(path, column, lines, numbers)
            return
        read = readers.read_parquet if fmt == "parquet" else readers.read_csv
        for batch, position, errors in read(Path(path), None, _LINES_PER_TABLE, **options):
            inner = position
            if batch.num_rows:
                table = pa.Table.from_batches([batch])
                yield table.append_column(column, pa.array([path] * table.num_rows, pa.string()))
            if errors:
                yield _error_table(path, column, errors)
    except FILE_ERRORS as exc:
        yield _error_table(path, column, [unreadable(Path(path), inner, exc)])


def decode(part: pa.Table, path: str) -> Iterator[tuple[pa.RecordBatch, list[SourceError]]]:
    """A block of the split ``path`` (split column dropped) → record batches and the read errors, in order."""
    from ingest.sources.rows import parse_line, to_batches

    errors: list[SourceError] = []
    if ERROR in part.column_names:
        failed = pc.is_valid(part.column(ERROR))
        for text in part.filter(failed).column(ERROR).to_pylist():
            e = json.loads(text)
            errors.append(SourceError(e["location"], base64.b64decode(e["raw"]), e["reason"], e["whole_file"]))
        part = part.filter(pc.invert(failed)).drop_columns([ERROR])
    if LINE in part.column_names:
        docs: list[dict[str, Any]] = []
        raws: list[bytes] = []
        locs: list[str] = []
        for raw, n in zip(part.column(LINE).to_pylist(), part.column(LINE_NO).to_pylist(), strict=True):
            parsed = parse_line(raw, f"{path}:{n}")
            if isinstance(parsed, SourceError):
                errors.append(parsed)
            elif parsed is not None:
                docs.append(parsed)
                raws.append(raw)
                locs.append(f"{path}:{n}")
        runs, bad = to_batches(docs, raws, locs) if docs else ([], [])
        errors += bad
        for i, (batch, _end) in enumerate(runs):
            yield batch, errors if i == 0 else []
        if not runs and errors:
            yield pa.RecordBatch.from_struct_array(pa.array([], type=pa.struct([]))), errors
        return
    batches = part.combine_chunks().to_batches()
    if not batches:
        if errors:
            yield pa.RecordBatch.from_struct_array(pa.array([], type=pa.struct([]))), errors
        return
    for i, batch in enumerate(batches):
        yield batch, errors if i == 0 else []
