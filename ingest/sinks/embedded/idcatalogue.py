"""The embedded store's id catalogue: ``(index, _id) → (_version, _seq_no, _primary_term)`` of every live document.

DuckDB answers "which of these 1,000 ids exist, at which version" by scanning the ``_id`` column (its PRIMARY KEY
is not used for a batch lookup), so ``_bulk`` slowed as an index grew (issue 14: 12.6 → 340 ms per 1,000 ids from
0.1M to 2M rows). This catalogue is a SQLite ``WITHOUT ROWID`` B-tree in ``<store>.ids`` beside the DuckDB file:
a lookup is one probe per id whatever the index's size. A document's ``_seq_no`` is unique in its index and is
the row's locator: the store reads and deletes rows by ``_seq_no`` (DuckDB prunes row groups by their min/max).

Consistency with DuckDB (two files, no shared transaction): every write commits DuckDB first, recording the
index's last sequence number there (``_seq_nos``), then the catalogue with the same number (``applied``). A crash
between the two leaves the catalogue behind; :meth:`IdCatalogue.applied` differs from DuckDB's number at the next
open, and the store rebuilds that index's catalogue from its rows (as it builds it for a store from an older
version, which has none).
"""

from __future__ import annotations

import itertools
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

from ingest.models.sqlitedb import open_wal
from ingest.sinks.bulk.apply import Stored
from ingest.sinks.embedded.idfilter import IdFilter
from ingest.sinks.embedded.sql import quote_name

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indices (name TEXT PRIMARY KEY, key INTEGER NOT NULL UNIQUE, applied INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS ids (key INTEGER NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
    seq_no INTEGER NOT NULL, term INTEGER NOT NULL, PRIMARY KEY (key, id)) WITHOUT ROWID;
"""
PENDING = 500_000  # changes held in memory before a flush (~120 MB; a flush dirties each leaf at most once)
_CHUNK = 500  # ids per IN list (SQLite's variable limit is far above; smaller lists plan faster)

Entry = tuple[str, int, int, int]  # _id, _version, _seq_no, _primary_term


class IdCatalogue:
    """The live ids of every index of one embedded store, with their versions; used under the store's lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = _connect(path)  # lookups, and writes while no flush runs in the background
        self._db.executescript(_SCHEMA)
        # the background flushes' own connection (a reader never waits for it: WAL)
        self._writer = _connect(path)
        self._keys: dict[str, int] = {}
        self._pending: dict[str, dict[str, Entry | None]] = {}  # index → id → its entry, None: deleted
        self._applied: dict[str, int] = {}  # index → the last sequence number of its pending changes
        # the changes a background flush is writing (emptied when its transaction has committed) and its thread
        self._flushing: dict[str, dict[str, Entry | None]] = {}
        self._thread: threading.Thread | None = None
        self._failure: BaseException | None = None
        # index → hashes of every id it may hold (idfilter.py): built on its first lookup, dropped when rebuilt
        self._filters: dict[str, IdFilter] = {}
        self.max_pending = PENDING

    def applied(self) -> dict[str, int]:
        """index → the last sequence number the catalogue holds the result of."""
        return {name: int(seq) for name, seq in self._db.execute("SELECT name, applied FROM indices")}

    def _key(self, index: str) -> int | None:
        key = self._keys.get(index)
        if key is None:
            row = self._db.execute("SELECT key FROM indices WHERE name = ?", [index]).fetchone()
            if row is None:
                return None
            key = self._keys[index] = int(row[0])
        return key

    def _ensure_key(self, index: str, db: sqlite3.Connection | None = None) -> int:
        """``index``'s key, added (inside the caller's transaction on ``db``) when new."""
        db = db or self._db
        key = self._keys.get(index)
        if key is None:
            row = db.execute("SELECT key FROM indices WHERE name = ?", [index]).fetchone()
            key = None if row is None else int(row[0])
        if key is None:
            key = int(db.execute("SELECT coalesce(max(key), 0) + 1 FROM indices").fetchone()[0])
            db.execute("INSERT INTO indices VALUES (?, ?, -1)", [index, key])
        self._keys[index] = key
        return key

    def lookup(self, index: str, ids: Iterable[str]) -> dict[str, Stored]:
        """The live documents among ``ids`` with their version, sequence number and primary term."""
        pending = self._pending.get(index, {})
        flushing = self._flushing.get(index, {})  # one read: the flush empties it once the file holds them
        found: dict[str, Stored] = {}
        wanted = []
        for doc_id in ids:
            if doc_id in pending or doc_id in flushing:
                entry = pending[doc_id] if doc_id in pending else flushing[doc_id]
                if entry is not None:
                    found[doc_id] = Stored(entry[1], entry[2], entry[3])
            else:
                wanted.append(doc_id)
        key = self._key(index)
        if key is None:
            return found
        wanted = self._filter(index, key).may_hold(wanted)  # new ids stop here: no read of the tree
        for lo in range(0, len(wanted), _CHUNK):
            part = wanted[lo:lo + _CHUNK]
            marks = ",".join("?" * len(part))
            for doc_id, version, seq_no, term in self._db.execute(
                    f"SELECT id, version, seq_no, term FROM ids WHERE key = ? AND id IN ({marks})", [key, *part]):
                found[doc_id] = Stored(int(version), int(seq_no), int(term))
        return found

    def _filter(self, index: str, key: int) -> IdFilter:
        """``index``'s filter, built from the file's ids and those held in memory (each process builds its own:
        the hashes are salted per process)."""
        found = self._filters.get(index)
        if found is None:
            # not while a flush commits: its changes could be in neither the snapshot read here nor `_flushing`
            self._join()
            cur = self._db.execute("SELECT id FROM ids WHERE key = ?", [key])
            pages = iter(lambda: [str(r[0]) for r in cur.fetchmany(100_000)], [])
            held = [i for i, e in itertools.chain(self._pending.get(index, {}).items(),
                                                  self._flushing.get(index, {}).items()) if e is not None]
            found = self._filters[index] = IdFilter(itertools.chain(pages, [held]))  # a page at a time
        return found

    def commit(self, changes: dict[str, tuple[list[Entry], list[str], int]]) -> None:
        """For each index: ``(live, gone, applied)`` — ids written (their new entry), ids deleted, and the index's
        last sequence number. Held in memory until ``PENDING`` changes wait (or ``flush``/``close``): one random
        id dirties one leaf page of the tree, and a flush of many writes each leaf once."""
        for index, (live, gone, applied) in changes.items():
            pending = self._pending.setdefault(index, {})
            for doc_id in gone:
                pending[doc_id] = None
            for entry in live:
                pending[entry[0]] = entry
            self._applied[index] = applied
            known = self._filters.get(index)
            if known is not None:  # before the catalogue can hold them (deleted ids stay: a superset)
                known.add(entry[0] for entry in live)
        if sum(len(p) for p in self._pending.values()) >= self.max_pending:
            self._flush_in_background()

    def _flush_in_background(self) -> None:
        """Hand the changes held in memory to a thread that writes them (at 10M ids a flush of 500k random ids
        rewrites most of the tree's leaves: seconds the writes need not wait for). One at a time: a second
        waits for the first, so at most two ``PENDING``s are held."""
        self._join()
        changes, applied = self._pending, dict(self._applied)
        self._flushing, self._pending = changes, {}
        self._thread = threading.Thread(target=self._write_in_background, args=(changes, applied),
                                        name="ingest-id-catalogue-flush", daemon=True)
        self._thread.start()

    def _write_in_background(self, changes: dict[str, dict[str, Entry | None]], applied: dict[str, int]) -> None:
        try:
            self._write(self._writer, changes, applied)
        except BaseException as exc:  # held until ``_join``: the changes stay in memory, nothing was written
            self._failure = exc
            return
        self._flushing = {}  # after the commit: a lookup that no longer finds them here finds them in the file

    def _join(self) -> None:
        """Wait for a background flush; if it failed, take its changes back (older than those held since) and
        raise its error."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        thread.join()
        failure, self._failure = self._failure, None
        if failure is not None:
            for index, changes in self._flushing.items():
                self._pending[index] = {**changes, **self._pending.get(index, {})}
            self._flushing = {}
            raise failure

    def _write(self, db: sqlite3.Connection, held: dict[str, dict[str, Entry | None]], applied: dict[str, int]
               ) -> None:
        with _Immediate(db, self._keys):
            for index, pending in held.items():
                key = self._ensure_key(index, db)
                # in key order: neighbouring ids share the path down the tree
                changes = sorted(pending.items())
                db.executemany("DELETE FROM ids WHERE key = ? AND id = ?",
                               [(key, i) for i, entry in changes if entry is None])
                db.executemany("INSERT OR REPLACE INTO ids VALUES (?, ?, ?, ?, ?)",
                               [(key, *entry) for _, entry in changes if entry is not None])
                db.execute("UPDATE indices SET applied = ? WHERE key = ?", [applied[index], key])

    def flush(self) -> None:
        """Write the changes held in memory now (after any background flush), in one transaction."""
        self._join()
        if not self._pending:
            return
        self._write(self._db, self._pending, self._applied)
        self._pending.clear()

    def flushed(self, index: str) -> int:
        """The last sequence number of ``index`` whose changes are in the file (deletes after it must stay
        remembered in DuckDB's ``_tombstones``: a reopen replays them)."""
        row = self._db.execute("SELECT applied FROM indices WHERE name = ?", [index]).fetchone()
        return -1 if row is None else int(row[0])

    def replay(self, index: str, gone: list[str], rows: Iterable[list[Entry]], applied: int) -> None:
        """Catch up after a crash lost the changes held in memory: ids deleted since (``gone``) removed, then the
        rows written since upserted, in one transaction."""
        self._join()
        self._filters.pop(index, None)
        with _Immediate(self._db, self._keys):
            key = self._ensure_key(index)
            self._db.executemany("DELETE FROM ids WHERE key = ? AND id = ?", [(key, i) for i in sorted(gone)])
            for page in rows:
                self._db.executemany("INSERT OR REPLACE INTO ids VALUES (?, ?, ?, ?, ?)",
                                     [(key, *entry) for entry in page])
            self._db.execute("UPDATE indices SET applied = ? WHERE key = ?", [applied, key])

    def rebuild(self, index: str, rows: Iterable[list[Entry]], applied: int) -> None:
        """Replace ``index``'s entries with ``rows`` (pages of entries: every live document), in one transaction."""
        self._join()
        self._pending.pop(index, None)
        self._filters.pop(index, None)
        with _Immediate(self._db, self._keys):
            key = self._ensure_key(index)
            self._db.execute("DELETE FROM ids WHERE key = ?", [key])
            for page in rows:
                self._db.executemany("INSERT OR REPLACE INTO ids VALUES (?, ?, ?, ?, ?)",
                                     [(key, *entry) for entry in page])
            self._db.execute("UPDATE indices SET applied = ? WHERE key = ?", [applied, key])

    def drop(self, index: str) -> None:
        """Forget ``index`` and its ids."""
        self._join()
        self._pending.pop(index, None)
        self._filters.pop(index, None)
        key = self._key(index)
        if key is None:
            return
        with _Immediate(self._db, self._keys):
            self._db.execute("DELETE FROM ids WHERE key = ?", [key])
            self._db.execute("DELETE FROM indices WHERE key = ?", [key])
        self._keys.pop(index, None)

    def close(self) -> None:
        """Write what is held in memory and close the file."""
        try:
            self.flush()
        finally:
            self._db.close()
            self._writer.close()


def _connect(path: Path) -> sqlite3.Connection:
    # a lost last commit on power loss only makes the catalogue behind, which the next open repairs
    db = open_wal(path, shared=True, synchronous_normal=True)
    # Random ids touch a random leaf each: keep the tree in memory (pages cached, the file mapped) and let the
    # write-ahead log grow to 40 MB between checkpoints, so a page written by several bulks is copied once
    db.execute("PRAGMA cache_size = -262144")
    db.execute("PRAGMA mmap_size = 1073741824")
    db.execute("PRAGMA wal_autocheckpoint = 10000")
    return db


class _Immediate:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any error (the cached index keys with it: one may be new)."""

    def __init__(self, db: sqlite3.Connection, keys: dict[str, int]) -> None:
        self.db = db
        self.keys = keys

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.db.execute("COMMIT")
            return
        self.keys.clear()
        self.db.execute("ROLLBACK")


def reconcile(con: duckdb.DuckDBPyConnection, catalogue: IdCatalogue, seq_nos: dict[str, int]) -> list[str]:
    """Bring the catalogue in line with the DuckDB store at open: indices it no longer has are forgotten; an index
    whose catalogue stopped short of DuckDB's last sequence number (``seq_nos``: a process ended without
    ``close``, its changes held in memory lost) catches up from the rows and remembered deletes written since; one
    without entries (a store from before the catalogue) or ahead of DuckDB is rebuilt from its rows. The
    indices caught up or rebuilt."""
    applied = catalogue.applied()
    for name in applied:
        if name not in seq_nos:
            catalogue.drop(name)
    done = []
    for index, seq_no in seq_nos.items():
        since = applied.get(index, -1)
        if since == seq_no:
            continue
        if since < 0 or since > seq_no:
            catalogue.rebuild(index, entries(con, index), seq_no)
        else:
            gone = [str(r[0]) for r in con.execute(
                "SELECT _id FROM _tombstones WHERE idx = ? AND _seq_no > ?", [index, since]).fetchall()]
            catalogue.replay(index, gone, entries(con, index, since), seq_no)
        done.append(index)
    return done


def entries(con: duckdb.DuckDBPyConnection, index: str, since: int = -1, page: int = 50_000
            ) -> Iterator[list[Entry]]:
    """The rows of ``index``'s table with a ``_seq_no`` above ``since`` as catalogue entries, ``page`` at a time."""
    cur = con.cursor()
    try:
        # in id order, so the B-tree is written left to right (random order: a random leaf per id)
        cur.execute(f"SELECT _id, _version, _seq_no, _primary_term FROM {quote_name(index)} WHERE _seq_no > ? "
                    "ORDER BY _id", [since])
        while rows := cur.fetchmany(page):
            yield [(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows]
    finally:
        cur.close()
