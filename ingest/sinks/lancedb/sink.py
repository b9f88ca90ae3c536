"""Documents in LanceDB: one Lance table per index, Elasticsearch's ``_bulk`` semantics (``ingest.sinks.bulk``).

Table layout: ``_id`` (unique), ``_version``, ``_source`` (JSON without the vector fields) and one column per
mapped vector field — dense ``fixed_size_list<float32>[dims]``, sparse ``map<string, float32>`` — named
``_v<n>`` (Lance column names cannot hold the dots of a field path), with the field's path, kind, dims and
similarity in the column's metadata. The dynamic mapping of the other fields (Elasticsearch's ``properties``)
is kept in the ``_source`` column's metadata. Everything lives in the Lance dataset, so another process (or
LanceDB's own tools) reads it without this package.

Each bulk request is one ``merge_insert`` per index (inserts, replacements and deletes in one Lance commit);
a request that spans several indices is not atomic across them. One instance writes (registry: ``writers
"one"``); readers in other processes see each commit.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

import lancedb
import numpy as np
import pyarrow as pa

from ingest.models.errors import IllegalArgumentException, StatusException
from ingest.models.home import private_dir
from ingest.sinks.base import BulkAction, FieldHint, ItemResult, Sink
from ingest.sinks.bulk.apply import DocState, Stored, apply
from ingest.sinks.bulk.documents import join
from ingest.sinks.bulk.items import (
    check_action,
    index_name_problem,
    index_not_found,
    invalid_index_name,
    new_id,
)
from ingest.sinks.bulk.mapping import Properties
from ingest.sinks.bulk.vectors import arrow_column, check_hint, check_same

_PROPERTIES = "ingest:properties"
_PLAIN_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")


def _table_name(index: str) -> str:
    """Lance table names allow ``[A-Za-z0-9_.-]``: other index names are hex-encoded behind a ``_`` (which no
    index name starts with)."""
    return index if _PLAIN_NAME.fullmatch(index) else "_" + index.encode().hex()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _in(ids: set[str] | list[str]) -> str:
    return f"_id IN ({', '.join(_quote(i) for i in sorted(ids))})"


class _Index:
    """One open table with its vector layout (path → column, hint) and dynamic mapping."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.columns: dict[str, str] = {}
        self.layout: dict[str, FieldHint] = {}
        for field in table.schema:
            meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
            if "ingest:path" in meta:
                dims = int(meta["ingest:dims"]) if meta.get("ingest:dims") else None
                hint = FieldHint("dense" if meta["ingest:kind"] == "dense" else "sparse", dims,
                                 meta.get("ingest:similarity") or None)
                self.columns[meta["ingest:path"]] = field.name
                self.layout[meta["ingest:path"]] = hint
        source_meta = table.schema.field("_source").metadata or {}
        self.properties: Properties = json.loads(source_meta.get(_PROPERTIES.encode(), b"{}"))


def _vector_field(name: str, path: str, hint: FieldHint) -> pa.Field:
    kind = pa.list_(pa.float32(), int(hint.dims or 0)) if hint.kind == "dense" else pa.map_(pa.string(), pa.float32())
    meta = {"ingest:path": path, "ingest:kind": hint.kind, "ingest:dims": str(hint.dims or ""),
            "ingest:similarity": hint.similarity or ""}
    return pa.field(name, kind, metadata=meta)


