"""Persistent state shared by every ingest process on a machine: endpoints, pipelines, security (``authstore``),
index and component templates (``templatestore``).

One SQLite database in WAL mode at ``$INGEST_HOME/registry.sqlite`` lets a server and a batch job read and
write at the same time; writers take ``BEGIN IMMEDIATE`` so concurrent PUTs serialise instead of interleaving.
Endpoint secrets (provider API keys) live in a second database, ``secrets.sqlite``, created with mode 0600 so
that only the owner can read it; nothing in this module logs or formats a secret.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ingest.models.authstore import SECURITY_SCHEMA, ApiKeyRecord, SecurityTables, UserRecord
from ingest.models.deployments.assignments import ASSIGNMENT_SCHEMA, AssignmentTables
from ingest.models.errors import IllegalArgumentException, ResourceAlreadyExistsException
from ingest.models.home import ingest_home
from ingest.models.jsontypes import JsonInput
from ingest.models.results import TaskType
from ingest.models.services.base import EndpointConfig
from ingest.models.sqlitedb import open_wal
from ingest.models.templatestore import TEMPLATE_SCHEMA, TemplateTables

_SCHEMA = """
CREATE TABLE IF NOT EXISTS endpoints (
    inference_id TEXT PRIMARY KEY,
    task_type TEXT NOT NULL,
    service TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pipelines (
    pipeline_id TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pipeline_dates (
    pipeline_id TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL,
    modified_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pipeline_refs (
    pipeline_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    PRIMARY KEY (pipeline_id, endpoint_id)
);
CREATE INDEX IF NOT EXISTS pipeline_refs_endpoint ON pipeline_refs (endpoint_id);
"""

__all__ = ["ApiKeyRecord", "SecurityTables", "Store", "UserRecord"]

_SECRETS_SCHEMA = """
CREATE TABLE IF NOT EXISTS secrets (inference_id TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


class Store(SecurityTables, TemplateTables, AssignmentTables):
    """The registry database. Cheap to construct; connections are opened per thread."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else ingest_home() / "registry.sqlite"
        self.secrets_path = self.path.with_name(self.path.stem + ".secrets.sqlite")
        self._local = threading.local()
        # Both files are created 0600 by open_wal before SQLite writes (its -wal/-shm files copy the mode).
        # executescript manages its own transaction; CREATE ... IF NOT EXISTS is safe to race.
        self._conn().executescript(_SCHEMA + SECURITY_SCHEMA + TEMPLATE_SCHEMA + ASSIGNMENT_SCHEMA)
        self._migrate_security()
        self._conn(secrets=True).executescript(_SECRETS_SCHEMA)

    # -- connections ---------------------------------------------------------------------------------

    def _conn(self, secrets: bool = False) -> sqlite3.Connection:
        attr = "secrets" if secrets else "main"
        conn: sqlite3.Connection | None = getattr(self._local, attr, None)
        if conn is None:
            conn = open_wal(self.secrets_path if secrets else self.path, synchronous_normal=True)
            setattr(self._local, attr, conn)
        return conn

    @contextlib.contextmanager
    def _write(self, secrets: bool = False) -> Iterator[sqlite3.Connection]:
        """A write transaction; BEGIN IMMEDIATE takes the write lock up front so read-modify-write is atomic."""
        conn = self._conn(secrets)
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        """Close this thread's connections (other threads' close when they end)."""
        for attr in ("main", "secrets"):
            conn = getattr(self._local, attr, None)
            if conn is not None:
                conn.close()
                setattr(self._local, attr, None)

    # -- endpoints -----------------------------------------------------------------------------------

    def insert_endpoint(self, config: EndpointConfig) -> None:
        """Persist a new endpoint; raises ``resource_already_exists_exception`` if the id is taken."""
        now = time.time()
        with self._write() as conn:
            try:
                conn.execute(
                    "INSERT INTO endpoints VALUES (?, ?, ?, ?, ?, ?)",
                    (config.inference_id, str(config.task_type), config.service, _config_json(config), now, now),
                )
            except sqlite3.IntegrityError:
                raise ResourceAlreadyExistsException(
                    f"Inference endpoint [{config.inference_id}] already exists"
                ) from None
            # Secrets are written inside the main transaction: if this fails, the endpoint row rolls back.
            self._put_secrets(config.inference_id, config.secret_settings)

    def replace_endpoint(self, config: EndpointConfig) -> None:
        """Overwrite an existing endpoint (``_update``), secrets included."""
        with self._write() as conn:
            conn.execute(
                "UPDATE endpoints SET task_type = ?, service = ?, config = ?, updated_at = ? WHERE inference_id = ?",
                (str(config.task_type), config.service, _config_json(config), time.time(), config.inference_id),
            )
            self._put_secrets(config.inference_id, config.secret_settings)

    def get_endpoint(self, inference_id: str) -> EndpointConfig | None:
        """The stored endpoint with its secrets, or None."""
        row = self._conn().execute(
            "SELECT inference_id, task_type, service, config FROM endpoints WHERE inference_id = ?",
            (inference_id,),
        ).fetchone()
        return None if row is None else self._endpoint_from_row(row)

    def list_endpoints(self) -> list[EndpointConfig]:
        """Every stored endpoint, sorted by id."""
        rows = self._conn().execute(
            "SELECT inference_id, task_type, service, config FROM endpoints ORDER BY inference_id"
        ).fetchall()
        return [self._endpoint_from_row(r) for r in rows]

    def delete_endpoint(self, inference_id: str) -> bool:
        """Remove an endpoint and its secrets; False if it did not exist."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM endpoints WHERE inference_id = ?", (inference_id,))
            with self._write(secrets=True) as sconn:
                sconn.execute("DELETE FROM secrets WHERE inference_id = ?", (inference_id,))
        return cur.rowcount > 0

    def _put_secrets(self, inference_id: str, secrets: dict[str, str]) -> None:
        with self._write(secrets=True) as conn:
            if secrets:
                conn.execute(
                    "INSERT OR REPLACE INTO secrets VALUES (?, ?)", (inference_id, json.dumps(secrets))
                )
            else:
                conn.execute("DELETE FROM secrets WHERE inference_id = ?", (inference_id,))

    def _endpoint_from_row(self, row: tuple[Any, ...]) -> EndpointConfig:
        inference_id, task_type, service, raw = row
        config = json.loads(raw)
        srow = self._conn(secrets=True).execute(
            "SELECT data FROM secrets WHERE inference_id = ?", (inference_id,)
        ).fetchone()
        return EndpointConfig(
            inference_id=inference_id,
            task_type=TaskType(task_type),
            service=service,
            service_settings=config["service_settings"],
            secret_settings=json.loads(srow[0]) if srow else {},
            task_settings=config["task_settings"],
            chunking_settings=config.get("chunking_settings"),
        )

    # -- pipelines (their meaning belongs to the processors layer) -----------------------------------

    def put_pipeline(
        self, pipeline_id: str, body: JsonInput, endpoint_refs: list[str], if_version: int | None = None
    ) -> None:
        """Create or replace a pipeline with Elasticsearch's ``if_version`` optimistic concurrency.

        As in Elasticsearch, with ``if_version`` and no ``version`` in the body, the stored body gets
        ``version = if_version + 1``.
        """
        stored = dict(body)
        with self._write() as conn:
            if if_version is not None:
                row = conn.execute("SELECT body FROM pipelines WHERE pipeline_id = ?", (pipeline_id,)).fetchone()
                if row is None:
                    raise IllegalArgumentException(
                        f"version conflict, required version [{if_version}] for pipeline [{pipeline_id}] "
                        "but no pipeline was found"
                    )
                current = json.loads(row[0]).get("version")
                if current != if_version:
                    raise IllegalArgumentException(
                        f"version conflict, required version [{if_version}] for pipeline [{pipeline_id}] "
                        f"but current version is [{_java_str(current)}]"
                    )
                if "version" in stored and stored["version"] == current:
                    raise IllegalArgumentException(
                        f"cannot update pipeline [{pipeline_id}] with the same version [{if_version}]"
                    )
                stored.setdefault("version", if_version + 1)
            conn.execute(
                "INSERT OR REPLACE INTO pipelines VALUES (?, ?, ?)", (pipeline_id, json.dumps(stored), time.time())
            )
            now_ms = int(time.time() * 1000)  # Elasticsearch 9's created_date_millis / modified_date_millis
            conn.execute("INSERT INTO pipeline_dates VALUES (?, ?, ?) ON CONFLICT(pipeline_id) DO UPDATE SET "
                         "modified_ms = excluded.modified_ms", (pipeline_id, now_ms, now_ms))
            conn.execute("DELETE FROM pipeline_refs WHERE pipeline_id = ?", (pipeline_id,))
            conn.executemany(
                "INSERT OR IGNORE INTO pipeline_refs VALUES (?, ?)", [(pipeline_id, e) for e in endpoint_refs]
            )

    def get_pipelines(self, ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Pipelines whose id matches any of ``ids`` (exact ids or ``*`` patterns); None means all."""
        rows = self._conn().execute("SELECT pipeline_id, body FROM pipelines ORDER BY pipeline_id").fetchall()
        return {pid: json.loads(body) for pid, body in rows if ids is None or _matches_any(pid, ids)}

    def pipeline_dates(self) -> dict[str, tuple[int, int]]:
        """Creation and last modification time (epoch ms) of every pipeline stored since dates were kept."""
        rows = self._conn().execute("SELECT pipeline_id, created_ms, modified_ms FROM pipeline_dates").fetchall()
        return {pid: (int(c), int(m)) for pid, c, m in rows}

    def delete_pipelines(self, pattern: str) -> list[str]:
        """Delete the pipelines matching ``pattern`` (an id or a ``*`` pattern); returns the deleted ids."""
        with self._write() as conn:
            ids = [r[0] for r in conn.execute("SELECT pipeline_id FROM pipelines ORDER BY pipeline_id")]
            deleted = [pid for pid in ids if _matches_any(pid, [pattern])]
            for pid in deleted:
                conn.execute("DELETE FROM pipelines WHERE pipeline_id = ?", (pid,))
                conn.execute("DELETE FROM pipeline_refs WHERE pipeline_id = ?", (pid,))
                conn.execute("DELETE FROM pipeline_dates WHERE pipeline_id = ?", (pid,))
        return deleted

    def pipelines_referencing(self, endpoint_id: str) -> list[str]:
        """Ids of the stored pipelines that use the inference endpoint ``endpoint_id``, sorted."""
        rows = self._conn().execute(
            "SELECT pipeline_id FROM pipeline_refs WHERE endpoint_id = ? ORDER BY pipeline_id", (endpoint_id,)
        ).fetchall()
        return [r[0] for r in rows]


def _config_json(config: EndpointConfig) -> str:
    return json.dumps(
        {
            "service_settings": config.service_settings,
            "task_settings": config.task_settings,
            "chunking_settings": config.chunking_settings,
        }
    )


def _matches_any(value: str, patterns: list[str]) -> bool:
    # Elasticsearch's simple wildcard: only '*' is special.
    return any(fnmatch.fnmatchcase(value, p.replace("[", "[[]").replace("?", "[?]")) for p in patterns)


def _java_str(value: object) -> str:
    return "null" if value is None else str(value)
