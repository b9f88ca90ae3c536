"""Parquet snapshots of the embedded store's indices, for analysts while ``ingest serve`` holds the DuckDB file.

DuckDB admits one process per file, so a running server's store cannot be opened by anyone else, even read-only.
Instead the server writes ``$INGEST_HOME/snapshots/<index>.parquet`` — the rows of ``ingest export`` (``_id`` +
the ``_source`` fields, dense vectors as ``list<float32>``) — on every ``POST /{index}/_flush`` (so at the end of
each job through it: ``ServedSink.end_load`` flushes). A snapshot is written beside its target and renamed over
it, so a reader sees the previous snapshot or the new one, never half a file; mode 0600, folder 0700, like
everything in the home. Deleting an index removes its snapshot.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Protocol

from ingest.jobs.export import Scannable, store_pages, write_parquet
from ingest.models.home import PRIVATE_FILE, private_dir
from ingest.sinks.base import FieldHint

FOLDER = "snapshots"


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
