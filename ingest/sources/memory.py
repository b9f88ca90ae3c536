"""Sources over data already in the caller's process: a pyarrow Table or RecordBatchReader, a pandas or polars
DataFrame, or an iterable of dicts (``ingest.run_job``'s ``source``).

pandas and polars are never imported here: a DataFrame is recognised by its class's module and converted with
its own methods. Rows of an iterable that Arrow cannot hold (or that are not objects) are reported as source
errors, so the job dead-letters them with their reason instead of losing them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from itertools import islice
from typing import Any, Protocol

import pyarrow as pa

from ingest.models.errors import IllegalArgumentException
from ingest.sources.base import Source, SourceBatch, SourceError

DEFAULT_BATCH_SIZE = 10_000
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)


class _ToArrow(Protocol):
    """A polars DataFrame (or anything else that converts itself to a Table)."""

    def to_arrow(self) -> pa.Table: ...


class ArrowSource(Source):
    """Record batches of a Table (resumable: the position is the rows done) or of a RecordBatchReader (read once)."""

    def __init__(self, data: pa.Table | pa.RecordBatchReader, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self._data, self._batch_size = data, max(1, batch_size)
        self.schema: pa.Schema = data.schema

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[SourceBatch]:
        """Batches of at most ``batch_size`` rows, after the ``rows`` of ``resume_from``."""
        done = int((resume_from or {}).get("rows", 0))
        if isinstance(self._data, pa.Table):
            for offset in range(done, self._data.num_rows, self._batch_size):
                for batch in self._data.slice(offset, self._batch_size).to_batches():
                    done += batch.num_rows
                    yield SourceBatch(batch, {"rows": done})
            return
        skip = done
        for batch in self._data:
            if skip >= batch.num_rows:
                skip -= batch.num_rows
                continue
            batch, skip = batch.slice(skip), 0
            for offset in range(0, batch.num_rows, self._batch_size):
                part = batch.slice(offset, self._batch_size)
                done += part.num_rows
                yield SourceBatch(part, {"rows": done})

    def total_rows(self) -> int | None:
        """Rows of a Table; a reader's are unknown."""
        return self._data.num_rows if isinstance(self._data, pa.Table) else None

    def close(self) -> None:
        """Close a reader; a Table needs nothing."""
        if isinstance(self._data, pa.RecordBatchReader):
            self._data.close()


