"""SQLite-backed dead-letter store under ``$INGEST_HOME/deadletter.sqlite``.

SQLite (WAL) rather than DuckDB because several processes (a job, the server, the CLI listing entries) write
and read it at once, and DuckDB allows only one writing process. A document is keyed by (job id, stage,
document key) so a resumed job that re-processes a batch does not record the same failure twice.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from ingest.models.home import ingest_home
from ingest.models.sqlitedb import open_wal

Stage = Literal["read", "pipeline", "write"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    doc_key TEXT NOT NULL,
    stage TEXT NOT NULL,
    index_name TEXT,
    doc_id TEXT,
    content TEXT NOT NULL,
    error_type TEXT NOT NULL,
    reason TEXT NOT NULL,
    status INTEGER,
    created REAL NOT NULL,
    UNIQUE (job_id, stage, doc_key)
);
CREATE INDEX IF NOT EXISTS dead_letters_job ON dead_letters (job_id);
"""


@dataclass(frozen=True)
class DeadLetter:
    """One failed document. ``content`` is the original document (JSON text, or the raw line when unparsable)."""

    job_id: str
    stage: Stage
    content: str
    error_type: str
    reason: str
    index: str | None = None
    doc_id: str | None = None
    status: int | None = None
    doc_key: str = ""
    seq: int = 0
    created: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by ``ingest dead-letter list``."""
        return {
            "seq": self.seq,
            "job_id": self.job_id,
            "stage": self.stage,
            "index": self.index,
            "_id": self.doc_id,
            "status": self.status,
            "error": {"type": self.error_type, "reason": self.reason},
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.created)),
            "content": self.content,
        }


class DeadLetterStore:
    """Append, list, and remove dead letters. Safe across threads and processes."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ingest_home() / "deadletter.sqlite"
        self._lock = threading.Lock()
        self._db = open_wal(self.path, shared=True, synchronous_normal=True)
        self._db.executescript(_SCHEMA)

    def add(self, letters: list[DeadLetter]) -> None:
        """Record failures durably (committed before the caller acknowledges the batch)."""
        if not letters:
            return
        now = time.time()
        rows = [
            (
                _storable(d.job_id),
                _storable(d.doc_key or d.doc_id or str(hash(d.content))),
                d.stage,
                _storable(d.index),
                _storable(d.doc_id),
                _storable(d.content),
                _storable(d.error_type),
                _storable(d.reason),
                d.status,
                d.created or now,
            )
            for d in letters
        ]
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT INTO dead_letters (job_id, doc_key, stage, index_name, doc_id, content,"
                " error_type, reason, status, created) VALUES (?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT (job_id, stage, doc_key) DO UPDATE SET error_type = excluded.error_type,"
                " reason = excluded.reason, status = excluded.status, created = excluded.created",
                rows,
            )
            self._db.execute("COMMIT")

    def entries(self, job_id: str | None = None, *, limit: int | None = None) -> list[DeadLetter]:
        """Entries oldest first, optionally for one job."""
        return [*self.iter(job_id, limit=limit)]

    def iter(self, job_id: str | None = None, *, limit: int | None = None) -> Iterator[DeadLetter]:
        """Like :meth:`list`, streaming."""
        sql = (
            "SELECT seq, job_id, doc_key, stage, index_name, doc_id, content, error_type, reason, status, created"
            " FROM dead_letters"
        )
        args: list[Any] = []
        if job_id is not None:
            sql += " WHERE job_id = ?"
            args.append(job_id)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(int(limit))
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        for r in rows:
            yield DeadLetter(
                seq=r[0], job_id=r[1], doc_key=r[2], stage=r[3], index=r[4], doc_id=r[5], content=r[6],
                error_type=r[7], reason=r[8], status=r[9], created=r[10],
            )

    def count(self, job_id: str | None = None) -> int:
        """How many entries (for one job, or all)."""
        with self._lock:
            if job_id is None:
                return int(self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0])
            return int(
                self._db.execute("SELECT count(*) FROM dead_letters WHERE job_id = ?", (job_id,)).fetchone()[0]
            )

    def remove(self, seqs: list[int]) -> None:
        """Delete entries (after a successful replay)."""
        if not seqs:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany("DELETE FROM dead_letters WHERE seq = ?", [(s,) for s in seqs])
            self._db.execute("COMMIT")

    def purge(self, *, job_id: str | None = None, before: float | None = None, seqs: list[int] | None = None,
              dry_run: bool = False) -> int:
        """Delete the entries matching every filter given (job, created before a time, sequence numbers); how many.

        With no filter at all every entry goes: callers (the CLI) ask for an explicit ``--all`` first.
        """
        where, args = self._filters(job_id, before, seqs)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                count = int(self._db.execute(f"SELECT count(*) FROM dead_letters{where}", args).fetchone()[0])
                if not dry_run:
                    self._db.execute(f"DELETE FROM dead_letters{where}", args)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return count

    @staticmethod
    def _filters(job_id: str | None, before: float | None, seqs: list[int] | None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        args: list[Any] = []
        if job_id is not None:
            clauses.append("job_id = ?")
            args.append(job_id)
        if before is not None:
            clauses.append("created < ?")
            args.append(before)
        if seqs is not None:
            clauses.append(f"seq IN ({', '.join('?' * len(seqs)) or 'NULL'})")
            args.extend(int(s) for s in seqs)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), args

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()


def _storable(text: str | None) -> str | None:
    """Text SQLite can store (UTF-8): a lone surrogate, which JSON's ``\\ud800`` escapes let into an index name,
    an id or a document, is kept as that escape (in JSON content it parses back to the same character)."""
    if text is None:
        return None
    try:
        text.encode()
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode()
    return text


def content_of(doc: Any) -> str:
    """The JSON text stored for a document (raw strings are kept as they came)."""
    if isinstance(doc, str):
        return doc
    return json.dumps(doc, ensure_ascii=False, default=str, sort_keys=True)

