"""API keys and users: creation, hashing and verification. Keys and passwords are stored hashed only."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from ingest.server.security.roles import ROLES
from models.errors import IllegalArgumentException
from models.store import ApiKeyRecord, Store, UserRecord

_PBKDF2_ROUNDS = 200_000


@dataclass(frozen=True)
class CreatedKey:
    """A new key, shown once: ``encoded`` is what goes after ``Authorization: ApiKey``."""

    id: str
    name: str
    api_key: str
    encoded: str
    role: str
    expiration: int | None


def _hash_key(key: str, salt: str) -> str:
    return salt + "$" + hashlib.sha256((salt + key).encode()).hexdigest()


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise IllegalArgumentException(f"unknown role [{role}]; built-in roles are [{', '.join(ROLES)}]")


def create_api_key(store: Store, name: str, role: str, expires_in_s: float | None = None) -> CreatedKey:
    """Create and persist a key (hashed); the returned secret is never stored."""
    _check_role(role)
    if not name or len(name) > 1024:
        raise IllegalArgumentException("api key name must be between 1 and 1024 characters")
    key_id = secrets.token_urlsafe(15)
    key = secrets.token_urlsafe(22)
    now = time.time()
    expires = now + expires_in_s if expires_in_s else None
    store.insert_api_key(ApiKeyRecord(key_id, name, _hash_key(key, secrets.token_hex(8)), role, now, expires, False))
    encoded = base64.b64encode(f"{key_id}:{key}".encode()).decode()
    return CreatedKey(key_id, name, key, encoded, role, int(expires * 1000) if expires else None)


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


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a :func:`hash_password` value."""
    try:
        _, rounds, salt, digest = stored.split("$")
        candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(candidate.hex(), digest)


def put_user(store: Store, username: str, password: str, role: str) -> None:
    """Create or replace a basic-auth user."""
    _check_role(role)
    if len(password) < 6:
        raise IllegalArgumentException("passwords must be at least [6] characters long")
    store.put_user(UserRecord(username, hash_password(password), role))
