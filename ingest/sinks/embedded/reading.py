"""The embedded store's reads (count, get, fetch, versioned documents, scans, fingerprints, sizes, vector search),
as a mixin of ``EmbeddedStore`` (``store.py`` holds the catalogue and the writes). Every read takes the store's
lock, as writes do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import duckdb
import pyarrow as pa

from ingest.models.errors import IllegalArgumentException
from ingest.sinks.base import FieldHint
from ingest.sinks.bulk.apply import StoredDoc
from ingest.sinks.bulk.items import index_not_found
from ingest.sinks.embedded.size import table_bytes
from ingest.sinks.embedded.sql import dense_score_sql
from ingest.sinks.embedded.sql import quote_name as _q


class StoreReads:
    """The reads of ``EmbeddedStore``; the members below are the store's."""

    _lock: threading.RLock
    _layouts: dict[str, dict[str, FieldHint]]
    _con: duckdb.DuckDBPyConnection | None
    _seq_nos: dict[str, int]
    _fingerprints: dict[str, tuple[int, tuple[int, int, int]]]
    _incarnations: dict[str, int]

    if TYPE_CHECKING:
        @property
        def con(self) -> duckdb.DuckDBPyConnection: ...

        def hints(self, index: str) -> dict[str, FieldHint]: ...

        def _docs(self, index: str, ids: set[str]) -> dict[str, dict[str, Any]]: ...

        def _read(self, index: str, ids: set[str] | None, after: str | None = None, limit: int = 0
                  ) -> list[StoredDoc]: ...

        def _register(self, table: pa.Table) -> str: ...

    def count(self, index: str) -> int:
        """Number of documents in ``index``."""
        with self._lock:
            if index not in self._layouts:
                raise index_not_found(index)
            rows = self.con.execute(f"SELECT count(*) FROM {_q(index)}").fetchall()
            return int(rows[0][0])

    def checkpoint(self) -> None:
        """Write the write-ahead log into the database file (``_flush``: Elasticsearch's commit + translog trim)."""
        with self._lock:
            self.con.execute("CHECKPOINT")

    def storage_bytes(self, index: str) -> int:
        """Bytes ``index`` occupies in the database file (``size.table_bytes``: after the last checkpoint)."""
        with self._lock:
            if index not in self._layouts:
                raise index_not_found(index)
            return table_bytes(self.con, index)

    def fingerprint(self, index: str) -> tuple[int, int, int]:
        """A cheap summary that changes whenever ``index``'s documents do (count, highest ``_seq_no``, a sum of
        hashes of id and ``_seq_no`` plus the index's incarnation): a search keeps what it built from the
        documents while it is unchanged."""
        with self._lock:
            if index not in self._layouts:
                raise index_not_found(index)
            # every write takes a sequence number and only this process writes the file (DuckDB's lock): while
            # the index's last one is unchanged, so are its documents — no scan per search
            last = self._seq_nos.get(index, -1)
            cached = self._fingerprints.get(index)
            if cached is not None and cached[0] == last:
                return cached[1]
            row = self.con.execute(f"SELECT count(*), coalesce(max(_seq_no), -1), "
                                   f"coalesce(sum(hash(_id, _seq_no)::HUGEINT) % 9223372036854775783, 0) "
                                   f"FROM {_q(index)}").fetchall()[0]
            # an index deleted and created again with the same ids and sequence numbers differs by its incarnation
            found = int(row[0]), int(row[1]), (int(row[2]) + self._incarnations.get(index, 0)) % 9223372036854775783
            self._fingerprints[index] = (last, found)
            return found

    def get(self, index: str, doc_id: str) -> dict[str, Any] | None:
        """The ``_source`` of a document (vectors included), or None when there is no such id."""
        with self._lock:
            if index not in self._layouts:
                raise index_not_found(index)
            return self._docs(index, {doc_id}).get(doc_id)

    def fetch(self, index: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        """The ``_source`` of the ids found (vectors included), in one query; a missing index has none."""
        with self._lock:
            if index not in self._layouts or not ids:
                return {}
            return self._docs(index, set(ids))

    def get_docs(self, index: str, ids: list[str]) -> dict[str, StoredDoc]:
        """The documents found among ``ids``, with ``_version``/``_seq_no``/``_primary_term``; raises
        ``index_not_found_exception`` for a missing index."""
        with self._lock:
            if index not in self._layouts:
                raise index_not_found(index)
            return {d.id: d for d in self._read(index, set(ids))} if ids else {}

    def scan(self, index: str, page: int = 1000) -> Iterator[list[StoredDoc]]:
        """Every document of ``index`` in id order, ``page`` at a time (each page read under the lock, so
        writes go on between pages, as a scroll sees a live index)."""
        after: str | None = None
        while True:
            with self._lock:
                if index not in self._layouts:
                    raise index_not_found(index)
                docs = self._read(index, None, after, page)
            if not docs:
                return
            yield docs
            after = docs[-1].id

    def scan_rows(self, index: str, size: int = 5000) -> Iterator[list[tuple[Any, ...]]]:
        """Every row of ``index`` in ``_id`` order, ``size`` at a time: ``(_id, _source JSON, *vectors)`` with the
        vectors in ``hints(index)`` order (the files sink exports its staging store this way)."""
        layout = self.hints(index)
        cols = "".join(f", {_q(p)}" for p in layout)
        with self._lock:
            cur = self.con.cursor()
            try:
                cur.execute(f"SELECT _id, _source{cols} FROM {_q(index)} ORDER BY _id")
                while rows := cur.fetchmany(size):
                    yield rows
            finally:
                cur.close()

    @property
    def closed(self) -> bool:
        """Whether ``close`` was called."""
        return self._con is None

    def search(self, index: str, field: str, vector_or_weights: list[float] | dict[str, float], k: int
               ) -> list[dict[str, Any]]:
        """Top ``k`` hits ``{"_id", "_score", "_source"}``: k-NN (Elasticsearch's similarity scores) on a
        dense field, dot product with the query weights on a sparse field."""
        from ingest.sinks.embedded.search import knn, sparse_dot

        if k < 1:
            raise IllegalArgumentException(f"[k] must be greater than 0, got [{k}]")
        with self._lock:
            hint = self.hints(index).get(field)
            if hint is None:
                raise IllegalArgumentException(f"field [{field}] of index [{index}] is not a mapped vector field")
            if hint.kind == "dense":
                rows = knn(self.con, _q(index), _q(field), hint, vector_or_weights, k, dense_score_sql)
            else:
                name = None
                if isinstance(vector_or_weights, dict):
                    weights = {str(t): float(w) for t, w in vector_or_weights.items()}
                    name = self._register(pa.table({"token": list(weights), "weight": list(weights.values())}))
                try:
                    rows = sparse_dot(self.con, _q(index), _q(field), name, vector_or_weights, k)
                finally:
                    if name:
                        self.con.unregister(name)
            docs = self._docs(index, {r[0] for r in rows})
        return [{"_id": doc_id, "_score": score, "_source": docs.get(doc_id, {})} for doc_id, score in rows]
