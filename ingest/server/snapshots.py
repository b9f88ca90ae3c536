"""Parquet snapshots of the embedded store's indices, for analysts while ``ingest serve`` holds the DuckDB file.

DuckDB admits one process per file, so a running server's store cannot be opened by anyone else, even read-only.
Instead the server writes ``$INGEST_HOME/snapshots/<index>.parquet`` — the rows of ``ingest export`` (``_id`` +
the ``_source`` fields, dense vectors as ``list<float32>``) — on every ``POST /{index}/_flush``, and in the
background once an index a job wrote through the server has been quiet for two seconds (``Snapshotter``: the
job does not wait for it). A snapshot is written beside its target and renamed over
it, so a reader sees the previous snapshot or the new one, never half a file; mode 0600, folder 0700, like
everything in the home. Deleting an index removes its snapshot.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from ingest.jobs.export import Scannable, store_pages, write_parquet
from ingest.models.home import PRIVATE_FILE, private_dir
from ingest.sinks.base import FieldHint

FOLDER = "snapshots"
log = logging.getLogger(__name__)


class SnapshotSource(Scannable, Protocol):
    """What a snapshot reads of the store: its pages and its vector fields (the embedded store)."""

    def hints(self, index: str) -> dict[str, FieldHint]: ...


def snapshot_path(home: Path, index: str) -> Path:
    """Where ``index``'s snapshot lives (index names cannot hold ``/``: Elasticsearch's rules)."""
    return home / FOLDER / f"{index}.parquet"


def write_snapshot(store: SnapshotSource, home: Path, index: str) -> int:
    """Write ``index``'s snapshot (atomically replacing the last one); the number of documents in it."""
    path = snapshot_path(home, index)
    private_dir(path.parent)
    vectors = {k: h.dims or 0 for k, h in store.hints(index).items() if h.kind == "dense"}
    return write_parquet(store_pages(store, index), path, vectors, mode=PRIVATE_FILE)


def remove_stale_snapshots(home: Path, indices: set[str]) -> None:
    """Remove the snapshots of indices that no longer exist (after ``DELETE /{index}``)."""
    folder = home / FOLDER
    for path in folder.glob("*.parquet") if folder.is_dir() else ():
        if path.name[: -len(".parquet")] not in indices:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


class Snapshotter:
    """Keeps the snapshots of the indices jobs write through the server fresh, off the request path: each index
    a job wrote is snapshotted once it has been quiet for ``quiet_s`` (so a job's many batches make one
    snapshot, after its last). One daemon thread, started on first use; ``close`` stops it (pending snapshots
    are left to the next ``_flush`` or job)."""

    def __init__(self, home: Path, store: Callable[[], SnapshotSource], quiet_s: float = 2.0) -> None:
        self.home, self._store, self.quiet_s = home, store, quiet_s
        self._dirty: dict[str, float] = {}  # index -> when it was last written
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False

    def touch(self, index: str) -> None:
        """``index`` was just written: snapshot it once it has been quiet for ``quiet_s``."""
        with self._cond:
            if self._closed:
                return
            self._dirty[index] = time.monotonic()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ingest-snapshots", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _next(self) -> str | None:
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                ready = [i for i, at in self._dirty.items() if now - at >= self.quiet_s]
                if ready:
                    del self._dirty[ready[0]]
                    return ready[0]
                wait = min((self.quiet_s - (now - at) for at in self._dirty.values()), default=None)
                self._cond.wait(wait)
            return None

    def _run(self) -> None:
        while (index := self._next()) is not None:
            try:
                write_snapshot(self._store(), self.home, index)
            except Exception as exc:  # an analyst's copy: never the server's failure, but said
                log.warning("snapshot of [%s] failed: %s", index, exc)

    def close(self) -> None:
        """Stop the thread (after the snapshot it is writing, if any)."""
        with self._cond:
            self._closed = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)
