"""Index and component templates (``_index_template``, ``_component_template``): the methods
:class:`ingest.models.store.Store` gets from this mixin. Bodies are kept as JSON, as the REST layer normalised them;
their meaning (matching index patterns at index creation) belongs to the layers above.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import sqlite3
import time
from typing import Any, Protocol

from ingest.models.jsontypes import JsonInput

TEMPLATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS templates (
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL,
    PRIMARY KEY (kind, name)
);
"""

INDEX_TEMPLATE = "index"
COMPONENT_TEMPLATE = "component"


class _Connections(Protocol):
    def _conn(self, secrets: bool = False) -> sqlite3.Connection: ...

    def _write(self, secrets: bool = False) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...


def simple_match(pattern: str, value: str) -> bool:
    """Elasticsearch's Regex.simpleMatch: only ``*`` is special."""
    return fnmatch.fnmatchcase(value, pattern.replace("[", "[[]").replace("?", "[?]"))


class TemplateTables:
    """Templates by kind (``index`` or ``component``) and name."""

    def put_template(self: _Connections, kind: str, name: str, body: JsonInput, *, create: bool = False) -> bool:
        """Store ``body`` under ``name``; False (nothing written) when ``create`` and the name is taken.
        Keeps the creation time of a replaced template, as Elasticsearch's ``created_date_millis``."""
        now = int(time.time() * 1000)
        with self._write() as conn:
            row = conn.execute("SELECT created_ms FROM templates WHERE kind = ? AND name = ?", (kind, name)).fetchone()
            if row is not None and create:
                return False
            created = row[0] if row is not None else now
            conn.execute("INSERT OR REPLACE INTO templates VALUES (?, ?, ?, ?, ?)",
                         (kind, name, json.dumps(body), created, now))
        return True

    def get_templates(self: _Connections, kind: str, pattern: str | None = None) -> dict[str, dict[str, Any]]:
        """Templates of ``kind`` whose name matches ``pattern`` (a name or ``*`` pattern; None: all), by name,
        each body with ``created_date_millis`` and ``modified_date_millis``."""
        rows = self._conn().execute(
            "SELECT name, body, created_ms, modified_ms FROM templates WHERE kind = ? ORDER BY name", (kind,)
        ).fetchall()
        return {name: {**json.loads(body), "created_date_millis": created, "modified_date_millis": modified}
                for name, body, created, modified in rows if pattern is None or simple_match(pattern, name)}

    def delete_templates(self: _Connections, kind: str, names: list[str]) -> list[str]:
        """Delete the named templates of ``kind`` (exact names); returns those deleted."""
        with self._write() as conn:
            deleted = [n for n in names if conn.execute(
                "DELETE FROM templates WHERE kind = ? AND name = ?", (kind, n)).rowcount]
        return deleted


def patterns_intersect(a: str, b: str) -> bool:
    """Whether some name matches both ``*`` patterns (Elasticsearch intersects their automata): a walk over
    both patterns where a ``*`` may stay put to absorb the other side's next character, or be left behind."""
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        star_a, star_b = i < len(a) and a[i] == "*", j < len(b) and b[j] == "*"
        if star_a:
            stack.append((i + 1, j))  # the star matches nothing more
            if j < len(b) and not star_b:
                stack.append((i, j + 1))  # the star absorbs b's character
        if star_b:
            stack.append((i, j + 1))
            if i < len(a) and not star_a:
                stack.append((i + 1, j))
        if i < len(a) and j < len(b) and not star_a and not star_b and a[i] == b[j]:
            stack.append((i + 1, j + 1))
    return False
