"""From Arrow rows to bulk actions: document ids, JSON-able sources, size estimates, field hints."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingest.models.errors import (
    ActionRequestValidationException,
    DocumentParsingException,
    ElasticsearchError,
    IllegalArgumentException,
)
from ingest.processors.datemath import resolve_index_name
from ingest.sinks.rows import to_rows as to_rows  # re-exported: jobs and executors read rows from here

METADATA_COLUMNS = ("_index", "_id", "_routing")
MAX_ID_BYTES = 512
# Elasticsearch's metadata fields, which a document's source may not hold (_doc_count may: it is data).
METADATA_FIELDS = frozenset({
    "_id", "_index", "_source", "_version", "_seq_no", "_primary_term", "_routing", "_ignored", "_ignored_source",
    "_field_names", "_nested_path", "_tier", "_data_stream_timestamp", "_tsid", "_ts_routing_hash", "_feature",
})
# JSON text of a float is ~2.5x its 4 bytes; strings cost their bytes plus quoting.
_FLOAT_JSON_BYTES = 10
_FIELD_OVERHEAD = 8


def content_ids(rows: list[dict[str, Any]]) -> list[str]:
    """Deterministic ids: SHA-256 of each row's canonical JSON, so a re-run overwrites instead of duplicating.

    Canonical means independent of how rows were batched: Arrow gives a row nulls for the columns other rows
    of its batch have, and may widen 1 to 1.0 when another row has a float, so nulls are left out and
    integral floats hashed as integers.
    """
    encode = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False).encode  # what json.dumps builds per call
    return [hashlib.sha256(encode(_canonical(r)).encode()).hexdigest()[:40] for r in rows]


def batch_content_ids(batch: pa.RecordBatch | pa.Table) -> list[str]:
    """``content_ids`` of the batch's rows. A batch without nested columns needs no recursive canonical form:
    its nulls are left out and integral floats made integers column by column (the same ids, ~30% sooner)."""
    if any(pa.types.is_nested(f.type) for f in batch.schema):
        return content_ids(to_rows(batch))
    floats = [f.name for f in batch.schema if pa.types.is_floating(f.type)]
    encode = json.JSONEncoder(sort_keys=True, default=str, ensure_ascii=False).encode
    out = []
    for row in batch.to_pylist():
        doc = {k: v for k, v in row.items() if v is not None}
        for name in floats:
            value = doc.get(name)
            if value is not None and value.is_integer():
                doc[name] = int(value)
        out.append(hashlib.sha256(encode(doc).encode()).hexdigest()[:40])
    return out


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def field_ids(rows: list[dict[str, Any]], id_field: str) -> list[str | None]:
    """Ids from a (possibly dotted) field; None where the field is missing or not a scalar."""
    out: list[str | None] = []
    for row in rows:
        value: Any = row
        for part in id_field.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if isinstance(value, bool) or value is None or isinstance(value, dict | list):
            out.append(None)
        else:
            out.append(str(value))
    return out


def estimate_sizes(table: pa.Table | pa.RecordBatch) -> np.ndarray:
    """Approximate JSON bytes of each row, computed column-wise (cheap; exact serialisation is the sink's)."""
    sizes = np.zeros(table.num_rows, dtype=np.int64)
    for i, f in enumerate(table.schema):
        column = table.column(i)
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        sizes += len(f.name) + _FIELD_OVERHEAD + _array_sizes(array)
    return sizes


def _array_sizes(array: pa.Array) -> np.ndarray:
    typ = array.type
    n = len(array)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        lengths = pc.fill_null(pc.binary_length(array), 0)
        return np.asarray(lengths.to_numpy(zero_copy_only=False), dtype=np.int64) + 2
    if pa.types.is_struct(typ):
        out = np.zeros(n, dtype=np.int64)
        for j in range(typ.num_fields):
            out += len(typ.field(j).name) + _FIELD_OVERHEAD + _array_sizes(array.field(j))
        return out
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_map(typ):
        lengths = np.diff(np.asarray(array.offsets.to_numpy(zero_copy_only=False), dtype=np.int64))
        per_item = _FLOAT_JSON_BYTES if not pa.types.is_map(typ) else 24
        values = array.flatten() if not pa.types.is_map(typ) else None
        if values is not None and (pa.types.is_string(values.type) or pa.types.is_struct(values.type)):
            per_item = max(1, int(_array_sizes(values).sum() // max(1, len(values))))
        return lengths * per_item + 2
    if pa.types.is_fixed_size_list(typ):
        return np.full(n, typ.list_size * _FLOAT_JSON_BYTES + 2, dtype=np.int64)
    return np.full(n, _FLOAT_JSON_BYTES, dtype=np.int64)


def vector_kind(value: Any) -> tuple[str, int | None] | None:
    """("dense", dims) for a list of floats, ("sparse", None) for a token → weight map, else None."""
    if isinstance(value, list) and len(value) >= 2 and all(isinstance(x, float) for x in value[:8]):
        return "dense", len(value)
    if isinstance(value, dict) and value and all(isinstance(v, float) for v in list(value.values())[:8]):
        return "sparse", None
    return None


def vector_fields(doc: dict[str, Any], prefix: str = "") -> dict[str, tuple[str, int | None]]:
    """Dotted paths of the vector fields of one document (one level of nesting is enough for pipelines)."""
    found: dict[str, tuple[str, int | None]] = {}
    for key, value in doc.items():
        if key.startswith("_") and not prefix:
            continue
        kind = vector_kind(value)
        if kind is not None:
            found[prefix + key] = kind
        elif isinstance(value, dict) and prefix.count(".") < 3:
            found.update(vector_fields(value, prefix + key + "."))
    return found


def concrete_index(meta_index: Any, default: str) -> str:
    """The index a document goes to: the ``_index`` its pipeline set, with date math such as ``<logs-{now/d}>``
    (what ``date_index_name`` writes) resolved, else the job's ``default``."""
    return resolve_index_name(str(meta_index)) if meta_index else default


def id_error(doc_id: str) -> ElasticsearchError | None:
    """Elasticsearch's refusal of an empty or over-512-byte ``_id`` (None when the id is valid)."""
    if doc_id == "":
        return IllegalArgumentException("if _id is specified it must not be empty")
    size = len(doc_id.encode("utf-8", "surrogatepass"))
    if size > MAX_ID_BYTES:
        return ActionRequestValidationException(
            [f"id [{doc_id}] is too long, must be no longer than {MAX_ID_BYTES} bytes but was: {size}"]
        )
    return None


def metadata_field_error(source: dict[str, Any]) -> ElasticsearchError | None:
    """Elasticsearch's refusal of a metadata field (``_id``, ``_source``, ...) at the top of a document."""
    for key in source:
        if key in METADATA_FIELDS:
            return DocumentParsingException(
                f"Field [{key}] is a metadata field and cannot be added inside a document. Use the index API request "
                "parameters."
            )
    return None
