"""Arrow rows as the plain dicts of a bulk action's source (shared by the jobs and the sinks' per-action paths)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa


def to_rows(table: pa.Table | pa.RecordBatch) -> list[dict[str, Any]]:
    """Rows as plain dicts, with Arrow maps turned into dicts (``to_pylist`` gives lists of pairs)."""
    rows = table.to_pylist()
    map_paths = [(f.name, f.type) for f in table.schema if _has_map(f.type)]
    if map_paths:
        for row in rows:
            for name, typ in map_paths:
                if name in row:
                    row[name] = _fix_maps(row[name], typ)
    return rows


def _has_map(typ: pa.DataType) -> bool:
    if pa.types.is_map(typ):
        return True
    if pa.types.is_struct(typ):
        return any(_has_map(typ.field(i).type) for i in range(typ.num_fields))
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        return _has_map(typ.value_type)
    return False


def _fix_maps(value: Any, typ: pa.DataType) -> Any:
    if value is None:
        return None
    if pa.types.is_map(typ):
        return {k: _fix_maps(v, typ.item_type) for k, v in value}
    if pa.types.is_struct(typ):
        return {
            typ.field(i).name: _fix_maps(value.get(typ.field(i).name), typ.field(i).type)
            for i in range(typ.num_fields)
        }
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        return [_fix_maps(v, typ.value_type) for v in value]
    return value


def present(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without top-level nulls: Arrow gives every row every column of its batch, so a null
    usually means the field was absent in this document (an explicit null is indistinguishable and dropped)."""
    return {k: v for k, v in doc.items() if v is not None}
