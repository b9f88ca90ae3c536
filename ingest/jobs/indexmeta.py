"""What ingest knows about an index beyond its documents: settings (``index.default_pipeline``) and which
endpoint filled each vector field (so ``ingest search`` can embed the query with the same model).

Kept in SQLite under ``$INGEST_HOME/indices.sqlite`` so the server, jobs and CLI (separate processes) share it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ingest.jobs.documents import vector_fields
from ingest.models.home import ingest_home
from ingest.models.sqlitedb import open_wal
from ingest.sinks.base import FieldHint, Sink

if TYPE_CHECKING:
    from ingest.processors.outputs import FieldOutput


class IndexMeta:
    """Per-index settings and vector-field descriptions."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ingest_home() / "indices.sqlite"
        self._db = open_wal(self.path, shared=True)
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


@dataclass(frozen=True)
class VectorField:
    """A vector field of an index: its kind, dims and similarity (dense), and the endpoint that fills it."""

    kind: Literal["dense", "sparse"]
    dims: int | None = None
    similarity: str | None = None
    endpoint: str | None = None


def vector_mapping(outputs: Sequence[FieldOutput], docs: Sequence[Mapping[str, Any]]) -> dict[str, VectorField]:
    """The vector fields to map: those the pipeline writes (``Pipeline.outputs()``: kind, similarity and dims
    from their endpoints; dims measured on the first of ``docs`` holding the field when the endpoint does not
    state them, or gives packed ``bit`` / ``byte`` vectors), and vectors the input already carries at paths no processor writes (reindexed or
    pre-embedded data: the documents are their only description, so ``docs`` — the job's first bulk — tell)."""
    fields: dict[str, VectorField] = {}
    written = {out.path for out in outputs}
    for out in outputs:
        if out.path.startswith("_") or out.kind not in ("dense", "sparse") or out.repeated:
            continue  # metadata (``_inference_fields`` chunks are mapped by the sinks), non-vector output, and
            # vectors inside list elements (``foreach``): many per document, not one vector field
        value = _first_value(out.path, docs)
        if value is not None and not _holds(out.kind, value):
            continue  # e.g. OpenSearch's list input: a list of {"knn": vector} objects, not one vector field
        if out.kind == "sparse":
            fields[out.path] = VectorField("sparse", endpoint=out.endpoint)
            continue
        # The sinks' hints carry no element type: a ``byte`` / ``bit`` endpoint's documents hold fewer values
        # than its ``dimensions`` state, so their length is what the sink checks.
        stated = out.dims if out.element_type in (None, "float") else None
        dims = stated if stated is not None else len(value) if isinstance(value, list) else None
        if dims is not None:  # else no document has it yet: left to dynamic mapping, as before
            fields[out.path] = VectorField("dense", dims, out.similarity or "cosine", out.endpoint)
    for doc in docs:
        for path, (kind, dims) in vector_fields(dict(doc)).items():
            if path not in written and path not in fields:
                fields[path] = (VectorField("dense", dims, "cosine") if kind == "dense" else VectorField("sparse"))
    return fields


def _holds(kind: str, value: Any) -> bool:
    """Whether ``value`` is one vector of ``kind``: numbers (floats, or ints for byte/bit), or token → weight."""
    def number(x: Any) -> bool:
        return isinstance(x, int | float) and not isinstance(x, bool)

    if kind == "dense":
        return isinstance(value, list) and bool(value) and all(number(x) for x in value[:8])
    return isinstance(value, dict) and all(number(v) for v in list(value.values())[:8])


def _first_value(path: str, docs: Sequence[Mapping[str, Any]]) -> Any:
    """The value at ``path`` in the first document that has one (None: no document has it; a list met on the
    way is returned as it is, and is no vector)."""
    for doc in docs:
        value: Any = doc
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else value if isinstance(value, list) else None
        if value is not None:
            return value
    return None


def prepare_index(sink: Sink, index: str, fields: dict[str, VectorField], *, load_mode: bool = True,
                  index_meta: Callable[[], IndexMeta] = IndexMeta) -> None:
    """Create ``index`` with its vector fields (see :func:`vector_mapping`), record which endpoint fills each
    (for ``ingest search``), and switch the index to load mode unless ``load_mode`` is False (streaming jobs).
    ``index_meta`` opens the metadata store (the app context's ``index_meta``)."""
    hints = {path: FieldHint(f.kind, f.dims, f.similarity if f.kind == "dense" else None)
             for path, f in fields.items()}
    described = {path: {"kind": f.kind, "dims": f.dims, "endpoint": f.endpoint} for path, f in fields.items()}
    sink.ensure_index(index, hints)
    if described:
        meta = index_meta()
        meta.record_fields(index, described)
        meta.close()
    if load_mode:
        sink.begin_load(index)
