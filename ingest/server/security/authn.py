"""Authentication: who is calling (API key, basic auth, or anonymous while security is disabled).

The home's security setting is re-read at most once a second, so a running server notices ``ingest security
enable|disable`` at once. Password hashing (PBKDF2, tens of milliseconds) runs on a dedicated one-thread pool at
the lowest CPU priority, never on the event loop nor on the pool that serves requests, so a flood of wrong
passwords queues behind itself instead of delaying other clients; verified logins are cached (hashed, bounded, short TTL) and every cache hit is
checked against the user's current password hash, so a password change or a removed user takes effect at once.
Unknown users are checked against a dummy hash: they cost what a wrong password costs.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import hmac
import ipaddress
import json
import os
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from ingest.models.errors import ElasticsearchError, SecurityException
from ingest.models.store import Store
from ingest.server.security.audit import AuditLog
from ingest.server.security.keys import (
    dummy_hash,
    key_permission,
    user_details,
    user_roles,
    verify_api_key,
    verify_password,
)
from ingest.server.security.roles import SUPERUSER, Permission, RoleDescriptor, resolve_roles

_WWW = ['Basic realm="security", charset="UTF-8"', "ApiKey"]
NATIVE = ("default_native", "native")
API_KEY_REALM = "_es_api_key"
MAX_QUEUED = 1000  # password verifications waiting for the hashing thread (Elasticsearch's crypto queue size)
MAX_QUEUED_PER_CLIENT = 8  # ... of which one client address may hold: a flood from one host cannot starve logins


@dataclass(frozen=True)
class Principal:
    """Who made a request, and what they may do."""

    username: str
    roles: tuple[str, ...]
    realm: tuple[str, str]  # (name, type)
    permission: Permission
    api_key: tuple[str, str] | None = None  # (id, name)
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """How Elasticsearch names the caller in a 403."""
        if self.api_key:
            return f"API key id [{self.api_key[0]}] of user [{self.username}]"
        return f"user [{self.username}]"


ANONYMOUS = Principal("_anonymous", ("superuser",), ("__anonymous", "anonymous"), SUPERUSER)
# The CLI of the server's own home (``ingest run``/``export``… while ``ingest serve`` runs): as trusted as the
# person who can read the home, which holds the registry and the store anyway.
LOCAL_CLIENT = Principal("_local", ("superuser",), ("__local", "local"), SUPERUSER)


@dataclass(frozen=True)
class SecurityState:
    """The home's persisted security settings."""

    enabled: bool
    audit: bool

    @staticmethod
    def read(store: Store) -> SecurityState:
        """Read the settings (``ingest security enable|disable`` writes them)."""
        return SecurityState(store.get_setting("security.enabled") == "true",
                             store.get_setting("security.audit") == "true")


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts local connections."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, store: Store) -> None:
    """Refuse a non-loopback bind while security is disabled; the message says what to run."""
    if is_loopback(host) or SecurityState.read(store).enabled:
        return
    raise SystemExit(
        f"Refusing to listen on [{host}] while security is disabled in this INGEST_HOME ({store.path.parent}): "
        "anyone who can reach it could use it. Run `ingest security enable` first, or listen on 127.0.0.1.")


def unauthenticated(reason: str) -> SecurityException:
    """A 401 with Elasticsearch's challenge headers."""
    return SecurityException(reason, status=401, extra={"header": {"WWW-Authenticate": list(_WWW)}})


def _claimed(header: str) -> dict[str, str]:
    """Who a failed request said it was (Elasticsearch audits the user name or key id, never the secret)."""
    scheme, _, value = header.partition(" ")
    try:
        first = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
    except (binascii.Error, UnicodeDecodeError):
        return {}
    if scheme.lower() == "basic":
        return {"user.name": first}
    return {"apikey.id": first} if scheme.lower() == "apikey" else {}


def _lower_priority() -> None:
    """Run this (hashing) thread at the lowest CPU priority: requests that need no hashing go first."""
    # Elsewhere than Linux this may fail: the dedicated pool still bounds hashing to its one thread.
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)  # Linux: a thread's own nice value


