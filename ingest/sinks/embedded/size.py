"""An index's bytes on disk in the embedded store, for ``_cat/indices`` ``store.size``.

DuckDB keeps every index in one database file, in fixed-size blocks; ``pragma_storage_info`` lists each column
segment of a table with the block holding it. A table's size is the number of distinct blocks its segments use
times the block size: what it occupies in the file after the last checkpoint. Two approximations, both small:
a partly filled block shared by several small segments counts whole (for each table using it), and rows still
only in the write-ahead log (not yet checkpointed) count nothing until DuckDB checkpoints them.
"""

from __future__ import annotations

import duckdb


def table_bytes(con: duckdb.DuckDBPyConnection, table: str) -> int:
    """Bytes of the blocks holding ``table`` (an unquoted name) in the database file."""
    block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    rows = con.execute(
        "SELECT count(DISTINCT b) FROM (SELECT block_id AS b FROM pragma_storage_info(?) WHERE block_id >= 0 "
        "UNION ALL SELECT unnest(additional_block_ids) FROM pragma_storage_info(?))", [table, table]).fetchall()
    return int(rows[0][0]) * int(block_size or 0)
