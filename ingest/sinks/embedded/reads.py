"""Reading documents back with their versions (``GET _doc``, ``_mget``, the by-query scans)."""

from __future__ import annotations

import duckdb

from ingest.sinks.base import FieldHint
from ingest.sinks.bulk.apply import StoredDoc
from ingest.sinks.bulk.documents import join
from ingest.sinks.embedded.rowwrites import select_rows


def read_docs(con: duckdb.DuckDBPyConnection, table: str, layout: dict[str, FieldHint], seq_nos: list[int] | None,
              after: str | None = None, limit: int = 0) -> list[StoredDoc]:
    """Documents of ``table`` (a quoted name) with their versions: the rows with ``seq_nos`` (the id catalogue's
    locators of the ids asked for), or (``seq_nos`` None) a page of ``limit`` in ``_id`` order after ``after``."""
    cols = "".join(", t." + '"' + p.replace('"', '""') + '"' for p in layout)
    columns = f"t._id, t._version, t._seq_no, t._primary_term, t._source{cols}"
    if seq_nos is not None:
        rows = select_rows(con, columns, table, seq_nos)
    else:
        rows = con.execute(f"SELECT {columns} FROM {table} t WHERE ? IS NULL OR t._id > ? ORDER BY t._id LIMIT ?",
                           [after, after, limit]).fetchall()
    return [StoredDoc(r[0], join(r[4], layout, dict(zip(layout, r[5:], strict=True))), r[1], r[2], r[3])
            for r in rows]
