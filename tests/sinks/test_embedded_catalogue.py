"""The embedded store's id catalogue (``indices.duckdb.ids``): versions come from it, rows are replaced by
``_seq_no``, and it is rebuilt from DuckDB when it is behind (a crash between the two commits, a store from
before it) — checked with a real writer process killed by SIGKILL."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from ingest.sinks.base import BulkAction
from ingest.sinks.embedded import EmbeddedStore


def _rows(db: Path, index: str) -> dict[str, tuple[int, int, int]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(f'SELECT _id, _version, _seq_no, _primary_term FROM "{index}"').fetchall()
    finally:
        con.close()
    assert len(rows) == len({r[0] for r in rows}), "one row per id"
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _catalogue(db: Path, index: str) -> dict[str, tuple[int, int, int]]:
    con = sqlite3.connect(db.with_name(db.name + ".ids"))
    try:
        return {r[0]: (r[1], r[2], r[3]) for r in con.execute(
            "SELECT id, version, seq_no, term FROM ids JOIN indices USING (key) WHERE name = ?", [index])}
    finally:
        con.close()


@pytest.mark.parametrize("pending", [500_000, 7])
def test_updates_deletes_and_batches_keep_one_row_per_id_matching_the_catalogue(tmp_path: Path, pending: int) -> None:
    db = tmp_path / "indices.duckdb"
    store = EmbeddedStore(db)
    store._catalogue.max_pending = pending  # 7: flushed to the file within each request, lookups from both
    store.write([BulkAction("index", "a", str(i), {"n": i}) for i in range(50)])
    store.write([BulkAction("index", "a", str(i), {"n": -i}) for i in range(0, 50, 2)]
                + [BulkAction("delete", "a", str(i), None) for i in range(1, 50, 5)]
                + [BulkAction("update", "a", "3", {"doc": {"m": 1}})])
    results = store.write_batch("a", pa.table({"n": list(range(100, 120))}), [str(i) for i in range(40, 60)])
    # 41 and 46 were deleted a moment ago: created again, their versions going on from the delete's
    assert [(r.result, r.version) for r in results[:8]] == [
        ("updated", 3), ("created", 3), ("updated", 3), ("updated", 2), ("updated", 3), ("updated", 2),
        ("created", 4), ("updated", 2)]
    assert {r.result for r in results[10:]} == {"created"}
    store.close()
    rows = _rows(db, "a")
    assert rows == _catalogue(db, "a")
    assert rows["0"][0] == 2 and rows["3"][0] == 2 and rows["40"][0] == 3 and rows["41"][0] == 3
    assert "1" not in rows and "6" not in rows and "7" in rows and len(rows) == 60 - 8
    store = EmbeddedStore(db)
    assert store.get_docs("a", ["3"])["3"].source == {"n": 3, "m": 1}
    assert store.get("a", "40") == {"n": 100} and store.get("a", "1") is None
    store.close()


def test_a_catalogue_behind_duckdb_catches_up_and_a_missing_one_is_rebuilt_at_open(tmp_path: Path) -> None:
    db = tmp_path / "indices.duckdb"
    store = EmbeddedStore(db)
    store.write([BulkAction("index", "a", str(i), {"n": i}) for i in range(10)])
    store.close()
    store = EmbeddedStore(db)
    store.write([BulkAction("index", "a", "1", {"n": 11}), BulkAction("delete", "a", "2", None),
                 BulkAction("index", "a", "10", {"n": 10})])
    store._catalogue._pending.clear()  # the process dies: the catalogue's changes held in memory are lost
    store.close()
    assert _catalogue(db, "a")["1"][0] == 1 and "2" in _catalogue(db, "a")
    store = EmbeddedStore(db)  # catches up from the rows and remembered deletes written since
    r1, r2, r10 = store.write([BulkAction("index", "a", i, {"n": 0}) for i in ("1", "2", "10")])
    assert [(r.result, r.version) for r in (r1, r2, r10)] == [("updated", 3), ("created", 3), ("updated", 2)]
    store.close()
    assert _rows(db, "a") == _catalogue(db, "a")
    ids = db.with_name(db.name + ".ids")
    for suffix in ("", "-wal", "-shm"):  # a store from before the catalogue
        Path(str(ids) + suffix).unlink(missing_ok=True)
    store = EmbeddedStore(db)
    assert store.get_docs("a", ["2"])["2"].version == 3
    (r,) = store.write([BulkAction("index", "a", "2", {"n": 12})])
    assert (r.result, r.version) == ("updated", 4)
    store.close()
    assert _rows(db, "a") == _catalogue(db, "a")


def test_deleting_an_index_forgets_its_ids(tmp_path: Path) -> None:
    db = tmp_path / "indices.duckdb"
    store = EmbeddedStore(db)
    store.write([BulkAction("index", "a", "1", {"n": 1})])
    store.delete_index("a")
    (r,) = store.write([BulkAction("index", "a", "1", {"n": 1})])
    assert (r.result, r.version) == ("created", 1)
    store.close()


_WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from ingest.sinks.base import BulkAction
    from ingest.sinks.embedded import EmbeddedStore
    store = EmbeddedStore(Path(sys.argv[1]))
    store._catalogue.max_pending = int(sys.argv[2])  # small: background flushes run when the kill comes
    n = 0
    while True:  # new ids and rewrites of earlier ones, each bulk acknowledged on stdout
        actions = [BulkAction("index", "k", f"d{n + i}", {"n": n + i}) for i in range(200)]
        actions += [BulkAction("index", "k", f"d{j}", {"n": -j}) for j in range(0, n, 97)][:50]
        results = store.write(actions)
        assert all(r.status < 300 for r in results), results
        n += 200
        print(n, flush=True)
""")


@pytest.mark.parametrize("pending", [500_000, 300])
def test_sigkilled_writer_loses_nothing_acknowledged_and_the_catalogue_matches(tmp_path: Path, pending: int) -> None:
    db = tmp_path / "indices.duckdb"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    for round_ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(db), str(pending)], stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        acked = 0
        deadline = time.monotonic() + 120
        while acked < 2000 * (round_ + 1) and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked = int(line)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert acked >= 2000, "the writer made progress"
        store = EmbeddedStore(db)  # reconciles a catalogue left behind
        docs = store.get_docs("k", [f"d{i}" for i in range(acked)])
        assert len(docs) == acked
        store.close()
        rows = _rows(db, "k")
        assert rows == _catalogue(db, "k")
        assert max(s for _, s, _ in rows.values()) == max(seq for _, seq, _ in _catalogue(db, "k").values())


def test_deletes_stay_remembered_until_the_catalogue_has_them(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from ingest.sinks.embedded import tombstones

    db = tmp_path / "indices.duckdb"
    store = EmbeddedStore(db)
    store.write([BulkAction("index", "a", str(i), {"n": i}) for i in range(5)])
    store.close()
    store = EmbeddedStore(db)
    store.write([BulkAction("delete", "a", "1", None)])
    later = time.time() + 600  # past index.gc_deletes: the first delete would be forgotten now
    monkeypatch.setattr(tombstones.time, "time", lambda: later)
    store.write([BulkAction("delete", "a", "2", None)])
    store._catalogue._pending.clear()  # the process dies before the catalogue wrote either delete
    store.close()
    monkeypatch.undo()
    assert {"1", "2"} <= set(_catalogue(db, "a"))
    store = EmbeddedStore(db)
    assert store.get_docs("a", ["1", "2", "3"]).keys() == {"3"}
    store.close()
    assert _rows(db, "a") == _catalogue(db, "a") and len(_rows(db, "a")) == 3
