"""JSON documents → Arrow record batches, keeping going past bad records.

Used by the JSON Lines and stdin sources. A line that is not valid UTF-8, not valid JSON or not a JSON object
becomes a ``SourceError``; so does a document whose field types clash with the rest of its batch (the first
document's type wins, as with Elasticsearch's dynamic mapping), instead of failing the whole batch.
"""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa

from ingest.sources.base import SourceError
from models.jsonparse import lone_surrogate, may_hold_lone_surrogate


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


def to_batch(docs: list[dict[str, Any]], raws: list[bytes], locations: list[str]
             ) -> tuple[pa.RecordBatch, list[SourceError]]:
    """Documents → one record batch; documents that cannot share the batch's schema become errors."""
    if not docs:
        return _empty_batch(0), []
    try:
        # pa.array infers the struct type from every document; Table.from_pylist would take the first
        # document's keys only and silently drop fields that appear later.
        structs = pa.array(docs)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return _to_batch_slow(docs, raws, locations)
    if structs.type.num_fields == 0:
        return _empty_batch(len(docs)), []
    return pa.RecordBatch.from_struct_array(structs), []


def _to_batch_slow(docs: list[dict[str, Any]], raws: list[bytes], locations: list[str]
                   ) -> tuple[pa.RecordBatch, list[SourceError]]:
    schema: pa.Schema | None = None
    keep: list[dict[str, Any]] = []
    errors: list[SourceError] = []
    for doc, raw, loc in zip(docs, raws, locations, strict=True):
        try:
            own = pa.Table.from_pylist([doc]).schema
            merged = own if schema is None else pa.unify_schemas([schema, own], promote_options="permissive")
            pa.Table.from_pylist([doc], schema=merged)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError) as exc:
            errors.append(SourceError(loc, raw, f"document does not fit the batch's field types: {exc}"))
            continue
        schema = merged
        keep.append(doc)
    if not keep or schema is None:
        return _empty_batch(0), errors
    if len(schema) == 0:
        return _empty_batch(len(keep)), errors
    table = pa.Table.from_pylist(keep, schema=schema)
    return table.combine_chunks().to_batches()[0], errors
