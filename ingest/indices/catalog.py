"""What an index is beyond its documents: settings (the ``indices`` table of ``indices.sqlite``, which
``jobs.indexmeta`` shares), its uuid and creation time, and the aliases pointing at it. SQLite, so the server,
jobs and CLI share it. Imports nothing from ``ingest.jobs`` (jobs resolve their pipelines through here)."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ingest.models.home import ingest_home
from ingest.models.sqlitedb import open_wal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indices (name TEXT PRIMARY KEY, settings TEXT NOT NULL DEFAULT '{}',
                                    fields TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS index_facts (name TEXT PRIMARY KEY, uuid TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS aliases (alias TEXT NOT NULL, idx TEXT NOT NULL, is_write_index INTEGER,
                                    body TEXT NOT NULL DEFAULT '{}', PRIMARY KEY (alias, idx));
"""


@dataclass
class Alias:
    """One alias on one index: ``is_write_index`` (None: unset), and the rest of its definition
    (``filter``, ``routing``, ``index_routing``, ``search_routing``, ``is_hidden``) as given."""

    name: str
    index: str
    is_write_index: bool | None = None
    body: dict[str, Any] = field(default_factory=dict)

    def render(self) -> dict[str, Any]:
        """The alias as ``GET /_alias`` shows it."""
        out = dict(self.body)
        if self.is_write_index is not None:
            out["is_write_index"] = self.is_write_index
        return out


class IndexCatalog:
    """Settings, facts and aliases of indices; ``close()`` when done."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or ingest_home() / "indices.sqlite"
        self._db = open_wal(self.path, shared=True)
        self._db.executescript(_SCHEMA)

    # -- settings and facts -----------------------------------------------------------------------------

    def settings(self, name: str) -> dict[str, Any]:
        """Flat settings (``index.default_pipeline`` ...)."""
        row = self._db.execute("SELECT settings FROM indices WHERE name = ?", (name,)).fetchone()
        settings: dict[str, Any] = json.loads(row[0]) if row else {}
        return settings

    def put_settings(self, name: str, settings: dict[str, Any]) -> None:
        """Merge flat settings; a None value removes the setting (Elasticsearch's ``null`` resets it)."""
        merged = {**self.settings(name), **settings}
        merged = {k: v for k, v in merged.items() if v is not None}
        self._db.execute(
            "INSERT INTO indices (name, settings) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET settings = ?",
            (name, json.dumps(merged), json.dumps(merged)))

    def facts(self, name: str) -> tuple[str, int]:
        """The index's uuid and creation time in ms (made on first ask for indices created by a job)."""
        row = self._db.execute("SELECT uuid, created_ms FROM index_facts WHERE name = ?", (name,)).fetchone()
        if row is not None:
            return str(row[0]), int(row[1])
        made = (uuid.uuid4().hex[:22], int(time.time() * 1000))
        self._db.execute("INSERT OR IGNORE INTO index_facts VALUES (?, ?, ?)", (name, *made))
        return self.facts(name)

    def forget(self, name: str) -> None:
        """Remove everything known about a deleted index (settings, facts, its aliases)."""
        self._db.execute("DELETE FROM indices WHERE name = ?", (name,))
        self._db.execute("DELETE FROM index_facts WHERE name = ?", (name,))
        self._db.execute("DELETE FROM aliases WHERE idx = ?", (name,))

    def new_index(self, name: str) -> None:
        """Record a fresh uuid and creation time (a re-created index is a new index)."""
        self._db.execute("INSERT OR REPLACE INTO index_facts VALUES (?, ?, ?)",
                         (name, uuid.uuid4().hex[:22], int(time.time() * 1000)))

    # -- aliases ----------------------------------------------------------------------------------------

    def aliases(self) -> list[Alias]:
        """Every alias, by alias then index name."""
        rows = self._db.execute("SELECT alias, idx, is_write_index, body FROM aliases ORDER BY alias, idx").fetchall()
        return [Alias(a, i, None if w is None else bool(w), json.loads(b)) for a, i, w, b in rows]

    def apply_alias_changes(self, adds: list[Alias], removes: list[tuple[str, str]]) -> None:
        """Remove then add, in one transaction (``POST /_aliases`` is atomic)."""
        with self._db:
            self._db.execute("BEGIN")
            for alias, index in removes:
                self._db.execute("DELETE FROM aliases WHERE alias = ? AND idx = ?", (alias, index))
            for a in adds:
                w = None if a.is_write_index is None else int(a.is_write_index)
                self._db.execute("INSERT OR REPLACE INTO aliases VALUES (?, ?, ?, ?)",
                                 (a.name, a.index, w, json.dumps(a.body)))

    def close(self) -> None:
        """Close the connection."""
        self._db.close()
