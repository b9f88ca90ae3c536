"""The job's sink owner: creates the target index once for all workers, and is the single writer of the
embedded store (DuckDB allows one writing process, so workers send it their bulks instead of opening it).

Plain class; the executor runs it as a named Ray actor (``max_restarts=-1``: after a crash it comes back and
``prepare`` runs again, which is idempotent).
"""

from __future__ import annotations

import time
from typing import Any

from ingest.context import AppContext
from ingest.jobs.indexmeta import VectorField, prepare_index
from ingest.models.errors import ElasticsearchError
from ingest.models.settings import Settings
from ingest.sinks.base import BulkAction, ItemResult, Sink


class SinkOwner:
    """Index creation, load mode and (for the embedded store) every write of one job."""

    def __init__(self, dest: str, index: str, open_timeout_s: float = 60.0,
                 settings: dict[str, str] | None = None) -> None:
        """``settings``: the driver's (``Settings.to_env()``), rebuilt here so the owner works in its home."""
        self.dest, self.index = dest, index
        self.context = AppContext(Settings.from_env(settings))
        self.sink: Sink = _open(self.context, dest, open_timeout_s)
        self.prepared = False

    def prepare(self, fields: dict[str, VectorField]) -> bool:
        """Create the index with its vector fields (``indexmeta.vector_mapping`` of the pipeline's outputs and
        the first bulk), switch it to load mode. Later calls do nothing: the first worker's bulk decides the
        mapping, as in the single-process runner."""
        if self.prepared:
            return False
        prepare_index(self.sink, self.index, fields, index_meta=self.context.index_meta)
        self.prepared = True
        return True

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """One bulk request (the embedded store's only writer)."""
        return self.sink.write(actions)

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """Stored documents by id, for ``skip_existing`` in the workers (see ``Sink.fetch``)."""
        return self.sink.fetch(index, ids)

    def finish(self, ok: bool) -> None:
        """Leave load mode and refresh; an empty successful job still creates its index."""
        if self.prepared:
            self.sink.end_load(self.index)
            self.sink.refresh(self.index)
            self.prepared = False
        elif ok:
            self.sink.ensure_index(self.index, {})

    def close(self) -> None:
        """Release the sink (the driver may open the embedded store after this) and the context."""
        try:
            self.sink.close()
        finally:
            self.context.close()


def _open(context: AppContext, dest: str, timeout_s: float) -> Sink:
    """Open the sink, waiting while it answers 503: the owner of a job whose driver died may still hold the
    embedded store's lock for a few seconds, until Ray reaps it."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return context.open_sink(dest)
        except ElasticsearchError as exc:
            if exc.status != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
