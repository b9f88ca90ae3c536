"""What ingest knows about an index beyond its documents: settings (``index.default_pipeline``) and which
endpoint filled each vector field (so ``ingest search`` can embed the query with the same model).

Kept in SQLite under ``$INGEST_HOME/indices.sqlite`` so the server, jobs and CLI (separate processes) share it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.models.home import ingest_home, private_file
from ingest.sinks.base import FieldHint, Sink


class IndexMeta:
    """Per-index settings and vector-field descriptions."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ingest_home() / "indices.sqlite"
        self._db = sqlite3.connect(private_file(self.path), check_same_thread=False, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS indices (name TEXT PRIMARY KEY, settings TEXT NOT NULL DEFAULT '{}',"
            " fields TEXT NOT NULL DEFAULT '{}')"
        )

    def _row(self, name: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        row = self._db.execute("SELECT settings, fields FROM indices WHERE name = ?", (name,)).fetchone()
        return (json.loads(row[0]), json.loads(row[1])) if row else None

    def exists(self, name: str) -> bool:
        """Whether the index was created through ingest (PUT /{index} or a job)."""
        return self._row(name) is not None

    def settings(self, name: str) -> dict[str, Any]:
        """Flat index settings, e.g. ``{"index.default_pipeline": "p"}``."""
        row = self._row(name)
        return row[0] if row else {}

    def put_settings(self, name: str, settings: dict[str, Any]) -> None:
        """Merge settings into the index's."""
        merged = {**self.settings(name), **settings}
        self._db.execute(
            "INSERT INTO indices (name, settings) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET settings = ?",
            (name, json.dumps(merged), json.dumps(merged)),
        )

    def default_pipeline(self, name: str) -> str | None:
        """``index.default_pipeline`` of the index ("_none" counts as unset)."""
        value = self.settings(name).get("index.default_pipeline")
        return None if value in (None, "_none") else str(value)

    def fields(self, name: str) -> dict[str, dict[str, Any]]:
        """Vector fields: ``{path: {"kind": "dense"|"sparse", "dims": n, "endpoint": id|None}}``."""
        row = self._row(name)
        return row[1] if row else {}

    def record_fields(self, name: str, fields: dict[str, dict[str, Any]]) -> None:
        """Merge vector-field descriptions (a later job's endpoint replaces an earlier one's)."""
        merged = {**self.fields(name), **fields}
        self._db.execute(
            "INSERT INTO indices (name, fields) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET fields = ?",
            (name, json.dumps(merged), json.dumps(merged)),
        )

    def close(self) -> None:
        """Close the connection."""
        self._db.close()


def inference_outputs(body: dict[str, Any]) -> dict[str, str]:
    """Output field → endpoint id for every ``inference`` processor of a pipeline body."""
    out: dict[str, str] = {}
    for proc in body.get("processors", []) or []:
        if not isinstance(proc, dict):
            continue
        conf = proc.get("inference")
        if not isinstance(conf, dict) or "model_id" not in conf:
            continue
        model = str(conf["model_id"])
        ios = conf.get("input_output")
        if isinstance(ios, dict):
            ios = [ios]
        if isinstance(ios, list) and ios:
            for io in ios:
                if isinstance(io, dict) and io.get("output_field"):
                    out[str(io["output_field"])] = model
        else:
            out[str(conf.get("target_field", "ml.inference"))] = model
    return out


def endpoint_for(field: str, outputs: dict[str, str]) -> str | None:
    """The endpoint whose output is ``field`` or contains it."""
    for out, endpoint in outputs.items():
        if field == out or field.startswith(out + "."):
            return endpoint
    return None


def prepare_index(sink: Sink, index: str, found: dict[str, tuple[str, int | None]], outputs: dict[str, str],
                  similarity: Callable[[str | None], str], *, load_mode: bool = True,
                  index_meta: Callable[[], IndexMeta] = IndexMeta) -> None:
    """Create ``index`` with the vector fields of a job's first bulk (``path -> (kind, dims)``), record which
    endpoint fills each (for ``ingest search``), and switch the index to load mode unless ``load_mode`` is
    False (streaming jobs). ``similarity`` gives a dense field's similarity from its endpoint; ``index_meta``
    opens the metadata store (the app context's ``index_meta``)."""
    hints: dict[str, FieldHint] = {}
    described: dict[str, dict[str, Any]] = {}
    for path, (kind, dims) in found.items():
        endpoint = endpoint_for(path, outputs)
        hints[path] = FieldHint(kind, dims, similarity(endpoint) if kind == "dense" else None)  # type: ignore[arg-type]
        described[path] = {"kind": kind, "dims": dims, "endpoint": endpoint}
    sink.ensure_index(index, hints)
    if described:
        meta = index_meta()
        meta.record_fields(index, described)
        meta.close()
    if load_mode:
        sink.begin_load(index)
