"""Sparse vectors (token → weight objects) as Arrow ``map<string, float>`` columns.

Left to type inference, such objects would become structs with one child per token seen anywhere in the
batch (every document then carrying every token, as null). The index source knows from the mapping which
fields are ``sparse_vector`` / ``rank_features`` and attaches them as maps instead.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingest.sinks.bulk.items import pop_path

MAP_TYPE = pa.map_(pa.string(), pa.float32())
SPARSE_TYPES = ("sparse_vector", "rank_features")


def sparse_paths(properties: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths of the sparse-vector fields in a mapping's ``properties``."""
    out: list[str] = []
    for name, field in properties.items():
        if not isinstance(field, dict):
            continue
        path = f"{prefix}{name}"
        if field.get("type") in SPARSE_TYPES:
            out.append(path)
        elif isinstance(field.get("properties"), dict):
            out.extend(sparse_paths(field["properties"], path + "."))
    return out


def pop_sparse(docs: list[dict[str, Any]], paths: list[str]) -> dict[str, list[Any]]:
    """Remove the sparse fields from the documents (in place); their values per path, in document order."""
    taken: dict[str, list[Any]] = {p: [] for p in paths}
    for doc in docs:
        for path in paths:
            value = pop_path(doc, path)
            taken[path].append(value if isinstance(value, dict) else None)
    return taken


def _map_array(values: list[Any]) -> pa.Array:
    pairs = [None if v is None else [(str(k), float(w)) for k, w in v.items() if isinstance(w, int | float)]
             for v in values]
    return pa.array(pairs, type=MAP_TYPE)


def _attach(columns: dict[str, pa.Array], parts: list[str], array: pa.Array, length: int) -> dict[str, pa.Array]:
    head = parts[0]
    if len(parts) == 1:
        columns[head] = array
        return columns
    existing = columns.get(head)
    if existing is not None and pa.types.is_struct(existing.type):
        # flatten() folds the parent's nulls into the children, so they stay null when the parent is revived
        children = {existing.type.field(i).name: child for i, child in enumerate(existing.flatten())}
        # A parent left empty by popping the sparse field is null here: it stays only where both are null.
        mask = pc.and_(existing.is_null(), array.is_null()) if existing.null_count else None
    else:
        children, mask = {}, None
    children = _attach(children, parts[1:], array, length)
    columns[head] = pa.StructArray.from_arrays(list(children.values()), names=list(children), mask=mask)
    return columns


def attach_sparse(batch: pa.RecordBatch, values: dict[str, list[Any]]) -> pa.RecordBatch:
    """``batch`` with each sparse path added as a map column (nested paths inside their struct)."""
    if not values:
        return batch
    columns = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
    for path, vals in values.items():
        if any(v is not None for v in vals):
            columns = _attach(columns, path.split("."), _map_array(vals), batch.num_rows)
    if not columns:
        return batch
    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))
