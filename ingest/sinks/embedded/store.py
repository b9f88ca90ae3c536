"""The embedded store: one DuckDB file under ``$INGEST_HOME`` holding one table per index.

Layout of an index table (named like the index; index names cannot start with ``_`` so they never clash
with the catalogue table ``_indices``):

- ``_id VARCHAR`` (unique: the id catalogue ``<file>.ids`` maps ids to rows, ``idcatalogue.py``), ``_version
  BIGINT``, ``_seq_no BIGINT`` (per index, monotonic across writes, the row's locator; ``_seq_nos`` keeps the
  counter), ``_primary_term BIGINT`` (always 1: one node);
  deletes are remembered 60 s in ``_tombstones`` (also held in memory: no lookup on the write path);
- ``_source JSON``: the document without its mapped vector fields;
- one column per mapped vector field, named by its dotted path: ``FLOAT[dims]`` for dense vectors,
  ``MAP(VARCHAR, FLOAT)`` for sparse ones. Vectors are put back at their path when documents are read.

An index written to before it was created is created on the fly without vector columns (its vectors then
stay inside ``_source``), as Elasticsearch's auto-create does; ``ensure_index`` adds vector columns later.
"""

from __future__ import annotations

import copy
import functools
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from ingest.models.errors import ElasticsearchError, IllegalArgumentException, StatusException
from ingest.models.home import ingest_home, private_dir, tighten
from ingest.models.settings import Settings
from ingest.sinks.base import BulkAction, BulkOp, FieldHint, ItemResult, Sink
from ingest.sinks.bulk.apply import GC_DELETES_S, PRIMARY_TERM, DocState, Stored, StoredDoc, apply
from ingest.sinks.bulk.items import check_action, index_name_problem, index_not_found, invalid_index_name
from ingest.sinks.bulk.mapping import Properties
from ingest.sinks.embedded.batch import insert_batch, plan_batch
from ingest.sinks.embedded.idcatalogue import Entry, IdCatalogue, entries, reconcile
from ingest.sinks.embedded.indextime import IndexTimeInference, IndexTimeWrites
from ingest.sinks.embedded.migrate import add_seq_nos
from ingest.sinks.embedded.reading import StoreReads
from ingest.sinks.embedded.reads import read_docs
from ingest.sinks.embedded.rowwrites import read_sources, store_rows
from ingest.sinks.embedded.sidecars import delete_side_cars
from ingest.sinks.embedded.sql import column_type
from ingest.sinks.embedded.sql import quote_name as _q
from ingest.sinks.embedded.tombstones import recent_deletes, remember_deletes
from ingest.sinks.ids import TimeBasedIds
from ingest.sinks.rows import present, to_rows


