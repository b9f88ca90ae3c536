"""Recent deletes (Elasticsearch's tombstones, kept ``index.gc_deletes``): an id deleted and written again goes
on from its delete's version. Kept in the ``_tombstones`` table (for restarts) and in the store's memory (so
the write path needs no lookup)."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable

import duckdb
import pyarrow as pa

from ingest.sinks.bulk.apply import GC_DELETES_S, DocState, Stored


def recent_deletes(con: duckdb.DuckDBPyConnection) -> defaultdict[str, dict[str, tuple[Stored, float]]]:
    """index → id → (the delete's version and seq_no, when), for deletes younger than ``GC_DELETES_S``."""
    out: defaultdict[str, dict[str, tuple[Stored, float]]] = defaultdict(dict)
    for idx, doc_id, version, seq_no, when in con.execute(
            "SELECT idx, _id, _version, _seq_no, deleted_at FROM _tombstones WHERE deleted_at > ?",
            [time.time() - GC_DELETES_S]).fetchall():
        out[idx][doc_id] = (Stored(version, seq_no, live=False), when)
    return out


def remember_deletes(con: duckdb.DuckDBPyConnection, register: Callable[[pa.Table], str], index: str,
                     changed: dict[str, DocState], flushed: Callable[[], int]) -> None:
    """Remember deletes for ``GC_DELETES_S`` (versions go on from them); forget those of ids written again. A
    delete the id catalogue holds only in memory (after ``flushed()``) is kept longer: a reopen replays it."""
    dead = [(doc_id, st) for doc_id, st in changed.items() if not st.exists]
    revived = [doc_id for doc_id, st in changed.items() if st.exists and st.tombstone]
    if not dead and not revived:
        return
    now = time.time()
    con.execute("DELETE FROM _tombstones WHERE idx = ? AND deleted_at < ? AND _seq_no <= ?",
                [index, now - GC_DELETES_S, flushed()])
    gone = revived + [doc_id for doc_id, _ in dead]
    if gone:
        name = register(pa.table({"_id": pa.array(gone, pa.string())}))
        try:
            con.execute(f"DELETE FROM _tombstones WHERE idx = ? AND _id IN (SELECT _id FROM {name})", [index])
        finally:
            con.unregister(name)
    if dead:
        name = register(pa.table({
            "_id": pa.array([d for d, _ in dead], pa.string()),
            "_version": pa.array([st.version for _, st in dead], pa.int64()),
            "_seq_no": pa.array([st.seq_no for _, st in dead], pa.int64())}))
        try:
            con.execute(f"INSERT INTO _tombstones SELECT ?, _id, _version, _seq_no, ? FROM {name}", [index, now])
        finally:
            con.unregister(name)
