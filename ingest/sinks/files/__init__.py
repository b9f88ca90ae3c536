"""Files sink: enriched documents as Parquet or JSON Lines, for handing them to other systems.

Writes go first to a staging DuckDB file next to the output (``<output>.staging.duckdb``), so the sink has
exactly the embedded store's ``_bulk`` semantics (ids unique, create conflicts, updates, deletes), stays
bounded in memory and survives a killed job that is resumed. ``refresh``/``end_load``/``close`` export the
staged documents to the output file, atomically (written beside it, then renamed).

Output rows: ``_id`` then the document. JSONL lines are ``{"_id": ..., **_source}``. Parquet has ``_id``, one
column per top-level field of the documents (types inferred), and the mapped vector fields as typed columns
named by their path (dense: ``fixed_size_list<float>``, sparse: ``map<string, float>``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink
from ingest.sinks.bulk.documents import dumps, join
from ingest.sinks.bulk.items import error_item
from ingest.sinks.bulk.vectors import arrow_column, from_db
from ingest.sinks.embedded import EmbeddedStore


def open_dest(dest: str, **options: Any) -> FileSink:
    """``file:///path/out.parquet|.jsonl``: one file, one index; ``file:///folder``: ``<folder>/<index>.<format>``
    (``format`` option, default jsonl)."""
    return FileSink(Path(unquote(urlparse(dest).path)), **options)


FORMATS = {".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}
_CHUNK = 5000


class FileSink(Sink):
    """One output file per index: ``path`` itself when it has a known suffix, else ``path/<index>.<format>``."""

    kind_name = "files"  # what it can do: ``ingest.sinks.registry.KINDS``

    def __init__(self, path: Path, *, format: str | None = None) -> None:
        self.path = Path(path)
        self.single = self.path.suffix.lower() in FORMATS
        fmt = format or (FORMATS[self.path.suffix.lower()] if self.single else "jsonl")
        if fmt not in ("parquet", "jsonl"):
            raise IllegalArgumentException(f"unknown file format [{fmt}]: expected parquet or jsonl")
        self.format = fmt
        staging = self.path.with_name(self.path.name + ".staging.duckdb") if self.single else self.path / ".staging.duckdb"
        staging.parent.mkdir(parents=True, exist_ok=True)
        self._store = EmbeddedStore(staging, memory_limit="256MB")
        self._bound: str | None = next(iter(self._store.indices()), None) if self.single else None
        self._dirty: set[str] = set()

    def output(self, index: str) -> Path:
        """The file ``index`` is exported to."""
        return self.path if self.single else self.path / f"{index}.{self.format}"

    def _check_single(self, index: str) -> str | None:
        if not self.single:
            return None
        if self._bound is None:
            self._bound = index
        if index != self._bound:
            return f"the file sink [{self.path}] already holds index [{self._bound}]; use a folder for several indices"
        return None

    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None:
        """Create the staged index (see ``EmbeddedStore.ensure_index``)."""
        problem = self._check_single(index)
        if problem:
            raise IllegalArgumentException(problem)
        self._store.ensure_index(index, hints)

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """Stage one bulk request; same per-item semantics as the embedded store."""
        results: list[ItemResult | None] = [None] * len(actions)
        staged: list[int] = []
        for pos, action in enumerate(actions):
            problem = self._check_single(action.index)
            if problem:
                results[pos] = error_item(400, "illegal_argument_exception", problem, action.index, action.id)
            else:
                staged.append(pos)
        for pos, res in zip(staged, self._store.write([actions[p] for p in staged]), strict=True):
            results[pos] = res
            if res.error is None:
                self._dirty.add(actions[pos].index)
        return [r for r in results if r is not None]

    def index_exists(self, index: str) -> bool:
        """Whether ``index`` is staged."""
        return self._store.index_exists(index)

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        """A staged document's source."""
        return self._store.get(index, doc_id)

    def count(self, index: str) -> int:
        """Staged document count."""
        return self._store.count(index)

    def end_load(self, index: str) -> None:
        """Export ``index`` to its file."""
        self.refresh(index)

    def refresh(self, index: str) -> None:
        """Export ``index`` to its file (atomically)."""
        if not self._store.index_exists(index):
            return
        target = self.output(index)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            if self.format == "jsonl":
                self._export_jsonl(index, tmp)
            else:
                self._export_parquet(index, tmp)
            tmp.replace(target)
        finally:
            tmp.unlink(missing_ok=True)
        self._dirty.discard(index)

    def _export_jsonl(self, index: str, tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as out:
            layout = self._store.hints(index)
            for rows in self._store.scan_rows(index, _CHUNK):
                for row in rows:
                    doc = join(row[1], layout, dict(zip(layout, row[2:], strict=True)))
                    out.write(dumps({"_id": row[0], **doc}) + "\n")

    def _export_parquet(self, index: str, tmp: Path) -> None:
        tables: list[pa.Table] = []
        layout = self._store.hints(index)
        for rows in self._store.scan_rows(index, _CHUNK):
            sources = [json.loads(r[1]) for r in rows]
            table = pa.Table.from_pylist(sources) if any(sources) else pa.table({})
            table = table.add_column(0, "_id", pa.array([r[0] for r in rows], pa.string()))
            for n, (path, hint) in enumerate(layout.items()):
                values = [from_db(hint, r[2 + n]) for r in rows]
                table = table.append_column(path, arrow_column(hint, values))
            tables.append(table)
        merged = pa.concat_tables(tables, promote_options="permissive") if tables else pa.table({"_id": pa.array([], pa.string())})
        pq.write_table(merged, tmp)

    def close(self) -> None:
        """Export every index written since the last export, then close the staging store."""
        if self._store.closed:
            return
        try:
            for index in sorted(self._dirty):
                self.refresh(index)
        finally:
            self._store.close()
