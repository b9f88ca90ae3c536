"""The embedded store's batch write plan: whole documents as an Arrow table, checked and serialised per column.

A job's common write — ``index``/``create`` of whole documents whose fields the index already maps — needs no
Python object per document: the mapping check is decided per column from the Arrow type and the column's
min/max (a ``long`` field takes any ``int64`` column, a ``text`` field any ``string`` column, …), vector columns
are checked for length and finiteness with Arrow kernels and cast to the store's ``FLOAT[dims]`` /
``MAP(VARCHAR, FLOAT)`` types by DuckDB, and ``_source`` is serialised by DuckDB (``to_json`` per field, top-level
nulls left out as the per-action path leaves them out).

Whatever cannot be decided per column — a field the index does not map yet (the first batch), a value the
mapping might refuse or coerce (a string into a ``long``), a vector of the wrong size, a type without one exact
JSON form (timestamps, binary, maps outside vector fields), a dotted column name — makes :func:`plan` answer
None, and the store takes the per-action path, whose per-item outcomes are the reference this one matches.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingest.sinks.base import FieldHint
from ingest.sinks.bulk.apply import Stored
from ingest.sinks.bulk.items import MAX_ID_BYTES
from ingest.sinks.bulk.mapping import Properties
from ingest.sinks.embedded.rowwrites import delete_rows

_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1
_FLOAT_MAX = 3.4028234663852886e38
_TEXT = ("text", "keyword")


@dataclass
class Plan:
    """Columns to register (named ``c0``, ``c1``, …) and the SQL of each stored column over them."""

    columns: list[pa.Array]
    source_sql: str  # the ``_source`` JSON text
    vector_sql: dict[str, str]  # vector field path → its column's SQL
    versions: dict[str, int] = field(default_factory=dict)  # the stored version of each id already there
    replaced: list[int] = field(default_factory=list)  # the _seq_no of their rows (deleted before the insert)


def plan_batch(lookup: Callable[[list[str]], dict[str, Stored]], table: pa.Table | pa.RecordBatch, ids: list[str],
               op: str, layout: dict[str, FieldHint], properties: Properties) -> Plan | None:
    """The column-wise write of ``op`` for rows with ``ids`` into an existing index with the stored versions of
    those ids (``lookup``: the id catalogue's), or None when ``write`` must answer per action."""
    if op not in ("index", "create"):
        return None
    if len(set(ids)) != len(ids) or any(not i or len(i.encode()) > MAX_ID_BYTES for i in ids):
        return None  # a repeated id applies in order; bad ids are refused per item
    found = plan(table, layout, properties)
    if found is None:
        return None
    stored = lookup(ids)
    found.versions = {i: s.version for i, s in stored.items()}
    found.replaced = [s.seq_no for s in stored.values()]
    if op == "create" and found.versions:
        return None  # version conflicts are answered per item
    return found


def insert_batch(con: duckdb.DuckDBPyConnection, table_sql: str, ids: list[str], found: Plan, first_seq_no: int,
                 primary_term: int) -> None:
    """Write a planned batch (inside the caller's transaction): replaced rows deleted, every row inserted, row
    ``k`` with sequence number ``first_seq_no + k``."""
    data = {f"c{k}": c for k, c in enumerate(found.columns)}
    data["_id"] = pa.array(ids, pa.string())
    data["_version"] = pa.array([found.versions.get(i, 0) + 1 for i in ids], pa.int64())
    data["_seq_no"] = pa.array(range(first_seq_no, first_seq_no + len(ids)), pa.int64())
    data["_primary_term"] = pa.array([primary_term] * len(ids), pa.int64())
    name = f"_batch_{uuid.uuid4().hex}"
    con.register(name, pa.table(data))
    try:
        delete_rows(con, table_sql, found.replaced)
        targets = ", ".join(["_id", "_version", "_seq_no", "_primary_term", "_source",
                             *(_quote(p) for p in found.vector_sql)])
        values = ", ".join(["_id", "_version", "_seq_no", "_primary_term", found.source_sql,
                            *found.vector_sql.values()])
        con.execute(f"INSERT INTO {table_sql} ({targets}) SELECT {values} FROM {name}")
    finally:
        con.unregister(name)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def plan(table: pa.Table | pa.RecordBatch, layout: dict[str, FieldHint], properties: Properties) -> Plan | None:
    """How to write ``table``'s rows column-wise into an index with this layout and mapping, or None when the
    per-action path must decide (see the module docstring)."""
    columns: list[pa.Array] = []
    fragments: list[str] = []
    vectors: dict[str, str] = {}
    names = list(table.schema.names)
    for path in layout:
        if path not in names and path.split(".", 1)[0] in names:
            return None  # a vector inside an object: the per-action path splits it out
    for name, column in zip(names, table.columns, strict=True):
        array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        ref = f"c{len(columns)}"
        if name in layout:
            sql = _vector_sql(array, layout[name], ref)
            if sql is None:
                return None
            columns.append(array)
            vectors[name] = sql
            continue
        if "." in name:
            return None  # dotted keys are objects to the mapping: the per-action path resolves them
        if array.null_count == len(array):
            continue  # absent everywhere in this batch: adds nothing, written nowhere
        mapped = None if name == "_inference_fields" else properties.get(name)
        if name != "_inference_fields" and mapped is None:
            return None  # a new field: the per-action path maps it (Elasticsearch's dynamic mapping)
        if not _fits(array, mapped):
            return None
        columns.append(_as_float64(array))
        key = json.dumps(name, ensure_ascii=False).replace("'", "''")
        fragments.append(f"CASE WHEN {ref} IS NOT NULL THEN '{key}:' || to_json({ref}) END")
    source = "'{' || concat_ws(',', " + ", ".join(fragments) + ") || '}'" if fragments else "'{}'"
    return Plan(columns, source, vectors)


def _fits(array: pa.Array, mapped: dict[str, Any] | None) -> bool:
    """Whether every value of ``array`` is accepted by the mapped field without coercion or new fields, and has
    one exact JSON form; ``mapped`` None checks the JSON form only."""
    typ = array.type
    if pa.types.is_null(typ) or array.null_count == len(array):
        return True
    if pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ):
        return _fits(array.flatten(), mapped)  # a list's values are values of the field
    kind = None if mapped is None else mapped.get("type")
    if pa.types.is_struct(typ):
        if mapped is not None and kind != "object":
            return False
        children = array.flatten()  # parent nulls applied to the children
        for i, child in enumerate(children):
            name = typ.field(i).name
            if "." in name:
                return False
            if child.null_count == len(child):
                continue
            sub = None if mapped is None else mapped.get("properties", {}).get(name)
            if mapped is not None and sub is None:
                return False
            if not _fits(child, sub):
                return False
        return True
    if kind == "object":
        return False  # a concrete value where an object is mapped: refused per item
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        return mapped is None or kind in _TEXT
    if pa.types.is_boolean(typ):
        return mapped is None or kind in (*_TEXT, "boolean")
    if pa.types.is_integer(typ):
        if mapped is None or kind in (*_TEXT, "float", "date"):
            return True
        if kind != "long":
            return False
        return not pa.types.is_uint64(typ) or int(pc.max(array).as_py()) <= _LONG_MAX
    if pa.types.is_float32(typ) or pa.types.is_float64(typ):
        if not pc.all(pc.is_finite(array)).as_py():  # NaN/inf: JSON has no form for them
            return False
        if mapped is None or kind in (*_TEXT, "date"):
            return True
        low, high = (v.as_py() for v in pc.min_max(array).values())
        if kind == "float":
            return max(abs(low), abs(high)) <= _FLOAT_MAX
        return kind == "long" and low >= _LONG_MIN and high <= _LONG_MAX
    return False