class EmbeddedStore(StoreReads, IndexTimeWrites, Sink):
    """DuckDB-backed indices with ``_bulk`` semantics, get, count and vector search. Thread-safe (one lock)."""

    kind_name = "embedded"  # what it can do: ``ingest.sinks.registry.KINDS``

    def __init__(self, path: Path | None = None, *, memory_limit: str | None = None,
                 inference: IndexTimeInference | None = None) -> None:
        self.inference = inference  # semantic_text fields are embedded on write when set (the app context's)
        self.path = Path(path) if path else ingest_home() / "indices.duckdb"
        private_dir(self.path.parent)
        limit = memory_limit or Settings.from_env().duckdb_memory_limit  # the caller's, else the environment's
        try:
            self._con: duckdb.DuckDBPyConnection | None = duckdb.connect(
                str(self.path), config={"memory_limit": limit, "preserve_insertion_order": False}
            )
        except duckdb.Error as exc:
            raise StatusException(f"cannot open the embedded store [{self.path}]: {exc}", status=503) from exc
        self._lock = threading.RLock()
        self._con.execute("CREATE TABLE IF NOT EXISTS _indices (name VARCHAR PRIMARY KEY, fields JSON NOT NULL)")
        self._files = (self.path, self.path.with_name(self.path.name + ".wal"))
        tighten(*self._files)  # DuckDB creates its files with the umask's mode
        # the dynamic mapping of each index's other fields (mapping.py), Elasticsearch's "properties"
        self._con.execute("CREATE TABLE IF NOT EXISTS _mappings (name VARCHAR PRIMARY KEY, properties JSON NOT NULL)")
        self._layouts: dict[str, dict[str, FieldHint]] = {}
        for name, fields in self._con.execute("SELECT name, fields FROM _indices").fetchall():
            self._layouts[name] = {p: FieldHint(**h) for p, h in json.loads(fields).items()}
        self._properties: dict[str, Properties] = {
            name: json.loads(props) for name, props in self._con.execute("SELECT name, properties FROM _mappings").fetchall()
        }
        self._ids = TimeBasedIds()
        self._seq_nos = add_seq_nos(self._con, list(self._layouts))  # index -> last sequence number handed out
        self._fingerprints: dict[str, tuple[int, tuple[int, int, int]]] = {}  # index -> (last seq_no, fingerprint)
        self._incarnations: dict[str, int] = {}  # index -> which creation in this process (a re-created index differs)
        self._dead = recent_deletes(self._con)  # index -> id -> (the delete, when)
        # (index, _id) -> version, seq_no, term of the live documents: lookups without scanning (idcatalogue.py)
        self._catalogue = IdCatalogue(self.path.with_name(self.path.name + ".ids"))
        self._stale: set[str] = set()  # indices whose catalogue missed a commit: rebuilt before their next use
        reconcile(self.con, self._catalogue, self._seq_nos)
        # the root mapping's options set by PUT /{index} or _mapping (``dynamic``), apart from the properties
        self._con.execute("CREATE TABLE IF NOT EXISTS _mapping_options (name VARCHAR PRIMARY KEY, options JSON NOT NULL)")
        self._options: dict[str, dict[str, Any]] = {
            name: json.loads(opts) for name, opts in self._con.execute("SELECT name, options FROM _mapping_options").fetchall()
        }

    # -- catalogue ---------------------------------------------------------------------------------------

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            raise StatusException("the embedded store is closed", status=500)
        return self._con

    def indices(self) -> list[str]:
        """Names of the existing indices."""
        with self._lock:
            return sorted(self._layouts)

    def index_exists(self, index: str) -> bool:
        """Whether ``index`` exists."""
        with self._lock:
            return index in self._layouts

    def hints(self, index: str) -> dict[str, FieldHint]:
        """The mapped vector fields of ``index``."""
        with self._lock:
            if index not in self._layouts:
                raise index_not_found(index)
            return dict(self._layouts[index])

    def properties(self, index: str) -> Properties:
        """The dynamic mapping of ``index``'s non-vector fields (Elasticsearch's ``properties``)."""
        with self._lock:
            if index not in self._layouts:
                raise index_not_found(index)
            return copy.deepcopy(self._properties.get(index, {}))

    def mapping_options(self, index: str) -> dict[str, Any]:
        """The root mapping's options of ``index`` (``{"dynamic": "strict"}``; empty when never set)."""
        with self._lock:
            if index not in self._layouts:
                raise index_not_found(index)
            return dict(self._options.get(index, {}))

    def put_mapping(self, index: str, properties: Properties, options: dict[str, Any]) -> None:
        """Replace the properties and root options of ``index`` (the caller merged and checked them:
        ``ingest.indices.mappings``); the index must exist."""
        with self._lock, self._transaction():
            if index not in self._layouts:
                raise index_not_found(index)
            self.con.execute("INSERT OR REPLACE INTO _mappings VALUES (?, ?)", [index, json.dumps(properties)])
            self.con.execute("INSERT OR REPLACE INTO _mapping_options VALUES (?, ?)", [index, json.dumps(options)])
            self._properties[index] = copy.deepcopy(properties)
            self._options[index] = dict(options)

    def _save_layout(self, index: str, layout: dict[str, FieldHint]) -> None:
        fields = json.dumps({p: {"kind": h.kind, "dims": h.dims, "similarity": h.similarity} for p, h in layout.items()})
        self.con.execute("INSERT OR REPLACE INTO _indices VALUES (?, ?)", [index, fields])
        self._layouts[index] = dict(layout)

    def _create(self, index: str, hints: dict[str, FieldHint]) -> None:
        problem = index_name_problem(index)
        if problem is not None:
            raise invalid_index_name(index, problem)
        cols = "".join(f", {_q(p)} {column_type(h)}" for p, h in hints.items())
        # no PRIMARY KEY: the id catalogue keeps ids unique (DuckDB's key index made each insert and
        # checkpoint grow with the table); tables from before the catalogue keep theirs
        self.con.execute(f"CREATE TABLE {_q(index)} (_id VARCHAR NOT NULL, _version BIGINT NOT NULL, "
                         f"_source JSON NOT NULL{cols}, _seq_no BIGINT NOT NULL, _primary_term BIGINT NOT NULL)")
        self._save_layout(index, hints)
        self._incarnations[index] = max(self._incarnations.values(), default=0) + 1

    def ensure_index(self, index: str, hints: dict[str, FieldHint]) -> None:
        """Create the index table, or add columns for vector fields it does not map yet."""
        for path, hint in hints.items():
            if hint.kind == "dense" and not (isinstance(hint.dims, int) and 0 < hint.dims <= 4096):
                raise IllegalArgumentException(f"[dims] of dense vector field [{path}] must be in [1, 4096], got [{hint.dims}]")
            if path.startswith("_") or not path:
                raise IllegalArgumentException(f"field name [{path}] cannot be a vector field")
            if hint.kind == "dense" and hint.similarity not in (None, "cosine", "dot_product", "l2_norm", "max_inner_product"):
                raise IllegalArgumentException(f"unknown similarity [{hint.similarity}] for field [{path}]")
        with self._lock:
            known = self._layouts.get(index)
            if known is not None and all(p in known and (known[p].kind, known[p].dims) == (h.kind, h.dims)
                                         for p, h in hints.items()):
                return  # nothing to change: no transaction (every _bulk request asks)
        with self._lock, self._transaction():
            if index not in self._layouts:
                self._create(index, {p: _normal(h) for p, h in hints.items()})
                return
            layout = dict(self._layouts[index])
            for path, hint in hints.items():
                old = layout.get(path)
                if old is None:
                    self.con.execute(f"ALTER TABLE {_q(index)} ADD COLUMN {_q(path)} {column_type(hint)}")
                    layout[path] = _normal(hint)
                elif (old.kind, old.dims) != (hint.kind, hint.dims):
                    raise IllegalArgumentException(
                        f"mapper [{path}] cannot be changed from type [{_es_type(old)}] to [{_es_type(hint)}]"
                    )
            if layout != self._layouts[index]:
                self._save_layout(index, layout)

    def delete_index(self, index: str) -> None:
        """Drop an index and its documents."""
        with self._lock:
            with self._transaction():
                if index not in self._layouts:
                    raise index_not_found(index)
                self.con.execute(f"DROP TABLE {_q(index)}")
                self.con.execute("DELETE FROM _indices WHERE name = ?", [index])
                self.con.execute("DELETE FROM _mappings WHERE name = ?", [index])
                self.con.execute("DELETE FROM _seq_nos WHERE name = ?", [index])
                self.con.execute("DELETE FROM _tombstones WHERE idx = ?", [index])
                self.con.execute("DELETE FROM _mapping_options WHERE name = ?", [index])
            for known in (self._dead, self._layouts, self._seq_nos, self._fingerprints, self._properties, self._options):
                known.pop(index, None)
            # after DuckDB's commit (a crash in between: the next open forgets it)
            self._stale.discard(index)
            self._catalogue.drop(index)
            delete_side_cars(self.path, index)

    # -- writes ------------------------------------------------------------------------------------------

    def write(self, actions: list[BulkAction]) -> list[ItemResult]:
        """Apply one bulk request in one transaction; one Elasticsearch-shaped result per action."""
        results: list[ItemResult | None] = [check_action(a.op, a.index, a.id, a.source, scripts=True)
                                            for a in actions]
        groups: dict[str, list[int]] = defaultdict(list)
        for pos, action in enumerate(actions):
            if results[pos] is None:
                groups[action.index].append(pos)
        actions = self._infer(actions, groups, results)
        with self._lock:
            new_properties: dict[str, Properties] = {}
            seq_nos: dict[str, int] = {}
            dead: dict[str, dict[str, DocState]] = {}
            catalogued: dict[str, tuple[list[Entry], list[str], int]] = {}
            with self._transaction():
                for index, positions in groups.items():
                    if index not in self._layouts:
                        self._create(index, {})
                    items = [(actions[p], actions[p].id or self._ids.next()) for p in positions]
                    # copies: the transaction may still roll back
                    props = copy.deepcopy(self._properties.get(index, {}))
                    seq_nos[index] = self._seq_nos.get(index, -1)

                    def next_seq_no(index: str = index) -> int:
                        seq_nos[index] += 1
                        return seq_nos[index]

                    versions = self._versions(index, {i for _, i in items})
                    outcomes, changed = apply(
                        index, items, self._layouts[index], versions,
                        functools.partial(self._docs, index), props, next_seq_no,
                        str(self._options.get(index, {}).get("dynamic", "true")),
                    )
                    remember_deletes(self.con, self._register, index, changed,
                                     functools.partial(self._catalogue.flushed, index))
                    live, gone = store_rows(self.con, self._register, index, self._layouts[index], changed, versions)
                    dead[index] = changed
                    if seq_nos[index] != self._seq_nos.get(index, -1):
                        # the catalogue's consistency mark (idcatalogue.py), and no row keeps a delete's seq_no
                        self._mark_seq_no(index, seq_nos[index])
                        catalogued[index] = (live, gone, seq_nos[index])
                    if props != self._properties.get(index, {}):
                        self.con.execute("INSERT OR REPLACE INTO _mappings VALUES (?, ?)", [index, json.dumps(props)])
                        new_properties[index] = props
                    for pos, outcome in zip(positions, outcomes, strict=True):
                        results[pos] = outcome
            self._properties.update(new_properties)
            self._seq_nos.update(seq_nos)
            self._catalogue_commit(catalogued)
            now = time.time()
            for index, changed in dead.items():
                remembered = self._dead[index]
                for doc_id, st in changed.items():
                    if st.exists:
                        remembered.pop(doc_id, None)
                    else:
                        remembered[doc_id] = (Stored(st.version, st.seq_no, live=False), now)
        return [r for r in results if r is not None]

    def write_batch(self, index: str, table: pa.Table | pa.RecordBatch, ids: list[str],
                    op: BulkOp = "index") -> list[ItemResult]:
        """``op`` (``index`` or ``create``) of whole documents, row ``k`` of ``table`` with id ``ids[k]``, in one
        transaction; one result per row, exactly as ``write`` of the same actions would answer (nulls at the top
        of a row are absent fields). Checked and written column by column when the index maps every field
        already (``batch.py``); otherwise, and for a repeated id or a ``create`` of an existing one, it is
        ``write`` of the rows as actions."""
        if len(ids) != table.num_rows:
            raise ValueError(f"{len(ids)} ids for {table.num_rows} documents")
        if not ids:
            return []
        with self._lock:
            fast = None
            # an id deleted in the last ``GC_DELETES_S`` goes on from its delete's version: the per-action path
            recently_deleted = not self._dead.get(index, {}).keys().isdisjoint(ids)
            if (index in self._layouts and index_name_problem(index) is None and not recently_deleted
                    and not self._semantic(index)):  # semantic_text: inference per document, then ``write``
                fast = plan_batch(functools.partial(self._catalogued, index), table, ids, op, self._layouts[index],
                                  self._properties.get(index, {}))
            if fast is None:
                return self._write_rows(index, table, ids, op)
            versions = fast.versions
            first_seq_no = self._seq_nos.get(index, -1) + 1  # one sequence number per row, in row order
            last = first_seq_no + len(ids) - 1
            try:
                with self._transaction():
                    insert_batch(self.con, _q(index), ids, fast, first_seq_no, PRIMARY_TERM)
                    self._mark_seq_no(index, last)
            except ElasticsearchError:
                # Rolled back. DuckDB refused the column-wise statement (a value the plan let through): the
                # per-action path answers per item, or fails the same way if the store itself is broken.
                return self._write_rows(index, table, ids, op)
            self._seq_nos[index] = last
            self._catalogue_commit({index: ([(i, versions.get(i, 0) + 1, first_seq_no + k, PRIMARY_TERM)
                                             for k, i in enumerate(ids)], [], last)})
        return [ItemResult(200, None, id=i, result="updated", version=versions[i] + 1, seq_no=first_seq_no + k,
                           primary_term=PRIMARY_TERM) if i in versions
                else ItemResult(201, None, id=i, result="created", version=1, seq_no=first_seq_no + k,
                                primary_term=PRIMARY_TERM)
                for k, i in enumerate(ids)]

    def _write_rows(self, index: str, table: pa.Table | pa.RecordBatch, ids: list[str], op: BulkOp
                    ) -> list[ItemResult]:
        return self.write([BulkAction(op, index, i, present(doc)) for i, doc in zip(ids, to_rows(table), strict=True)])

    def _mark_seq_no(self, index: str, seq_no: int) -> None:
        """Record ``index``'s last sequence number (inside the caller's transaction). An UPDATE, and an INSERT
        only the first time: DuckDB's ``INSERT OR REPLACE`` on the keyed table cost ~1 ms more a write, most of a
        single-document request's store time."""
        changed = self.con.execute("UPDATE _seq_nos SET seq_no = ? WHERE name = ?", [seq_no, index]).fetchone()
        if not changed or not changed[0]:
            self.con.execute("INSERT INTO _seq_nos VALUES (?, ?)", [index, seq_no])

    def _register(self, table: pa.Table) -> str:
        name = f"_arrow_{uuid.uuid4().hex}"
        self.con.register(name, table)
        return name

    def _catalogued(self, index: str, ids: Iterable[str]) -> dict[str, Stored]:
        """The catalogue's entries of the live documents among ``ids`` (rebuilt first if it missed a commit)."""
        if index in self._stale:
            self._catalogue.rebuild(index, entries(self.con, index), self._seq_nos.get(index, -1))
            self._stale.discard(index)
        return self._catalogue.lookup(index, ids)

    def _catalogue_commit(self, changes: dict[str, tuple[list[Entry], list[str], int]]) -> None:
        """Record committed rows in the catalogue; if that fails, their indices are rebuilt before their next use
        (DuckDB holds the truth, and its commit cannot be taken back)."""
        if not changes:
            return
        try:
            self._catalogue.commit(changes)
        except Exception:
            self._stale.update(changes)
            raise

    def _versions(self, index: str, ids: set[str]) -> dict[str, Stored]:
        found = self._catalogued(index, ids)
        remembered = self._dead.get(index)
        if remembered and len(found) < len(ids):  # ids deleted lately go on from their delete's version
            since = time.time() - GC_DELETES_S
            for doc_id in list(remembered):
                if remembered[doc_id][1] <= since:
                    del remembered[doc_id]
            found.update({i: remembered[i][0] for i in ids if i not in found and i in remembered})
        return found

    def _docs(self, index: str, ids: set[str]) -> dict[str, dict[str, Any]]:
        return read_sources(self.con, _q(index), self._layouts[index], self._catalogued(index, ids))

    def _read(self, index: str, ids: set[str] | None, after: str | None = None, limit: int = 0
              ) -> list[StoredDoc]:
        seq_nos = None if ids is None else [s.seq_no for s in self._catalogued(index, ids).values()]
        return read_docs(self.con, _q(index), self._layouts[index], seq_nos, after, limit)

    def _transaction(self) -> _Transaction:
        return _Transaction(self.con, self._files)

    def refresh(self, index: str) -> None:
        """Nothing to do: committed writes are visible at once."""

    def flush_ids(self) -> None:
        """Write the id catalogue's changes held in memory to its file now (``close`` does it too; the
        benchmark times it)."""
        with self._lock:
            self._catalogue.flush()

    def close(self) -> None:
        """Close the database file (idempotent)."""
        with self._lock:
            if self._con is not None:
                self._con.close()
                self._con = None
                self._catalogue.close()


def _normal(hint: FieldHint) -> FieldHint:
    if hint.kind == "dense":
        return FieldHint("dense", int(hint.dims or 0), hint.similarity or "cosine")
    return FieldHint("sparse", None, None)


def _es_type(hint: FieldHint) -> str:
    return f"dense_vector] with dims [{hint.dims}" if hint.kind == "dense" else "sparse_vector"


class _Transaction:
    """BEGIN … COMMIT, rolled back on any error (DuckDB errors become a 500 ``exception``)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, files: tuple[Path, ...] = ()) -> None:
        self.con = con
        self.files = files

    def __enter__(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is None:
            self.con.execute("COMMIT")
            tighten(*self.files)  # a WAL DuckDB has just (re)created
            return
        self.con.execute("ROLLBACK")
        if isinstance(exc, duckdb.Error) and not isinstance(exc, ElasticsearchError):
            raise ElasticsearchError(f"embedded store failure: {exc}", status=500) from exc
