"""Deployments started with ``_start``, kept in the registry database so they survive a restart: the methods
:class:`ingest.models.store.Store` gets from this mixin.

Elasticsearch keeps trained model assignments in the cluster state's persistent metadata, so after a full cluster
restart the deployments started by ``_start`` (and their ``_update``\\ d allocations) are deployed again until
``_stop``. Here each one is one row of its start parameters, restored when a server starts.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from typing import Any, Protocol

ASSIGNMENT_SCHEMA = """
CREATE TABLE IF NOT EXISTS deployments (deployment_id TEXT PRIMARY KEY, params TEXT NOT NULL);
"""


class _Connections(Protocol):
    def _conn(self, secrets: bool = False) -> sqlite3.Connection: ...

    def _write(self, secrets: bool = False) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...


class AssignmentTables:
    """Start parameters by deployment id."""

    def put_assignment(self: _Connections, deployment_id: str, params: dict[str, Any]) -> None:
        """Keep (or replace) a deployment's start parameters."""
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO deployments VALUES (?, ?)", (deployment_id, json.dumps(params)))

    def assignments(self: _Connections) -> dict[str, dict[str, Any]]:
        """Every kept deployment's start parameters, by id."""
        rows = self._conn().execute("SELECT deployment_id, params FROM deployments ORDER BY deployment_id").fetchall()
        return {deployment_id: json.loads(params) for deployment_id, params in rows}

    def delete_assignment(self: _Connections, deployment_id: str) -> None:
        """Forget a stopped deployment."""
        with self._write() as conn:
            conn.execute("DELETE FROM deployments WHERE deployment_id = ?", (deployment_id,))