def _as_float64(array: pa.Array) -> pa.Array:
    """float32 values widened, so their JSON is the float64 text the per-action path writes."""
    target = _widened(array.type)
    return array if target == array.type else array.cast(target)


def _widened(typ: pa.DataType) -> pa.DataType:
    if pa.types.is_float32(typ):
        return pa.float64()
    if pa.types.is_struct(typ):
        return pa.struct([f.with_type(_widened(f.type)) for f in typ])
    if pa.types.is_list(typ):
        return pa.list_(typ.value_field.with_type(_widened(typ.value_type)))
    if pa.types.is_large_list(typ):
        return pa.large_list(typ.value_field.with_type(_widened(typ.value_type)))
    if pa.types.is_fixed_size_list(typ):
        return pa.list_(typ.value_field.with_type(_widened(typ.value_type)), typ.list_size)
    return typ


def _vector_sql(array: pa.Array, hint: FieldHint, ref: str) -> str | None:
    """SQL casting a vector column to the store's type, or None when a value needs the per-action checks."""
    typ = array.type
    if hint.kind == "dense":
        if not (pa.types.is_list(typ) or pa.types.is_large_list(typ) or pa.types.is_fixed_size_list(typ)):
            return None
        values = array.flatten()
        if not _finite_numbers(values):
            return None
        lengths = pc.list_value_length(array)
        if lengths.null_count < len(lengths):
            low, high = (v.as_py() for v in pc.min_max(lengths).values())
            if low != hint.dims or high != hint.dims:
                return None
        return f"CAST({ref} AS FLOAT[{int(hint.dims or 0)}])"
    if not pa.types.is_map(typ) or not (pa.types.is_string(typ.key_type) or pa.types.is_large_string(typ.key_type)):
        return None
    if not _finite_numbers(array.items):
        return None
    return f"CAST({ref} AS MAP(VARCHAR, FLOAT))"


def _finite_numbers(values: pa.Array) -> bool:
    """Numbers (not booleans), no nulls, all finite."""
    typ = values.type
    if not (pa.types.is_integer(typ) or pa.types.is_float32(typ) or pa.types.is_float64(typ)) or values.null_count:
        return False
    return len(values) == 0 or pa.types.is_integer(typ) or bool(pc.all(pc.is_finite(values)).as_py())
