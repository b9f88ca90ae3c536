"""Reading documents back with their versions (``GET _doc``, ``_mget``, the by-query scans)."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa

from ingest.sinks.base import FieldHint
from ingest.sinks.bulk.apply import StoredDoc
from ingest.sinks.bulk.documents import join


def read_docs(con: duckdb.DuckDBPyConnection, register: Callable[[pa.Table], str], table: str,
              layout: dict[str, FieldHint], ids: set[str] | None, after: str | None = None, limit: int = 0
              ) -> list[StoredDoc]:
    """Documents of ``table`` (a quoted name) with their versions: the ``ids`` found, or (``ids`` None) a page
    of ``limit`` in ``_id`` order after ``after``."""
    cols = "".join(", t." + '"' + p.replace('"', '""') + '"' for p in layout)
    select = f"SELECT t._id, t._version, t._seq_no, t._primary_term, t._source{cols} FROM {table} t"
    name = None
    if ids is not None:
        name = register(pa.table({"_id": pa.array(sorted(ids), pa.string())}))
        query, args = f"{select} JOIN {name} USING (_id)", []
    else:
        query, args = f"{select} WHERE ? IS NULL OR t._id > ? ORDER BY t._id LIMIT ?", [after, after, limit]
    try:
        rows = con.execute(query, args).fetchall()
    finally:
        if name:
            con.unregister(name)
    return [StoredDoc(r[0], join(r[4], layout, dict(zip(layout, r[5:], strict=True))), r[1], r[2], r[3])
            for r in rows]