class DictsSource(Source):
    """Documents from an iterable of dicts (a list or a generator), ``batch_size`` at a time."""

    def __init__(self, docs: Iterable[object], batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self._docs, self._batch_size = docs, max(1, batch_size)
        self._total = len(docs) if isinstance(docs, list | tuple) else None

    def batches(self, resume_from: dict[str, Any] | None = None) -> Iterator[SourceBatch]:
        """Batches of the documents after the ``rows`` of ``resume_from``; bad rows as errors."""
        done = int((resume_from or {}).get("rows", 0))
        docs = iter(self._docs)
        for _ in islice(docs, done):
            pass
        while chunk := list(islice(docs, self._batch_size)):
            yield from _chunk_batches(chunk, done)
            done += len(chunk)

    def total_rows(self) -> int | None:
        """The length of a list or tuple; a generator's is unknown."""
        return self._total


def _chunk_batches(chunk: list[object], first: int) -> Iterator[SourceBatch]:
    """One batch for the chunk, or, when Arrow cannot hold it as one, a batch per run of rows it can.

    Only the last batch's position moves past the chunk: a resume never skips a row (it may write a split
    chunk's first rows again, which overwrites them under the same ids).
    """
    errors = [SourceError(f"document {first + i}", _raw(doc), f"document is a [{type(doc).__name__}], not an object")
              for i, doc in enumerate(chunk) if not isinstance(doc, Mapping)]
    rows = [(first + i, dict(doc)) for i, doc in enumerate(chunk) if isinstance(doc, Mapping)]
    end = {"rows": first + len(chunk)}
    try:
        yield SourceBatch(_batch([r for _, r in rows]), end, errors)
        return
    except _ARROW_ERRORS:
        pass
    # Types clash between rows (a field that is a number in one and a string in another): keep them apart, so
    # the sink's mapping decides each document as Elasticsearch would; rows Arrow cannot hold at all are errors.
    out: list[pa.RecordBatch] = []
    for at, row in rows:
        try:
            out.append(_batch([row]))
        except _ARROW_ERRORS as exc:
            errors.append(SourceError(f"document {at}", _raw(row), f"cannot be read as a document: {exc}"))
    if not out:
        yield SourceBatch(_batch([]), end, errors)
        return
    for k, batch in enumerate(out):
        last = k == len(out) - 1
        yield SourceBatch(batch, end if last else {"rows": first}, errors if last else [])


def _batch(rows: list[dict[str, Any]]) -> pa.RecordBatch:
    # Every row gets every key: Arrow takes a batch's columns from its first row alone.
    keys = dict.fromkeys(k for row in rows for k in row)
    return pa.RecordBatch.from_pylist([{k: row.get(k) for k in keys} for row in rows])


def _raw(doc: Any) -> bytes:
    try:
        return json.dumps(doc, default=repr).encode("utf-8", "backslashreplace")
    except (TypeError, ValueError):
        return repr(doc).encode("utf-8", "backslashreplace")


def describe(data: object) -> str:
    """What an in-memory source is: ``pyarrow.Table``, ``pandas.DataFrame``, ``builtins.list``…"""
    kind = type(data)
    return f"{kind.__module__.split('.')[0]}.{kind.__qualname__}"


def open_memory_source(data: object, batch_size: int | None = None) -> Source:
    """The source for an in-memory ``data``; IllegalArgumentException when it is none of the accepted kinds."""
    size = batch_size or DEFAULT_BATCH_SIZE
    if isinstance(data, Source):
        return data
    if isinstance(data, pa.Table | pa.RecordBatchReader):
        return ArrowSource(data, size)
    if isinstance(data, pa.RecordBatch):
        return ArrowSource(pa.Table.from_batches([data]), size)
    module = type(data).__module__.split(".")[0]
    if module == "pandas" and type(data).__name__ == "DataFrame":
        return _pandas(data, size)
    if module == "polars" and type(data).__name__ in ("DataFrame", "LazyFrame"):
        frame: Any = data
        polars_frame: _ToArrow = frame.collect() if type(data).__name__ == "LazyFrame" else frame
        return ArrowSource(polars_frame.to_arrow(), size)
    if isinstance(data, Mapping):
        raise IllegalArgumentException("[source] is a single document; pass a list of documents")
    if isinstance(data, Iterable) and not isinstance(data, bytes | bytearray):
        return DictsSource(data, size)
    raise IllegalArgumentException(
        f"[source] must be a path, glob or URL, a pyarrow Table or RecordBatchReader, a pandas or polars "
        f"DataFrame, or an iterable of documents (dicts); got [{describe(data)}]")


def _pandas(frame: Any, batch_size: int) -> Source:
    """A pandas DataFrame through Arrow (its index is not a field); by rows when a column mixes types."""
    try:
        return ArrowSource(pa.Table.from_pandas(frame, preserve_index=False), batch_size)
    except _ARROW_ERRORS:
        return DictsSource(frame.to_dict("records"), batch_size)


def check_id_field(schema: pa.Schema, id_field: str) -> None:
    """Refuse, before anything is read, an id field the documents cannot take their ``_id`` from."""
    top = id_field.split(".", 1)[0]
    if top not in schema.names:
        raise IllegalArgumentException(f"[id_field] [{id_field}] is not a field of the source; its fields are "
                                       f"{schema.names}")
    kind = schema.field(top).type
    if "." in id_field:
        if not pa.types.is_struct(kind):
            raise IllegalArgumentException(f"[id_field] [{id_field}]: field [{top}] is of type [{kind}], not an object")
        return
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_integer(kind)
            or (pa.types.is_dictionary(kind) and pa.types.is_string(kind.value_type))):
        raise IllegalArgumentException(
            f"[id_field] [{id_field}] is of type [{kind}]; a document id is taken from a string or integer field")
