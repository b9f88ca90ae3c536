"""Authentication (API keys, basic auth) and authorisation (Elasticsearch's privileges) for the REST server.

Without any user or API key, the server is open, and only binding to a loopback address is allowed (see
:func:`check_bind`). Once a key or user exists, every request must authenticate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import threading
from dataclasses import dataclass

from fastapi import Request

from ingest.server.security.keys import verify_api_key, verify_password
from ingest.server.security.roles import GRANTED_BY, has_privilege, required
from models.errors import SecurityException
from models.store import Store

_WWW = ['Basic realm="security", charset="UTF-8"', "ApiKey"]


@dataclass(frozen=True)
class Principal:
    """Who made a request."""

    username: str
    role: str
    realm: str  # "anonymous", "api_key" or "native"
    api_key_id: str | None = None


ANONYMOUS = Principal("_anonymous", "superuser", "anonymous")


def _unauthenticated(reason: str) -> SecurityException:
    return SecurityException(reason, status=401, extra={"header": {"WWW-Authenticate": list(_WWW)}})


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts local connections."""
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, store: Store) -> None:
    """Refuse a non-loopback bind while no credentials exist; the message says what to set."""
    if is_loopback(host) or store.has_credentials():
        return
    raise SystemExit(
        f"Refusing to listen on [{host}] without authentication. Create an API key with "
        "`ingest keys create --name NAME --role inference_admin` (or a user with `ingest keys add-user NAME "
        "--role inference_admin`) in this INGEST_HOME, or listen on 127.0.0.1."
    )


class Authenticator:
    """Authenticates requests against the store's keys and users; caches verified basic-auth logins."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cache: dict[str, str] = {}  # sha256(user:password) -> stored hash it was verified against
        self._lock = threading.Lock()

    def authenticate(self, request: Request) -> Principal:
        """The request's principal; 401 ``security_exception`` when credentials are missing or wrong."""
        header = request.headers.get("authorization")
        path = request.url.path
        if not header:
            if not self.store.has_credentials():
                return ANONYMOUS
            raise _unauthenticated(f"missing authentication credentials for REST request [{path}]")
        scheme, _, value = header.partition(" ")
        scheme = scheme.lower()
        if scheme == "apikey":
            return self._api_key(value.strip(), path)
        if scheme == "basic":
            return self._basic(value.strip(), path)
        raise _unauthenticated(f"unable to authenticate with provided credentials for REST request [{path}]")

    def _api_key(self, value: str, path: str) -> Principal:
        try:
            key_id, _, key = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            key_id, key = "", ""
        record = verify_api_key(self.store, key_id, key) if key_id and key else None
        if record is None:
            raise _unauthenticated(f"unable to authenticate with provided credentials and anonymous access is not "
                                   f"allowed for this request [{path}]")
        return Principal(record.name, record.role, "api_key", record.id)

    def _basic(self, value: str, path: str) -> Principal:
        try:
            username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            username, password = "", ""
        user = self.store.get_user(username) if username else None
        if user is not None:
            token = hashlib.sha256(f"{username}:{password}".encode()).hexdigest()
            with self._lock:
                cached = self._cache.get(token) == user.password_hash
            if cached or verify_password(password, user.password_hash):
                with self._lock:
                    self._cache[token] = user.password_hash
                return Principal(username, user.role, "native")
        raise _unauthenticated(f"unable to authenticate user [{username}] for REST request [{path}]")

    def authorize(self, principal: Principal, request: Request) -> None:
        """403 ``security_exception`` when the principal's role lacks the route's privilege."""
        need = required(request.method, request.url.path)
        if need is None or principal is ANONYMOUS:
            return
        privilege, action = need
        if not has_privilege(principal.role, privilege):
            who = f"API key id [{principal.api_key_id}] of user [{principal.username}]" if principal.api_key_id \
                else f"user [{principal.username}]"
            raise SecurityException(
                f"action [{action}] is unauthorized for {who} with effective roles [{principal.role}], this action "
                f"is granted by the cluster privileges [{','.join(GRANTED_BY.get(privilege, [privilege]))}]",
                status=403,
            )