class _LoginCache:
    """Verified (user, password) pairs: sha256 of both -> (the hash they matched, expiry). Bounded LRU."""

    def __init__(self, size: int, ttl_s: float) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._entries: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def token(username: str, password: str) -> str:
        return hashlib.sha256(f"{username}\0{password}".encode()).hexdigest()

    def hit(self, token: str, stored_hash: str) -> bool:
        with self._lock:
            entry = self._entries.get(token)
            if entry is None or entry[1] < time.monotonic() or entry[0] != stored_hash:
                return False
            self._entries.move_to_end(token)
            return True

    def add(self, token: str, stored_hash: str) -> None:
        with self._lock:
            self._entries[token] = (stored_hash, time.monotonic() + self.ttl_s)
            self._entries.move_to_end(token)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class Authenticator:
    """Authenticates requests against the home's keys and users, while the home's security is enabled."""

    def __init__(self, store: Store, *, hash_threads: int = 1, cache_size: int = 10_000,
                 cache_ttl_s: float = 300.0, settings_ttl_s: float = 1.0) -> None:
        self.store = store
        self.bind_host: str | None = None  # set by `ingest serve`; a non-loopback bind needs security
        self.local_token: str | None = None  # set by `ingest serve`: its CLI clients' token (ingest.presence)
        self._hasher = ThreadPoolExecutor(max_workers=hash_threads, thread_name_prefix="ingest-auth-hash",
                                          initializer=_lower_priority)
        self._cache = _LoginCache(cache_size, cache_ttl_s)
        self._settings_ttl_s = settings_ttl_s
        self._state: tuple[float, SecurityState] | None = None
        self._lock = threading.Lock()
        self._queued = 0
        self._queued_by: dict[str, int] = {}
        self._audit = AuditLog(store.path.parent / "logs" / "audit.json")

    # -- settings and audit --------------------------------------------------------------------------

    def _fresh_state(self) -> SecurityState | None:
        with self._lock:
            if self._state is not None and time.monotonic() - self._state[0] < self._settings_ttl_s:
                return self._state[1]
        return None

    def state(self) -> SecurityState:
        """The security settings, re-read from the home at most every ``settings_ttl_s`` (blocking: SQLite)."""
        state = self._fresh_state()
        if state is None:
            state = SecurityState.read(self.store)
            with self._lock:
                self._state = (time.monotonic(), state)
        return state

    def audit(self, event: str, **fields: Any) -> None:
        """Write one audit event when the audit log is enabled (one appended line; called on the event loop, so it
        uses the settings the request was authenticated with rather than reading them again)."""
        with self._lock:
            known = self._state[1] if self._state is not None else None
        if (known or self.state()).audit:
            self._audit.write(event, **fields)

    def clear_cache(self) -> None:
        """Forget every verified login (after password changes, user removal, security changes)."""
        self._cache.clear()

    # -- authentication ------------------------------------------------------------------------------

    async def authenticate(self, request: Request) -> Principal:
        """The request's principal; 401 ``security_exception`` when credentials are missing or wrong."""
        state = self._fresh_state()
        if state is None:
            state = await run_in_threadpool(self.state)
        if not state.enabled:
            self._check_open(request)
            return ANONYMOUS
        header = request.headers.get("authorization")
        path = request.url.path
        try:
            if not header:
                raise unauthenticated(f"missing authentication credentials for REST request [{path}]")
            scheme, _, value = header.partition(" ")
            if scheme.lower() == "apikey" and self.is_local_client(value.strip(), request):
                return LOCAL_CLIENT
            if scheme.lower() == "apikey":
                return await run_in_threadpool(self._api_key, value.strip(), path)
            if scheme.lower() == "basic":
                client = request.scope.get("client")
                return await self._basic(value.strip(), path, str(client[0]) if client else "")
            raise unauthenticated(f"unable to authenticate with provided credentials and anonymous access is not "
                                  f"allowed for this request [{path}]")
        except ElasticsearchError as exc:
            self.audit("authentication_failed", request=request, reason=exc.reason, **_claimed(header or ""))
            raise

    def is_local_client(self, value: str, request: Request) -> bool:
        """Whether the request carries this server's local token (``ingest.presence``) from a loopback
        peer; the token is worth nothing from anywhere else."""
        if self.local_token is None or not hmac.compare_digest(value.encode(), self.local_token.encode()):
            return False
        client = request.scope.get("client")
        try:
            return client is not None and ipaddress.ip_address(client[0]).is_loopback
        except ValueError:
            return False

    def _check_open(self, request: Request) -> None:
        client = request.scope.get("client")
        peer = client[0] if client else ""
        try:
            remote = not ipaddress.ip_address(peer).is_loopback
        except ValueError:
            remote = False  # test clients and unix sockets have no IP address
        if remote or (self.bind_host is not None and not is_loopback(self.bind_host)):
            raise ElasticsearchError(
                "security is disabled in this INGEST_HOME, and this server listens on or was reached through a "
                "non-loopback address: it refuses every request. Run `ingest security enable`, or restart it on "
                "127.0.0.1.", status=503, error_type="security_exception")

    def _api_key(self, value: str, path: str) -> Principal:
        try:
            key_id, _, key = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            key_id, key = "", ""
        record = verify_api_key(self.store, key_id, key) if key_id and key else None
        if record is None:
            raise unauthenticated(f"unable to authenticate with provided credentials and anonymous access is not "
                                  f"allowed for this request [{path}]")
        return Principal(record.owner, (), (API_KEY_REALM, API_KEY_REALM), key_permission(record),
                         (record.id, record.name),
                         {"owner_realm": record.realm, "api_key_metadata": json.loads(record.metadata or "{}")})

    async def _basic(self, value: str, path: str, client: str) -> Principal:
        try:
            username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, password = "", ""
        user = await run_in_threadpool(self.store.get_user, username) if username else None
        stored = user.password_hash if user is not None else dummy_hash()
        token = _LoginCache.token(username, password)
        ok = user is not None and self._cache.hit(token, stored)
        if not ok:
            ok = await self._hash_check(password, stored, client) and user is not None
            if ok:
                self._cache.add(token, stored)
        if not ok or user is None or not user_details(user).get("enabled", True):
            raise unauthenticated(f"unable to authenticate user [{username}] for REST request [{path}]")
        roles = user_roles(user)
        layer = await run_in_threadpool(resolve_roles, self.store, roles)
        return Principal(username, tuple(roles), NATIVE, Permission((layer or (RoleDescriptor(),),)),
                         None, user_details(user))

    async def _hash_check(self, password: str, stored: str, client: str) -> bool:
        """PBKDF2 on the hashing thread. 429 instead of an endless queue: at most ``MAX_QUEUED`` checks wait, and
        at most ``MAX_QUEUED_PER_CLIENT`` of them from one client address."""
        with self._lock:
            mine = self._queued_by.get(client, 0)
            if self._queued >= MAX_QUEUED or mine >= MAX_QUEUED_PER_CLIENT:
                limit = MAX_QUEUED if self._queued >= MAX_QUEUED else MAX_QUEUED_PER_CLIENT
                raise ElasticsearchError(
                    f"rejected execution of password verification: [{limit}] verifications are already queued"
                    + ("" if limit == MAX_QUEUED else " for this client"),
                    status=429, error_type="es_rejected_execution_exception")
            self._queued += 1
            self._queued_by[client] = mine + 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._hasher, verify_password, password, stored)
        finally:
            with self._lock:
                self._queued -= 1
                left = self._queued_by[client] - 1
                if left:
                    self._queued_by[client] = left
                else:
                    del self._queued_by[client]

    def close(self) -> None:
        """Stop the hashing threads."""
        self._hasher.shutdown(wait=False, cancel_futures=True)
