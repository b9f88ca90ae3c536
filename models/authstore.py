"""The security tables of the registry: API keys, users, roles and the home's security settings.

Rows only; their meaning (role descriptors, privileges, hashing) belongs to ``ingest.server.security``. Role
descriptors are stored as JSON text. Mixed into :class:`ingest.models.store.Store`, which owns the connections.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Protocol

SECURITY_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL,
    role TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    invalidated INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS roles (name TEXT PRIMARY KEY, descriptor TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# Columns added after the first release; homes created before get them on open (see _migrate).
_KEY_COLUMNS = ("owner TEXT", "realm TEXT", "role_descriptors TEXT", "limited_by TEXT", "metadata TEXT",
                "invalidated_at REAL")
_USER_COLUMNS = ("details TEXT",)
_KEY_FIELDS = "id, name, key_hash, role, created_at, expires_at, invalidated, owner, realm, role_descriptors, " \
              "limited_by, metadata, invalidated_at"


@dataclass(frozen=True)
class ApiKeyRecord:
    """A stored API key; ``key_hash`` is a salted hash, never the key itself.

    ``role_descriptors`` and ``limited_by`` are JSON; None on keys made before role descriptors existed, whose
    built-in ``role`` stands in for them.
    """

    id: str
    name: str
    key_hash: str
    role: str
    created_at: float
    expires_at: float | None
    invalidated: bool
    owner: str = "elastic"
    realm: str = "reserved"
    role_descriptors: str | None = None
    limited_by: str | None = None
    metadata: str | None = None
    invalidated_at: float | None = None


@dataclass(frozen=True)
class UserRecord:
    """A basic-auth user; ``password_hash`` is a PBKDF2 hash, ``role`` a comma-separated list of role names."""

    username: str
    password_hash: str
    role: str
    details: str | None = None


class _Connections(Protocol):
    def _conn(self, secrets: bool = False) -> sqlite3.Connection: ...

    def _write(self, secrets: bool = False) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...


class SecurityTables:
    """API keys, users, roles, settings: the methods :class:`ingest.models.store.Store` gets from this mixin."""

    def _migrate_security(self: _Connections) -> None:
        """Add new columns to old homes, and record the security setting of a home that has none.

        A home that already has API keys or users (made when their existence switched authentication on) is
        migrated as security-enabled, so that upgrading never opens a server that was closed.
        """
        if not _needs_migration(self._conn()):  # the usual case: no write lock taken when opening a store
            return
        with self._write() as conn:
            for table, columns in (("api_keys", _KEY_COLUMNS), ("users", _USER_COLUMNS)):
                have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
                for column in columns:
                    if column.split()[0] not in have:
                        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
            has_creds = conn.execute(
                "SELECT (SELECT COUNT(*) FROM api_keys) + (SELECT COUNT(*) FROM users)").fetchone()[0]
            conn.execute("INSERT OR IGNORE INTO settings VALUES ('security.enabled', ?)",
                         ("true" if has_creds else "false",))

    # -- settings ------------------------------------------------------------------------------------

    def get_setting(self: _Connections, name: str) -> str | None:
        """A security setting of the home (``security.enabled``, ``security.audit``), or None."""
        row = self._conn().execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def put_setting(self: _Connections, name: str, value: str) -> None:
        """Set a security setting."""
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    # -- API keys ------------------------------------------------------------------------------------

    def insert_api_key(self: _Connections, record: ApiKeyRecord) -> None:
        """Persist a new API key (hashed)."""
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO api_keys ({_KEY_FIELDS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (record.id, record.name, record.key_hash, record.role, record.created_at, record.expires_at,
                 int(record.invalidated), record.owner, record.realm, record.role_descriptors, record.limited_by,
                 record.metadata, record.invalidated_at),
            )

    def get_api_key(self: _Connections, key_id: str) -> ApiKeyRecord | None:
        """The key with this id, or None."""
        row = self._conn().execute(f"SELECT {_KEY_FIELDS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
        return None if row is None else _key_from_row(row)

    def list_api_keys(self: _Connections) -> list[ApiKeyRecord]:
        """Every key, oldest first."""
        rows = self._conn().execute(f"SELECT {_KEY_FIELDS} FROM api_keys ORDER BY created_at").fetchall()
        return [_key_from_row(r) for r in rows]

    def invalidate_api_keys(self: _Connections, key_id: str | None = None, name: str | None = None,
                            ids: list[str] | None = None) -> list[str]:
        """Mark keys invalid by id, by name or by a list of ids; returns the ids invalidated now."""
        wanted = list(ids or []) + ([key_id] if key_id else [])
        with self._write() as conn:
            rows = conn.execute("SELECT id, name FROM api_keys WHERE invalidated = 0").fetchall()
            found = [kid for kid, kname in rows if kid in wanted or (name is not None and kname == name)]
            conn.executemany("UPDATE api_keys SET invalidated = 1, invalidated_at = ? WHERE id = ?",
                             [(time.time(), i) for i in found])
        return found

    # -- users ---------------------------------------------------------------------------------------

    def put_user(self: _Connections, record: UserRecord) -> bool:
        """Create or replace a basic-auth user; True when it was created."""
        with self._write() as conn:
            existed = conn.execute("SELECT 1 FROM users WHERE username = ?", (record.username,)).fetchone()
            conn.execute("INSERT OR REPLACE INTO users (username, password_hash, role, details) VALUES (?, ?, ?, ?)",
                         (record.username, record.password_hash, record.role, record.details))
        return existed is None

    def get_user(self: _Connections, username: str) -> UserRecord | None:
        """The user, or None."""
        row = self._conn().execute("SELECT username, password_hash, role, details FROM users WHERE username = ?",
                                   (username,)).fetchone()
        return None if row is None else UserRecord(*row)

    def list_users(self: _Connections) -> list[UserRecord]:
        """Every user, by name."""
        rows = self._conn().execute(
            "SELECT username, password_hash, role, details FROM users ORDER BY username").fetchall()
        return [UserRecord(*r) for r in rows]

    def delete_user(self: _Connections, username: str) -> bool:
        """Remove a user; False if absent."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM users WHERE username = ?", (username,))
        return cur.rowcount > 0

    def has_credentials(self: _Connections) -> bool:
        """True when at least one user or valid API key exists."""
        conn = self._conn()
        users = conn.execute("SELECT COUNT(*) FROM users").fetchone()[0]
        keys = conn.execute("SELECT COUNT(*) FROM api_keys WHERE invalidated = 0").fetchone()[0]
        return bool(users or keys)

    # -- roles ---------------------------------------------------------------------------------------

    def put_role(self: _Connections, name: str, descriptor: str) -> bool:
        """Create or replace a custom role (its descriptor as JSON); True when it was created."""
        with self._write() as conn:
            existed = conn.execute("SELECT 1 FROM roles WHERE name = ?", (name,)).fetchone()
            conn.execute("INSERT OR REPLACE INTO roles VALUES (?, ?)", (name, descriptor))
        return existed is None

    def get_roles(self: _Connections) -> dict[str, str]:
        """Every custom role: name -> descriptor JSON."""
        return dict(self._conn().execute("SELECT name, descriptor FROM roles ORDER BY name").fetchall())

    def delete_role(self: _Connections, name: str) -> bool:
        """Remove a custom role; False if absent."""
        with self._write() as conn:
            cur = conn.execute("DELETE FROM roles WHERE name = ?", (name,))
        return cur.rowcount > 0


def _needs_migration(conn: sqlite3.Connection) -> bool:
    for table, columns in (("api_keys", _KEY_COLUMNS), ("users", _USER_COLUMNS)):
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if any(column.split()[0] not in have for column in columns):
            return True
    return conn.execute("SELECT 1 FROM settings WHERE name = 'security.enabled'").fetchone() is None


def _key_from_row(row: tuple[Any, ...]) -> ApiKeyRecord:
    (kid, name, key_hash, role, created, expires, invalidated, owner, realm, descriptors, limited_by, metadata,
     invalidated_at) = row
    return ApiKeyRecord(kid, name, key_hash, role, created, expires, bool(invalidated), owner or "elastic",
                        realm or "reserved", descriptors, limited_by, metadata, invalidated_at)

