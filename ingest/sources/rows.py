"""JSON documents → Arrow record batches, keeping going past bad records.

Used by the JSON Lines and stdin sources. A line that is not valid UTF-8, not valid JSON or not a JSON object
becomes a ``SourceError``. Documents whose field types clash (a string in one, a number in the next) go into
separate batches with their values as written: the index's mapping decides, as in Elasticsearch.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, overload

import pyarrow as pa

from ingest.models.jsonparse import lone_surrogate, may_hold_lone_surrogate
from ingest.sources.base import SourceError

T = TypeVar("T")


class LazyList(Sequence[T]):
    """``make(item)`` of each item, made only when read: the locations and raw bytes a batch reports only for
    the few records Arrow cannot hold (a job's sources would otherwise build them for every document)."""

    def __init__(self, items: list[Any], make: Callable[[Any], T]) -> None:
        self.items, self.make = items, make

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...
    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        if isinstance(i, slice):
            return [self.make(x) for x in self.items[i]]
        return self.make(self.items[i])


def parse_line(raw: bytes, location: str) -> dict[str, Any] | SourceError | None:
    """One NDJSON line → a document, an error, or None for a blank line."""
    stripped = raw.strip()
    if not stripped:
        return None
    try:
        text = stripped.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SourceError(location, raw.rstrip(b"\r\n"), f"invalid UTF-8 at byte {exc.start}: {exc.reason}")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        return SourceError(location, raw.rstrip(b"\r\n"), f"invalid JSON: {exc.msg} at column {exc.colno}")
    except RecursionError:
        return SourceError(location, raw.rstrip(b"\r\n"), "invalid JSON: nested too deeply")
    if not isinstance(doc, dict):
        return SourceError(location, raw.rstrip(b"\r\n"), f"a document must be a JSON object, got {type(doc).__name__}")
    if may_hold_lone_surrogate(stripped) and lone_surrogate(doc) is not None:  # as _bulk refuses the item
        return SourceError(location, raw.rstrip(b"\r\n"),
                           "invalid text: an unpaired UTF-16 surrogate escape, which is not valid Unicode")
    return doc


def _empty_batch(rows: int) -> pa.RecordBatch:
    return pa.RecordBatch.from_struct_array(pa.array([{}] * rows, type=pa.struct([])))


Runs = list[tuple[pa.RecordBatch, int]]  # (batch, number of input documents consumed up to its end)


def to_batches(docs: list[dict[str, Any]], raws: Sequence[bytes], locations: Sequence[str]
               ) -> tuple[Runs, list[SourceError]]:
    """Documents → record batches in input order, one per run of documents whose field types agree.

    A field that is a string in most documents and a number in one does not reject that document: a new
    batch starts there, the document keeps its value as written, and the index's mapping decides (the
    embedded store coerces as Elasticsearch's dynamic mapping does). Only a document Arrow cannot hold at all
    (e.g. ``["a", 1]``) is an error.
    """
    if not docs:
        return [(_empty_batch(0), 0)], []
    try:
        # pa.array infers the struct type from every document; Table.from_pylist would take the first
        # document's keys only and silently drop fields that appear later.
        structs = pa.array(docs)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return _split_runs(docs, raws, locations)
    if structs.type.num_fields == 0:
        return [(_empty_batch(len(docs)), len(docs))], []
    return [(pa.RecordBatch.from_struct_array(structs), len(docs))], []


_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError)


def _split_runs(docs: list[dict[str, Any]], raws: Sequence[bytes], locations: Sequence[str]
                ) -> tuple[Runs, list[SourceError]]:
    runs: Runs = []
    errors: list[SourceError] = []
    schema: pa.Schema | None = None
    keep: list[dict[str, Any]] = []
    for i, (doc, raw, loc) in enumerate(zip(docs, raws, locations, strict=True)):
        try:
            own = pa.Table.from_pylist([doc]).schema
        except _ARROW_ERRORS as exc:
            errors.append(SourceError(loc, raw, f"document cannot be read into a table: {exc}"))
            continue
        try:
            merged = own if schema is None else pa.unify_schemas([schema, own], promote_options="permissive")
            pa.Table.from_pylist([doc], schema=merged)
        except _ARROW_ERRORS:
            runs.append((_table_batch(keep, schema), i))  # a type clash: this document starts the next run
            merged, keep = own, []
        schema = merged
        keep.append(doc)
    if keep:
        runs.append((_table_batch(keep, schema), len(docs)))
    elif runs:
        runs[-1] = (runs[-1][0], len(docs))
    else:
        runs.append((_empty_batch(0), len(docs)))
    return runs, errors


def _table_batch(docs: list[dict[str, Any]], schema: pa.Schema | None) -> pa.RecordBatch:
    if not docs or schema is None:
        return _empty_batch(0)
    if len(schema) == 0:
        return _empty_batch(len(docs))
    return pa.Table.from_pylist(docs, schema=schema).combine_chunks().to_batches()[0]
