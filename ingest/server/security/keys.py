"""API keys and users: creation, hashing and verification. Keys and passwords are stored hashed only.

An API key stores its own ``role_descriptors`` (possibly none) and ``limited_by``: a snapshot of the creator's
privileges at creation time (a :class:`~ingest.server.security.roles.Permission`). Its effective privileges are
the intersection of both, so a key can never do more than whoever created it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from ingest.models.errors import IllegalArgumentException
from ingest.models.store import ApiKeyRecord, Store, UserRecord
from ingest.server.security.roles import (
    RESERVED,
    SUPERUSER,
    Permission,
    RoleDescriptor,
    resolve_roles,
)

_PBKDF2_ROUNDS = 200_000
RESERVED_USERS = ("elastic", "kibana", "kibana_system", "logstash_system", "beats_system", "apm_system",
                  "remote_monitoring_user")
CLI_OWNER = ("elastic", "reserved")  # who owns the keys made from the local CLI (the operator of the home)


@dataclass(frozen=True)
class CreatedKey:
    """A new key, shown once: ``encoded`` is what goes after ``Authorization: ApiKey``."""

    id: str
    name: str
    api_key: str
    encoded: str
    expiration: int | None

    def body(self) -> dict[str, Any]:
        """Elasticsearch's create-API-key response."""
        out: dict[str, Any] = {"id": self.id, "name": self.name, "api_key": self.api_key, "encoded": self.encoded}
        if self.expiration:
            out["expiration"] = self.expiration
        return out


def _hash_key(key: str, salt: str) -> str:
    # Keys are 22 random bytes: a salted SHA-256 is enough (Elasticsearch's default, ssha256, is the same idea).
    return salt + "$" + hashlib.sha256((salt + key).encode()).hexdigest()


def create_api_key(
    store: Store, name: str, *, descriptors: dict[str, RoleDescriptor], limited_by: Permission,
    owner: tuple[str, str], expires_in_s: float | None = None, metadata: dict[str, Any] | None = None,
) -> CreatedKey:
    """Create and persist a key (hashed); the returned secret is never stored."""
    if not name or len(name) > 1024:
        raise IllegalArgumentException("api key name must be between 1 and 1024 characters")
    key_id = secrets.token_urlsafe(15)
    key = secrets.token_urlsafe(22)
    now = time.time()
    expires = now + expires_in_s if expires_in_s else None
    store.insert_api_key(ApiKeyRecord(
        key_id, name, _hash_key(key, secrets.token_hex(8)), "", now, expires, False, owner[0], owner[1],
        json.dumps({n: d.model_dump(exclude_defaults=True) for n, d in descriptors.items()}),
        limited_by.to_json(), json.dumps(metadata or {})))
    encoded = base64.b64encode(f"{key_id}:{key}".encode()).decode()
    return CreatedKey(key_id, name, key, encoded, int(expires * 1000) if expires else None)


def create_role_key(store: Store, name: str, role: str, expires_in_s: float | None = None) -> CreatedKey:
    """A key with one role (built-in or custom), made by the local operator (CLI, tests, ``security enable``)."""
    layer = resolve_roles(store, [role])
    if not layer:
        raise IllegalArgumentException(f"unknown role [{role}]; built-in roles are [{', '.join(RESERVED)}]")
    return create_api_key(store, name, descriptors={role: layer[0]}, limited_by=SUPERUSER, owner=CLI_OWNER,
                          expires_in_s=expires_in_s)


def descriptors_of(record: ApiKeyRecord) -> dict[str, RoleDescriptor]:
    """The key's own role descriptors (a key made before role descriptors existed: its built-in role)."""
    if record.role_descriptors is None:
        return {record.role: RESERVED[record.role]} if record.role in RESERVED else {}
    return {n: RoleDescriptor.model_validate(d) for n, d in json.loads(record.role_descriptors).items()}


def key_permission(record: ApiKeyRecord) -> Permission:
    """What the key may do: its descriptors (when it has any) within its creator's privileges."""
    limits = Permission.from_json(record.limited_by).layers if record.limited_by else SUPERUSER.layers
    own = tuple(descriptors_of(record).values())
    if record.role_descriptors is None and not own:
        own = (RoleDescriptor(),)  # an old key whose role no longer exists grants nothing
    return Permission(((own,) if own else ()) + limits)


def verify_api_key(store: Store, key_id: str, key: str) -> ApiKeyRecord | None:
    """The key's record when ``key`` is right and the key is valid (not invalidated, not expired)."""
    record = store.get_api_key(key_id)
    if record is None or record.invalidated or (record.expires_at and record.expires_at < time.time()):
        return None
    salt = record.key_hash.split("$", 1)[0]
    return record if hmac.compare_digest(_hash_key(key, salt), record.key_hash) else None


def hash_password(password: str, salt: bytes | None = None) -> str:
    """PBKDF2-SHA256, as ``pbkdf2$rounds$salt$hash``."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PBKDF2_ROUNDS)
    return f"pbkdf2${_PBKDF2_ROUNDS}${salt.hex()}${digest.hex()}"


@functools.cache
def dummy_hash() -> str:
    """A hash no password matches, checked for unknown users so that they cost what a wrong password costs."""
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` value."""
    try:
        _, rounds, salt, digest = stored.split("$")
        candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def user_roles(user: UserRecord) -> list[str]:
    """The role names of a user."""
    return [r for r in user.role.split(",") if r]


def user_details(user: UserRecord) -> dict[str, Any]:
    """full_name, email, metadata, enabled of a user."""
    details: dict[str, Any] = {"full_name": None, "email": None, "metadata": {}, "enabled": True}
    details.update(json.loads(user.details) if user.details else {})
    return details


def put_user(store: Store, username: str, password: str | None, roles: list[str] | str,
             details: dict[str, Any] | None = None) -> bool:
    """Create or replace a basic-auth user (``password`` None keeps the current one); True when created."""
    if username in RESERVED_USERS:
        raise IllegalArgumentException(f"user [{username}] is reserved and only the password can be changed")
    if not username or len(username) > 507 or username != username.strip() or username.startswith("_"):
        raise IllegalArgumentException(f"Validation Failed: 1: Invalid username [{username}]... Usernames must be "
                                       "at least [1] and no more than [507] characters; they may not begin with _ "
                                       "or contain leading or trailing whitespace;")
    names = [roles] if isinstance(roles, str) else list(roles)
    current = store.get_user(username)
    if password is None:
        if current is None:
            raise IllegalArgumentException("Validation Failed: 1: password must be specified unless you are "
                                           "updating an existing user;")
        stored = current.password_hash
    elif len(password) < 6:
        raise IllegalArgumentException("passwords must be at least [6] characters long")
    else:
        stored = hash_password(password)
    return store.put_user(UserRecord(username, stored, ",".join(names), json.dumps(details or {})))