class LanceDBSink(Sink):
    """The indices of one LanceDB folder. Thread-safe (one lock); one writing instance at a time."""

    kind_name = "lancedb"  # what it can do: ``ingest.sinks.registry.KINDS``

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        private_dir(self.path)
        try:
            self._db: Any = lancedb.connect(str(self.path))
        except (OSError, RuntimeError, ValueError) as exc:
            raise StatusException(f"cannot open the LanceDB folder [{self.path}]: {exc}", status=503) from exc
        self._lock = threading.RLock()
        self._open: dict[str, _Index] = {}

    # -- catalogue ---------------------------------------------------------------------------------------

    def _index(self, index: str) -> _Index | None:
        if self._db is None:
            raise StatusException("the LanceDB sink is closed", status=500)
        if index not in self._open:
            try:
                table = self._db.open_table(_table_name(index))
            except ValueError as exc:  # LanceDB's "Table '…' was not found"
                if "not found" not in str(exc):
                    raise
                return None
            self._open[index] = _Index(table)
        return self._open[index]

    def index_exists(self, index: str) -> bool:
        """Whether ``index`` exists."""
        with self._lock:
            return self._index(index) is not None

    def _create(self, index: str, hints: dict[str, FieldHint]) -> _Index:
        problem = index_name_problem(index)
        if problem is not None:
            raise invalid_index_name(index, problem)
        fields = [pa.field("_id", pa.string(), nullable=False), pa.field("_version", pa.int64(), nullable=False),
                  pa.field("_source", pa.string(), nullable=False)]
        fields += [_vector_field(f"_v{n}", path, hint) for n, (path, hint) in enumerate(hints.items())]
        self._db.create_table(_table_name(index), schema=pa.schema(fields), exist_ok=True)
        self._open.pop(index, None)
        created = self._index(index)
        assert created is not None
        return created

    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None:
        """Create the index's table, or add columns for the vector fields it does not map yet."""
        checked = {path: check_hint(path, hint) for path, hint in hints.items()}
        with self._lock:
            current = self._index(index)
            if current is None:
                self._create(index, checked)
                return
            new: list[pa.Field] = []
            for path, hint in checked.items():
                old = current.layout.get(path)
                if old is None:
                    new.append(_vector_field(f"_v{len(current.columns) + len(new)}", path, hint))
                else:
                    check_same(path, old, hint)
            if new:
                current.table.add_columns(new)
                self._open[index] = _Index(current.table)

    # -- writes ------------------------------------------------------------------------------------------

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """Apply one bulk request: per index, the outcomes in memory, then one Lance commit."""
        results: list[ItemResult | None] = [check_action(a.op, a.index, a.id, a.source) for a in actions]
        groups: dict[str, list[int]] = defaultdict(list)
        for pos, action in enumerate(actions):
            if results[pos] is None:
                groups[action.index].append(pos)
        with self._lock:
            for index, positions in groups.items():
                current = self._index(index) or self._create(index, {})
                items = [(actions[p], actions[p].id or new_id()) for p in positions]
                props = copy.deepcopy(current.properties)
                outcomes, changed = apply(index, items, current.layout, self._stored(current, {i for _, i in items}),
                                          functools.partial(self._docs, current), props)
                self._commit(current, changed)
                if props != current.properties:
                    current.table.update_field_metadata(
                        {"path": "_source", "metadata": {_PROPERTIES: json.dumps(props)}})
                    current.properties = props
                for pos, outcome in zip(positions, outcomes, strict=True):
                    results[pos] = outcome
        return [r for r in results if r is not None]

    def _stored(self, current: _Index, ids: set[str]) -> dict[str, Stored]:
        """The stored versions in the shape the shared ``_bulk`` code takes (LanceDB keeps no ``_seq_no``)."""
        return {doc_id: Stored(version, seq_no=0) for doc_id, version in self._versions(current, ids).items()}

    def _versions(self, current: _Index, ids: set[str]) -> dict[str, int]:
        rows = current.table.search().where(_in(ids)).select(["_id", "_version"]).limit(None).to_arrow()
        return dict(zip(rows.column("_id").to_pylist(), rows.column("_version").to_pylist(), strict=True))

    def _docs(self, current: _Index, ids: set[str]) -> dict[str, dict[str, Any]]:
        columns = ["_id", "_source", *current.columns.values()]
        rows = current.table.search().where(_in(ids)).select(columns).limit(None).to_arrow().to_pylist()
        return {row["_id"]: join(row["_source"], current.layout,
                                 {path: row[col] for path, col in current.columns.items()}) for row in rows}

    def _commit(self, current: _Index, changed: dict[str, DocState]) -> None:
        live = [(doc_id, st) for doc_id, st in changed.items() if st.exists and st.row is not None]
        gone = [doc_id for doc_id, st in changed.items() if not st.exists and st.stored]
        if not live:
            if gone:
                current.table.delete(_in(gone))
            return
        columns: dict[str, pa.Array] = {
            "_id": pa.array([d for d, _ in live], pa.string()),
            "_version": pa.array([st.version for _, st in live], pa.int64()),
            "_source": pa.array([st.row[0] for _, st in live if st.row is not None], pa.string()),
        }
        for path, column in current.columns.items():
            columns[column] = arrow_column(current.layout[path],
                                           [st.row[1].get(path) for _, st in live if st.row is not None])
        merge = current.table.merge_insert("_id").when_matched_update_all().when_not_matched_insert_all()
        if gone:
            merge = merge.when_not_matched_by_source_delete(_in(gone))
        merge.execute(pa.table(columns))

    def refresh(self, index: str) -> None:
        """Nothing to do: each write is a committed Lance version."""

    def end_load(self, index: str) -> None:
        """Compact the small fragments one commit per bulk leaves behind (``optimize``)."""
        with self._lock:
            current = self._index(index)
            if current is not None:
                current.table.optimize()

    def close(self) -> None:
        """Forget the open tables (LanceDB holds no file lock). Idempotent."""
        with self._lock:
            self._open.clear()
            self._db = None

    # -- reads -------------------------------------------------------------------------------------------

    def _existing(self, index: str) -> _Index:
        current = self._index(index)
        if current is None:
            raise index_not_found(index)
        return current

    def count(self, index: str) -> int:
        """Documents in ``index``."""
        with self._lock:
            return int(self._existing(index).table.count_rows())

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        """The ``_source`` of a document (vectors included), or None when there is no such id."""
        with self._lock:
            return self._docs(self._existing(index), {doc_id}).get(doc_id)

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The ``_source`` of the ids found, in one query; a missing index has none."""
        with self._lock:
            current = self._index(index)
            return self._docs(current, set(ids)) if current is not None and ids else {}

    def search(self, index: str, field: str, vector_or_weights: list[float] | dict[str, float], k: int
               ) -> list[dict[str, Any]]:
        """Top ``k`` hits with Elasticsearch's scores: LanceDB's k-NN on a dense field (its distance turned into
        the similarity's ``_score``), a scan computing the dot product with the query weights on a sparse one."""
        from ingest.sinks.lancedb.search import dense_hits, sparse_hits

        with self._lock:
            current = self._existing(index)
            hint, column = current.layout.get(field), current.columns.get(field)
            if hint is None or column is None:
                raise IllegalArgumentException(f"field [{field}] of index [{index}] is not a mapped vector field")
            if hint.kind == "dense":
                scored = dense_hits(current.table, column, hint, np.asarray(vector_or_weights, np.float32), k)
            else:
                if not isinstance(vector_or_weights, dict):
                    raise IllegalArgumentException(f"field [{field}] is sparse: the query must be token → weight")
                scored = sparse_hits(current.table, column, vector_or_weights, k)
            docs = self._docs(current, {doc_id for doc_id, _ in scored}) if scored else {}
        return [{"_id": doc_id, "_score": score, "_source": docs.get(doc_id, {})} for doc_id, score in scored]
