"""File sources: Parquet, JSON Lines / NDJSON (optionally gzip), CSV and Arrow IPC — a file, a folder or a glob.

Files are read in sorted path order. The resume position is ``{"file": n, "path": p, ...}`` plus, within the
file, ``"row"`` (rows consumed; Parquet, Arrow, CSV) or ``"offset"``/``"line"`` (bytes/lines consumed; JSONL).
"""

from __future__ import annotations

import glob
import os
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from ingest.models.errors import IllegalArgumentException, ResourceNotFoundException
from ingest.sources.base import Source, SourceBatch, SourceError

DEFAULT_BATCH_SIZE = 10_000
# what a damaged file raises from the readers (gzip: EOFError / BadGzipFile (OSError) / zlib.error; Arrow's own)
FILE_ERRORS = (OSError, EOFError, zlib.error, pa.ArrowException)

_SUFFIXES = {
    ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".csv": "csv", ".tsv": "csv",
    ".arrow": "arrow", ".feather": "arrow", ".ipc": "arrow", ".arrows": "arrow",
}


def format_of(path: Path) -> str | None:
    """The format a file name implies (``.gz`` looks at the suffix before it), or None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


def expand(spec: str) -> list[Path]:
    """Files named by a path, a folder (recursively; hidden files skipped) or a glob, sorted."""
    if any(c in spec for c in "*?["):
        paths = [Path(p) for p in glob.glob(os.path.expanduser(spec), recursive=True)]
    else:
        root = Path(spec).expanduser()
        if root.is_dir():
            paths = [p for p in root.rglob("*") if not any(part.startswith(".") for part in p.relative_to(root).parts)]
        elif root.exists():
            paths = [root]
        else:
            raise ResourceNotFoundException(f"source [{spec}] does not exist")
    files = sorted(p for p in paths if p.is_file())
    if not files:
        raise ResourceNotFoundException(f"no files match source [{spec}]")
    return files


class FileSource(Source):
    """A sequence of files of one format."""

    def __init__(self, files: list[Path], fmt: str, *, batch_size: int = DEFAULT_BATCH_SIZE, **options: Any) -> None:
        if batch_size < 1:
            raise IllegalArgumentException(f"[batch_size] must be positive, got [{batch_size}]")
        self.files, self.format, self.batch_size, self.options = files, fmt, batch_size, options

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[SourceBatch]:
        """Batches of every file in order, continuing after ``resume_from``."""
        from ingest.sources import readers

        first, within = 0, None
        if resume_from:
            first = int(resume_from.get("file", 0))
            if first < len(self.files) and str(self.files[first]) != resume_from.get("path"):
                raise IllegalArgumentException(
                    f"cannot resume: position refers to [{resume_from.get('path')}] but file {first} of this source "
                    f"is [{self.files[first]}]; the set of files changed"
                )
            within = resume_from
        read = {"jsonl": readers.read_jsonl, "parquet": readers.read_parquet, "csv": readers.read_csv,
                "arrow": readers.read_arrow}[self.format]
        for n in range(first, len(self.files)):
            path = self.files[n]
            start = within if n == first else None
            inner: dict[str, Any] = dict(start or {})
            try:
                for batch, inner, errors in read(path, start, self.batch_size, **self.options):
                    yield SourceBatch(batch, {"file": n, "path": str(path), **inner}, errors)
            except FILE_ERRORS as exc:
                # A truncated gzip or a corrupt Parquet file: dead-letter the file (named, with the reason) and
                # go on with the next one; what was read before the damage is kept.
                yield self._unreadable(n, path, inner, exc)

    def _unreadable(self, n: int, path: Path, inner: dict[str, Any], exc: BaseException) -> SourceBatch:
        after = {"file": n + 1, "path": str(self.files[n + 1]) if n + 1 < len(self.files) else None}
        empty = pa.RecordBatch.from_struct_array(pa.array([], type=pa.struct([])))
        return SourceBatch(empty, after, [unreadable(path, inner, exc)])

    def estimated_rows(self) -> int | None:
        """Text formats: total content bytes / the mean line length of the first MiB of the first file."""
        if self.format not in ("jsonl", "csv") or not self.files:
            return None
        per_line = _bytes_per_line(self.files[0])
        if per_line is None:
            return None
        try:
            total = sum(_uncompressed_size(p) for p in self.files)
        except OSError:
            return None
        return max(1, round(total / per_line))

    def total_rows(self) -> int | None:
        """Row count from Parquet / Arrow file metadata (None for text formats)."""
        from ingest.sources import readers

        if self.format not in ("parquet", "arrow"):
            return None
        total = 0
        for path in self.files:
            try:
                total += readers.row_count(path, self.format)
            except FILE_ERRORS:
                continue  # reported when the job reaches it
        return total


def unreadable(path: Path, inner: dict[str, Any], exc: BaseException) -> SourceError:
    """The dead letter of a damaged file: named, with the reason and what of it was read (``inner``: the
    position of the last batch read from it)."""
    done = [f"{k} {v}" for k, v in inner.items() if k in ("line", "row")]
    lost = f"what follows {done[0]} is not indexed" if done else "none of it is indexed"
    reason = f"file [{path}] cannot be read: {type(exc).__name__}: {exc}; {lost}"
    return SourceError(str(path), str(path).encode(), reason, whole_file=True)


def _uncompressed_size(path: Path) -> int:
    """Bytes of the file's content: gzip's trailer (ISIZE, exact below 4 GiB), else the file size."""
    size = path.stat().st_size
    if path.suffix.lower() != ".gz" or size < 18:
        return size
    with path.open("rb") as handle:
        handle.seek(-4, os.SEEK_END)
        isize = int.from_bytes(handle.read(4), "little")
    return isize if isize >= size else size  # a wrapped ISIZE (> 4 GiB) is smaller than the file: no better guess


def _bytes_per_line(path: Path, sample: int = 1 << 20) -> float | None:
    import gzip

    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            head = handle.read(sample)
    except (OSError, EOFError, zlib.error):
        return None
    lines = head.count(b"\n")
    return len(head) / lines if lines else None


def open_file_source(spec: str, *, format: str | None = None, **options: Any) -> FileSource:
    """A source over the files ``spec`` names; all must share one format (or give ``format``)."""
    files = expand(spec)
    if format is not None and format not in ("parquet", "jsonl", "ndjson", "csv", "arrow"):
        raise IllegalArgumentException(f"unknown source format [{format}]: expected parquet, jsonl, csv or arrow")
    fmt = "jsonl" if format == "ndjson" else format
    if fmt is None:
        found = {format_of(p) for p in files}
        if spec.rstrip("/") != spec or Path(spec).is_dir() or any(c in spec for c in "*?["):
            found.discard(None)
            files = [p for p in files if format_of(p) is not None]
        if len(found) != 1 or None in found:
            kinds = sorted(str(k) for k in found)
            raise IllegalArgumentException(
                f"cannot tell the format of source [{spec}] (found {kinds or 'no known file types'}); pass format="
            )
        fmt = found.pop()
    return FileSource(files, str(fmt), **options)
