"""Rows in and out of an index table by ``_seq_no``, the locator the id catalogue (``idcatalogue.py``) keeps.

Each row's ``_seq_no`` is unique in its table and rows are appended in ``_seq_no`` order, so DuckDB's min/max per
row group turns a lookup or delete of recent rows into a read of a few row groups, and of any rows into a scan of
that one integer column: never a scan of the ``_id`` strings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa

from ingest.sinks.base import FieldHint
from ingest.sinks.bulk.apply import DocState, Stored
from ingest.sinks.bulk.documents import join
from ingest.sinks.bulk.vectors import arrow_column
from ingest.sinks.embedded.idcatalogue import Entry
from ingest.sinks.embedded.sql import quote_name as _q

_SEQ_NOS = "(SELECT unnest(?::BIGINT[]))"
_FEW_ROWS = 8


def _matching(column: str, seq_nos: list[int]) -> tuple[str, list[Any]]:
    """The condition and parameter selecting ``seq_nos``: one value compares directly (DuckDB prunes row groups
    by their min/max: ~0.7 ms at 1M rows, against ~1.1 ms for the list joined), more join the list."""
    if len(seq_nos) == 1:
        return f"{column} = ?", [seq_nos[0]]
    return f"{column} IN {_SEQ_NOS}", [seq_nos]


def delete_rows(con: duckdb.DuckDBPyConnection, table: str, seq_nos: list[int]) -> None:
    """Delete the rows of ``table`` (quoted) with these sequence numbers."""
    if seq_nos:
        where, params = _matching("_seq_no", seq_nos)
        con.execute(f"DELETE FROM {table} WHERE {where}", params)


def select_rows(con: duckdb.DuckDBPyConnection, columns: str, table: str, seq_nos: list[int]
                ) -> list[tuple[Any, ...]]:
    """``columns`` (SQL, aliased ``t``) of the rows of ``table`` with these sequence numbers."""
    if not seq_nos:
        return []
    where, params = _matching("t._seq_no", seq_nos)
    return con.execute(f"SELECT {columns} FROM {table} t WHERE {where}", params).fetchall()


def read_sources(con: duckdb.DuckDBPyConnection, table: str, layout: dict[str, FieldHint],
                 found: dict[str, Stored]) -> dict[str, dict[str, Any]]:
    """The full documents (vectors put back) of the ``found`` ids (their catalogue entries)."""
    cols = "".join(f", t.{_q(p)}" for p in layout)
    rows = select_rows(con, f"t._id, t._source{cols}", table, [s.seq_no for s in found.values()])
    return {row[0]: join(row[1], layout, dict(zip(layout, row[2:], strict=True))) for row in rows}


def store_rows(con: duckdb.DuckDBPyConnection, register: Callable[[pa.Table], str], index: str,
               layout: dict[str, FieldHint], changed: dict[str, DocState], versions: dict[str, Stored]
               ) -> tuple[list[Entry], list[str]]:
    """Write the final state of each changed id (inside the caller's transaction): the rows they replace deleted by
    ``_seq_no``, the live ones appended. The catalogue's changes: the entries written and the ids deleted."""
    table = _q(index)
    delete_rows(con, table, [versions[doc_id].seq_no for doc_id, st in changed.items() if st.stored])
    gone = [doc_id for doc_id, st in changed.items() if not st.exists]
    live = [(doc_id, st) for doc_id, st in changed.items() if st.exists and st.row is not None]
    if not live:
        return [], gone
    if len(live) <= _FEW_ROWS and not layout:
        # a few rows without vector columns (a single-document API call): bound values cost ~1 ms less than
        # registering an Arrow table and planning an INSERT … SELECT over it
        con.executemany(f"INSERT INTO {table} (_id, _version, _source, _seq_no, _primary_term) VALUES (?, ?, ?, ?, ?)",
                        [[d, st.version, st.row[0], st.seq_no, st.primary_term] for d, st in live
                         if st.row is not None])
        return [(doc_id, st.version, st.seq_no, st.primary_term) for doc_id, st in live], gone
    columns: dict[str, pa.Array] = {
        "_id": pa.array([d for d, _ in live], pa.string()),
        "_version": pa.array([st.version for _, st in live], pa.int64()),
        "_source": pa.array([st.row[0] for _, st in live if st.row is not None], pa.string()),
        "_seq_no": pa.array([st.seq_no for _, st in live], pa.int64()),
        "_primary_term": pa.array([st.primary_term for _, st in live], pa.int64()),
    }
    for path, hint in layout.items():
        columns[path] = arrow_column(hint, [st.row[1].get(path) for _, st in live if st.row is not None])
    rows = register(pa.table(columns))
    try:
        names = ", ".join(_q(c) for c in columns)
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {rows}")
    finally:
        con.unregister(rows)
    return [(doc_id, st.version, st.seq_no, st.primary_term) for doc_id, st in live], gone
