"""One way to open ingest's SQLite files: private, write-ahead logged, patient with other processes.

Servers, jobs and readers open the same files at once (the registry, the index catalogue, the dead-letter
store). Switching a fresh file to WAL needs an exclusive lock, and SQLite answers ``database is locked`` to that
pragma at once, without calling the busy handler, when another process holds any lock during the switch. So the
switch is retried until the connection's timeout runs out.
"""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

from ingest.models.home import private_file


def open_wal(path: Path, *, timeout: float = 30.0, shared: bool = False, synchronous_normal: bool = False
             ) -> sqlite3.Connection:
    """An autocommit connection to ``path`` (created 0600) in WAL mode.

    ``shared`` allows use from several threads (the caller serialises); ``synchronous_normal`` trades the last
    transactions on power loss (never corruption) for fewer fsyncs, as WAL permits.
    """
    conn = sqlite3.connect(private_file(path), timeout=timeout, isolation_level=None, check_same_thread=not shared)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    deadline = time.monotonic() + timeout
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            break
        except sqlite3.OperationalError as exc:
            if ("locked" not in str(exc) and "busy" not in str(exc)) or time.monotonic() > deadline:
                conn.close()
                raise
            time.sleep(random.uniform(0.005, 0.05))  # jittered, so racing processes do not retry in step
    if synchronous_normal:
        conn.execute("PRAGMA synchronous = NORMAL")
    return conn
