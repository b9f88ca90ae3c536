"""Per-file readers: each yields (record batch, position within the file, errors)."""

from __future__ import annotations

import codecs
import dataclasses
import gzip
import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, cast

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

from ingest.sources.base import SourceError
from ingest.sources.rows import LazyList, parse_line, to_batches

Read = Iterator[tuple[pa.RecordBatch, dict[str, Any], list[SourceError]]]


def _open_binary(path: Path) -> IO[bytes]:
    if path.suffix.lower() == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def read_jsonl(path: Path, start: dict[str, Any] | None, batch_size: int, **_: Any) -> Read:
    """NDJSON lines; bad lines become errors. Position: ``offset`` (bytes, uncompressed) and ``line``.

    Per line only the document, the raw bytes, the line number and the end offset are kept; locations and
    positions are made when needed (an error, a batch's end), as this loop is a job's cost per document."""
    offset, line_no = (int(start.get("offset", 0)), int(start.get("line", 0))) if start else (0, 0)
    name = str(path)
    with _open_binary(path) as handle:
        if offset:
            handle.seek(offset)  # gzip seeks forward by decompressing: correct, just not free
        docs: list[dict[str, Any]] = []
        raws: list[bytes] = []
        lines: list[int] = []
        ends: list[int] = []  # the offset right after each document
        errors: list[SourceError] = []
        for raw in handle:
            offset += len(raw)
            line_no += 1
            parsed = parse_line(raw, "")
            if isinstance(parsed, SourceError):
                errors.append(dataclasses.replace(parsed, location=f"{name}:{line_no}"))
            elif parsed is not None:
                docs.append(parsed)
                raws.append(raw)
                lines.append(line_no)
                ends.append(offset)
            if len(docs) >= batch_size:
                yield from _runs(name, docs, raws, lines, ends, errors, {"offset": offset, "line": line_no})
                docs, raws, lines, ends, errors = [], [], [], [], []
        if docs or errors:
            yield from _runs(name, docs, raws, lines, ends, errors, {"offset": offset, "line": line_no})


def _strip(raw: bytes) -> bytes:
    return raw.rstrip(b"\r\n")


def _runs(name: str, docs: list[dict[str, Any]], raws: list[bytes], lines: list[int], ends: list[int],
          errors: list[SourceError], last: dict[str, Any]) -> Read:
    """One batch per run of documents with agreeing field types, each with the position after its last row."""
    runs, bad = to_batches(docs, LazyList(raws, _strip), LazyList(lines, lambda n: f"{name}:{n}"))
    for i, (batch, end) in enumerate(runs):
        final = i == len(runs) - 1
        position = last if final else {"offset": ends[end - 1], "line": lines[end - 1]}
        yield batch, position, (errors + bad) if final else []


def read_parquet(path: Path, start: dict[str, Any] | None, batch_size: int, **_: Any) -> Read:
    """Parquet row groups in batches. Position: ``row`` (rows consumed)."""
    skip = int(start.get("row", 0)) if start else 0
    pf = pq.ParquetFile(path)
    first, before = 0, 0
    while first < pf.num_row_groups and before + pf.metadata.row_group(first).num_rows <= skip:
        before += pf.metadata.row_group(first).num_rows
        first += 1
    groups = list(range(first, pf.num_row_groups))
    yield from _sliced(pf.iter_batches(batch_size=batch_size, row_groups=groups) if groups else iter(()),
                       skip - before, skip)


def _sliced(batches: Iterator[pa.RecordBatch], drop: int, done: int) -> Read:
    for batch in batches:
        if drop >= batch.num_rows:
            drop -= batch.num_rows
            continue
        if drop:
            batch, drop = batch.slice(drop), 0
        done += batch.num_rows
        yield batch, {"row": done}, []


def read_arrow(path: Path, start: dict[str, Any] | None, batch_size: int, **_: Any) -> Read:
    """Arrow IPC file (or stream) format. Position: ``row``."""
    skip = int(start.get("row", 0)) if start else 0
    source = pa.memory_map(str(path))
    try:
        reader: Any = ipc.open_file(source)
        stored = (reader.get_batch(i) for i in range(reader.num_record_batches))
    except pa.ArrowInvalid:
        source.seek(0)
        stored = iter(ipc.open_stream(source))
    yield from _sliced(_rebatch(stored, batch_size), skip, skip)


def _rebatch(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        for at in range(0, batch.num_rows, size):
            yield batch.slice(at, size)


class _Utf8Repair(io.RawIOBase):
    """A byte stream with invalid UTF-8 replaced (U+FFFD), so one bad byte cannot stop a CSV read."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self.pending:
            chunk = self.raw.read(1 << 20)
            self.pending = self.decoder.decode(chunk, final=not chunk).encode("utf-8")
            if not chunk:
                break
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n


def read_csv(path: Path, start: dict[str, Any] | None, batch_size: int, *, delimiter: str | None = None,
             **_: Any) -> Read:
    """CSV with a header row; rows with the wrong number of fields become errors. Position: ``row``."""
    skip = int(start.get("row", 0)) if start else 0
    errors: list[SourceError] = []

    def invalid(row: Any) -> str:
        where = f"{path}:{row.number}" if row.number is not None else str(path)
        errors.append(SourceError(where, row.text.encode("utf-8", "replace"),
                                  f"expected {row.expected_columns} fields, found {row.actual_columns}"))
        return "skip"

    sep = delimiter or ("\t" if ".tsv" in [s.lower() for s in path.suffixes] else ",")
    stream = io.BufferedReader(_Utf8Repair(_open_binary(path)), buffer_size=1 << 20)
    reader = pacsv.open_csv(
        stream,
        read_options=pacsv.ReadOptions(block_size=1 << 22, use_threads=False),
        parse_options=pacsv.ParseOptions(delimiter=sep, invalid_row_handler=invalid, newlines_in_values=True),
    )
    drop, done = skip, skip
    try:
        for batch in _rebatch(iter(reader), batch_size):
            if drop >= batch.num_rows:
                drop -= batch.num_rows
                errors.clear()  # already reported before the resume point
                continue
            if drop:
                batch, drop = batch.slice(drop), 0
            done += batch.num_rows
            yield batch, {"row": done}, errors[:]
            errors.clear()
    finally:
        stream.close()


def row_count(path: Path, fmt: str) -> int:
    """Rows in a Parquet or Arrow file, from its metadata."""
    if fmt == "parquet":
        return int(pq.ParquetFile(path).metadata.num_rows)
    with pa.memory_map(str(path)) as source:
        try:
            reader = ipc.open_file(source)
            return sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
        except pa.ArrowInvalid:
            return 0
