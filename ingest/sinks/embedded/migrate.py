"""In-place upgrades of an embedded store written by an older version."""

from __future__ import annotations

import duckdb


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def add_seq_nos(con: duckdb.DuckDBPyConnection, indices: list[str]) -> dict[str, int]:
    """Make sure every index table has ``_seq_no``/``_primary_term`` and the ``_seq_nos`` and ``_tombstones``
    catalogues exist;
    the last sequence number handed out in each index. Tables from before sequence numbers get 0..n-1 (in id order) and
    primary term 1, in one transaction."""
    con.execute("CREATE TABLE IF NOT EXISTS _seq_nos (name VARCHAR PRIMARY KEY, seq_no BIGINT NOT NULL)")
    # recent deletes (Elasticsearch's tombstones, kept index.gc_deletes): an id indexed again goes on from there
    con.execute("CREATE TABLE IF NOT EXISTS _tombstones (idx VARCHAR NOT NULL, _id VARCHAR NOT NULL, "
                "_version BIGINT NOT NULL, _seq_no BIGINT NOT NULL, deleted_at DOUBLE NOT NULL)")
    have = {row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.columns WHERE column_name = '_seq_no'").fetchall()}
    old = [index for index in indices if index not in have]
    if old:
        con.execute("BEGIN TRANSACTION")
        try:
            for index in old:
                t = _q(index)
                con.execute(f"ALTER TABLE {t} ADD COLUMN _seq_no BIGINT DEFAULT 0")
                con.execute(f"ALTER TABLE {t} ADD COLUMN _primary_term BIGINT DEFAULT 1")
                con.execute(f"UPDATE {t} SET _seq_no = s.n FROM (SELECT _id, row_number() OVER (ORDER BY _id) - 1 AS n "
                            f"FROM {t}) s WHERE {t}._id = s._id")
                con.execute("INSERT OR REPLACE INTO _seq_nos SELECT ?, coalesce(max(_seq_no), -1) FROM " + t, [index])
            con.execute("COMMIT")
        except duckdb.Error:
            con.execute("ROLLBACK")
            raise
    # The counter is written only with deletes (whose seq_no no row keeps); the rows keep the others.
    known = dict(con.execute("SELECT name, seq_no FROM _seq_nos").fetchall())
    out = {}
    for index in indices:
        top = con.execute(f"SELECT coalesce(max(_seq_no), -1) FROM {_q(index)}").fetchall()[0][0]
        out[index] = max(int(known.get(index, -1)), int(top))
    return out
